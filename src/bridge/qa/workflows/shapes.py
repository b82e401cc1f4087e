"""The points that outline a shape on its media, for bounds checks and for drawing.

`outline(shape)` gives the points a shape covers the extremes of, in the shape's own
units: a box's four corners after rotation, a polygon's or polyline's points, the
keypoints of points and skeletons that are not absent, a cuboid's eight points, and for an
ellipse the four extreme points of its rotated outline' bounding box. Shapes without a
place on an image (masks, spans, time segments, tags, 3D cuboids) give None. A box in
percent units with a rotation gives None too: it turns about its top-left corner in pixel
space, so its corners in percent have no meaning without the media size.
"""

from __future__ import annotations

import math

from bridge.geometry.coords import bbox_corners
from bridge.schema import (
    BBox,
    Cuboid,
    Ellipse,
    Points,
    Polygon,
    Polyline,
    Shape,
    Skeleton,
)

Point = tuple[float, float]


def ellipse_extent(shape: Ellipse) -> tuple[float, float]:
    """Half the width and half the height of the rotated ellipse's bounding box."""
    theta = math.radians(shape.rotation)
    cos, sin = math.cos(theta), math.sin(theta)
    half_w = math.hypot(shape.rx * cos, shape.ry * sin)
    half_h = math.hypot(shape.rx * sin, shape.ry * cos)
    return half_w, half_h


def outline(shape: Shape) -> list[Point] | None:
    """The extreme points of `shape` (see the module docstring), or None."""
    if isinstance(shape, BBox):
        if not shape.rotation:  # the common case, without trigonometry
            right, bottom = shape.x + shape.width, shape.y + shape.height
            return [(shape.x, shape.y), (right, shape.y), (right, bottom), (shape.x, bottom)]
        if shape.units == "percent":
            return None
        return bbox_corners(shape)
    if isinstance(shape, Polygon | Polyline | Cuboid):
        return [(float(x), float(y)) for x, y in shape.points]
    if isinstance(shape, Points | Skeleton):
        return [(p.x, p.y) for p in shape.points if p.visibility != "absent"]
    if isinstance(shape, Ellipse):
        half_w, half_h = ellipse_extent(shape)
        return [
            (shape.cx - half_w, shape.cy - half_h),
            (shape.cx + half_w, shape.cy + half_h),
        ]
    return None


def media_box(shape: Shape, width: int | None, height: int | None) -> tuple[float, float] | None:
    """The width and height of the media in the shape's units, None when unknown."""
    if shape.units == "percent":
        return 100.0, 100.0
    if width is None or height is None:
        return None
    return float(width), float(height)


def outside(shape: Shape, width: int | None, height: int | None, tolerance: float) -> bool | None:
    """True when a point of `shape` lies outside the media by more than `tolerance` (in
    the shape's units), False when it is inside, None when that cannot be told."""
    box = media_box(shape, width, height)
    if box is not None and type(shape) is BBox and not shape.rotation:  # the hot path
        w, h = box
        return (
            shape.x < -tolerance
            or shape.y < -tolerance
            or shape.x + shape.width > w + tolerance
            or shape.y + shape.height > h + tolerance
        )
    points = outline(shape)
    if box is None or points is None:
        return None
    w, h = box
    return any(
        x < -tolerance or y < -tolerance or x > w + tolerance or y > h + tolerance
        for x, y in points
    )
