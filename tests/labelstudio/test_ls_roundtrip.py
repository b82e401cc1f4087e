"""Export -> unified -> export keeps everything; unified from other tools -> tasks the
Label Studio SDK accepts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import orjson
import pytest
from bridge_labelstudio.convert import annotation_set_to_result, item_to_task, task_to_item
from bridge_labelstudio.export_json import iter_export_tasks
from bridge_labelstudio.files import write_export
from bridge_labelstudio.ontology import ontology_to_config, parse_label_config
from label_studio_sdk.label_interface import LabelInterface

from bridge import api
from bridge.formats import Dataset
from bridge.geometry.masks import bitmap_to_rle
from bridge.losses import LossReport
from bridge.schema import (
    AnnotationSet,
    Annotator,
    Answer,
    BBox,
    Classification,
    ClassificationSpec,
    Item,
    Keyframe,
    Keypoint,
    LabelClass,
    Mask,
    Media,
    Ontology,
    OptionSpec,
    Points,
    Polygon,
    Project,
    Region,
    Track,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "labelstudio"
NOT_EXACT = {
    "real_backwards_boxes.json": "boxes drawn backwards come back with positive sizes",
    "real_backwards_video.json": "boxes drawn backwards come back with positive sizes",
    "real_flat_tasks_import.json": "flat import tasks come back with a data wrapper",
    "real_single_task.json": "one task object comes back as a list of one task",
}
"""Real files whose round trip is equivalent, not equal (tests/labelstudio/test_ls_field.py)."""
REAL = sorted(p.name for p in FIXTURES.glob("real_*.json") if p.name not in NOT_EXACT)


def normalized(value):
    """Floats to 9 decimals; result lists (and only those) in a stable order."""
    if isinstance(value, float):
        return round(value, 9) + 0.0
    if isinstance(value, dict):
        return {k: normalized(v) for k, v in value.items()}
    if isinstance(value, list):
        items = [normalized(v) for v in value]
        if items and all(
            isinstance(r, dict) and ("from_name" in r or "from_id" in r) for r in items
        ):
            return sorted(items, key=lambda r: json.dumps(r, sort_keys=True))
        return items
    return value


def _config_for(filename: str):
    name = filename.removeprefix("real_").removesuffix(".json").removesuffix("_sync")
    return parse_label_config((FIXTURES / "configs" / f"{name}.xml").read_text())


@pytest.mark.parametrize("filename", REAL)
@pytest.mark.parametrize("with_config", [True, False])
def test_ls_roundtrip_export_unified_export_is_equal(filename, with_config):
    config = _config_for(filename) if with_config else None
    losses = LossReport()
    tasks = [task for _, task in iter_export_tasks(FIXTURES / filename)]
    assert tasks
    for task in tasks:
        item = task_to_item(task, config, losses, where="t")
        assert normalized(item_to_task(item, config, losses)) == normalized(task)


@pytest.mark.parametrize("filename", REAL)
def test_ls_roundtrip_through_unified_jsonl_files(filename, tmp_path):
    unified = tmp_path / "unified.jsonl"
    back = tmp_path / "back.json"
    api.convert(FIXTURES / filename, unified, from_format="labelstudio", to_format="jsonl")
    api.convert(unified, back, from_format="jsonl", to_format="labelstudio")
    original = orjson.loads((FIXTURES / filename).read_bytes())
    assert normalized(orjson.loads(back.read_bytes())) == normalized(original)


# ------------------------------------------------------------------ foreign items


ONTOLOGY = Ontology(
    labels=[
        LabelClass(
            name="car",
            kinds=["bbox"],
            attributes=[
                ClassificationSpec(
                    name="parked",
                    input="radio",
                    options=[OptionSpec(value="yes"), OptionSpec(value="no")],
                ),
            ],
        ),
        LabelClass(name="lane", kinds=["polygon"]),
        LabelClass(name="sky", kinds=["mask"]),
        LabelClass(name="nose", kinds=["points"]),
    ],
    classifications=[
        ClassificationSpec(name="weather", input="radio", options=[OptionSpec(value="sun")])
    ],
)


def _foreign_item() -> Item:
    bitmap = np.zeros((1000, 1000), dtype=np.uint8)
    bitmap[:100, :] = 1
    regions = [
        Region(
            id="1",
            label="car",
            shape=BBox(x=70, y=110, width=40, height=20, rotation=90),
            classifications=[Classification(name="parked", answers=[Answer(value="yes")])],
        ),
        Region(id="2", label="lane", shape=Polygon(points=[(0, 0), (500, 0), (500, 250)])),
        Region(id="3", label="sky", shape=Mask(rle=bitmap_to_rle(bitmap))),
        Region(id="4", label="nose", shape=Points(points=[Keypoint(x=100, y=900)])),
    ]
    aset = AnnotationSet(
        id="job-3",
        annotator=Annotator(id="12", email="a@example.com"),
        lead_time=5.0,
        regions=regions,
        classifications=[Classification(name="weather", answers=[Answer(value="sun")])],
    )
    media = Media(kind="image", uri="s3://bucket/a.jpg", width=1000, height=1000)
    return Item(key="a.jpg", media=media, annotation_sets=[aset])


def test_ls_foreign_item_becomes_a_task_the_sdk_validates():
    config_xml = ontology_to_config(ONTOLOGY, "image")
    config = parse_label_config(config_xml)
    losses = LossReport()
    task = item_to_task(_foreign_item(), config, losses)
    assert task["data"] == {"image": "s3://bucket/a.jpg"}
    annotation = task["annotations"][0]
    # the CVAT-style user id 12 means nothing to Label Studio: the e-mail names the user
    assert annotation["completed_by"] == {"email": "a@example.com"}
    assert annotation["was_cancelled"] is False
    assert LabelInterface(config_xml).validate_annotation({"result": annotation["result"]})
    box = annotation["result"][0]
    # unified centre (90, 120), 40 x 20 turned 90 deg: the top-left pivot is (100, 100) px
    assert box["type"] == "rectanglelabels" and box["from_name"] == "bbox"
    assert box["value"]["x"] == pytest.approx(10) and box["value"]["y"] == pytest.approx(10)
    assert (box["value"]["width"], box["value"]["height"]) == (4, 2)
    parked = next(r for r in annotation["result"] if r["from_name"] == "parked")
    assert parked["id"] == "1" and parked["value"]["choices"] == ["yes"]
    assert parked["value"]["x"] == box["value"]["x"]  # LS repeats the region geometry
    lane = next(r for r in annotation["result"] if r["from_name"] == "polygon")
    assert lane["value"]["points"] == [[0, 0], [50, 0], [50, 25]]
    nose = next(r for r in annotation["result"] if r["from_name"] == "keypoints")
    assert (nose["value"]["x"], nose["value"]["y"]) == (10, 90)
    assert not losses


def test_ls_foreign_dataset_written_without_config_uses_the_generated_one(tmp_path):
    target = tmp_path / "out.json"
    dataset = Dataset(
        project=Project(name="p", media_kind="image", ontology=ONTOLOGY), items=[_foreign_item()]
    )
    losses = LossReport()
    write_export(dataset, target, losses)
    assert [loss.code for loss in losses] == ["annotator-by-email"]
    tasks = orjson.loads(target.read_bytes())
    interface = LabelInterface(ontology_to_config(ONTOLOGY, "image"))
    assert interface.validate_annotation({"result": tasks[0]["annotations"][0]["result"]})
    back = task_to_item(tasks[0], None, LossReport(), where="t")
    sky = next(r for r in back.annotation_sets[0].regions if r.label == "sky")
    assert sky.shape.rle == _foreign_item().annotation_sets[0].regions[2].shape.rle


def _video_item(keyframes) -> Item:
    track = Track(id="7", label="person", keyframes=keyframes)
    media = Media(kind="video", uri="v.mp4", width=200, height=100, frame_count=50, duration=2.0)
    return Item(key="v.mp4", media=media, annotation_sets=[AnnotationSet(id="a", tracks=[track])])


def test_ls_track_outside_becomes_enabled_false_on_the_frame_before():
    box = BBox(x=20, y=10, width=40, height=20)
    item = _video_item(
        [
            Keyframe(frame=0, shape=box),
            Keyframe(frame=10, outside=True),
            Keyframe(frame=20, shape=box.model_copy(update={"x": 60})),
        ]
    )
    aset = item.annotation_sets[0]
    result = annotation_set_to_result(aset, item, None, LossReport())[0]
    sequence = result["value"]["sequence"]
    # unified 0 -> LS frame 1; the object is last shown at unified 9 -> LS 10, disabled
    assert [(s["frame"], s["enabled"], s["x"]) for s in sequence] == [
        (1, True, 10.0),
        (10, False, 10.0),
        (21, True, 30.0),
    ]
    assert sequence[0]["time"] == pytest.approx(1 / 25)  # 50 frames in 2 s
    assert (result["value"]["framesCount"], result["value"]["duration"]) == (50, 2.0)
    back = task_to_item(
        {"data": {"video": "v.mp4"}, "annotations": [{"result": [result]}]},
        None,
        LossReport(),
        where="t",
    )
    frames = [(k.frame, k.outside) for k in back.annotation_sets[0].tracks[0].keyframes]
    assert frames == [(0, False), (9, False), (10, True), (20, False)]
    assert (back.media.frame_count, back.media.duration) == (50, 2.0)


def test_ls_track_outside_with_a_shape_interpolates_the_last_visible_frame():
    item = _video_item(
        [
            Keyframe(frame=0, shape=BBox(x=0, y=0, width=20, height=10)),
            Keyframe(frame=10, outside=True, shape=BBox(x=100, y=0, width=20, height=10)),
        ]
    )
    result = annotation_set_to_result(item.annotation_sets[0], item, None, LossReport())[0]
    last = result["value"]["sequence"][-1]
    # at unified frame 9 the box is 9/10 of the way: x = 90 px = 45% of 200
    assert (last["frame"], last["enabled"], last["x"]) == (10, False, pytest.approx(45.0))


def test_ls_what_label_studio_cannot_hold_is_in_the_loss_report():
    from bridge.schema import Cuboid, Polyline

    item = _foreign_item()
    aset = item.annotation_sets[0]
    aset.regions.append(Region(id="9", label="lane", shape=Polyline(points=[(0, 0), (1, 1)])))
    aset.regions.append(Region(id="10", label="car", shape=Cuboid(points=[(0, 0)] * 8)))
    aset.regions[0].occluded = True
    losses = LossReport()
    result = annotation_set_to_result(
        aset, item, parse_label_config(ontology_to_config(ONTOLOGY)), losses
    )
    assert {"9", "10"}.isdisjoint(r.get("id") for r in result)
    assert losses.count("unsupported-polyline") == 1 and losses.count("unsupported-cuboid") == 1
    assert losses.count("occluded") == 1


def test_ls_pixel_shapes_without_media_size_are_left_out_and_reported():
    item = _foreign_item()
    item.media.width = item.media.height = None
    losses = LossReport()
    result = annotation_set_to_result(item.annotation_sets[0], item, None, losses)
    assert [r["type"] for r in result if r["type"] != "choices"] == ["brushlabels"]
    assert losses.count("size-unknown") == 3


def test_ls_completed_by_object_and_reviews_round_trip():
    task = {
        "id": 3,
        "data": {"text": "hi"},
        "annotations": [
            {
                "id": 9,
                "result": [],
                "lead_time": 1.5,
                "was_cancelled": False,
                "ground_truth": False,
                "completed_by": {
                    "id": 4,
                    "email": "ann@example.com",
                    "first_name": "Ann",
                    "last_name": "Lee",
                    "username": "ann",
                },
                "reviews": [
                    {
                        "id": 1,
                        "created_by": {"id": 2, "email": "rev@example.com"},
                        "accepted": False,
                        "comment": "box too loose",
                        "created_at": "2026-01-02T03:04:05Z",
                    }
                ],
            }
        ],
    }
    item = task_to_item(task, None, LossReport(), where="t")
    aset = item.annotation_sets[0]
    assert (aset.annotator.id, aset.annotator.email, aset.annotator.name) == (
        "4",
        "ann@example.com",
        "Ann Lee",
    )
    review = aset.reviews[0]
    assert (review.status, review.comment, review.reviewer.email) == (
        "rejected",
        "box too loose",
        "rev@example.com",
    )
    assert review.created_at.year == 2026
    back = item_to_task(item, None, LossReport())
    assert back["annotations"][0]["completed_by"] == task["annotations"][0]["completed_by"]
    assert back["annotations"][0]["reviews"] == task["annotations"][0]["reviews"]


def test_ls_foreign_annotators_map_to_known_users_or_are_reported():
    losses = LossReport()
    task = item_to_task(_foreign_item(), None, losses, users={"a@example.com": 3})
    assert task["annotations"][0]["completed_by"] == 3 and not losses
    task = item_to_task(_foreign_item(), None, losses, users={})
    assert "completed_by" not in task["annotations"][0]
    assert losses.count("annotator-dropped") == 1


def test_ls_per_region_answers_on_a_video_track_round_trip():
    step = {
        "frame": 1,
        "enabled": True,
        "rotation": 0,
        "x": 1.0,
        "y": 2.0,
        "width": 3.0,
        "height": 4.0,
    }
    track = {
        "id": "t",
        "type": "videorectangle",
        "from_name": "box",
        "to_name": "video",
        "value": {"sequence": [step], "labels": ["Car"]},
    }
    answer = {
        "id": "t",
        "type": "choices",
        "from_name": "moving",
        "to_name": "video",
        "value": {"choices": ["yes"]},
    }
    task = {"data": {"video": "v.mp4"}, "annotations": [{"result": [track, answer]}]}
    item = task_to_item(task, None, LossReport(), where="t")
    parsed = item.annotation_sets[0].tracks[0]
    assert [(c.name, c.answers[0].value) for c in parsed.classifications] == [("moving", "yes")]
    back = item_to_task(item, None, LossReport())
    assert normalized(back["annotations"][0]["result"]) == normalized([track, answer])


def test_ls_results_without_ids_come_back_without_ids():
    box = {
        "type": "rectanglelabels",
        "from_name": "l",
        "to_name": "image",
        "value": {"x": 1, "y": 2, "width": 3, "height": 4, "rotation": 0, "rectanglelabels": ["A"]},
    }
    choice = {"type": "choices", "from_name": "c", "to_name": "image", "value": {"choices": ["x"]}}
    task = {"data": {"image": "a.jpg"}, "annotations": [{"result": [box, dict(box), choice]}]}
    item = task_to_item(task, None, LossReport(), where="t")
    assert [r.id for r in item.annotation_sets[0].regions] == ["_0", "_1"]  # two regions, not one
    back = item_to_task(item, None, LossReport())
    assert normalized(back["annotations"][0]["result"]) == normalized([box, box, choice])
