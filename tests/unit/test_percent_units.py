"""Percent units as `bridge.schema` defines them: x in percent of the width, y of the
height, and a rotated box in percent turns about its top-left corner. Worked by hand."""

from __future__ import annotations

import pytest

from bridge.geometry import bbox_corners
from bridge.schema import BBox, Ellipse
from bridge.units import shape_to_pixels

W, H = 200, 100


def test_rotated_percent_box_turns_about_its_top_left_corner():
    # In percent: top-left corner (pivot) at (50 %, 10 %), 20 % x 30 %, turned 90 degrees.
    # Stored as a unified box in percent: centre = pivot + R(90)(10, 15) = (50 - 15, 10 + 10)
    # = (35, 20), so x = 35 - 10 = 25, y = 20 - 15 = 5.
    percent = BBox(x=25, y=5, width=20, height=30, rotation=90, units="percent")
    # In pixels: pivot (100, 10), size 40 x 30; centre = (100 - 15, 10 + 20) = (85, 30),
    # so x = 85 - 20 = 65, y = 30 - 15 = 15.
    pixels = shape_to_pixels(percent, W, H)
    assert pixels.units == "px"
    assert (pixels.x, pixels.y, pixels.width, pixels.height, pixels.rotation) == pytest.approx(
        (65, 15, 40, 30, 90)
    )
    # the corner the rotation kept in place is the scaled pivot
    assert bbox_corners(pixels)[0] == pytest.approx((100, 10))


def test_unrotated_percent_shapes_scale_x_by_width_and_y_by_height():
    box = shape_to_pixels(BBox(x=10, y=20, width=30, height=40, units="percent"), W, H)
    assert (box.x, box.y, box.width, box.height) == pytest.approx((20, 20, 60, 40))
    # an ellipse keeps its rotation about its centre: centre and radii scale
    ellipse = shape_to_pixels(
        Ellipse(cx=50, cy=50, rx=10, ry=20, rotation=30, units="percent"), W, H
    )
    assert (ellipse.cx, ellipse.cy, ellipse.rx, ellipse.ry, ellipse.rotation) == pytest.approx(
        (100, 50, 20, 20, 30)
    )
