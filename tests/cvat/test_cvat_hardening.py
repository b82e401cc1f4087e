"""Hostile or careless CVAT input: one-line FormatErrors with a location (never a
traceback), masks decoded and encoded in memory proportional to their crop, refusals of
what no tool writes, and reports (not drops) of what a tool did write."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from bridge_cvat.masks import cvat_mask_to_rle, rle_to_cvat_mask
from bridge_cvat.xml_read import read_cvat_xml
from bridge_cvat.xml_write import write_cvat_xml
from cvat_sdk.masks import decode_mask, encode_mask
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from bridge.errors import FormatError
from bridge.formats import Dataset
from bridge.geometry import bitmap_to_rle, rle_to_bitmap
from bridge.losses import LossReport
from bridge.schema import RLE, AnnotationSet, Cuboid, Item, Mask, Media, Project, Region

FIXTURES = Path(__file__).parent.parent / "fixtures" / "cvat"
JOB = (FIXTURES / "job_export_images.xml").read_text()
MASK = '<mask label="sky" source="manual" occluded="0" rle="1, 3, 2, 2, 4" left="2" top="1" width="4" height="3" z_order="0">'  # noqa: E501


def variant(tmp_path: Path, old: str, new: str) -> tuple[Path, int]:
    """The job export with `old` replaced by `new`, and the line `new` is on."""
    assert old in JOB
    text = JOB.replace(old, new, 1)
    path = tmp_path / "variant.xml"
    path.write_text(text)
    return path, text[: text.index(new)].count("\n") + 1


def read_all(path: Path, **options) -> tuple[list[Item], LossReport]:
    losses = LossReport()
    return list(read_cvat_xml(path, losses, **options).items), losses


# ------------------------------------------------------------------ refused at their line


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (MASK, MASK.replace('rle="1, 3,', 'rle="99999999999999999999999999, 3,'), "cover"),
        (MASK, MASK.replace('rle="1, 3,', 'rle="-1, 5,'), "negative run"),
        (MASK, MASK.replace('width="4"', 'width="70"'), "leaves the 64x48 image"),
        ('xtl="4.00"', 'xtl="4_0"', "not a number"),
        ('ytl="6.00"', 'ytl="\uff16.00"', "not a number"),  # full-width 6
        (
            'points="0.00,47.00;63.00,47.00;40.00,30.00"',
            'points="0.00,47.00;63.00,4_7.00;40.00,30.00"',
            "not a number",
        ),
        (
            'points="0.00,47.00;63.00,47.00;40.00,30.00"',
            'points="0.00,47.00;63.00,47.00"',
            "polygon needs at least 3 points",
        ),
        ('xtl="4.00" ytl="6.00" xbr="20.50"', 'xtl="24.00" ytl="6.00" xbr="20.50"', "inverted box"),
        ('z_order="1" group_id="2"', 'z_order="1" group_id="\uff12"', "not an integer"),
    ],
)
def test_cvat_impossible_values_are_refused_at_their_line(tmp_path, old, new, message):
    path, line = variant(tmp_path, old, new)
    with pytest.raises(FormatError, match=message) as caught:
        read_all(path)
    assert caught.value.where == f"{path}:{line}"
    assert "\n" not in caught.value.message


@pytest.mark.parametrize("size", ['width="0" height="48"', 'width="64" height="-48"'])
def test_cvat_image_sizes_that_are_not_positive_are_refused(tmp_path, size):
    old = '<image id="11" name="street/0011.jpg" width="64" height="48">'
    path, line = variant(tmp_path, old, old.replace('width="64" height="48"', size))
    with pytest.raises(FormatError, match="not positive") as caught:
        read_all(path)
    assert caught.value.where == f"{path}:{line}"


def test_cvat_meta_numbers_that_are_not_integers_are_refused(tmp_path):
    path, _ = variant(tmp_path, "<start>10</start>", "<start>1_0</start>")
    with pytest.raises(FormatError, match="not an integer"):
        read_all(path)


# ------------------------------------------------------------------ kept and reported


def test_cvat_attribute_values_outside_their_spec_are_kept_and_reported(tmp_path):
    """CVAT's server stores attribute values without checking them against the spec (a
    spec may also change after the fact), so such files exist: keep, report."""
    path, _ = variant(
        tmp_path,
        '<attribute name="parked">true</attribute>',
        '<attribute name="parked">maybe</attribute>',
    )
    items, losses = read_all(path)
    assert items[0].annotation_sets[0].regions[0].classifications[0].answers[0].value == "maybe"
    assert losses.count("cvat.attribute_outside_spec") == 1
    assert losses["cvat.attribute_outside_spec"].severity == "unmapped"


# ------------------------------------------------------------------ the pixel budget


def big_image_file(tmp_path: Path, side: int) -> Path:
    text = JOB.replace(
        'width="64" height="48">\n    <mask', f'width="{side}" height="{side}">\n    <mask'
    )
    path = tmp_path / f"big{side}.xml"
    path.write_text(text)
    return path


def test_cvat_image_above_the_pixel_budget_is_refused_before_decoding(tmp_path):
    path = big_image_file(tmp_path, 50000)  # 2.5 gigapixels, default budget 1
    with pytest.raises(FormatError, match="above the limit") as caught:
        read_all(path)
    assert "max_pixels=2500000000" in caught.value.hint
    with pytest.raises(FormatError, match="above the limit"):
        read_all(FIXTURES / "job_export_images.xml", max_pixels=64 * 48 - 1)


MEMORY_SCRIPT = textwrap.dedent("""
    import resource, sys
    from bridge.api import convert
    source, target, budget = sys.argv[1], sys.argv[2], int(sys.argv[3])
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    losses = convert(source, target, to_format="cvat", max_pixels=budget)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print((after - before) // 1024, len(losses.as_dict()))
""")


@pytest.mark.parametrize(("side", "budget"), [(30000, 1_000_000_000), (50000, 3_000_000_000)])
def test_cvat_small_mask_on_a_huge_image_converts_in_little_memory(tmp_path, side, budget):
    """A full-image bitmap of 30000x30000 is 900 MB (2.5 GB at 50000): decoding and
    encoding the crop only keeps the growth of the process far below that."""
    source = big_image_file(tmp_path, side)
    out = subprocess.run(
        [sys.executable, "-c", MEMORY_SCRIPT, str(source), str(tmp_path / "out.xml"), str(budget)],
        capture_output=True,
        text=True,
        check=True,
    )
    grown_mb, losses = map(int, out.stdout.split())
    assert grown_mb < 200, f"peak memory grew by {grown_mb} MB"
    assert losses == 0
    mask = ET.parse(tmp_path / "out.xml").getroot().find("image/mask")
    assert {k: mask.get(k) for k in ("rle", "left", "top", "width", "height")} == {
        "rle": "1, 3, 2, 2, 4",
        "left": "2",
        "top": "1",
        "width": "4",
        "height": "3",
    }


# ------------------------------------------------------------------ crop-local codec


def embedded(bitmap: np.ndarray, left: int, top: int, right: int, bottom: int) -> np.ndarray:
    height, width = bitmap.shape
    image = np.zeros((top + height + bottom, left + width + right), bool)
    image[top : top + height, left : left + width] = bitmap
    return image


offsets = st.integers(0, 5)
crops = st.tuples(st.integers(1, 9), st.integers(1, 9)).flatmap(
    lambda shape: arrays(np.bool_, shape, elements=st.booleans())
)


@settings(max_examples=300, deadline=None)
@given(crops, offsets, offsets, offsets, offsets)
def test_cvat_crop_runs_decode_like_cvat_sdk_anywhere_in_the_image(crop, left, top, right, bottom):
    image = embedded(crop, left, top, right, bottom)
    height, width = crop.shape
    runs = encode_mask(crop, bbox=[0, 0, width, height])[:-4]  # the crop's own runs
    rle = cvat_mask_to_rle(runs, left, top, width, height, image.shape[1], image.shape[0])
    reference = decode_mask(
        [*runs, left, top, left + width - 1, top + height - 1],
        image_width=image.shape[1],
        image_height=image.shape[0],
    )
    assert np.array_equal(rle_to_bitmap(rle), reference)
    assert rle == bitmap_to_rle(image)  # the very string pycocotools makes of the bitmap


@settings(max_examples=300, deadline=None)
@given(crops, offsets, offsets, offsets, offsets)
def test_cvat_crop_runs_encode_like_cvat_sdk_anywhere_in_the_image(crop, left, top, right, bottom):
    image = embedded(crop, left, top, right, bottom)
    runs, x, y, width, height = rle_to_cvat_mask(bitmap_to_rle(image))
    assert [*runs, x, y, x + width - 1, y + height - 1] == encode_mask(image)


@pytest.mark.parametrize(
    ("rle", "message"),
    [
        (RLE(size=(4, 4), counts="~~~~"), "not a COCO RLE one"),
        (RLE(size=(4, 4), counts="0"), "cover 0 pixels"),
        (RLE(size=(4, 4), counts="4"), "cover 4 pixels"),
        (RLE(size=(4, 4), counts="1o"), "middle of a number"),
    ],
)
def test_cvat_mask_writer_refuses_malformed_unified_masks_at_the_item(tmp_path, rle, message):
    region = Region(id="m", label="sky", shape=Mask(rle=rle))
    with pytest.raises(FormatError, match=message) as caught:
        write_one(tmp_path, region)
    assert caught.value.where == "a.jpg"
    assert not (tmp_path / "out.xml").exists()


def test_cvat_writer_refuses_a_cuboid_without_eight_points(tmp_path):
    region = Region(id="c", label="truck", shape=Cuboid(points=[(0, 0), (1, 1), (2, 2)]))
    with pytest.raises(FormatError, match="a cuboid needs 8 points, this one has 3") as caught:
        write_one(tmp_path, region)
    assert caught.value.where == "a.jpg"


def test_cvat_writer_refuses_a_mask_above_the_pixel_budget(tmp_path):
    rle = RLE(size=(50000, 50000), counts="0")  # never decoded: refused by its size
    with pytest.raises(FormatError, match="above the limit"):
        write_one(tmp_path, Region(id="m", label="sky", shape=Mask(rle=rle)))


def write_one(tmp_path: Path, *regions: Region, losses: LossReport | None = None) -> Path:
    item = Item(
        key="a.jpg",
        media=Media(kind="image", uri="a.jpg", width=4, height=4),
        annotation_sets=[AnnotationSet(id="s", regions=list(regions))],
    )
    path = tmp_path / "out.xml"
    write_cvat_xml(Dataset(project=Project(name="p"), items=[item]), path, losses or LossReport())
    return path


@settings(max_examples=500, deadline=None)
@given(
    st.text(alphabet=[chr(c) for c in range(40, 120)], max_size=8),
    st.integers(0, 6),
    st.integers(0, 6),
)
# Random text is almost always refused (about 1 in 1000 draws reaches the comparison with a
# non-empty mask): these counts, encoded by pycocotools, make sure the comparison runs.
@example("2130O0O0", 3, 4)
@example("1220OO021OO20M32M00", 6, 6)
@example("01124", 5, 2)
@example("0T1", 6, 6)
@example("92203", 4, 5)
def test_cvat_mask_writer_reads_any_counts_string_like_pycocotools_or_refuses_it(counts, h, w):
    """Either a FormatError, or the crop runs describe exactly the mask pycocotools
    decodes from the same string (only asked once our decoder found the runs sound)."""
    from pycocotools import mask as coco_mask

    rle = RLE(size=(h, w), counts=counts)
    try:
        runs, left, top, width, height = rle_to_cvat_mask(rle)
    except FormatError:
        return
    reference = coco_mask.decode({"size": [h, w], "counts": counts.encode()}).astype(bool)
    if h * w == 0:
        assert not reference.any()
        return
    back = cvat_mask_to_rle(runs, left, top, width, height, w, h)
    assert np.array_equal(rle_to_bitmap(back), reference)
