"""Coordinate conventions, checked against values computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pycocotools import mask as coco_mask

from bridge.geometry import (
    bbox_corners,
    bbox_from_top_left_rotation,
    bbox_to_top_left_rotation,
    bitmap_to_rle,
    percent_to_pixels,
    pixels_to_percent,
    rle_area,
    rle_bbox,
    rle_iou,
    rle_to_bitmap,
)
from bridge.schema import BBox


def test_percent_and_pixels_by_hand():
    assert percent_to_pixels(25, 640) == 160
    assert percent_to_pixels(12.5, 480) == 60
    assert pixels_to_percent(160, 640) == 25
    assert pixels_to_percent(1, 3) == pytest.approx(33.333333333)


def test_unrotated_box_is_the_same_in_both_conventions():
    box = bbox_from_top_left_rotation(10, 20, 40, 20, 0)
    assert (box.x, box.y, box.width, box.height, box.rotation) == (10, 20, 40, 20, 0)


def test_quarter_turn_about_top_left_lands_on_hand_computed_centre():
    # A 40x20 box pinned at its top-left corner (10, 20) and turned 90 degrees clockwise
    # covers x in [-10, 10], y in [20, 60]: its centre is (0, 40), so the unrotated box
    # around that centre starts at (-20, 30).
    box = bbox_from_top_left_rotation(10, 20, 40, 20, 90)
    assert box.x == pytest.approx(-20)
    assert box.y == pytest.approx(30)
    xs, ys = zip(*bbox_corners(box), strict=True)
    assert (min(xs), max(xs), min(ys), max(ys)) == pytest.approx((-10, 10, 20, 60))


def test_half_turn_about_top_left():
    # 180 degrees about (0, 0): a 10x4 box ends up covering x in [-10, 0], y in [-4, 0].
    box = bbox_from_top_left_rotation(0, 0, 10, 4, 180)
    assert (box.x, box.y) == pytest.approx((-10, -4))


def test_corner_order_and_pivot_is_fixed():
    box = bbox_from_top_left_rotation(100, 50, 30, 10, 30)
    corners = bbox_corners(box)
    assert corners[0] == pytest.approx((100, 50))  # the pivot does not move
    # the top edge points along 30 degrees clockwise from the x axis
    assert corners[1] == pytest.approx(
        (100 + 30 * math.cos(math.radians(30)), 50 + 30 * math.sin(math.radians(30)))
    )


@given(
    st.floats(-1000, 1000),
    st.floats(-1000, 1000),
    st.floats(0.1, 500),
    st.floats(0.1, 500),
    st.floats(0, 360),
)
def test_top_left_rotation_round_trip(x, y, w, h, rotation):
    back = bbox_to_top_left_rotation(bbox_from_top_left_rotation(x, y, w, h, rotation))
    assert back == pytest.approx((x, y, w, h, rotation), abs=1e-6)


def test_centre_rotation_keeps_centre():
    box = BBox(x=10, y=10, width=20, height=10, rotation=45)
    xs, ys = zip(*bbox_corners(box), strict=True)
    assert (sum(xs) / 4, sum(ys) / 4) == pytest.approx((20, 15))


def test_rle_by_hand():
    bitmap = np.array([[0, 1], [1, 1]], dtype=np.uint8)
    rle = bitmap_to_rle(bitmap)
    # column-major: column 0 is (0, 1), column 1 is (1, 1) -> runs [1 background, 3 mask]
    expected = coco_mask.frPyObjects({"size": [2, 2], "counts": [1, 3]}, 2, 2)
    assert rle.size == (2, 2)
    assert rle.counts == expected["counts"].decode()
    assert rle_area(rle) == 3
    assert rle_bbox(rle) == (0, 0, 2, 2)


@given(st.integers(1, 30), st.integers(1, 30), st.integers(0, 2**32 - 1))
def test_rle_round_trip_random_masks(height, width, seed):
    bitmap = np.random.default_rng(seed).random((height, width)) > 0.5
    rle = bitmap_to_rle(bitmap)
    assert rle.size == (height, width)
    assert np.array_equal(rle_to_bitmap(rle), bitmap)
    assert rle_area(rle) == int(bitmap.sum())


def test_rle_iou_by_hand():
    a = np.zeros((4, 4), bool)
    a[0:2, 0:2] = True  # 4 pixels
    b = np.zeros((4, 4), bool)
    b[1:3, 1:3] = True  # 4 pixels, 1 shared
    assert rle_iou(bitmap_to_rle(a), bitmap_to_rle(b)) == pytest.approx(1 / 7)


def test_rle_rejects_non_2d():
    with pytest.raises(ValueError):
        bitmap_to_rle(np.zeros((2, 2, 2)))
