"""Coordinate conventions.

Screen coordinates: origin top-left, x right, y down. A rotation of `deg` degrees is
clockwise on screen, i.e. the point (dx, dy) relative to the pivot goes to
(dx*cos - dy*sin, dx*sin + dy*cos).

* Unified and CVAT boxes rotate about their **centre**.
* Label Studio boxes rotate about their **top-left corner**: `x, y` is where that corner
  is, which the rotation does not move.
"""

from __future__ import annotations

import math

from bridge.schema import BBox, Point


def percent_to_pixels(value: float, size: float) -> float:
    """`value` percent (0-100) of `size` pixels, in pixels."""
    return value * size / 100.0


def pixels_to_percent(value: float, size: float) -> float:
    """`value` pixels as a percentage (0-100) of `size` pixels."""
    return value * 100.0 / size


def _rotate(dx: float, dy: float, degrees: float) -> Point:
    theta = math.radians(degrees)
    cos, sin = math.cos(theta), math.sin(theta)
    return dx * cos - dy * sin, dx * sin + dy * cos


def bbox_from_top_left_rotation(
    x: float, y: float, width: float, height: float, rotation: float
) -> BBox:
    """A box whose top-left corner (x, y) is the pivot of a `rotation` (Label Studio's
    convention, in pixels) as a unified box rotated about its centre."""
    dx, dy = _rotate(width / 2, height / 2, rotation)
    cx, cy = x + dx, y + dy
    return BBox(
        type="bbox",
        x=cx - width / 2,
        y=cy - height / 2,
        width=width,
        height=height,
        rotation=rotation,
    )


def bbox_to_top_left_rotation(box: BBox) -> tuple[float, float, float, float, float]:
    """The unified `box` as (x, y, width, height, rotation) with the rotation about the
    top-left corner (Label Studio's convention, in pixels)."""
    cx, cy = box.x + box.width / 2, box.y + box.height / 2
    dx, dy = _rotate(box.width / 2, box.height / 2, box.rotation)
    return cx - dx, cy - dy, box.width, box.height, box.rotation


def bbox_corners(box: BBox) -> list[Point]:
    """The four corners of `box` on screen after rotation: top-left, top-right,
    bottom-right, bottom-left of the unrotated box."""
    cx, cy = box.x + box.width / 2, box.y + box.height / 2
    half_w, half_h = box.width / 2, box.height / 2
    corners = [(-half_w, -half_h), (half_w, -half_h), (half_w, half_h), (-half_w, half_h)]
    result = []
    for dx, dy in corners:
        rx, ry = _rotate(dx, dy, box.rotation)
        result.append((cx + rx, cy + ry))
    return result
