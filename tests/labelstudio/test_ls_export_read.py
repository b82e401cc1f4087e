"""Reading Label Studio JSON exports (real files from a Label Studio 1.23.2 server) into
unified Items: every region type, values checked against hand-computed numbers."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from bridge_labelstudio.convert import item_to_task, task_to_item
from bridge_labelstudio.files import LabelStudioJson
from bridge_labelstudio.ontology import parse_label_config
from label_studio_sdk.converter import brush as sdk_brush

from bridge import api
from bridge.geometry.masks import rle_to_bitmap
from bridge.losses import LossReport

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "labelstudio"


def read(name: str, config: bool = False, losses: LossReport | None = None):
    losses = losses if losses is not None else LossReport()
    options = {"label_config": str(FIXTURES / "configs" / f"{name}.xml")} if config else {}
    path = FIXTURES / f"real_{name}.json"
    dataset = LabelStudioJson().read(path, losses, **options)
    items = list(dataset.items)
    return items, dataset.project, losses


def _one(item, set_id):
    return next(a for a in item.annotation_sets if a.id == set_id)


def _task(item_id: str, name: str):
    items, _, _ = read(name)
    return next(i for i in items if i.source.item == item_id)


def test_ls_read_rotated_box_pivot_moves_from_top_left_to_centre():
    item = _task("1", "image_boxes")
    car = next(r for r in _one(item, "1").regions if r.id == "car1")
    # 640x480: x=10% -> 64, y=20% -> 96, w=30% -> 192, h=40% -> 192, rotated 30 deg about (64, 96)
    half = 96.0
    cx = 64 + half * math.cos(math.radians(30)) - half * math.sin(math.radians(30))
    cy = 96 + half * math.sin(math.radians(30)) + half * math.cos(math.radians(30))
    assert cx == pytest.approx(99.13843876330611) and cy == pytest.approx(227.13843876330611)
    assert car.shape.units == "px"
    assert (car.shape.x, car.shape.y) == (pytest.approx(cx - half), pytest.approx(cy - half))
    assert (car.shape.width, car.shape.height, car.shape.rotation) == (192, 192, 30)


def test_ls_read_quarter_turn_is_exact():
    task = {
        "id": 5,
        "data": {"image": "a.jpg"},
        "annotations": [
            {
                "id": 1,
                "result": [
                    {
                        "id": "b",
                        "type": "rectanglelabels",
                        "from_name": "l",
                        "to_name": "image",
                        "original_width": 1000,
                        "original_height": 1000,
                        "value": {
                            "x": 10,
                            "y": 10,
                            "width": 4,
                            "height": 2,
                            "rotation": 90,
                            "rectanglelabels": ["A"],
                        },
                    }
                ],
            }
        ],
    }
    box = task_to_item(task, None, LossReport(), where="t").annotation_sets[0].regions[0].shape
    # top-left (100, 100), 40 x 20; the centre is (100 - 10, 100 + 20) = (90, 120)
    assert (box.x, box.y, box.width, box.height) == (pytest.approx(70), pytest.approx(110), 40, 20)


def test_ls_read_per_region_answers_join_their_region():
    item = _task("1", "image_boxes")
    first = _one(item, "1")
    car = next(r for r in first.regions if r.id == "car1")
    assert car.label == "Car"
    assert [(c.name, [a.value for a in c.answers]) for c in car.classifications] == [
        ("color", ["red"]),
        ("note", ["dented door"]),
    ]
    assert [r.id for r in first.regions] == ["car1", "per1"]
    assert [(c.name, c.answers[0].value) for c in first.classifications] == [("quality", "good")]


def test_ls_read_annotation_fields_prediction_and_draft():
    items, _, losses = read("image_boxes")
    first = items[0]
    human = _one(first, "1")
    assert human.kind == "human" and human.annotator.id == "1"
    assert human.lead_time == 42.5 and human.ground_truth and human.status == "submitted"
    assert human.created_at.isoformat().startswith("2026-11-28T01:46:05")
    assert human.extra["unique_id"] and human.source.annotation == "1"
    prediction = _one(first, "prediction:1")
    assert (prediction.kind, prediction.model_version, prediction.score) == (
        "prediction",
        "yolo-v8",
        0.88,
    )
    assert prediction.regions[0].score == 0.91
    assert first.extra["draft_ids"] == [1]  # the snapshot lists drafts by id
    second = items[1]
    skipped = next(a for a in second.annotation_sets if a.status == "skipped")
    assert skipped.regions == []
    assert first.extra["meta"] == {"camera": "front"} and first.extra["allow_skip"] is True


def test_ls_read_sync_export_drafts_and_prediction_ids():
    losses = LossReport()
    dataset = LabelStudioJson().read(FIXTURES / "real_image_boxes_sync.json", losses)
    first = next(iter(dataset.items))
    draft = next(a for a in first.annotation_sets if a.status == "draft")
    assert draft.id == "draft:1" and draft.annotator.email == "ci@example.com"
    assert draft.lead_time == 2.5 and draft.regions[0].label == "Person"
    assert first.extra["prediction_ids"] == [1]
    assert losses.count("prediction-ids-only") == 1


def test_ls_read_missing_size_keeps_percent_and_reports_it():
    items, _, losses = read("image_boxes")
    unsized = next(r for a in items[1].annotation_sets for r in a.regions if r.id == "u1")
    assert unsized.shape.units == "percent"
    assert (unsized.shape.x, unsized.shape.width) == (5.0, 10.0)
    assert losses.count("size-unknown") == 1
    sized = next(r for a in items[1].annotation_sets for r in a.regions if r.id == "api1")
    assert (sized.shape.units, sized.shape.x) == ("px", 256.0)  # 40% of 640


def test_ls_read_polygon_keypoint_ellipse_brush():
    item = _task("3", "shapes")
    regions = {r.id: r for r in item.annotation_sets[0].regions}
    assert (item.media.width, item.media.height) == (40, 30)
    assert regions["poly1"].shape.points == [(4, 3), (20, 3), (20, 18), (4, 18)]
    assert regions["poly1"].extra["value"] == {"closed": True}
    assert [(p.x, p.y) for p in regions["kp1"].shape.points] == [(10, 15)]
    ellipse = regions["ell1"].shape
    assert (ellipse.cx, ellipse.cy, ellipse.rx, ellipse.ry, ellipse.rotation) == (20, 15, 4, 6, 45)
    mask = np.zeros((30, 40), dtype=np.uint8)
    mask[5:12, 8:30] = 1
    mask[20:25, 2:6] = 1
    assert regions["brush1"].label == "Sky"
    assert np.array_equal(rle_to_bitmap(regions["brush1"].shape.rle), mask.astype(bool))
    raw = sdk_brush.mask2rle(mask * 255)
    assert raw == sdk_brush.mask2rle(
        rle_to_bitmap(regions["brush1"].shape.rle).astype(np.uint8) * 255
    )


def test_ls_read_ner_spans_and_relations():
    item = _task("4", "ner")
    human = item.annotation_sets[0]
    spans = [(r.label, r.shape.start, r.shape.end, r.shape.text) for r in human.regions]
    assert spans == [("PER", 0, 5, "Alice"), ("ORG", 16, 20, "Acme"), ("LOC", 24, 29, "Paris")]
    assert item.media.text[16:20] == "Acme"
    rel = [(r.from_id, r.to_id, r.label, r.direction) for r in human.relations]
    assert rel == [("s1", "s2", "works_for", "forward"), ("s2", "s3", None, "both")]
    assert item.key.startswith("sha1:")


def test_ls_read_text_questions():
    item = _task("5", "text_classification")
    questions = {c.name: c for c in item.annotation_sets[0].classifications}
    assert [a.value for a in questions["topics"].answers] == ["sports", "tech"]
    category = questions["category"].answers
    assert [(a.value, [c.answers[0].value for c in a.classifications]) for a in category] == [
        ("Animal", ["Bird"]),
        ("Plant", []),
    ]
    assert questions["stars"].answers[0].value == 7 and questions["quality"].answers[0].value == 4
    assert questions["when"].answers[0].value == "2024-05-01"
    assert [a.value for a in questions["summary"].answers] == ["great match", "second line"]


def test_ls_read_video_enabled_false_means_outside_on_the_next_frame():
    item = _task("7", "video_tracking")
    man, car = item.annotation_sets[0].tracks
    assert (item.media.kind, item.media.frame_count, item.media.duration) == ("video", 100, 4.0)
    # LS frames 1, 10 (disabled), 20, 30, 31 (disabled) -> unified 0-based frames
    assert [(k.frame, k.outside) for k in man.keyframes] == [
        (0, False),
        (9, False),
        (10, True),
        (19, False),
        (29, False),
        (30, False),
        (31, True),
    ]
    assert man.keyframes[2].shape is None and man.keyframes[1].shape.x == 20.0
    assert man.label == "Man" and man.keyframes[0].shape.units == "percent"
    # LS 6 is disabled but LS 7 follows at once: nothing becomes outside, the flag is kept
    assert [(k.frame, k.outside) for k in car.keyframes] == [(4, False), (5, False), (6, False)]
    assert car.keyframes[1].extra["enabled"] is False


def test_ls_read_audio_segments_html_and_paragraph_spans():
    audio = _task("8", "audio_segments").annotation_sets[0].regions[0]
    assert (audio.shape.type, audio.shape.start, audio.shape.end) == ("time_segment", 0.5, 2.25)
    assert audio.classifications[0].answers[0].value == "hello there"
    html = _task("9", "html_spans").annotation_sets[0].regions[0]
    assert (html.shape.start, html.shape.end, html.shape.text) == (0, 6, "Report")
    assert html.extra["value"]["start"] == "/div[1]/h1[1]/text()[1]"
    item = _task("10", "dialogue")
    assert item.media.kind == "conversation"
    second = item.annotation_sets[0].regions[1]
    assert (second.shape.container, second.shape.start, second.shape.end) == ("1", 0, 12)


def test_ls_read_ontology_from_results_without_config():
    _, project, _ = read("image_boxes")
    labels = {c.name: c for c in project.ontology.labels}
    assert set(labels) == {"Car", "Person"}
    assert sorted(a.name for a in labels["Car"].attributes) == ["color", "note"]
    assert [q.name for q in project.ontology.classifications] == ["quality"]
    assert project.media_kind == "image"
    _, ner, _ = read("ner")
    assert [r.name for r in ner.ontology.relations] == ["works_for"]


def test_ls_read_label_config_option_gives_the_full_ontology():
    _, project, _ = read("shapes", config=True)
    assert {c.name for c in project.ontology.labels} == {
        "Road",
        "Building",
        "Nose",
        "Eye",
        "Sky",
        "Wheel",
    }


def test_ls_inspect_through_the_api():
    summary = api.inspect(FIXTURES / "real_image_boxes.json", "labelstudio")
    assert summary["items"] == 2
    # task 1: car1, per1 / car2 / prediction p1; task 2: u1 / api1 (the draft is an id only)
    assert summary["regions"] == {"bbox": 6}
    assert summary["labels"] == {"Car": 4, "Person": 2}


def test_ls_format_is_detected_from_the_file():
    from bridge import plugins

    assert plugins.detect_format(FIXTURES / "real_ner.json") == "labelstudio"


def test_ls_read_time_series_segments_with_the_config():
    config = parse_label_config((FIXTURES / "configs" / "timeseries.xml").read_text())
    result = {
        "id": "e1",
        "type": "timeserieslabels",
        "from_name": "events",
        "to_name": "ts",
        "value": {"start": 12.5, "end": 20, "instant": False, "timeserieslabels": ["Spike"]},
    }
    task = {
        "id": 1,
        "data": {"csv": "https://example.invalid/t.csv"},
        "annotations": [{"id": 1, "result": [result]}],
    }
    item = task_to_item(task, config, LossReport(), where="t")
    region = item.annotation_sets[0].regions[0]
    assert (item.media.kind, item.media.uri) == ("timeseries", "https://example.invalid/t.csv")
    assert (region.label, region.shape.type, region.shape.start, region.shape.end) == (
        "Spike",
        "time_segment",
        12.5,
        20,
    )
    assert region.extra["value"] == {"instant": False}
    assert item_to_task(item, config, LossReport())["annotations"][0]["result"] == [result]
