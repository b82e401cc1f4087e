"""Unified -> Labelbox import NDJSON: every annotation of the hand-built export arrives,
with hand-computed values, and options behave."""

from __future__ import annotations

import json

import pytest
from bridge_labelbox.convert import data_row_to_item, item_to_import_rows

from bridge import api
from bridge.errors import ConfigError
from bridge.losses import LossReport
from bridge.schema import BBox, Ellipse, Item, Media, Region, Span

from . import lb_export_samples as samples


def _rows(row: dict, **options) -> tuple[list[dict], LossReport]:
    losses = LossReport()
    item = data_row_to_item(row, losses, where="t", masks=lambda url: samples.composite_png())
    return list(item_to_import_rows(item, losses, **options)), losses


def _count_export(row: dict) -> dict[str, int]:
    """Objects, classifications and relationships in an export row, counted from the JSON."""
    counts = {"objects": 0, "classifications": 0, "relationships": 0}
    for project in row["projects"].values():
        for label in project["labels"]:
            annotations = label["annotations"]
            counts["objects"] += len(annotations.get("objects", []))
            counts["objects"] += len(annotations.get("segments", {}))
            counts["classifications"] += len(annotations.get("classifications", []))
            counts["relationships"] += len(annotations.get("relationships", []))
    return counts


def _count_import(rows: list[dict]) -> dict[str, int]:
    geometry = ("bbox", "polygon", "line", "point", "mask", "location", "segments")
    return {
        "objects": sum(any(k in r for k in geometry) for r in rows),
        "classifications": sum("answer" in r and "frames" not in r for r in rows),
        "relationships": sum("relationship" in r for r in rows),
    }


@pytest.mark.parametrize(
    "make_row", [samples.image_row, samples.text_row, samples.conversation_row]
)
def test_lb_import_keeps_every_annotation(make_row):
    row = make_row()
    rows, losses = _rows(row)
    assert _count_import(rows) == _count_export(row)
    assert not [loss.code for loss in losses if loss.severity == "dropped"]


def test_lb_import_video_keeps_keyframes_segments_and_frame_ranges():
    rows, _ = _rows(samples.video_row())
    (track,) = [r for r in rows if "segments" in r]
    frames = [[k["frame"] for k in segment["keyframes"]] for segment in track["segments"]]
    assert frames == [[2, 4], [8]]  # frame 3 was interpolated, 8 is after the gap
    assert track["segments"][0]["keyframes"][0]["bbox"] == {
        "top": 2.0,
        "left": 4.0,
        "height": 10.0,
        "width": 20.0,
    }
    (scene,) = [r for r in rows if r.get("name") == "scene"]
    assert scene["frames"] == [{"start": 2, "end": 4}, {"start": 10, "end": 10}]
    (content,) = [r for r in rows if r.get("name") == "content"]
    assert content["answer"] == [{"name": "cars"}] and "frames" not in content


def test_lb_import_text_entity_end_is_inclusive_again():
    item = Item(
        key="t",
        media=Media(kind="text", text="Alice and Bob"),
        annotation_sets=[
            {"id": "s", "regions": [Region(id="r", label="PER", shape=Span(start=10, end=13))]}
        ],
    )
    (row,) = item_to_import_rows(item, LossReport())
    assert row["location"] == {"start": 10, "end": 12}
    assert "Alice and Bob"[10 : 12 + 1] == "Bob"


def test_lb_import_by_data_row_id_and_schema_ids():
    rows, losses = _rows(samples.image_row(), data_row_key="id", use_schema_ids=True)
    assert {json.dumps(r["dataRow"]) for r in rows} == {'{"id": "dr-img"}'}
    car = rows[1]
    assert car["schemaId"] == "schema-car" and "name" not in car
    assert car["classifications"][0]["schemaId"] == "schema-color"
    assert car["classifications"][0]["answer"]["schemaId"] == "schema-red"
    lane = rows[3]  # the sample's lane has no feature_schema_id: named instead, and said so
    assert lane["name"] == "lane"
    assert losses.count("labelbox-schema-id-missing") >= 1


def test_lb_import_unfetched_mask_is_sent_by_url():
    losses = LossReport()
    item = data_row_to_item(samples.image_row(), losses, where="t")
    rows = list(item_to_import_rows(item, losses))
    (mask,) = [r for r in rows if "mask" in r]
    assert mask["mask"] == {"instanceURI": samples.COMPOSITE_URL, "colorRGB": [255, 0, 0]}


def test_lb_import_reports_what_labelbox_cannot_hold():
    item = Item(
        key="k",
        media=Media(kind="image", width=10, height=10),
        annotation_sets=[
            {
                "id": "s",
                "regions": [
                    Region(id="e", label="eye", shape=Ellipse(cx=1, cy=1, rx=1, ry=1)),
                    Region(
                        id="b", label="box", shape=BBox(x=1, y=1, width=2, height=2, rotation=30)
                    ),
                ],
            }
        ],
    )
    losses = LossReport()
    rows = list(item_to_import_rows(item, losses))
    assert [r["name"] for r in rows] == ["box"]
    assert losses.count("labelbox-ellipse-unsupported") == 1
    assert losses["labelbox-rotation-dropped"].severity == "approximated"


def test_lb_import_item_without_data_row_id_is_skipped_with_a_loss():
    item = Item(key="k", media=Media(kind="image"), annotation_sets=[{"id": "s"}])
    losses = LossReport()
    assert list(item_to_import_rows(item, losses, data_row_key="id")) == []
    assert losses.count("labelbox-data-row-id-unknown") == 1
    with pytest.raises(ConfigError):
        list(item_to_import_rows(item, losses, data_row_key="uid"))


def test_lb_import_format_via_cli_api(tmp_path):
    source = tmp_path / "export.ndjson"
    source.write_text(json.dumps(samples.text_row()) + "\n")
    target = tmp_path / "import.ndjson"
    losses = api.convert(str(source), target, to_format="labelbox-import")
    (row,) = [json.loads(line) for line in target.read_text().splitlines()]
    assert row["dataRow"] == {"globalKey": "txt-1"} and row["location"] == {"start": 0, "end": 4}
    assert not losses


def test_lb_video_region_without_frame_is_reported_not_sent():
    item = Item(
        key="v",
        media=Media(kind="video", frame_count=5),
        annotation_sets=[
            {
                "id": "s",
                "regions": [
                    Region(id="a", label="car", shape=BBox(x=0, y=0, width=1, height=1)),
                    Region(id="b", label="car", frame=2, shape=BBox(x=0, y=0, width=1, height=1)),
                ],
            }
        ],
    )
    losses = LossReport()
    rows = list(item_to_import_rows(item, losses))
    assert [[k["frame"] for k in seg["keyframes"]] for r in rows for seg in r["segments"]] == [[3]]
    assert losses.count("labelbox-video-region-without-frame") == 1


def test_lb_ndjson_target_without_to_means_export_v2(tmp_path):
    source = tmp_path / "export.ndjson"
    source.write_text(json.dumps(samples.text_row()) + "\n")
    target = tmp_path / "again.ndjson"
    api.convert(str(source), target)
    assert json.loads(target.read_text()) == samples.text_row()
