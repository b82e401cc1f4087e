"""Shapes kept in percent turned into pixels once the media size is known.

A reader that does not know an item's pixel size keeps its shapes in `units="percent"`
rather than guess. When the user supplies the size (`-O media_size=1280x720`),
`item_to_pixels` converts them as `bridge.schema` defines percent units: x values are
percent of the width, y values percent of the height, and a rotated box turns about its
top-left corner (a centre cannot be placed before the aspect ratio is known). A reader
that maps its tool's percent form onto that definition (Label Studio's is exactly it) gets
the pixels it would have produced had the size been in the file.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from bridge.geometry.coords import bbox_from_top_left_rotation, bbox_to_top_left_rotation
from bridge.options import size
from bridge.schema import (
    BBox,
    Cuboid,
    Ellipse,
    Item,
    Keyframe,
    Points,
    Polygon,
    Polyline,
    Region,
    Shape,
    Skeleton,
    Track,
)


def parse_media_size(text: str) -> tuple[int, int]:
    """`-O media_size=1280x720` as (1280, 720)."""
    return size("media_size", text)


def shape_to_pixels(shape: Shape | None, width: float, height: float) -> Shape | None:
    """`shape` in pixels of a `width` x `height` media (unchanged if already in pixels or
    if it has no percent geometry)."""
    if shape is None or shape.units != "percent":
        return shape
    sx, sy = width / 100.0, height / 100.0
    if isinstance(shape, BBox):
        # a percent box turns about its top-left corner (`bridge.schema`, percent units)
        x, y, w, h, rotation = bbox_to_top_left_rotation(shape)
        return bbox_from_top_left_rotation(x * sx, y * sy, w * sx, h * sy, rotation)
    if isinstance(shape, Polygon | Polyline | Cuboid):
        return shape.model_copy(
            update={"units": "px", "points": [(x * sx, y * sy) for x, y in shape.points]}
        )
    if isinstance(shape, Points | Skeleton):
        points = [p.model_copy(update={"x": p.x * sx, "y": p.y * sy}) for p in shape.points]
        return shape.model_copy(update={"units": "px", "points": points})
    if isinstance(shape, Ellipse):
        update = {
            "cx": shape.cx * sx,
            "cy": shape.cy * sy,
            "rx": shape.rx * sx,
            "ry": shape.ry * sy,
        }
        return shape.model_copy(update={"units": "px", **update})
    return shape.model_copy(update={"units": "px"})


def _region(region: Region, width: float, height: float) -> Region:
    shape = shape_to_pixels(region.shape, width, height)
    return region if shape is region.shape else region.model_copy(update={"shape": shape})


def _track(track: Track, width: float, height: float) -> Track:
    keyframes: list[Keyframe] = []
    for keyframe in track.keyframes:
        shape = shape_to_pixels(keyframe.shape, width, height)
        keyframes.append(
            keyframe if shape is keyframe.shape else keyframe.model_copy(update={"shape": shape})
        )
    return track.model_copy(update={"keyframes": keyframes})


def item_to_pixels(item: Item, width: int, height: int) -> Item:
    """`item` with every percent shape in pixels of `width` x `height`, and that size on its
    media where the media had none."""
    sets = []
    for aset in item.annotation_sets:
        regions = [_region(region, width, height) for region in aset.regions]
        tracks = [_track(track, width, height) for track in aset.tracks]
        sets.append(aset.model_copy(update={"regions": regions, "tracks": tracks}))
    media = item.media
    if media.width is None or media.height is None:
        media = media.model_copy(update={"width": width, "height": height})
    return item.model_copy(update={"annotation_sets": sets, "media": media})


def items_to_pixels(items: Iterable[Item], size: tuple[int, int]) -> Iterator[Item]:
    """Stream `items`, converting percent shapes with `size` (width, height) where the item
    does not know its own size."""
    for item in items:
        width = item.media.width or size[0]
        height = item.media.height or size[1]
        yield item_to_pixels(item, width, height)
