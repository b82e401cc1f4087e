"""The Labelbox PNG mask codec: composite masks by colour, binary masks, round trips, and
byte-for-byte agreement with the PNG labelbox's serializer writes."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from bridge_labelbox.png_masks import png_to_rle, rle_to_png
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

from bridge.errors import FormatError
from bridge.geometry.masks import bitmap_to_rle, rle_to_bitmap


def _png(array: np.ndarray, mode: str | None = None) -> bytes:
    out = io.BytesIO()
    Image.fromarray(array, mode=mode).save(out, format="PNG") if mode else Image.fromarray(
        array
    ).save(out, format="PNG")
    return out.getvalue()


def test_lb_png_composite_mask_selects_exactly_its_colour():
    pixels = np.zeros((3, 4, 3), dtype=np.uint8)
    pixels[0, 1] = (10, 20, 30)
    pixels[2, 3] = (10, 20, 30)
    pixels[1, 1] = (10, 20, 31)  # one step off: not ours
    rle = png_to_rle(_png(pixels), (10, 20, 30))
    assert rle.size == (3, 4)
    assert sorted(zip(*rle_to_bitmap(rle).nonzero(), strict=True)) == [(0, 1), (2, 3)]


def test_lb_png_binary_mask_any_nonzero_pixel():
    gray = np.array([[0, 1, 0], [255, 0, 7]], dtype=np.uint8)
    bitmap = rle_to_bitmap(png_to_rle(_png(gray)))
    assert bitmap.tolist() == [[False, True, False], [True, False, True]]


def test_lb_png_transparent_pixels_are_background():
    rgba = np.zeros((1, 2, 4), dtype=np.uint8)
    rgba[0, 0] = (255, 255, 255, 0)
    rgba[0, 1] = (255, 255, 255, 255)
    assert rle_to_bitmap(png_to_rle(_png(rgba))).tolist() == [[False, True]]


def test_lb_png_written_is_binary_mode_l():
    bitmap = np.array([[0, 1, 1], [0, 0, 1]], dtype=np.uint8)
    image = Image.open(io.BytesIO(rle_to_png(bitmap_to_rle(bitmap))))
    assert image.mode == "L" and np.asarray(image).tolist() == bitmap.tolist()


def test_lb_png_bytes_equal_labelbox_serializer():
    lb = pytest.importorskip("labelbox.types")
    serialization = pytest.importorskip("labelbox.data.serialization")
    bitmap = np.zeros((5, 7), dtype=np.uint8)
    bitmap[1:4, 2:6] = 1
    mask = lb.ObjectAnnotation(
        name="m", value=lb.Mask(mask=lb.MaskData.from_2D_arr(bitmap * 255), color=(255, 255, 255))
    )
    (row,) = serialization.NDJsonConverter.serialize(
        [lb.Label(data={"global_key": "k"}, annotations=[mask])]
    )
    assert base64.b64decode(row["mask"]["png"]) == rle_to_png(bitmap_to_rle(bitmap))


@settings(max_examples=60, deadline=None)
@given(
    arrays(np.uint8, st.tuples(st.integers(1, 12), st.integers(1, 12)), elements=st.integers(0, 1))
)
def test_lb_png_round_trip_is_lossless(bitmap):
    rle = bitmap_to_rle(bitmap)
    assert png_to_rle(rle_to_png(rle)) == rle


@pytest.mark.parametrize("junk", [b"", b"not a png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 10])
def test_lb_png_junk_raises_format_error(junk):
    with pytest.raises(FormatError):
        png_to_rle(junk)
