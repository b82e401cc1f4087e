"""Label Studio brush RLE <-> unified mask, with label_studio_sdk.converter.brush as oracle."""

from __future__ import annotations

import numpy as np
import pytest
from bridge_labelstudio.brush import (
    bitmap_to_ls_rle,
    decode_ls_values,
    ls_rle_to_bitmap,
    ls_rle_to_rle,
    rle_to_ls_rle,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from label_studio_sdk.converter import brush as sdk_brush

from bridge.geometry.masks import bitmap_to_rle, rle_area, rle_to_bitmap


def _sdk_alpha(rle: list[int], width: int, height: int) -> np.ndarray:
    return sdk_brush.decode_rle(rle).reshape(height, width, 4)[:, :, 3] != 0


@settings(max_examples=60, deadline=None)
@given(
    arrays(np.uint8, st.tuples(st.integers(1, 24), st.integers(1, 24)), elements=st.integers(0, 1))
)
def test_ls_brush_encoding_equals_the_sdk_bit_for_bit(mask):
    assert bitmap_to_ls_rle(mask) == sdk_brush.mask2rle(mask * 255)


@settings(max_examples=60, deadline=None)
@given(
    arrays(np.uint8, st.tuples(st.integers(1, 24), st.integers(1, 24)), elements=st.integers(0, 1))
)
def test_ls_brush_decoding_of_sdk_rle_gives_the_mask(mask):
    height, width = mask.shape
    rle = ls_rle_to_rle(sdk_brush.mask2rle(mask * 255), width, height)
    assert rle.size == (height, width)
    assert np.array_equal(rle_to_bitmap(rle), mask.astype(bool))


def test_ls_brush_long_runs_over_65536_values_match_the_sdk():
    mask = np.ones((300, 300), dtype=np.uint8)  # one run of 360000 values
    mask[150, 7] = 0
    ours = bitmap_to_ls_rle(mask)
    assert ours == sdk_brush.mask2rle(mask * 255)
    assert np.array_equal(_sdk_alpha(ours, 300, 300), mask.astype(bool))


def test_ls_brush_literal_blocks_and_partial_alpha_decode_like_the_sdk():
    rng = np.random.default_rng(7)
    rgba = rng.integers(0, 256, size=(6, 5, 4), dtype=np.uint8)
    rgba[..., 3][rgba[..., 3] < 100] = 0  # some transparent pixels
    rle = sdk_brush.encode_rle(rgba.ravel())  # literal (flag 0) blocks of varying values
    assert np.array_equal(decode_ls_values(rle), sdk_brush.decode_rle(rle))
    assert np.array_equal(ls_rle_to_bitmap(rle, 5, 6), rgba[..., 3] != 0)


def test_ls_brush_unified_round_trip_keeps_area():
    mask = np.zeros((30, 40), dtype=np.uint8)
    mask[5:12, 8:30] = 1  # 7 x 22 = 154 pixels
    rle = bitmap_to_rle(mask)
    back = ls_rle_to_rle(rle_to_ls_rle(rle), 40, 30)
    assert back == rle
    assert rle_area(back) == 154


def test_ls_brush_size_mismatch_is_refused():
    rle = sdk_brush.mask2rle(np.zeros((4, 5), dtype=np.uint8))
    with pytest.raises(ValueError, match="original_width"):
        ls_rle_to_bitmap(rle, 4, 4)


def test_ls_brush_truncated_stream_is_refused():
    rle = sdk_brush.mask2rle(np.eye(20, dtype=np.uint8) * 255)
    with pytest.raises(ValueError):
        decode_ls_values(rle[: len(rle) // 2])


def test_ls_brush_non_byte_values_are_refused():
    with pytest.raises(ValueError, match="0-255"):
        decode_ls_values([0, 300, 1])
