"""Label Studio files from the field (issues 9 and 10): one task object, flat import
tasks, boxes drawn backwards, tool + Labels regions, dialogue spans across paragraphs,
labels on <Audio>, soft-alpha brushes, memory bombs, a pull that answers nothing. The
real_* files were written by a real Label Studio 1.23.2 server (produce_real_exports.py);
expected values are computed here by hand or with the SDK, never from our output."""

from __future__ import annotations

import json
import math
import tracemalloc
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import orjson
import pytest
import respx
from bridge_labelstudio import read_results
from bridge_labelstudio.brush import bitmap_to_ls_rle, stroke_runs
from bridge_labelstudio.connector import LabelStudioConnector
from bridge_labelstudio.convert import item_to_task, task_to_item
from bridge_labelstudio.files import LabelStudioJson
from bridge_labelstudio.ontology import parse_label_config
from label_studio_sdk.converter import brush as sdk_brush

from bridge import api, plugins
from bridge.errors import BridgeError, FormatError, RemoteError
from bridge.geometry.coords import bbox_corners
from bridge.geometry.masks import rle_to_bitmap
from bridge.losses import LossReport
from bridge.schema import Answer, Classification, Mask

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "labelstudio"
LABELBOX_EXPORT = ROOT / "tests" / "fixtures" / "labelbox" / "export_v2_image_classification.ndjson"


def _items(path: Path, config: str | None = None, losses: LossReport | None = None, **options):
    if config is not None:
        options["label_config"] = FIXTURES / "configs" / config
    return list(
        LabelStudioJson()
        .read(path, losses if losses is not None else LossReport(), **options)
        .items
    )


def _read(path: Path, **options):
    return list(api.open_dataset(path, "labelstudio", **options).items)


def _tasks(path: Path) -> list[dict]:
    value = orjson.loads(path.read_bytes())
    return value if isinstance(value, list) else [value]


def _write(tmp_path: Path, data, name: str = "export.json") -> Path:
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else json.dumps(data).encode())
    return path


def _item(task: dict, config: str | None = None, losses: LossReport | None = None):
    parsed = parse_label_config((FIXTURES / "configs" / config).read_text()) if config else None
    return task_to_item(task, parsed, losses if losses is not None else LossReport(), where="t")


def _image_task(rtype: str, value: dict, width: int = 10, height: int = 10) -> dict:
    """A task on an image of `width` x `height` px with one `rtype` result (id "r")."""
    result = {
        "id": "r",
        "type": rtype,
        "from_name": "l",
        "to_name": "image",
        "original_width": width,
        "original_height": height,
        "value": value,
    }
    return {"data": {"image": "a.jpg"}, "annotations": [{"result": [result]}]}


# ------------------------------------------------------------------ 9.2 what a file is


def test_ls_field_single_task_object_is_detected_and_read():
    path = FIXTURES / "real_single_task.json"
    raw = json.loads(path.read_text())
    assert plugins.detect_format(path) == "labelstudio"
    (item,) = _read(path)
    assert item.source.item == str(raw["id"])
    assert item.data == raw["data"]
    (aset,) = item.annotation_sets
    assert sorted(r.label for r in aset.regions) == sorted(
        r["value"]["labels"][0] for r in raw["annotations"][0]["result"] if r["type"] == "labels"
    )


def _labelbox_rows() -> list[dict]:
    return [json.loads(line) for line in LABELBOX_EXPORT.read_text().splitlines()[:3]]


def test_ls_field_sniffer_leaves_a_labelbox_export_array_alone(tmp_path):
    path = _write(tmp_path, _labelbox_rows(), "labelbox.json")
    assert not LabelStudioJson().sniff(path, path.read_bytes()[:65536])


@pytest.mark.parametrize(
    ("content", "looks_like"),
    [
        (_labelbox_rows(), "Labelbox export row"),
        (_labelbox_rows()[0], "Labelbox export row"),
        (
            [
                {
                    "uuid": "1",
                    "dataRow": {"globalKey": "a.jpg"},
                    "name": "Car",
                    "bbox": {"top": 1, "left": 2, "height": 3, "width": 4},
                }
            ],
            "Labelbox import",
        ),
        (
            json.loads((FIXTURES / "foreign" / "cvat_rest_tasks_page.json").read_text()),
            "REST API page",
        ),
        (
            json.loads((FIXTURES / "foreign" / "cvat_rest_tasks_page.json").read_text())["results"],
            "CVAT task",
        ),
    ],
)
def test_ls_field_other_tools_json_is_refused_naming_what_it_looks_like(
    tmp_path, content, looks_like
):
    path = _write(tmp_path, content)
    with pytest.raises(FormatError, match=looks_like) as error:
        _read(path)
    assert "--from" in error.value.hint


def test_ls_field_labelbox_ndjson_given_as_labelstudio_is_refused(tmp_path):
    path = _write(tmp_path, LABELBOX_EXPORT.read_bytes(), "export.ndjson")
    with pytest.raises(FormatError, match="Labelbox export row") as error:
        _read(path)
    assert error.value.where.endswith(":1")  # the first line


@pytest.mark.parametrize("text", ["{}", "null", "[{}]", "42", '"tasks"'])
def test_ls_field_empty_or_scalar_json_is_refused_not_an_empty_dataset(tmp_path, text):
    with pytest.raises(FormatError):
        _read(_write(tmp_path, text.encode()))


def test_ls_field_empty_array_is_an_empty_export(tmp_path):
    assert _read(_write(tmp_path, b"[]")) == []


# ------------------------------------------------------------------ 9.3 flat tasks


def test_ls_field_flat_import_tasks_read_as_the_server_read_them():
    """The server's own export of the flat import is the expected reading."""
    flat = _read(FIXTURES / "real_flat_tasks_import.json")
    exported = _read(FIXTURES / "real_flat_tasks.json")
    assert [i.data for i in flat] == [t for t in _tasks(FIXTURES / "real_flat_tasks_import.json")]
    assert [i.data for i in flat] == [i.data for i in exported]
    assert [i.media.text for i in flat] == [
        t["text"] for t in _tasks(FIXTURES / "real_flat_tasks_import.json")
    ]
    assert [i.key for i in flat] == [i.key for i in exported]
    assert all(not i.extra for i in flat)
    # one key per distinct task: tasks 1 and 3 hold the same text, task 2 another
    assert flat[0].key == flat[2].key != flat[1].key


def test_ls_field_flat_tasks_of_several_kinds_get_distinct_keys(tmp_path):
    tasks = [{"image": "https://example.invalid/a.jpg"}, {"text": "first"}, {"text": "second"}]
    items = _read(_write(tmp_path, tasks))
    assert [i.data for i in items] == tasks
    assert items[0].media.uri == "https://example.invalid/a.jpg"
    assert len({i.key for i in items}) == 3


def test_ls_field_writers_never_make_media_from_a_key(tmp_path):
    from bridge.schema import Item, Media

    item = Item(key="sha1:0123456789abcdef0123", media=Media(kind="text"))
    losses = LossReport()
    task = item_to_task(item, None, losses)
    assert task["data"] == {}
    assert "media-unknown" in losses


# ------------------------------------------------------------------ 9.4 drawn backwards


def _corners(shape) -> set[tuple[float, float]]:
    return {(round(x, 6) + 0.0, round(y, 6) + 0.0) for x, y in bbox_corners(shape)}


def test_ls_field_boxes_drawn_backwards_are_the_same_boxes():
    (item,) = _read(FIXTURES / "real_backwards_boxes.json")
    boxes = {r.id: r.shape for r in item.annotation_sets[0].regions}
    # 640 x 480 image. bk1: pivot (40 %, 50 %) = (256, 240) px, size -64 x -96 px
    assert _corners(boxes["bk1"]) == {(192, 144), (256, 144), (192, 240), (256, 240)}
    # bk2: pivot (320, 240), size -64 x -96, turned 90 degrees: x axis (0, 1), y axis (-1, 0)
    #   corners: pivot, pivot - 64 (0, 1), pivot - 96 (-1, 0), both
    assert _corners(boxes["bk2"]) == {(320, 240), (320, 176), (416, 240), (416, 176)}
    assert boxes["bk2"].rotation == 90
    # bk3: pivot (192, 288), 128 wide, -120 high
    assert _corners(boxes["bk3"]) == {(192, 168), (320, 168), (192, 288), (320, 288)}


def test_ls_field_backwards_box_written_back_is_the_same_region():
    (task,) = _tasks(FIXTURES / "real_backwards_boxes.json")
    item = _item(task)
    again = _item(item_to_task(item, None, LossReport()))
    for first, second in zip(
        item.annotation_sets[0].regions, again.annotation_sets[0].regions, strict=True
    ):
        assert _corners(first.shape) == _corners(second.shape)


def test_ls_field_video_keyframe_drawn_backwards():
    (item,) = _read(FIXTURES / "real_backwards_video.json")
    (track,) = item.annotation_sets[0].tracks
    first = track.keyframes[0].shape
    # no video size: percent. x 50 - 10 = 40, y 40 - 15 = 25, 10 x 15
    assert (first.x, first.y, first.width, first.height) == (40.0, 25.0, 10.0, 15.0)


@pytest.mark.parametrize("rotation", [0, 30, 135, 270])
def test_ls_field_negative_sizes_with_rotation_match_hand_computed_corners(rotation):
    width, height = 200, 100
    value = {
        "x": 50.0,
        "y": 40.0,
        "width": -20.0,
        "height": -30.0,
        "rotation": rotation,
        "rectanglelabels": ["A"],
    }
    task = _image_task("rectanglelabels", value, width, height)
    shape = _item(task).annotation_sets[0].regions[0].shape
    px, py, w, h = 100.0, 40.0, -40.0, -30.0  # pixels
    t = math.radians(rotation)
    ux, uy, vx, vy = math.cos(t), math.sin(t), -math.sin(t), math.cos(t)
    expected = {
        (round(px + a * ux + b * vx, 6) + 0.0, round(py + a * uy + b * vy, 6) + 0.0)
        for a in (0, w)
        for b in (0, h)
    }
    assert _corners(shape) == expected


def test_ls_field_box_drawn_backwards_off_the_image_is_refused():
    value = {"x": 5.0, "y": 5.0, "width": -20.0, "height": 1.0, "rectanglelabels": ["A"]}
    task = _image_task("rectanglelabels", value)
    with pytest.raises(FormatError, match="outside 0-100"):
        _item(task)


# ------------------------------------------------------------------ 9.5 tool + Labels


def test_ls_field_tool_and_labels_results_are_one_labelled_region():
    path = FIXTURES / "real_tool_labels.json"
    (task,) = _tasks(path)
    results = task["annotations"][0]["result"]
    expected = {r["id"]: r["value"]["labels"][0] for r in results if r["type"] == "labels"}
    kinds = {r["id"]: r["type"] for r in results if r["type"] != "labels"}
    for config in (None, "tool_labels.xml"):
        losses = LossReport()
        (item,) = _items(path, config, losses)
        regions = {r.id: r for r in item.annotation_sets[0].regions}
        assert {k: r.label for k, r in regions.items()} == expected
        shape_of = {
            "rectangle": "bbox",
            "polygon": "polygon",
            "keypoint": "points",
            "ellipse": "ellipse",
            "brush": "mask",
        }
        assert {k: r.shape.type for k, r in regions.items()} == {
            k: shape_of[t] for k, t in kinds.items()
        }
        assert "unconverted_results" not in item.annotation_sets[0].extra
        assert "unsupported-labels" not in losses


def test_ls_field_tool_and_labels_to_cvat_keeps_every_label(tmp_path):
    out = tmp_path / "cvat.xml"
    report = api.convert(
        FIXTURES / "real_tool_labels.json", out, from_format="labelstudio", to_format="cvat"
    )
    root = ElementTree.parse(out).getroot()
    labels = [e.get("label") for e in root.iter() if e.get("label") is not None]
    assert labels and all(labels)
    assert sorted(labels) == sorted(["Car", "Road", "Nose", "Wheel", "Sky"])
    assert "unsupported-labels" not in report and "empty-label" not in report


# ------------------------------------------------------------------ 9.6 dialogue, audio


def test_ls_field_span_across_paragraphs_keeps_both_ends():
    (item,) = _items(FIXTURES / "real_dialogue_multi.json", "dialogue_multi.xml")
    spans = {r.id: r.shape for r in item.annotation_sets[0].regions}
    across = spans["dm1"]
    assert (across.container, across.start, across.end_container, across.end) == ("1", 2, "2", 14)
    one = spans["dm2"]
    assert (one.container, one.end_container, one.start, one.end) == ("0", None, 0, 6)
    messages = item.data["dialogue"]
    # the span's ends, cut from the paragraphs by hand
    assert messages[1]["text"][2:] == "need a taxi" and messages[2]["text"][:14] == "to the station"


def test_ls_field_span_across_paragraphs_to_labelbox_is_reported_not_bent(tmp_path):
    report = api.convert(
        FIXTURES / "real_dialogue_multi.json",
        tmp_path / "lb.ndjson",
        from_format="labelstudio",
        to_format="labelbox",
    )
    assert "labelbox-span-across-messages" in report


@pytest.mark.parametrize("config", [None, "audio_transcript.xml"])
def test_ls_field_labels_on_audio_are_time_segments_beside_text_spans(config):
    (item,) = _items(FIXTURES / "real_audio_transcript.json", config)
    shapes = {r.id: r.shape for r in item.annotation_sets[0].regions}
    assert (shapes["at1"].type, shapes["at1"].start, shapes["at1"].end) == ("time_segment", 1, 3)
    assert (shapes["at2"].type, shapes["at2"].start, shapes["at2"].end) == (
        "time_segment",
        3.5,
        5.25,
    )
    assert (shapes["at3"].type, shapes["at3"].start, shapes["at3"].end) == ("span", 11, 16)
    assert item.data["text"][11:16] == "Paris"


# ------------------------------------------------------------------ 9.14 soft brushes


def _sdk_alpha(rle: list[int], width: int, height: int) -> np.ndarray:
    return sdk_brush.decode_rle(rle).reshape(height, width, 4)[:, :, 3] != 0


def test_ls_field_soft_brush_is_thresholded_reported_and_kept_bit_for_bit(tmp_path):
    path = FIXTURES / "real_soft_brush.json"
    (task,) = _tasks(path)
    original = task["annotations"][0]["result"][0]
    losses = LossReport()
    item = _item(task, losses=losses)
    (region,) = item.annotation_sets[0].regions
    assert np.array_equal(
        rle_to_bitmap(region.shape.rle), _sdk_alpha(original["value"]["rle"], 40, 30)
    )
    assert "brush-alpha-thresholded" in losses
    back = item_to_task(item, None, LossReport())["annotations"][0]["result"][0]
    assert back["value"]["rle"] == original["value"]["rle"]


def test_ls_field_soft_brush_with_a_changed_mask_is_encoded_anew():
    (task,) = _tasks(FIXTURES / "real_soft_brush.json")
    item = _item(task)
    region = item.annotation_sets[0].regions[0]
    bitmap = np.zeros((30, 40), dtype=np.uint8)
    bitmap[0:3, 0:3] = 1
    from bridge.geometry.masks import bitmap_to_rle

    region.shape = Mask(rle=bitmap_to_rle(bitmap))
    back = item_to_task(item, None, LossReport())["annotations"][0]["result"][0]
    assert back["value"]["rle"] == sdk_brush.mask2rle(bitmap * 255)


def test_ls_field_binary_brush_keeps_no_copy():
    (task,) = _tasks(FIXTURES / "real_shapes.json")
    item = _item(task)
    brush = next(r for r in item.annotation_sets[0].regions if r.shape.type == "mask")
    assert "rle" not in brush.extra.get("value", {})


# ------------------------------------------------------------------ 10.9 memory bombs


def _header(count: int) -> list[int]:
    bits = f"{count:032b}{7:05b}" + "".join(f"{s - 1:04b}" for s in (3, 4, 8, 16))
    bits += "0" * (-len(bits) % 8)
    return list(int(bits, 2).to_bytes(len(bits) // 8, "big"))


def _brush_task(rle, width, height):
    return {
        "data": {"image": "a.png"},
        "annotations": [
            {
                "result": [
                    {
                        "id": "b",
                        "type": "brushlabels",
                        "from_name": "brush",
                        "to_name": "image",
                        "original_width": width,
                        "original_height": height,
                        "value": {"format": "rle", "rle": rle, "brushlabels": ["Sky"]},
                    }
                ]
            }
        ],
    }


def test_ls_field_brush_announcing_four_billion_values_is_refused_quickly():
    bomb = _header(4_000_000_000) + [0xFF] * 885_000  # 885 KB of runs
    tracemalloc.start()
    with pytest.raises(FormatError, match="4000000000 values"):
        _item(_brush_task(bomb, 40, 30))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 200 * 1024 * 1024


def test_ls_field_brush_on_an_image_above_the_pixel_budget_is_refused():
    bomb = _header(4 * 50_000 * 50_000 % (1 << 32)) + [0] * 10
    with pytest.raises(FormatError, match="above the limit"):
        _item(_brush_task(bomb, 50_000, 50_000))
    small = _brush_task(bitmap_to_ls_rle(np.ones((30, 40), dtype=np.uint8)), 40, 30)
    with pytest.raises(FormatError, match="above the limit"):
        task_to_item(small, None, LossReport(), where="t", max_pixels=1000)


def test_ls_field_brush_decoding_allocates_the_stroke_band_not_the_image():
    width, height = 20_000, 20_000  # 400 megapixels, under the default budget
    rle = _header(width * height * 4)
    # a 5-row stroke of 100 pixels written as runs: background, stroke rows, background
    bits = "".join(format(b, "08b") for b in rle)[:53]

    def run(length, value):
        out = ""
        while length:
            n = min(length, 1 << 16)
            out += f"111{n - 1:016b}{value:08b}"
            length -= n
        return out

    body = run((1000 * width + 50) * 4, 0)
    for _ in range(5):
        body += run(100 * 4, 255) + run((width - 100) * 4, 0)
    body += run((height - 1005) * width * 4 - 50 * 4, 0)
    stream = bits + body
    stream += "0" * (-len(stream) % 8)
    data = list(int(stream, 2).to_bytes(len(stream) // 8, "big"))
    tracemalloc.start()
    runs, exact = stroke_runs(data, width, height)
    from bridge_labelstudio.brush import runs_to_rle

    rle_out = runs_to_rle(runs, width, height)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert exact and len(runs) == 5
    assert peak < 50 * 1024 * 1024  # the RGBA values alone would be 1.6 GB
    from bridge.geometry.masks import rle_area, rle_bbox

    assert rle_area(rle_out) == 500
    assert rle_bbox(rle_out) == (50.0, 1000.0, 100.0, 5.0)


# ------------------------------------------------------------------ 10.8, 10.15 checks


def test_ls_field_reader_bugs_are_not_turned_into_format_errors(monkeypatch):
    def broken(*args, **kwargs):
        raise KeyError("a bug")

    monkeypatch.setattr(read_results, "_polygon", broken)
    monkeypatch.setitem(read_results.SHAPE_READERS, "polygon", broken)
    (task,) = _tasks(FIXTURES / "real_shapes.json")
    with pytest.raises(KeyError):
        _item(task)


def test_ls_field_annotator_name_that_is_not_text_is_kept_not_a_crash():
    task = {
        "data": {"image": "a.jpg"},
        "annotations": [
            {
                "id": 1,
                "result": [],
                "completed_by": {
                    "id": 4,
                    "email": "a@example.com",
                    "first_name": True,
                    "last_name": "Lee",
                },
            }
        ],
    }
    (aset,) = _item(task).annotation_sets
    assert aset.annotator.name == "Lee"
    assert aset.extra["completed_by_fields"]["first_name"] is True


def test_ls_field_concatenated_exports_are_refused(tmp_path):
    one = json.dumps([{"id": 1, "data": {"text": "a"}}])
    path = _write(tmp_path, (one + "\n" + one).encode())
    with pytest.raises(FormatError, match="after the export's closing"):
        _read(path)


@pytest.mark.parametrize(
    ("value", "what"),
    [
        (
            {"x": 1, "y": 2, "width": 3, "height": 4, "rectanglelabels": "Car"},
            "not a list of label",
        ),
        ({"points": [[1, 2, 3], [4, 5, 6], [7, 8, 9]], "polygonlabels": ["A"]}, "not \\[x, y\\]"),
    ],
)
def test_ls_field_values_no_label_studio_writes_are_refused(value, what):
    rtype = "rectanglelabels" if "x" in value else "polygonlabels"
    task = _image_task(rtype, value)
    with pytest.raises(FormatError, match=what):
        _item(task)


def _span_task(value, rtype="labels", data=None):
    return {
        "data": data or {"text": "Alice works."},
        "annotations": [
            {
                "result": [
                    {
                        "id": "s",
                        "type": rtype,
                        "from_name": "ner",
                        "to_name": "text",
                        "value": value,
                    }
                ]
            }
        ],
    }


@pytest.mark.parametrize(
    "value",
    [
        {"start": 5, "end": 2, "labels": ["A"]},
        {"start": -1, "end": 2, "labels": ["A"]},
    ],
)
def test_ls_field_reversed_or_negative_spans_are_refused(value):
    with pytest.raises(FormatError):
        _item(_span_task(value))


def test_ls_field_reversed_paragraph_span_is_refused():
    value = {"start": "2", "end": "0", "startOffset": 0, "endOffset": 3, "paragraphlabels": ["A"]}
    with pytest.raises(FormatError, match="before it starts"):
        _item(_span_task(value, "paragraphlabels", {"dialogue": [{"text": "a"}] * 3}))


def test_ls_field_span_past_the_text_is_kept_and_reported():
    losses = LossReport()
    item = _item(_span_task({"start": 6, "end": 40, "labels": ["A"]}), losses=losses)
    assert item.annotation_sets[0].regions[0].shape.end == 40
    assert "span-out-of-range" in losses


def test_ls_field_reversed_time_segment_is_refused():
    task = {
        "data": {"audio": "a.wav"},
        "annotations": [
            {
                "result": [
                    {
                        "id": "a",
                        "type": "labels",
                        "from_name": "s",
                        "to_name": "audio",
                        "value": {"start": 3.5, "end": 1.25, "channel": 0, "labels": ["A"]},
                    }
                ]
            }
        ],
    }
    with pytest.raises(FormatError, match="before it starts"):
        _item(task)


# ------------------------------------------------------------------ 10.11 live pull


CONFIG = (
    '<View><Text name="text" value="$text"/>'
    '<Choices name="c" toName="text"><Choice value="a"/></Choices></View>'
)


def _pull(monkeypatch, body: bytes, task_number: int | None):
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", "ci0123456789abcdef0123456789abcdef")
    with respx.mock(base_url="http://ls.test") as mock:
        mock.get("/api/users/").respond(200, json=[])
        project = {"id": 4, "title": "T", "label_config": CONFIG}
        if task_number is not None:
            project["task_number"] = task_number
        mock.get("/api/projects/4/").respond(200, json=project)
        mock.post("/api/projects/4/exports/").respond(201, json={"id": 9, "status": "completed"})
        mock.get("/api/projects/4/exports/9/download").respond(200, content=body)
        mock.delete("/api/projects/4/exports/9").respond(204)
        connector = LabelStudioConnector.from_url("labelstudio://ls.test/projects/4")
        return list(connector.read(LossReport()).items)


@pytest.mark.parametrize("body", [b"{}", b"null", b'{"detail": "ok"}', b"[][]"])
def test_ls_field_pull_of_a_non_array_export_fails(monkeypatch, body):
    with pytest.raises(FormatError) as error:
        _pull(monkeypatch, body, 3)
    assert error.value.where.startswith("export of project 4")


def test_ls_field_pull_that_reads_fewer_tasks_than_the_project_has_fails(monkeypatch):
    body = json.dumps([{"id": 1, "data": {"text": "a"}}]).encode()
    with pytest.raises(RemoteError, match="read 1 tasks, but the project says it has 3"):
        _pull(monkeypatch, body, 3)
    assert [i.source.item for i in _pull(monkeypatch, body, 1)] == ["1"]


def test_ls_field_pull_of_an_empty_project_is_empty(monkeypatch):
    assert _pull(monkeypatch, b"[]", 0) == []


# ------------------------------------------------------------------ 10.7 nesting


def test_ls_field_deeply_nested_label_config_is_a_format_error(tmp_path):
    deep = "<View>" * 5000 + '<Image name="i" value="$image"/>' + "</View>" * 5000
    config = _write(tmp_path, deep.encode(), "deep.xml")
    export = _write(tmp_path, b"[]")
    with pytest.raises(BridgeError) as error:
        _read(export, label_config=str(config))
    assert isinstance(error.value, FormatError) and error.value.where


def test_ls_field_taxonomy_path_deeper_than_any_config_is_refused_both_ways():
    from bridge_labelstudio.convert import task_record

    path = [f"n{i}" for i in range(300)]
    task = {
        "data": {"text": "a"},
        "annotations": [
            {
                "result": [
                    {
                        "id": "c",
                        "type": "taxonomy",
                        "from_name": "t",
                        "to_name": "text",
                        "value": {"taxonomy": [path]},
                    }
                ]
            }
        ],
    }
    for read in (task_to_item, task_record):
        with pytest.raises(FormatError, match="300 levels deep"):
            read(task, None, LossReport(), where="t")


@pytest.mark.parametrize("config", [None, "tool_labels.xml"])
def test_ls_field_tool_and_labels_ontology_gives_labels_the_tools_kinds(config):
    options = {"label_config": FIXTURES / "configs" / config} if config else {}
    dataset = LabelStudioJson().read(FIXTURES / "real_tool_labels.json", LossReport(), **options)
    list(dataset.items)
    kinds = {c.name: set(c.kinds) for c in dataset.project.ontology.labels}
    # the config binds five bare tools to the image; <Labels> names what any of them draws
    tools = {"bbox", "polygon", "points", "ellipse", "mask"}
    assert kinds == {name: tools for name in ("Car", "Road", "Nose", "Wheel", "Sky")}


def test_ls_field_tiny_negative_sizes_never_reach_the_unified_shapes():
    """Within the 0.001 % slack a width of -0.0005 % is a box drawn leftwards, and a
    negative radius is refused: unified sizes are never negative."""
    box = {"x": 10.0, "y": 10.0, "width": -0.0005, "height": 5.0, "rectanglelabels": ["A"]}
    ellipse = {"x": 10.0, "y": 10.0, "radiusX": -0.0005, "radiusY": 2.0, "ellipselabels": ["A"]}
    shape = _item(_image_task("rectanglelabels", box, 100, 100)).annotation_sets[0].regions[0].shape
    assert shape.width == pytest.approx(0.0005) and shape.x == pytest.approx(9.9995)
    with pytest.raises(FormatError, match="radiusX = -0.0005 is negative"):
        _item(_image_task("ellipselabels", ellipse, 100, 100))


def test_ls_field_unfinished_polygon_is_kept_verbatim_and_reported():
    """The editor saves an unclosed polygon as it is (label-studio PR #2660): fewer than 3
    points is no unified polygon; the result rides unconverted and comes back."""
    result = {
        "id": "p",
        "type": "polygonlabels",
        "from_name": "poly",
        "to_name": "image",
        "original_width": 10,
        "original_height": 10,
        "value": {"points": [[1.0, 2.0], [3.0, 4.0]], "closed": False, "polygonlabels": ["A"]},
    }
    task = {"data": {"image": "a.jpg"}, "annotations": [{"result": [result]}]}
    losses = LossReport()
    item = _item(task, losses=losses)
    assert item.annotation_sets[0].regions == []
    assert "unsupported-polygonlabels" in losses
    assert item_to_task(item, None, LossReport())["annotations"][0]["result"] == [result]


def test_ls_field_tool_and_labels_region_reports_what_it_cannot_write():
    # a tool + Labels region from real_tool_labels.json, then marked occluded and given an
    # answer to a question tool_labels.xml has no control for: both are reported, and the
    # result list holds only results (the tool result, its labels result), no placeholder
    config = parse_label_config((FIXTURES / "configs" / "tool_labels.xml").read_text())
    (item,) = _items(FIXTURES / "real_tool_labels.json", "tool_labels.xml")
    aset = item.annotation_sets[0]
    region = next(r for r in aset.regions if r.shape.type == "bbox")
    region.occluded = True
    region.classifications.append(Classification(name="colour", answers=[Answer(value="red")]))
    aset.regions[:] = [region]
    losses = LossReport()
    result = item_to_task(item, config, losses)["annotations"][0]["result"]
    assert [r["type"] for r in result] == ["rectangle", "labels"]
    assert losses.count("occluded") == 1 and losses.count("no-control-question") == 1
