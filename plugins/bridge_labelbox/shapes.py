"""Geometry of one Labelbox export v2 object <-> a unified shape.

Export v2 objects carry their geometry under one key (absolute pixels):

* `bounding_box`: `{top, left, height, width}` (document boxes add `unit`);
* `polygon`: `[{x, y}, ...]`, closed by repeating the first point;
* `line`: `[{x, y}, ...]`; `point`: `{x, y}`;
* `mask`: `{url}` of a binary PNG and/or `composite_mask`: `{url, color_rgb}`, one RGB PNG
  for all masks of the label whose pixels of `color_rgb` are this object's;
* `location`: `{start, end, token}` for a text entity, `end` INCLUSIVE (unified spans end
  exclusive), or `{groups: [{id, page_number, tokens, text}]}` for a document entity;
* `conversational_location`: `{message_id, location: {start, end}}` (end inclusive).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bridge.errors import FormatError
from bridge.limits import DEFAULT_MAX_PIXELS, check_pixels
from bridge.losses import LossReport
from bridge.schema import RLE, BBox, Span

from .checks import (
    a_list,
    an_object,
    integer,
    number,
    optional_text,
    required,
    show,
)

GEOMETRY_KEYS = ("bounding_box", "polygon", "line", "point", "location", "conversational_location")
MASK_KEYS = ("mask", "composite_mask")
SHAPE_KEYS = (*GEOMETRY_KEYS, "mask")
"""The keys that each hold one object's geometry (`composite_mask` goes with `mask`)."""
BOX_EXTRA = "lb_bounding_box"
OPEN_POLYGON = "lb_open_polygon"
DOCUMENT_LOCATION = "lb_document_location"
DOCUMENT_PAGE = "lb_page_number"
MASK_FETCHED = "lb_mask_fetched"
MaskFetcher = Callable[[str], bytes]
_INF = float("inf")
_BOX_KEYS = frozenset(("top", "left", "height", "width"))


@dataclass(frozen=True)
class Masks:
    """How the reader gets mask pixels: `fetch(url)` returns a mask PNG (None: masks are
    not fetched), and no mask larger than `max_pixels` is decoded or made."""

    fetch: MaskFetcher | None = None
    max_pixels: int = DEFAULT_MAX_PIXELS


NO_MASKS = Masks()


def _xy(point: Any, what: str) -> tuple[float, float]:
    an_object(point, f"a point of {what}")
    return (
        number(required(point, "x", f"a point of {what}"), f"{what} x"),
        number(required(point, "y", f"a point of {what}"), f"{what} y"),
    )


def _points(raw: Any, what: str) -> list[tuple[float, float]]:
    if type(raw) is not list:
        a_list(raw, what)
    points = []
    append = points.append
    for point in raw:  # the reader's hottest loop: the usual case checked inline
        if type(point) is dict:
            x, y = point.get("x"), point.get("y")
            if type(x) is float and type(y) is float and not (x - x or y - y):
                append((x, y))
                continue
        append(_xy(point, what))
    return points


def read_box(raw: Any, extra: dict) -> dict:
    if type(raw) is not dict:
        raise FormatError(
            f"bounding_box must be an object {{top, left, height, width}}, not {show(raw)}"
        )
    x, y = raw.get("left"), raw.get("top")
    width, height = raw.get("width"), raw.get("height")
    if (
        type(x) is float
        and type(y) is float
        and type(width) is float
        and type(height) is float
        and not (x - x or y - y)
        and 0.0 <= width < _INF
        and 0.0 <= height < _INF
    ):
        box = {"type": "bbox", "x": x, "y": y, "width": width, "height": height}
    else:  # integers, or something to name: each value checked
        box = {
            "type": "bbox",
            "x": number(required(raw, "left", "bounding_box"), "bounding_box left"),
            "y": number(required(raw, "top", "bounding_box"), "bounding_box top"),
            "width": number(required(raw, "width", "bounding_box"), "bounding_box width"),
            "height": number(required(raw, "height", "bounding_box"), "bounding_box height"),
        }
        if box["width"] < 0 or box["height"] < 0:
            raise FormatError(
                f"bounding_box width and height must not be negative, not {show(raw)}"
            )
    if len(raw) > 4:  # the four keys above and more (document boxes have a `unit`)
        extra[BOX_EXTRA] = {k: v for k, v in raw.items() if k not in _BOX_KEYS}
    return box


def read_polygon(raw: Any, extra: dict) -> dict:
    points = _points(raw, "polygon")
    if len(points) > 1 and points[0] == points[-1]:
        points.pop()
    else:
        extra[OPEN_POLYGON] = True
    if len(points) < 3:
        raise FormatError(f"a polygon needs at least 3 points, not {len(points)}")
    return {"type": "polygon", "points": points}


def read_line(raw: Any) -> dict:
    points = _points(raw, "line")
    if len(points) < 2:
        raise FormatError(f"a line needs at least 2 points, not {len(points)}")
    return {"type": "polyline", "points": points}


def _offset(raw: dict, key: str, what: str) -> int:
    value = integer(required(raw, key, what), f"{what} {key}")
    if value < 0:
        raise FormatError(f"{what} {key} is negative ({value})")
    return value


def _span_offsets(raw: dict, what: str) -> tuple[int, int]:
    """The `start` and inclusive `end` of a Labelbox text location as a span's start and
    exclusive end."""
    start = _offset(raw, "start", what)
    end = _offset(raw, "end", what)
    if end < start:
        raise FormatError(f"{what} end {end} is before its start {start}")
    return start, end + 1


def read_location(raw: Any, extra: dict) -> dict:
    """A text entity `{start, end, token}` (end inclusive) as a span with integer offsets
    (end exclusive). Document entities (`groups` of token ids on PDF pages) have no
    character offsets: no unified span can hold them, they are kept as unsupported objects
    for a Labelbox round trip (and named in the loss report)."""
    an_object(raw, "location")
    start, end = _span_offsets(raw, "location")
    return {
        "type": "span",
        "start": start,
        "end": end,
        "text": optional_text(raw.get("token"), "location.token"),
    }


def read_conversational(raw: Any) -> dict:
    an_object(raw, "conversational_location")
    location = an_object(
        required(raw, "location", "conversational_location"), "conversational_location.location"
    )
    start, end = _span_offsets(location, "conversational_location")
    message = required(raw, "message_id", "conversational_location")
    if type(message) not in (str, int):
        raise FormatError(
            f"conversational_location message_id must be a string, not {show(message)}"
        )
    return {"type": "span", "start": start, "end": end, "container": str(message)}


MAX_COCO_PIXELS = 2**32 - 1
"""COCO RLE (pycocotools) counts runs in 32 bits."""


def empty_rle(
    size: tuple[int | None, int | None],
    max_pixels: int = DEFAULT_MAX_PIXELS,
    where: str | None = None,
) -> RLE:
    """An all-background mask of the media size (height, width): a placeholder for a mask
    whose pixels were not fetched. Made from its one run, no bitmap allocated; a size
    above the pixel budget is refused."""
    height, width = size[0] or 0, size[1] or 0
    if not height or not width:
        return RLE(size=(height, width), counts="")
    check_pixels(width, height, where=where, max_pixels=min(max_pixels, MAX_COCO_PIXELS))
    from pycocotools import mask as coco_mask

    coco = coco_mask.frPyObjects(
        {"size": [height, width], "counts": [height * width]}, height, width
    )
    return RLE(size=(height, width), counts=coco["counts"].decode("ascii"))


def _color(raw: Any) -> tuple[int, int, int]:
    if type(raw) is not list or len(raw) != 3:
        raise FormatError(f"color_rgb must be [r, g, b], not {show(raw)}")
    channels = tuple(integer(channel, "a color_rgb channel") for channel in raw)
    if not all(0 <= channel <= 255 for channel in channels):
        raise FormatError(f"color_rgb channels must be 0 to 255, not {show(raw)}")
    return channels  # type: ignore[return-value]


def _mask_urls(obj: dict) -> tuple[dict, dict]:
    """The composite and single mask objects, checked: URLs are strings, colour is RGB."""
    composite, single = obj.get("composite_mask") or {}, obj.get("mask") or {}
    an_object(composite, "composite_mask")
    an_object(single, "mask")
    if composite:
        if type(composite.get("url")) is not str:
            raise FormatError("composite_mask.url must be a string")
        _color(composite.get("color_rgb"))
    if single and type(single.get("url")) is not str:
        raise FormatError("mask.url must be a string")
    if not composite and not single:
        raise FormatError("a mask object needs a mask or composite_mask URL")
    return composite, single


def read_mask(
    obj: dict, size: tuple, extra: dict, masks: Masks, losses: LossReport, where: str
) -> dict:
    composite, single = _mask_urls(obj)
    if masks.fetch is None:
        losses.record(
            "mask-not-fetched",
            "mask pixels were not fetched; the region keeps the mask URL for Labelbox only",
            where=where,
            severity="approximated",
        )
        extra[MASK_FETCHED] = False
        return {"type": "mask", "rle": _rle_data(empty_rle(size, masks.max_pixels, where))}
    from .png_masks import png_to_rle

    if composite:
        png = masks.fetch(composite["url"])
        rle = png_to_rle(png, _color(composite["color_rgb"]), max_pixels=masks.max_pixels)
    else:
        rle = png_to_rle(masks.fetch(single["url"]), max_pixels=masks.max_pixels)
    return {"type": "mask", "rle": _rle_data(rle)}


def _rle_data(rle: RLE) -> dict:
    """`rle` as plain data (shapes are read as plain data: see convert.item_record)."""
    return {"size": list(rle.size), "counts": rle.counts}


_SHAPE_KEY_SET = frozenset(SHAPE_KEYS)


def _location(
    obj: dict, size: tuple, extra: dict, masks: Masks, losses: LossReport, where: str
) -> dict | None:
    location = obj["location"]
    if type(location) is dict and "groups" in location:
        return None  # a document entity: token ids on pages, no character offsets
    return read_location(location, extra)


_READERS: dict[str, Callable[..., dict | None]] = {
    "bounding_box": lambda obj, size, extra, *_: read_box(obj["bounding_box"], extra),
    "polygon": lambda obj, size, extra, *_: read_polygon(obj["polygon"], extra),
    "line": lambda obj, *_: read_line(obj["line"]),
    "point": lambda obj, *_: {
        "type": "points",
        "points": [{"x": x, "y": y} for x, y in _points([obj["point"]], "point")],
    },
    "conversational_location": lambda obj, *_: read_conversational(obj["conversational_location"]),
    "location": _location,
    "mask": read_mask,
}


def read_geometry(
    obj: dict, size: tuple, extra: dict, masks: Masks, losses: LossReport, where: str
) -> dict | None:
    """The unified shape record of export object `obj` (a dict with its `type`), or None
    when the object has no geometry this module knows. Side facts go into `extra`. `size`
    is the media's (height, width) for mask placeholders. An object with two geometries
    (a box and a polygon) is refused: Labelbox draws one shape per object."""
    found = obj.keys() & _SHAPE_KEY_SET
    if len(found) == 1:
        return _READERS[found.pop()](obj, size, extra, masks, losses, where)
    if found:
        first, second = sorted(found, key=SHAPE_KEYS.index)[:2]
        raise FormatError(
            f"an object has two geometries, {first!r} and {second!r}",
            where=where,
            hint="a Labelbox object holds one shape; split it into two objects",
        )
    if "composite_mask" in obj:
        return read_mask(obj, size, extra, masks, losses, where)
    return None


# ------------------------------------------------------------------------------ writing


def write_box(box: BBox, extra: dict, losses: LossReport, where: str) -> dict[str, Any]:
    if box.rotation:
        losses.record(
            "labelbox-rotation-dropped",
            "Labelbox boxes cannot rotate; the rotation was dropped",
            where=where,
            severity="approximated",
        )
    return {
        "top": box.y,
        "left": box.x,
        "height": box.height,
        "width": box.width,
        **extra.get(BOX_EXTRA, {}),
    }


def _xy_list(points) -> list[dict[str, float]]:
    return [{"x": x, "y": y} for x, y in points]


def write_geometry(shape, extra: dict, losses: LossReport, where: str) -> dict[str, Any] | None:
    """Export v2 geometry keys for `shape` (None when Labelbox has no such shape). Masks
    return {} : their URLs ride in `extra`."""
    if shape.units != "px":
        losses.record(
            "labelbox-percent-shape",
            "a shape in percent of an unknown media size cannot be placed in pixels",
            where=where,
        )
        return None
    kind = shape.type
    if kind == "bbox":
        return {"bounding_box": write_box(shape, extra, losses, where)}
    if kind == "polygon":
        points = list(shape.points)
        if points and not extra.get(OPEN_POLYGON):
            points.append(points[0])
        return {"polygon": _xy_list(points)}
    if kind == "polyline":
        return {"line": _xy_list(shape.points)}
    if kind in ("points", "skeleton") and shape.points:
        if len(shape.points) > 1:
            losses.record(
                "labelbox-points-split",
                "a Labelbox point holds one point; only the first point of a multi-point shape is kept",
                where=where,
            )
        return {"point": {"x": shape.points[0].x, "y": shape.points[0].y}}
    if kind == "span":
        return write_span(shape, extra, losses, where)
    if kind == "mask":
        if not any(key in extra for key in MASK_KEYS):
            losses.record(
                "labelbox-mask-without-url",
                "export v2 files reference masks by URL; a mask with no Labelbox URL was dropped",
                where=where,
            )
            return None
        return {}
    losses.record(
        f"labelbox-{kind}-unsupported",
        f"Labelbox has no {kind} objects; dropped",
        where=where,
    )
    return None


def write_span(span: Span, extra: dict, losses: LossReport, where: str) -> dict[str, Any] | None:
    if DOCUMENT_LOCATION in extra:
        return {"location": extra[DOCUMENT_LOCATION]}
    if span.start is None or span.end is None:
        losses.record(
            "labelbox-span-without-offsets",
            "a text span without character offsets cannot be a Labelbox entity",
            where=where,
        )
        return None
    if span.end_container not in (None, span.container):
        losses.record(
            "labelbox-span-across-messages",
            "a span across several messages cannot be a Labelbox conversation entity "
            "(one message each)",
            where=where,
        )
        return None
    location: dict[str, Any] = {"start": span.start, "end": span.end - 1}
    if span.container is not None:
        return {"conversational_location": {"message_id": span.container, "location": location}}
    if span.text is not None:
        location["token"] = span.text
    return {"location": location}
