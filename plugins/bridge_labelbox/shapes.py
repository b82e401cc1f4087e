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
from typing import Any

import numpy as np

from bridge.geometry.labelbox_png import png_to_rle
from bridge.geometry.masks import bitmap_to_rle
from bridge.losses import LossReport
from bridge.schema import RLE, BBox, Span

from .checks import finite_points, non_finite, optional_text

GEOMETRY_KEYS = ("bounding_box", "polygon", "line", "point", "location", "conversational_location")
MASK_KEYS = ("mask", "composite_mask")
BOX_EXTRA = "lb_bounding_box"
OPEN_POLYGON = "lb_open_polygon"
DOCUMENT_LOCATION = "lb_document_location"
MASK_FETCHED = "lb_mask_fetched"
MaskFetcher = Callable[[str], bytes]
_BOX_KEYS = frozenset(("top", "left", "height", "width"))


def _xy(point: dict) -> tuple[float, float]:
    x, y = float(point["x"]), float(point["y"])
    if x - x or y - y:
        raise non_finite("a point's x and y")
    return x, y


def _points(raw: Any) -> list[tuple[float, float]]:
    if not isinstance(raw, list):
        raise TypeError("a point list must be a list of {x, y}")
    return finite_points([(float(point["x"]), float(point["y"])) for point in raw],
                         "a point's x and y")  # fmt: skip


def read_box(raw: dict, extra: dict) -> dict:
    if not isinstance(raw, dict):
        raise TypeError("bounding_box must be an object {top, left, height, width}")
    x, y = float(raw["left"]), float(raw["top"])
    width, height = float(raw["width"]), float(raw["height"])
    if x - x or y - y or width - width or height - height:
        raise non_finite("bounding_box top, left, height and width")
    box = {"type": "bbox", "x": x, "y": y, "width": width, "height": height}
    if len(raw) > 4:  # the four keys above and more (document boxes have a `unit`)
        extra[BOX_EXTRA] = {k: v for k, v in raw.items() if k not in _BOX_KEYS}
    return box


def read_polygon(raw: Any, extra: dict) -> dict:
    points = _points(raw)
    if len(points) > 1 and points[0] == points[-1]:
        points.pop()
    else:
        extra[OPEN_POLYGON] = True
    return {"type": "polygon", "points": points}


def read_location(raw: dict, extra: dict) -> dict:
    if "groups" in raw:  # a document entity: token ids on pages
        extra[DOCUMENT_LOCATION] = raw
        groups = raw["groups"] or [{}]
        text = " ".join(str(group.get("text", "")) for group in raw["groups"])
        page = groups[0].get("page_number")
        return {"type": "span", "text": text or None,
                "container": None if page is None else str(page)}  # fmt: skip
    end = raw.get("end")
    return {"type": "span", "start": int(raw["start"]),
            "end": None if end is None else int(end) + 1,
            "text": optional_text(raw.get("token"), "location.token")}  # fmt: skip


def read_conversational(raw: dict) -> dict:
    location = raw["location"]
    return {"type": "span", "start": int(location["start"]), "end": int(location["end"]) + 1,
            "container": str(raw["message_id"])}  # fmt: skip


def empty_rle(size: tuple[int | None, int | None]) -> RLE:
    """An all-background mask of the media size (height, width): a placeholder for a mask
    whose pixels were not fetched."""
    height, width = size[0] or 0, size[1] or 0
    if not height or not width:
        return RLE(size=(height, width), counts="")
    return bitmap_to_rle(np.zeros((height, width), dtype=np.uint8))


def _color(raw: Any) -> tuple[int, int, int]:
    if not isinstance(raw, list | tuple) or len(raw) != 3:
        raise ValueError(f"color_rgb must be [r, g, b], not {raw!r}")
    return tuple(int(channel) for channel in raw)  # type: ignore[return-value]


def _mask_urls(obj: dict) -> tuple[dict, dict]:
    """The composite and single mask objects, checked: URLs are strings, colour is RGB."""
    composite, single = obj.get("composite_mask") or {}, obj.get("mask") or {}
    if not isinstance(composite, dict) or not isinstance(single, dict):
        raise TypeError("mask and composite_mask must be objects")
    if composite:
        if not isinstance(composite.get("url"), str):
            raise ValueError("composite_mask.url must be a string")
        _color(composite.get("color_rgb"))
    if single and not isinstance(single.get("url"), str):
        raise ValueError("mask.url must be a string")
    if not composite and not single:
        raise ValueError("a mask object needs a mask or composite_mask URL")
    return composite, single


def read_mask(obj: dict, size: tuple, extra: dict, masks: MaskFetcher | None,
              losses: LossReport, where: str) -> dict:  # fmt: skip
    composite, single = _mask_urls(obj)
    if masks is None:
        losses.record(
            "mask-not-fetched",
            "mask pixels were not fetched; the region keeps the mask URL for Labelbox only",
            where=where, severity="approximated",
        )  # fmt: skip
        extra[MASK_FETCHED] = False
        return {"type": "mask", "rle": _rle_data(empty_rle(size))}
    if composite:
        rle = png_to_rle(masks(composite["url"]), _color(composite["color_rgb"]))
    else:
        rle = png_to_rle(masks(single["url"]))
    return {"type": "mask", "rle": _rle_data(rle)}


def _rle_data(rle: RLE) -> dict:
    """`rle` as plain data (shapes are read as plain data: see convert.item_record)."""
    return {"size": list(rle.size), "counts": rle.counts}


def read_geometry(obj: dict, size: tuple, extra: dict, masks: MaskFetcher | None,
                  losses: LossReport, where: str) -> dict | None:  # fmt: skip
    """The unified shape record of export object `obj` (a dict with its `type`), or None
    when the object has no geometry this module knows. Side facts go into `extra`. `size`
    is the media's (height, width) for mask placeholders."""
    if "bounding_box" in obj:
        return read_box(obj["bounding_box"], extra)
    if "polygon" in obj:
        return read_polygon(obj["polygon"], extra)
    if "line" in obj:
        return {"type": "polyline", "points": _points(obj["line"])}
    if "point" in obj:
        x, y = _xy(obj["point"])
        return {"type": "points", "points": [{"x": x, "y": y}]}
    if "conversational_location" in obj:
        return read_conversational(obj["conversational_location"])
    if "location" in obj:
        return read_location(obj["location"], extra)
    if "mask" in obj or "composite_mask" in obj:
        return read_mask(obj, size, extra, masks, losses, where)
    return None


# ------------------------------------------------------------------------------ writing


def write_box(box: BBox, extra: dict, losses: LossReport, where: str) -> dict[str, Any]:
    if box.rotation:
        losses.record(
            "labelbox-rotation-dropped",
            "Labelbox boxes cannot rotate; the rotation was dropped",
            where=where, severity="approximated",
        )  # fmt: skip
    return {
        "top": box.y, "left": box.x, "height": box.height, "width": box.width,
        **extra.get(BOX_EXTRA, {}),
    }  # fmt: skip


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
