"""A hand-built Labelbox export v2 (see tests/fixtures/labelbox/PROVENANCE.md) and the mask
PNGs its URLs point at. Values are chosen so the tests can state expectations by hand."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
from PIL import Image

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "labelbox"
REAL_EXPORT = FIXTURES / "export_v2_image_classification.ndjson"
COMPOSITE_URL = "https://api.labelbox.com/api/v1/tasks/t1/masks/m1/index/1"
SINGLE_URL = "https://api.labelbox.com/api/v1/projects/pA/annotations/fMask/index/1/mask"
MASK_COLOR = (255, 0, 0)
OTHER_COLOR = (0, 0, 255)


def ndjson_rows(path: Path) -> list[dict]:
    """The parsed non-blank lines of an NDJSON file, read with the json module."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def composite_png() -> bytes:
    """6x8 RGB: this object's red pixels at rows 1-2, cols 2-4; another object's blue."""
    pixels = np.zeros((6, 8, 3), dtype=np.uint8)
    pixels[1:3, 2:5] = MASK_COLOR
    pixels[4:6, 0:2] = OTHER_COLOR
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()


def nested_radio(feature: str, name: str, answer: str, nested: list | None = None) -> dict:
    return {
        "feature_id": feature,
        "feature_schema_id": f"schema-{name}",
        "name": name,
        "value": name.lower(),
        "radio_answer": {
            "feature_id": feature + "a",
            "feature_schema_id": f"schema-{answer}",
            "name": answer,
            "value": answer.lower(),
            "classifications": nested or [],
        },
    }


def image_row() -> dict:
    shade = {
        "feature_id": "fShade",
        "name": "shade",
        "value": "shade",
        "text_answer": {"content": "dark"},
    }
    color = nested_radio("fColor", "color", "red", [shade])
    objects = [
        {
            "feature_id": "fCar",
            "feature_schema_id": "schema-car",
            "name": "car",
            "value": "car",
            "annotation_kind": "ImageBoundingBox",
            "classifications": [color],
            "bounding_box": {"top": 20.0, "left": 10.0, "height": 200.0, "width": 100.0},
        },
        {
            "feature_id": "fRoad",
            "feature_schema_id": "schema-road",
            "name": "road",
            "value": "road",
            "annotation_kind": "ImagePolygon",
            "classifications": [],
            "polygon": [
                {"x": 0.0, "y": 0.0},
                {"x": 10.0, "y": 0.0},
                {"x": 10.0, "y": 10.0},
                {"x": 0.0, "y": 0.0},
            ],
        },
        {
            "feature_id": "fLane",
            "name": "lane",
            "value": "lane",
            "annotation_kind": "ImagePolyline",
            "classifications": [],
            "line": [{"x": 1.0, "y": 1.0}, {"x": 5.0, "y": 5.0}],
        },
        {
            "feature_id": "fNose",
            "name": "nose",
            "value": "nose",
            "annotation_kind": "ImagePoint",
            "classifications": [],
            "point": {"x": 3.0, "y": 4.0},
        },
        {
            "feature_id": "fMask",
            "name": "blob",
            "value": "blob",
            "annotation_kind": "ImageSegmentationMask",
            "classifications": [],
            "composite_mask": {"url": COMPOSITE_URL, "color_rgb": list(MASK_COLOR)},
            "mask": {"url": SINGLE_URL},
        },
    ]
    checklist = {
        "feature_id": "fTags",
        "name": "tags",
        "value": "tags",
        "checklist_answers": [
            {"feature_id": "fTagA", "name": "a", "value": "a", "classifications": []},
            {
                "feature_id": "fTagB",
                "name": "b",
                "value": "b",
                "classifications": [nested_radio("fWhy", "why", "because")],
            },
        ],
    }
    note = {
        "feature_id": "fNote",
        "name": "note",
        "value": "note",
        "text_answer": {"content": "hello"},
    }
    label_a1 = {
        "label_kind": "Default",
        "version": "1.0.0",
        "id": "labelA1",
        "label_details": {
            "created_at": "2024-02-16T17:49:08.951+00:00",
            "updated_at": "2024-02-17T10:00:00+00:00",
            "created_by": "ann@example.com",
            "content_last_updated_at": "2024-02-17T10:00:00+00:00",
            "reviews": [
                {
                    "reviewer": "rev@example.com",
                    "review_action": "Approve",
                    "reviewed_at": "2024-02-18T09:00:00+00:00",
                }
            ],
        },
        "performance_details": {"seconds_to_create": 42, "seconds_to_review": 3, "skipped": False},
        "annotations": {
            "objects": objects,
            "classifications": [checklist, note, nested_radio("fWeather", "weather", "sunny")],
            "relationships": [
                {
                    "name": "near",
                    "relationship": {"source": "fCar", "target": "fRoad", "type": "unidirectional"},
                }
            ],
        },
    }
    label_a2 = {
        "label_kind": "Default",
        "version": "1.0.0",
        "id": "labelA2",
        "label_details": {"created_by": "other@example.com", "reviews": []},
        "annotations": {
            "objects": [objects[0] | {"feature_id": "fCar2", "classifications": []}],
            "classifications": [],
            "relationships": [],
        },
    }
    label_b1 = {
        "label_kind": "Default",
        "version": "1.0.0",
        "id": "labelB1",
        "annotations": {
            "objects": [objects[1] | {"feature_id": "fRoadB"}],
            "classifications": [nested_radio("fQ", "quality", "good")],
            "relationships": [],
        },
    }
    return {
        "data_row": {
            "id": "dr-img",
            "global_key": "img-1",
            "external_id": "img-1.png",
            "row_data": "https://example.com/img-1.png",
            "details": {"dataset_id": "ds1", "created_by": "owner@example.com"},
        },
        "media_attributes": {"mime_type": "image/png", "width": 8, "height": 6},
        "projects": {
            "pA": {
                "name": "Project A",
                "project_details": {"workflow_status": "Done"},
                "labels": [label_a1, label_a2],
            },
            "pB": {"name": "Project B", "labels": [label_b1]},
        },
    }


def _video_box(frame: int, classifications: list | None = None) -> dict:
    return {
        "feature_id": "fTrack",
        "name": "car",
        "annotation_kind": "VideoBoundingBox",
        "classifications": classifications or [],
        "bounding_box": {"top": float(frame), "left": 2.0 * frame, "height": 10.0, "width": 20.0},
    }


def video_row() -> dict:
    scene = nested_radio("fScene", "scene", "day")
    occluded = nested_radio("fOcc", "occluded", "yes")
    frames = {
        "2": {"objects": {"fTrack": _video_box(2, [occluded])}, "classifications": [scene]},
        "3": {"objects": {"fTrack": _video_box(3)}, "classifications": [scene]},
        "4": {"objects": {"fTrack": _video_box(4)}, "classifications": [scene]},
        "8": {"objects": {"fTrack": _video_box(8)}, "classifications": []},
        "10": {"objects": {}, "classifications": [scene]},
    }
    checklist = {
        "feature_id": "fVid",
        "name": "content",
        "value": "content",
        "checklist_answers": [
            {"feature_id": "fVidA", "name": "cars", "value": "cars", "classifications": []}
        ],
    }
    label = {
        "label_kind": "Video",
        "version": "1.0.0",
        "id": "labelV1",
        "label_details": {"created_by": "ann@example.com", "reviews": []},
        "annotations": {
            "frames": frames,
            "segments": {"fTrack": [[2, 4], [8, 8]]},
            "key_frame_feature_map": {"fTrack": [2, 4, 8]},
            "classifications": [checklist],
        },
    }
    return {
        "data_row": {
            "id": "dr-vid",
            "global_key": "vid-1",
            "row_data": "https://example.com/v.mp4",
        },
        "media_attributes": {
            "mime_type": "video/mp4",
            "width": 640,
            "height": 480,
            "frame_rate": 10,
            "frame_count": 30,
        },
        "projects": {"pA": {"name": "Project A", "labels": [label]}},
    }


def _one_label_row(
    row_id: str, key: str, file: str, mime: str, label_id: str, annotations: dict
) -> dict:
    """A data row of Project A with one Default label holding `annotations`."""
    return {
        "data_row": {"id": row_id, "global_key": key, "row_data": f"https://example.com/{file}"},
        "media_attributes": {"mime_type": mime},
        "projects": {
            "pA": {
                "name": "Project A",
                "labels": [
                    {
                        "label_kind": "Default",
                        "version": "1.0.0",
                        "id": label_id,
                        "annotations": annotations,
                    }
                ],
            }
        },
    }


def text_row() -> dict:
    entity = {
        "feature_id": "fPer",
        "name": "PER",
        "value": "per",
        "annotation_kind": "TextEntity",
        "classifications": [],
        "location": {"start": 0, "end": 4, "token": "Alice"},
    }
    return _one_label_row(
        "dr-txt",
        "txt-1",
        "t.txt",
        "text/plain",
        "labelT1",
        {"objects": [entity], "classifications": [], "relationships": []},
    )


def conversation_row() -> dict:
    entity = {
        "feature_id": "fOrg",
        "name": "ORG",
        "value": "org",
        "annotation_kind": "ConversationalTextEntity",
        "classifications": [],
        "conversational_location": {"message_id": "m1", "location": {"start": 2, "end": 6}},
    }
    question = {
        "feature_id": "fIntent",
        "name": "intent",
        "value": "intent",
        "message_id": "m1",
        "conversational_checklist_answers": [
            {"feature_id": "fIntA", "name": "ask", "value": "ask", "classifications": []}
        ],
    }
    return _one_label_row(
        "dr-conv",
        "conv-1",
        "c.json",
        "application/vnd.labelbox.conversational",
        "labelC1",
        {"objects": [entity], "classifications": [question], "relationships": []},
    )


def all_rows() -> list[dict]:
    return [image_row(), video_row(), text_row(), conversation_row()]


def document_row() -> dict:
    """A PDF row with a token entity and a page box (shapes from labelbox-python's tests)."""
    entity = {
        "feature_id": "fDocEnt",
        "name": "named-entity",
        "value": "named_entity",
        "annotation_kind": "DocumentEntityToken",
        "classifications": [],
        "location": {
            "groups": [
                {
                    "id": "g1",
                    "page_number": 1,
                    "tokens": ["t1", "t2"],
                    "text": "Metal-insulator transitions",
                }
            ]
        },
    }
    page_box = {
        "feature_id": "fDocBox",
        "name": "bbox",
        "value": "bbox",
        "annotation_kind": "DocumentBoundingBox",
        "classifications": [],
        "page_number": 1,
        "bounding_box": {"top": 48.0, "left": 58.0, "height": 65.0, "width": 12.0},
    }
    return _one_label_row(
        "dr-pdf",
        "pdf-1",
        "d.pdf",
        "application/pdf",
        "labelD1",
        {"objects": [entity, page_box], "classifications": [], "relationships": []},
    )


def audio_row() -> dict:
    """An audio row: classifications plus the (here empty) `segments` and `timestamp` maps
    Labelbox exports for audio (shape from labelbox-python's export tests)."""
    question = {
        "feature_id": "fLang",
        "name": "language",
        "value": "language",
        "text_answer": {"content": "fr"},
    }
    return _one_label_row(
        "dr-aud",
        "aud-1",
        "a.mp3",
        "audio/mpeg",
        "labelAu1",
        {"classifications": [question], "segments": {"x": [[1, 2]]}, "timestamp": {}},
    )


WORKFLOW_HISTORY = [
    {
        "action": "Submit",
        "created_at": "2024-03-01T10:00:00.000+00:00",
        "created_by": "ann@example.com",
        "previous_task_id": "t-label",
        "previous_task_name": "Initial labeling task",
        "next_task_id": "t-review",
        "next_task_name": "Initial review task",
    },
    {
        "action": "Reject",
        "created_at": "2024-03-02T11:30:00.000+00:00",
        "created_by": "rev@example.com",
        "previous_task_id": "t-review",
        "previous_task_name": "Initial review task",
        "next_task_id": "t-rework",
        "next_task_name": "Rework",
    },
    {
        "action": "Submit",
        "created_at": "2024-03-03T08:00:00.000+00:00",
        "created_by": "ann@example.com",
        "previous_task_id": "t-rework",
        "previous_task_name": "Rework",
        "next_task_id": "t-review",
        "next_task_name": "Initial review task",
    },
    {
        "action": "Approve",
        "created_at": "2024-03-03T09:15:00.000+00:00",
        "created_by": "lead@example.com",
        "previous_task_id": "t-review",
        "previous_task_name": "Initial review task",
        "next_task_id": "t-done",
        "next_task_name": "Done",
    },
]
"""A data row's moves through the default workflow: submitted, rejected to Rework,
submitted again and approved to Done.
Shape: Labelbox's export v2 glossary (`project_details.workflow_history`: action,
created_at, created_by, previous/next task id and name), not a captured export."""


def workflow_row() -> dict:
    """A text row of Project A (one label, no label reviews), Done after a rejection: its
    `project_details` carry the workflow history above."""
    row = text_row()
    row["data_row"] |= {"id": "dr-wf", "global_key": "txt-wf"}
    project = row["projects"]["pA"]
    project["project_details"] = {
        "workflow_status": "Done",
        "workflow_history": WORKFLOW_HISTORY,
    }
    project["labels"][0]["label_details"] = {
        "created_by": "ann@example.com",
        "created_at": "2024-03-01T09:55:00.000+00:00",
        "reviews": [],
    }
    return row
