"""The CVAT XML reader's record stream (what `bridge convert x.xml -o y.jsonl` writes
without pydantic) against its validated stream: the same items, the same project, the same
errors at the same lines, on the fixtures and on fuzzed files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from bridge_cvat.xml_read import read_cvat_xml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.api import convert
from bridge.errors import BridgeError
from bridge.formats import Dataset
from bridge.formats.jsonl import read_jsonl, write_jsonl
from bridge.losses import LossReport

FIXTURES = Path(__file__).parent.parent / "fixtures" / "cvat"
ALL_FIXTURES = sorted(FIXTURES.glob("*.xml"))


def validated_outcome(path: Path):
    """(items, project, losses) read as validated `Item`s, or the BridgeError raised."""
    losses = LossReport()
    try:
        dataset = read_cvat_xml(path, losses)
        items = list(dataset.items)
    except BridgeError as error:
        return ("error", type(error).__name__, error.where, error.message)
    return ("ok", items, dataset.project, losses.as_dict())


def record_outcome(path: Path, tmp: Path):
    """The same, through the record stream written as JSONL and read back."""
    losses = LossReport()
    out = tmp / "records.jsonl"
    try:
        dataset = read_cvat_xml(path, losses)
        write_jsonl(Dataset(dataset.project, dataset.items), out)
    except BridgeError as error:
        return ("error", type(error).__name__, error.where, error.message)
    back = read_jsonl(out)
    return ("ok", list(back.items), back.project, losses.as_dict())


@pytest.mark.parametrize("path", ALL_FIXTURES, ids=lambda p: p.name)
def test_cvat_records_read_back_as_the_validated_items(tmp_path, path):
    expected = validated_outcome(path)
    assert expected[0] == "ok" and expected[1]
    assert record_outcome(path, tmp_path) == expected


def test_cvat_records_are_what_the_writer_gets_and_are_plain_data(tmp_path):
    dataset = read_cvat_xml(FIXTURES / "all_shapes_images.xml", LossReport())
    records = list(dataset.items.records())
    assert records and all(type(record) is dict for record in records)
    shapes = {
        r["shape"]["type"] for rec in records for s in rec["annotation_sets"] for r in s["regions"]
    }
    assert {
        "bbox",
        "polygon",
        "polyline",
        "points",
        "ellipse",
        "cuboid",
        "mask",
        "skeleton",
        "tag",
    } <= shapes


@pytest.mark.parametrize("path", ALL_FIXTURES, ids=lambda p: p.name)
def test_cvat_bridge_convert_output_equals_the_validated_items(tmp_path, path):
    out = tmp_path / "out.jsonl"
    convert(path, out)
    back = read_jsonl(out)
    items = list(back.items)
    expected = validated_outcome(path)
    assert (items, back.project) == (expected[1], expected[2])
    validated_out = tmp_path / "validated.jsonl"
    convert(path, validated_out, validate=True)
    assert list(read_jsonl(validated_out).items) == items


IMAGES = (FIXTURES / "all_shapes_images.xml").read_text(encoding="utf-8")
VIDEO = (FIXTURES / "for_video_with_skeleton.xml").read_text(encoding="utf-8")
ANNOTATION_PART = {text: text.index("</meta>") for text in (IMAGES, VIDEO)}
ATTRIBUTE = re.compile(r'(\w+)="([^"]*)"')
JUNK = [
    "",
    "abc",
    "1e400",
    "-0",
    "nan",
    "inf",
    "1,2",
    "1;2",
    "2.5",
    "-3",
    "99999999999999999999999",
    "true",
    "0",
    "1",
    "1.0e3",
    " 7",
    "0x10",
    "1,2;3",
    "car",
    "unknown label",
    "1.7e308",
    "-1.7e308",
]


def _mutated(text: str, pick: float, value: str) -> str:
    """`text` with the value of one XML attribute after the meta replaced by `value`."""
    start = ANNOTATION_PART[text]
    matches = list(ATTRIBUTE.finditer(text, start))
    match = matches[int(pick * (len(matches) - 1))]
    return text[: match.start(2)] + value + text[match.end(2) :]


def _mutated_text(text: str, pick: float, value: str) -> str:
    """`text` with the text of one <attribute> element after the meta replaced."""
    start = ANNOTATION_PART[text]
    matches = list(re.finditer(r"(<attribute name=\"[^\"]*\">)([^<]*)(</attribute>)", text[start:]))
    if not matches:
        return text
    match = matches[int(pick * (len(matches) - 1))]
    return text[: start + match.start(2)] + value + text[start + match.end(2) :]


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    text=st.sampled_from([IMAGES, VIDEO]),
    pick=st.floats(0, 1),
    value=st.sampled_from(JUNK) | st.text(alphabet="0123456789.,;-e ", max_size=12),
    in_element=st.booleans(),
)
def test_cvat_fuzzed_values_give_the_same_result_both_ways(tmp_path, text, pick, value, in_element):
    path = tmp_path / "fuzz.xml"
    mutate = _mutated_text if in_element else _mutated
    path.write_text(mutate(text, pick, value), encoding="utf-8")
    assert record_outcome(path, tmp_path) == validated_outcome(path)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(where=st.floats(0, 1), byte=st.sampled_from(list(b'<>"=;,/ 1a&-.')))
def test_cvat_byte_flips_give_the_same_result_both_ways(tmp_path, where, byte):
    data = bytearray(IMAGES.encode())
    start = ANNOTATION_PART[IMAGES]
    data[start + int(where * (len(data) - start - 1))] = byte
    path = tmp_path / "fuzz.xml"
    path.write_bytes(bytes(data))
    assert record_outcome(path, tmp_path) == validated_outcome(path)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (
            'xtl="1.25" ytl="2.50" xbr="7.75"',
            'xtl="-1.7e308" ytl="2.50" xbr="1.7e308"',
        ),  # width overflows
        (
            'ytl="2.50" xbr="7.75" ybr="6.00"',
            'ytl="-1.7e308" xbr="7.75" ybr="1.7e308"',
        ),  # height overflows
        (
            'cx="3.00" cy="6.00" rx="1.50"',
            'cx="1e308" cy="6.00" rx="1.7e308"',
        ),  # fine: radii as written
        (
            '<attribute name="doors">4</attribute>',
            '<attribute name="doors">123456789012345678901234567890</attribute>',
        ),
        (
            'left="2" top="1" width="4" height="3"',
            'left="2" top="1" width="40" height="3"',
        ),  # runs != crop
        ('rle="1, 3, 2, 2, 4"', 'rle="1, x"'),
    ],
)
def test_cvat_hostile_values_give_the_same_result_both_ways(tmp_path, old, new):
    assert old in IMAGES
    path = tmp_path / "hostile.xml"
    path.write_text(IMAGES.replace(old, new, 1), encoding="utf-8")
    assert record_outcome(path, tmp_path) == validated_outcome(path)


@pytest.mark.parametrize("path", ALL_FIXTURES, ids=lambda p: p.name)
def test_cvat_records_are_plain_json_data(path):
    """orjson dumps every record as it is (a model inside a record would send the whole
    item through pydantic, silently slow)."""
    import orjson

    from bridge.schema import Item

    for record in read_cvat_xml(path, LossReport()).items.records():
        if type(record) is dict:
            assert Item.model_validate_json(orjson.dumps(record)) == Item.model_validate(record)


VIDEO_SHAPES = (FIXTURES / "all_shapes_video.xml").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("text", "old", "new", "message"),
    [
        (IMAGES, 'rx="1.50" ry="0.75"', 'rx="-1.50" ry="0.75"', "negative radius"),
        (IMAGES, 'rx="1.50" ry="0.75"', 'rx="1.50" ry="-0.01"', "negative radius"),
        (
            VIDEO_SHAPES,
            'cx="20.00" cy="20.00" rx="3.00"',
            'cx="20.00" cy="20.00" rx="-3.00"',
            "negative radius",
        ),
        (VIDEO, "<size>4</size>", "<size>-1</size>", "<size> -1 is negative"),
        (VIDEO, "<width>25</width>", "<width>0</width>", "is not positive"),
        (
            VIDEO,
            "<width>25</width>\n        <height>20</height>",
            "<width>-2</width>",
            "is not positive",
        ),  # a side given alone is checked too
    ],
    ids=["image-rx", "image-ry", "video-rx", "frame-count", "width", "width-without-height"],
)
def test_cvat_schema_invariants_are_refused_where_read_both_ways(tmp_path, text, old, new, message):
    """What the schema refuses (a negative radius or frame count, a media side <= 0) is a
    located FormatError from the reader, the same on the record path."""
    assert old in text
    path = tmp_path / "broken.xml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    expected = validated_outcome(path)
    assert expected[:2] == ("error", "FormatError") and message in expected[3]
    assert expected[2].startswith(f"{path}:")
    assert record_outcome(path, tmp_path) == expected
