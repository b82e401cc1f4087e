"""Labelbox files from the field (issues 9 and 10): JSON-array exports, empty and legacy
files, video frame ranges and keyframes as Labelbox's server writes them, DICOM and
document labels, free-text answers, unnamed features, bad frame numbers, memory bombs.

Expected values are counted from the files with the json module or stated by hand."""

from __future__ import annotations

import io
import json
import struct
import zlib
from pathlib import Path

import pytest
from bridge_labelbox.convert import data_row_to_item, item_to_data_row, item_to_import_rows
from bridge_labelbox.files import LabelboxExport, read_export
from bridge_labelbox.legacy_v1 import v1_row_to_v2
from bridge_labelbox.png_masks import png_to_rle
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge import api
from bridge.errors import BridgeError, FormatError
from bridge.losses import LossReport
from bridge.plugins import detect_format
from bridge.schema import (
    AnnotationSet,
    Answer,
    BBox,
    Classification,
    Item,
    Keyframe,
    Media,
    Region,
    Relation,
    Track,
)
from tests.support.json_mutation import json_paths, replace_at

from . import lb_export_samples as samples
from .lb_export_samples import FIXTURES, REAL_EXPORT
from .lb_export_samples import ndjson_rows as _rows
from .test_lb_malformed import json_values

VIDEO_KEYFRAMES = FIXTURES / "export_v2_video_bbox_keyframes.ndjson"
VIDEO_CHECKLIST = FIXTURES / "export_v2_video_checklist_segments.ndjson"
DICOM = FIXTURES / "export_v2_dicom_groups.ndjson"
LEGACY = FIXTURES / "legacy_v1_export.json"
LS_EXPORT = (
    Path(__file__).resolve().parents[1] / "fixtures" / "labelstudio" / "real_image_boxes.json"
)


def _one(path: Path) -> tuple[Item, LossReport]:
    losses = LossReport()
    (item,) = list(read_export(path, losses).items)
    return item, losses


def _write(tmp_path: Path, rows: list, name: str = "export.ndjson") -> Path:
    path = tmp_path / name
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


# ------------------------------------------------------------------ 9.2 JSON arrays, empty


@pytest.mark.parametrize("indent", [None, 2])
def test_lb_json_array_export_reads_like_ndjson(tmp_path, indent):
    rows = _rows(REAL_EXPORT)
    array = tmp_path / "export.json"
    array.write_text(json.dumps(rows, indent=indent))  # what `json.dump(export_json, f)` saves
    assert detect_format(array) == "labelbox"
    from_array = list(read_export(array, LossReport()).items)
    from_lines = list(read_export(REAL_EXPORT, LossReport()).items)
    assert len(from_array) == len(rows) == 102
    assert [i.key for i in from_array] == [row["data_row"]["global_key"] for row in rows]
    assert [i.model_dump(exclude={"source"}) for i in from_array] == [
        i.model_dump(exclude={"source"}) for i in from_lines
    ]


def test_lb_json_array_converts_through_the_cli_api(tmp_path):
    rows = _rows(REAL_EXPORT)
    array = tmp_path / "export.json"
    array.write_text(json.dumps(rows))
    out = tmp_path / "out.jsonl"
    api.convert(array, out)  # format detected
    lines = out.read_text().splitlines()
    assert len(lines) == 1 + len(rows)  # header + one line per data row


def test_lb_sniffer_claims_arrays_whose_projects_are_past_the_sniffed_head(tmp_path):
    row = samples.image_row()
    row = {
        "data_row": row["data_row"],
        "media_attributes": row["media_attributes"],
        "embeddings": [{"values": [{"value": [0.123456789] * 20000}]}],
        "projects": row["projects"],
    }
    path = tmp_path / "big.json"
    path.write_text(json.dumps([row], indent=1))
    assert path.read_bytes()[: 64 * 1024].count(b'"projects"') == 0
    assert detect_format(path) == "labelbox"


def test_lb_sniffer_leaves_label_studio_exports_alone():
    head = LS_EXPORT.read_bytes()[: 64 * 1024]
    assert LabelboxExport().sniff(LS_EXPORT, head) is False


@pytest.mark.parametrize("text", ["", "\n\n  \n", "[]", "[\n ]\n", "\ufeff"])
def test_lb_empty_file_is_refused(tmp_path, text):
    path = tmp_path / "empty.ndjson"
    path.write_text(text)
    with pytest.raises(FormatError) as caught:
        list(read_export(path, LossReport()).items)
    assert "no Labelbox data rows" in caught.value.message
    assert caught.value.where == str(path) and caught.value.hint


def test_lb_legacy_json_export_is_detected_and_read(tmp_path):
    rows = json.loads(LEGACY.read_text())
    assert detect_format(LEGACY) == "labelbox"
    losses = LossReport()
    items = list(read_export(LEGACY, losses).items)
    assert len(items) == len(rows) == 3
    first = items[0]
    assert first.key == "0.jpg" and first.source.item == "cke6dd2co8ohh0bnuhq589dnu"
    assert first.media.uri == rows[0]["Labeled Data"]
    (label,) = first.annotation_sets
    assert (
        label.id == "cke6dtfgo00003b5s1tanhqk8" and label.annotator.email == rows[0]["Created By"]
    )
    assert label.lead_time == 186.632
    assert [(r.label, r.shape.type) for r in label.regions] == [("slum", "mask"), ("other", "mask")]
    assert [r.extra["mask"]["url"] for r in label.regions] == [
        o["instanceURI"] for o in rows[0]["Label"]["objects"]
    ]
    boxes = items[1].annotation_sets[0]
    (box,) = boxes.regions
    expected = rows[1]["Label"]["objects"][0]["bbox"]
    assert (box.label, box.shape.x, box.shape.y, box.shape.width, box.shape.height) == (
        "cattle",
        expected["left"],
        expected["top"],
        expected["width"],
        expected["height"],
    )
    (posture,) = box.classifications
    assert (posture.name, posture.answers[0].value) == ("posture", "standing")
    weather, note, tags = boxes.classifications
    assert (weather.name, weather.answers[0].value) == ("weather", "rain")
    assert (note.name, note.answers[0].value) == ("note", "muddy field")
    assert [a.value for a in tags.answers] == ["a", "b"]
    assert items[2].annotation_sets[0].regions == []  # a skipped label
    assert losses.count("labelbox-legacy-export") == 3


def test_lb_truncated_json_array_is_refused_with_the_last_row_read(tmp_path):
    rows = _rows(REAL_EXPORT)[:3]
    path = tmp_path / "export.json"
    text = json.dumps(rows)
    path.write_text(text[: len(text) - 40])
    items = iter(read_export(path, LossReport()).items)
    assert next(items).key == rows[0]["data_row"]["global_key"]
    next(items)
    with pytest.raises(FormatError) as caught:
        next(items)
    assert "after data row 2" in caught.value.message


# ------------------------------------------------------------- 9.11 video ranges, keyframes


def test_lb_video_classification_ranges_come_from_segments():
    """A checklist imported over frames 7-13 and 18-19 (Labelbox's own test): the export
    lists it with the video's classifications and its ranges in `segments`."""
    item, _ = _one(VIDEO_CHECKLIST)
    (checklist,) = item.annotation_sets[0].classifications
    assert checklist.name == "checklist"
    assert [a.value for a in checklist.answers] == [
        "first_checklist_answer",
        "second_checklist_answer",
    ]
    # Labelbox frames are 1-based and inclusive: 7-13 -> unified 6-12, 18-19 -> 17-18
    assert [(r.start, r.end) for r in checklist.frames] == [(6, 12), (17, 18)]
    assert item_to_data_row(item, LossReport()) == _rows(VIDEO_CHECKLIST)[0]


def test_lb_video_classification_on_segment_ends_covers_the_whole_range():
    """The other form: the classification listed on the first and last frame of its range
    only; 7-13 must not become two one-frame ranges."""
    scene = samples.nested_radio("fScene", "scene", "day")
    row = samples.video_row()
    annotations = row["projects"]["pA"]["labels"][0]["annotations"]
    annotations["frames"] = {
        "7": {"objects": {}, "classifications": [scene]},
        "13": {"objects": {}, "classifications": [scene]},
    }
    annotations["segments"] = {"fScene": [[7, 13]]}
    annotations["key_frame_feature_map"] = {"fScene": [7, 13]}
    item = data_row_to_item(row, LossReport(), where="t")
    (ranged,) = [c for c in item.annotation_sets[0].classifications if c.frames is not None]
    assert [(r.start, r.end) for r in ranged.frames] == [(6, 12)]
    assert item_to_data_row(item, LossReport()) == row


def test_lb_key_frame_feature_map_false_is_not_a_keyframe():
    item, _ = _one(VIDEO_KEYFRAMES)
    (track,) = item.annotation_sets[0].tracks
    drawn = {k.frame: k.keyframe for k in track.keyframes if not k.outside}
    assert drawn == {12: True, 17: False, 18: True}  # Labelbox 13: true, 18: false, 19: true
    # segments [13, 13] and [18, 19] of 100 frames: off screen at 14 and 20 (unified 13, 19)
    assert [k.frame for k in track.keyframes if k.outside] == [13, 19]
    assert item_to_data_row(item, LossReport()) == _rows(VIDEO_KEYFRAMES)[0]


@pytest.mark.parametrize("frame_count", [30, None])
def test_lb_video_segment_ending_on_the_last_frame(frame_count):
    row = samples.video_row()
    row["media_attributes"]["frame_count"] = frame_count
    annotations = row["projects"]["pA"]["labels"][0]["annotations"]
    annotations["frames"] = {
        "28": {"objects": {"fTrack": samples._video_box(28)}, "classifications": []},
        "30": {"objects": {"fTrack": samples._video_box(30)}, "classifications": []},
    }
    annotations["segments"] = {"fTrack": [[28, 30]]}
    annotations["key_frame_feature_map"] = {"fTrack": [28, 30]}
    item = data_row_to_item(row, LossReport(), where="t")
    (track,) = item.annotation_sets[0].tracks
    outside = [k.frame for k in track.keyframes if k.outside]
    assert outside == ([] if frame_count == 30 else [30])  # no frame 31 on a 30-frame video
    back = item_to_data_row(item, LossReport())
    assert back["projects"]["pA"]["labels"][0]["annotations"]["segments"] == {"fTrack": [[28, 30]]}


# ------------------------------------------------------------ 10.15 frames, two geometries


@pytest.mark.parametrize(
    "change",
    [
        lambda a: a["frames"].update({"0": a["frames"].pop("2")}),
        lambda a: a["frames"].update({"-3": a["frames"].pop("2")}),
        lambda a: a["segments"].update({"fTrack": [[0, 4]]}),
        lambda a: a["key_frame_feature_map"].update({"fTrack": [0, 4]}),
    ],
)
def test_lb_frames_below_one_are_refused(tmp_path, change):
    row = samples.video_row()
    change(row["projects"]["pA"]["labels"][0]["annotations"])
    path = _write(tmp_path, [samples.text_row(), row])
    with pytest.raises(FormatError) as caught:
        list(read_export(path, LossReport()).items)
    assert caught.value.where == f"{path}:2"
    assert "frame" in caught.value.message


def test_lb_segment_ending_before_it_starts_is_refused():
    row = samples.video_row()
    row["projects"]["pA"]["labels"][0]["annotations"]["segments"]["fTrack"] = [[4, 2]]
    with pytest.raises(FormatError, match="before it starts"):
        data_row_to_item(row, LossReport(), where="t")


def test_lb_object_with_two_geometries_is_refused(tmp_path):
    row = samples.image_row()
    car = row["projects"]["pA"]["labels"][0]["annotations"]["objects"][0]
    car["polygon"] = [{"x": 0, "y": 0}, {"x": 1, "y": 0}, {"x": 1, "y": 1}]
    path = _write(tmp_path, [row])
    with pytest.raises(FormatError) as caught:
        list(read_export(path, LossReport()).items)
    assert caught.value.where == f"{path}:1"
    assert "two geometries" in caught.value.message


# ------------------------------------------------------------------- 10.7 deep nesting


def _nested_radio(depth: int) -> dict:
    question = samples.nested_radio("f0", "q0", "a0")
    for level in range(1, depth):
        question = samples.nested_radio(f"f{level}", f"q{level}", f"a{level}", [question])
    return question


def test_lb_deeply_nested_classifications_are_refused_with_a_location(tmp_path):
    row = samples.image_row()
    row["projects"]["pA"]["labels"][0]["annotations"]["classifications"] = [_nested_radio(300)]
    path = _write(tmp_path, [samples.text_row(), row])  # 900 JSON levels: orjson reads them
    with pytest.raises(FormatError) as caught:
        list(read_export(path, LossReport()).items)
    assert caught.value.where == f"{path}:2"
    assert "nest" in caught.value.message


def test_lb_deeply_nested_vendor_fields_give_an_item_or_a_format_error(tmp_path):
    row = samples.image_row()
    row["data_row"]["details"]["deep"] = "DEEP"
    path = tmp_path / "deep.ndjson"  # json.dumps cannot write 1000 levels: spliced in
    path.write_text(json.dumps(row).replace('"DEEP"', "[" * 1000 + '"leaf"' + "]" * 1000) + "\n")
    try:
        items = list(read_export(path, LossReport()).items)
    except FormatError as error:
        assert error.where is not None
    else:
        value, depth = items[0].extra["lb_data_row"]["details"]["deep"], 0
        while isinstance(value, list):
            value, depth = value[0], depth + 1
        assert (value, depth) == ("leaf", 1000)


def test_lb_nesting_within_the_bound_is_read():
    row = samples.image_row()
    row["projects"]["pA"]["labels"][0]["annotations"]["classifications"] = [_nested_radio(20)]
    item = data_row_to_item(row, LossReport(), where="t")
    depth, classification = 0, item.annotation_sets[0].classifications[0]
    while True:
        depth += 1
        nested = classification.answers[0].classifications
        if not nested:
            break
        classification = nested[0]
    assert depth == 20


# ------------------------------------------------------------------- 10.9 memory bombs


def _png_header(width: int, height: int) -> bytes:
    """A PNG that announces width x height in its IHDR and holds almost nothing."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr
    chunk += struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk
        + struct.pack(">I", 0)
        + b"IEND"
        + struct.pack(">I", zlib.crc32(b"IEND"))
    )


def test_lb_mask_on_a_huge_declared_image_is_refused_before_allocation(tmp_path):
    row = samples.image_row()
    row["media_attributes"].update(width=60000, height=60000)  # 3.6 gigapixels in a few bytes
    path = _write(tmp_path, [row])
    with pytest.raises(FormatError) as caught:
        list(read_export(path, LossReport()).items)
    assert "above the limit" in caught.value.message and "max_pixels" in caught.value.hint
    assert caught.value.where == f"{path}:1"


def test_lb_max_pixels_option_sets_the_budget(tmp_path):
    path = _write(tmp_path, [samples.image_row()])  # an 8 x 6 image with a mask
    assert len(list(read_export(path, LossReport(), max_pixels=48).items)) == 1
    with pytest.raises(FormatError):
        list(read_export(path, LossReport(), max_pixels=47).items)
    with pytest.raises(FormatError):
        api.convert(path, tmp_path / "out.jsonl", max_pixels=47)


def test_lb_png_decompression_bomb_is_refused_from_its_header():
    bomb = _png_header(100_000, 100_000)
    with pytest.raises(FormatError, match="above the limit"):
        png_to_rle(bomb)
    with pytest.raises(FormatError, match="above the limit"):
        png_to_rle(_png_header(20, 20), max_pixels=399)


def test_lb_fetched_mask_above_the_budget_is_refused():
    row = samples.image_row()
    with pytest.raises(FormatError, match="above the limit"):
        data_row_to_item(
            row,
            LossReport(),
            where="t",
            masks=lambda url: _png_header(9000, 9000),
            max_pixels=10_000_000,
        )


def test_lb_mask_placeholder_matches_an_empty_bitmap():
    from bridge.geometry.masks import rle_to_bitmap

    item = data_row_to_item(samples.image_row(), LossReport(), where="t")
    (mask,) = [r for r in item.annotation_sets[0].regions if r.shape.type == "mask"]
    bitmap = rle_to_bitmap(mask.shape.rle)
    assert bitmap.shape == (6, 8) and not bitmap.any()


# --------------------------------------------------------------- 9.5 no unnamed features


def _unnamed_item() -> Item:
    box = BBox(x=1, y=2, width=3, height=4)
    regions = [
        Region(
            id="named",
            label="car",
            shape=box,
            classifications=[
                Classification(name="color", answers=[Answer(value=""), Answer(value="red")])
            ],
        ),
        Region(id="nolabel", label=None, shape=box),
        Region(id="empty", label="", shape=box),
    ]
    relations = [
        Relation(from_id="named", to_id="nolabel", label="near"),
        Relation(from_id="named", to_id="named", label=None),
    ]
    questions = [
        Classification(name="", answers=[Answer(value="x")]),
        Classification(name="weather", answers=[Answer(value="")]),
    ]
    still = AnnotationSet(id="s1", regions=regions, relations=relations, classifications=questions)
    return Item(
        key="a.jpg", media=Media(kind="image", width=10, height=10), annotation_sets=[still]
    )


def _names(value, found: list) -> list:
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "name":
                found.append(inner)
            _names(inner, found)
    elif isinstance(value, list):
        for inner in value:
            _names(inner, found)
    return found


@pytest.mark.parametrize("writer", ["export", "import"])
def test_lb_writers_never_write_a_null_or_empty_name(writer):
    losses = LossReport()
    item = _unnamed_item()
    if writer == "export":
        written = item_to_data_row(item, losses, project_id="p")
    else:
        written = list(item_to_import_rows(item, losses))
    names = _names(written, [])
    assert None not in names and "" not in names
    assert {"car", "red"} <= set(names)
    # 2 unnamed objects, 1 empty answer on a region, 1 relation without a name, 1 question
    # without a name, 1 empty answer (its question then has none left: 1 more)
    assert losses.count("labelbox-unnamed") == 7
    assert losses.count("labelbox-relation-dangling") == 1  # "near" points at a dropped object


def test_lb_video_track_without_label_is_left_out_with_a_loss():
    track = Track(
        id="t", label=None, keyframes=[Keyframe(frame=0, shape=BBox(x=0, y=0, width=1, height=1))]
    )
    item = Item(
        key="v",
        media=Media(kind="video", frame_count=5),
        annotation_sets=[AnnotationSet(id="s", tracks=[track])],
    )
    losses = LossReport()
    row = item_to_data_row(item, losses, project_id="p")
    annotations = row["projects"]["p"]["labels"][0]["annotations"]
    assert annotations["frames"] == {} and annotations["segments"] == {}
    assert losses.count("labelbox-unnamed") == 1
    assert list(item_to_import_rows(item, LossReport())) == []


# --------------------------------------------------------------- 9.10 free-text answers


def test_lb_text_questions_are_text_in_the_unified_ontology(tmp_path):
    path = _write(tmp_path, samples.all_rows())
    dataset = read_export(path, LossReport())
    list(dataset.items)
    ontology = dataset.project.ontology
    top = {spec.name: spec.input for spec in ontology.classifications}
    assert top["note"] == "text" and top["tags"] == "checklist" and top["weather"] == "radio"
    (car,) = [label for label in ontology.labels if label.name == "car"]
    color, occluded = car.attributes  # on the image's box, and per frame on the video's
    assert color.input == "radio" and [o.value for o in color.options] == ["red"]
    (shade,) = color.options[0].children  # nested under the answer "red"
    assert (shade.name, shade.input) == ("shade", "text")
    assert (occluded.name, occluded.mutable, [o.value for o in occluded.options]) == (
        "occluded",
        True,
        ["yes"],
    )  # answered per frame on the video track


def _labelstudio_note(out: Path) -> dict:
    tasks = json.loads(out.read_text())
    (note,) = [r for r in tasks[0]["annotations"][0]["result"] if r.get("from_name") == "note"]
    return note


def test_lb_free_text_answer_becomes_a_label_studio_textarea_through_jsonl(tmp_path):
    source = _write(tmp_path, samples.all_rows())
    unified, out = tmp_path / "u.jsonl", tmp_path / "out.json"
    api.convert(source, unified)
    api.convert(unified, out, to_format="labelstudio")
    note = _labelstudio_note(out)
    assert note["type"] == "textarea" and note["value"]["text"] == ["hello"]


def test_lb_free_text_answer_becomes_a_label_studio_textarea_directly(tmp_path):
    source = _write(tmp_path, samples.all_rows())
    out = tmp_path / "out.json"
    api.convert(source, out, to_format="labelstudio")
    note = _labelstudio_note(out)
    assert note["type"] == "textarea" and note["value"]["text"] == ["hello"]


# ----------------------------------------------------------------- 9.12 DICOM, documents


def test_lb_dicom_label_is_named_in_the_loss_report_and_kept_for_labelbox():
    item, losses = _one(DICOM)
    assert item.annotation_sets[0].regions == [] and item.annotation_sets[0].tracks == []
    loss = losses["labelbox-dicom-unsupported"]
    assert loss.count == 1 and "polyline" in loss.examples[0]
    assert item_to_data_row(item, LossReport()) == _rows(DICOM)[0]


def test_lb_document_entity_never_becomes_a_span_without_offsets(tmp_path):
    path = _write(tmp_path, [samples.document_row()])
    out = tmp_path / "out.jsonl"
    api.convert(path, out)
    for line in out.read_text().splitlines()[1:]:
        for aset in json.loads(line)["annotation_sets"]:
            for region in aset.get("regions", []):
                if region["shape"]["type"] == "span":
                    assert isinstance(region["shape"]["start"], int)
                    assert isinstance(region["shape"]["end"], int)


@pytest.mark.parametrize(
    "location",
    [
        {"start": "1", "end": 3},
        {"start": 1, "end": None},
        {"start": 5, "end": 2},
        {"start": -1, "end": 2},
    ],
)
def test_lb_text_entity_offsets_must_be_integers_in_order(location):
    row = samples.text_row()
    row["projects"]["pA"]["labels"][0]["annotations"]["objects"][0]["location"] = location
    with pytest.raises(FormatError):
        data_row_to_item(row, LossReport(), where="t")


def test_lb_unnamed_png_is_not_a_png():
    with pytest.raises(FormatError, match="not a PNG"):
        png_to_rle(b"GIF89a" + bytes(30))
    with pytest.raises(FormatError):
        png_to_rle(_png_header(4, 4)[:-12] + io.BytesIO(b"junk").read())


def test_lb_import_writer_refuses_a_mask_above_the_budget_before_making_its_png():
    from bridge.schema import RLE, Mask

    rle = RLE(size=(50_000, 50_000), counts="0")  # 2.5 gigapixels announced by two numbers
    region = Region(id="m", label="blob", shape=Mask(rle=rle))
    item = Item(
        key="a",
        media=Media(kind="image", width=50_000, height=50_000),
        annotation_sets=[AnnotationSet(id="s", regions=[region])],
    )
    with pytest.raises(FormatError, match="above the limit"):
        list(item_to_import_rows(item, LossReport()))
    small = Region(id="m", label="blob", shape=Mask(rle=RLE(size=(4, 5), counts="0")))
    item = item.model_copy(update={"annotation_sets": [AnnotationSet(id="s", regions=[small])]})
    with pytest.raises(FormatError, match="above the limit"):
        list(item_to_import_rows(item, LossReport(), max_pixels=19))
    (row,) = item_to_import_rows(item, LossReport(), max_pixels=20)
    assert row["name"] == "blob" and row["mask"]["png"]


def test_the_core_imports_no_pillow_and_the_plugin_only_when_decoding():
    import ast
    import subprocess
    import sys

    core = Path(__file__).resolve().parents[2] / "src" / "bridge"
    for module in core.rglob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else ([node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            )
            assert not [n for n in names if n == "PIL" or n.startswith("PIL.")], module
    code = (
        "import sys, bridge_labelbox.plugin, bridge_labelbox.convert, bridge_labelbox.files;"
        "print('PIL' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False", done.stderr


def test_lb_frame_classification_without_feature_id_groups_by_answer(tmp_path):
    row = samples.video_row()
    annotations = row["projects"]["pA"]["labels"][0]["annotations"]
    day = {"name": "scene", "radio_answer": {"name": "day"}, "odd": "DEEP"}
    night = {"name": "scene", "radio_answer": {"name": "night"}}
    annotations["frames"] = {
        "2": {"objects": {}, "classifications": [day]},
        "3": {"objects": {}, "classifications": [day, night]},
        "5": {"objects": {}, "classifications": [night]},
    }
    path = tmp_path / "export.ndjson"  # a vendor field nested past what orjson can write
    path.write_text(json.dumps(row).replace('"DEEP"', "[" * 300 + "1" + "]" * 300) + "\n")
    item, _ = _one(path)
    ranged = {
        c.answers[0].value: [(r.start, r.end) for r in c.frames]
        for c in item.annotation_sets[0].classifications
        if c.frames is not None
    }
    assert ranged == {"day": [(1, 2)], "night": [(2, 2), (4, 4)]}


def test_lb_legacy_export_converts_to_an_export_v2_file_that_reads_back(tmp_path):
    out = tmp_path / "v2.ndjson"
    api.convert(LEGACY, out, to_format="labelbox")
    again = list(read_export(out, LossReport()).items)
    first = list(read_export(LEGACY, LossReport()).items)
    assert [i.model_dump(exclude={"source"}) for i in again] == [
        i.model_dump(exclude={"source"}) for i in first
    ]


LEGACY_ROWS = json.loads(LEGACY.read_text())
LEGACY_PATHS = [(n, p) for n, row in enumerate(LEGACY_ROWS) for p in json_paths(row) if p]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(LEGACY_PATHS), json_values)
def test_lb_legacy_fuzz_gives_an_item_or_a_bridge_error(target, value):
    number, path = target
    row = replace_at(LEGACY_ROWS[number], path, value)
    losses = LossReport()
    try:
        item = data_row_to_item(v1_row_to_v2(row, "fuzz:1"), losses, where="fuzz:1")
    except BridgeError:
        return
    item_to_data_row(item, losses)
    list(item_to_import_rows(item, losses))


def test_lb_document_box_is_imported_with_its_page_and_unit():
    """Labelbox's document rectangles import with `page` and `unit` (labelbox-python's
    `rectangle_inference_document`: page 1, unit POINTS); the export names the page
    `page_number`."""
    item = data_row_to_item(samples.document_row(), LossReport(), where="t")
    losses = LossReport()
    (row,) = [r for r in item_to_import_rows(item, losses) if "bbox" in r]
    assert (row["page"], row["unit"]) == (1, "POINTS")
    assert row["bbox"] == {"top": 48.0, "left": 58.0, "height": 65.0, "width": 12.0}
    from labelbox.data.serialization.ndjson.objects import NDDocumentRectangle

    parsed = NDDocumentRectangle(
        **{k: v for k, v in row.items() if k != "dataRow"}, dataRow={"globalKey": "pdf-1"}
    )
    assert (parsed.page, parsed.unit) == (1, "POINTS")


@pytest.mark.parametrize(
    "change, words",
    [
        (lambda objs: objs[0]["bounding_box"].update(width=-5.0), "must not be negative"),
        (lambda objs: objs[0]["bounding_box"].update(height=-1), "must not be negative"),
        (
            lambda objs: objs[1].update(
                polygon=[{"x": 0.0, "y": 0.0}, {"x": 1.0, "y": 1.0}, {"x": 0.0, "y": 0.0}]
            ),
            "at least 3 points",
        ),
        (lambda objs: objs[2].update(line=[{"x": 1.0, "y": 1.0}]), "at least 2 points"),
    ],
)
def test_lb_shapes_no_tool_draws_are_refused(tmp_path, change, words):
    """What the schema's invariants refuse is refused where the export is read, on both
    the validated and the record path (which skips pydantic)."""
    row = samples.image_row()
    change(row["projects"]["pA"]["labels"][0]["annotations"]["objects"])
    path = _write(tmp_path, [samples.text_row(), row])
    for read in (
        lambda: list(read_export(path, LossReport()).items),
        lambda: list(read_export(path, LossReport()).items.records()),
    ):
        with pytest.raises(FormatError) as caught:
            read()
        assert caught.value.where == f"{path}:2" and words in caught.value.message


def test_lb_media_size_of_zero_is_unknown_and_written_back():
    row = samples.video_row()
    row["media_attributes"].update(width=0, height=0, frame_rate=0)
    item = data_row_to_item(row, LossReport(), where="t")
    assert (item.media.width, item.media.height, item.media.fps) == (None, None, None)
    assert item.media.frame_count == 30
    assert item_to_data_row(item, LossReport()) == row
