"""Numbers in CVAT XML attributes: the fast orjson path reads exactly what `float()` reads
(or falls back to it), and a value that only goes wrong once converted (an overflowing
box width) is reported at its shape's line although each image is validated at once."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from bridge_cvat.xml_read import parse_point_list, read_cvat_xml, shape_points
from hypothesis import given
from hypothesis import strategies as st

from bridge.errors import FormatError
from bridge.losses import LossReport

FIXTURES = Path(__file__).parent.parent / "fixtures" / "cvat"
SHAPES = (FIXTURES / "all_shapes_images.xml").read_text()

finite = st.floats(allow_nan=False, allow_infinity=False)
written = st.one_of(
    finite.map(lambda v: f"{v:.2f}"),  # what CVAT writes
    finite.map(repr),  # 1e+300, -0.0, 5.0
    st.integers(-(10**20), 10**20).map(str),  # integers take the float() path
    st.sampled_from(["-0", "-0.00", "1.", ".5", " 7.25", "1_000.5", "1E3", "+2.5", "１２.5"]),
)


def reference(texts: list[str]) -> list[float] | None:
    """What the reader must return: float() of each text, or None when one is not a
    finite number, or is number text no tool writes although float() reads it: digit
    groups ("1_000.5") and non-ASCII digits (the reader raises FormatError then)."""
    if any("_" in text or not text.isascii() for text in texts):
        return None
    try:
        values = [float(text) for text in texts]
    except ValueError:
        return None
    return values if all(math.isfinite(v) for v in values) else None


def same_floats(got: list[float], want: list[float]) -> bool:
    """Equal as IEEE doubles, sign of zero included."""
    return [(v, math.copysign(1, v)) for v in got] == [(v, math.copysign(1, v)) for v in want]


@given(st.lists(st.tuples(written, written), min_size=1, max_size=8))
def test_cvat_point_lists_read_like_float(pairs):
    text = ";".join(f"{x},{y}" for x, y in pairs)
    want = reference([c for pair in pairs for c in pair])
    if want is None:
        with pytest.raises(FormatError):
            parse_point_list(text, "f:1")
    else:
        assert same_floats(parse_point_list(text, "f:1"), want)


@given(st.lists(written, min_size=4, max_size=4))
def test_cvat_box_corners_read_like_float(corners):
    attrs = dict(zip(("xtl", "ytl", "xbr", "ybr"), corners, strict=True))
    want = reference(corners)
    if want is None:
        with pytest.raises(FormatError):
            shape_points("box", attrs, "f:1")
    else:
        assert same_floats(shape_points("box", attrs, "f:1"), want)


@pytest.mark.parametrize(
    "text",
    [
        "1,2;true,4",
        '1,2;"3",4',
        "1,2;[3],4",
        "1,2;null,4",
        "1,2;3,4,5",
        "NaN,1",
        "1e999,2",
        "1,2;",
        # as many decimal points as numbers, but not all numbers
        '1.5,2.5;"3.5",4.5',
        "1.5,2.5;[3.5],4.5",
        '1.5,2.5;{"a.b":1},4.5',
        '"..",true',
        '1.5,"2..5";true,4.5',
    ],
)
def test_cvat_point_lists_that_are_json_but_not_numbers_are_refused(text):
    with pytest.raises(FormatError):
        parse_point_list(text, "f:1")


def test_cvat_negative_zero_keeps_its_sign():
    assert same_floats(parse_point_list("-0,1.5;2.25,-0.0", "f:1"), [-0.0, 1.5, 2.25, -0.0])


def test_cvat_ellipse_radii_are_taken_as_written_even_near_the_float_limit(tmp_path):
    text = SHAPES.replace('cx="3.00" cy="6.00" rx="1.50"', 'cx="1e308" cy="6.00" rx="1.7e308"')
    path = tmp_path / "big.xml"
    path.write_text(text)
    shapes = [
        r.shape
        for item in read_cvat_xml(path, LossReport()).items
        for s in item.annotation_sets
        for r in s.regions
        if r.shape.type == "ellipse"
    ]
    assert [(e.cx, e.rx) for e in shapes] == [(1e308, 1.7e308)]


def test_cvat_overflowing_box_width_is_reported_at_the_box(tmp_path):
    text = SHAPES
    start = text.index("<box", text.index('<image id="1"'))
    end = text.index(">", start)
    box = '<box label="car" occluded="0" xtl="-1.7e308" ytl="0" xbr="1.7e308" ybr="1" z_order="0"'
    text = text[:start] + box + text[end:]
    path = tmp_path / "overflow.xml"
    path.write_text(text)
    with pytest.raises(FormatError, match="invalid value: shape.bbox.width: .*finite") as caught:
        list(read_cvat_xml(path, LossReport()).items)
    assert caught.value.where == f"{path}:{text[:start].count(chr(10)) + 1}"
