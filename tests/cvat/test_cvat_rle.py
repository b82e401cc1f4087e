"""CVAT mask RLE <-> unified RLE, checked against cvat_sdk.masks (the reference)."""

from __future__ import annotations

import numpy as np
import pytest
from bridge_cvat.masks import cvat_mask_to_rle, rle_to_cvat_mask
from cvat_sdk.masks import decode_mask, encode_mask
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from bridge.errors import FormatError
from bridge.geometry import bitmap_to_rle, rle_to_bitmap

masks = st.tuples(st.integers(1, 12), st.integers(1, 12)).flatmap(
    lambda shape: arrays(np.bool_, shape, elements=st.booleans())
)


def as_points(runs, left, top, width, height) -> list[int]:
    return [*runs, left, top, left + width - 1, top + height - 1]


def test_cvat_mask_hand_example_from_vendor_notes():
    bitmap = np.zeros((4, 6), bool)
    bitmap[1:3, 2:5] = True
    runs, left, top, width, height = rle_to_cvat_mask(bitmap_to_rle(bitmap))
    assert as_points(runs, left, top, width, height) == [0, 6, 2, 1, 4, 2]
    rle = cvat_mask_to_rle([0, 6], 2, 1, 3, 2, 6, 4)
    assert np.array_equal(rle_to_bitmap(rle), bitmap)


@settings(max_examples=300, deadline=None)
@given(masks)
def test_cvat_mask_encoding_equals_cvat_sdk(bitmap):
    ours = as_points(*rle_to_cvat_mask(bitmap_to_rle(bitmap)))
    assert ours == encode_mask(bitmap)


@settings(max_examples=300, deadline=None)
@given(masks)
def test_cvat_mask_decoding_equals_cvat_sdk(bitmap):
    height, width = bitmap.shape
    encoded = encode_mask(bitmap, bbox=[0, 0, width, height])  # a crop with slack
    *runs, x1, y1, x2, y2 = encoded
    rle = cvat_mask_to_rle(runs, x1, y1, x2 - x1 + 1, y2 - y1 + 1, width, height)
    reference = decode_mask(encoded, image_width=width, image_height=height)
    assert np.array_equal(rle_to_bitmap(rle), reference)
    assert np.array_equal(reference, bitmap)


def test_cvat_mask_keeps_its_original_crop_when_it_holds_the_mask():
    bitmap = np.zeros((8, 10), bool)
    bitmap[1, 3:6] = True
    bitmap[2, 4:6] = True
    rle = bitmap_to_rle(bitmap)
    assert rle_to_cvat_mask(rle, crop=(2, 1, 4, 3)) == ([1, 3, 2, 2, 4], 2, 1, 4, 3)
    assert rle_to_cvat_mask(rle, crop=(4, 1, 2, 2))[1:] == (3, 1, 3, 2)  # too small: tight crop


def test_cvat_mask_rejects_runs_that_do_not_cover_the_crop():
    with pytest.raises(FormatError, match="cover 5 pixels"):
        cvat_mask_to_rle([1, 4], 0, 0, 2, 2, 4, 4)
    with pytest.raises(FormatError, match="leaves"):
        cvat_mask_to_rle([4], 3, 3, 2, 2, 4, 4)
