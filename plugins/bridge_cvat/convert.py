"""CVAT annotation dicts <-> the unified schema. Pure: no network, no disk.

"CVAT dicts" are the REST `LabeledShape` / `LabeledTrack` / `LabeledImage` (tag) shapes
(see CVAT's `/api/jobs/{id}/annotations/`) with two changes, so the XML reader and the
REST connector share this module: `"label": <name>` instead of `label_id`, and attributes
as `{"name": str, "value": str}` instead of `spec_id`. Skeleton `elements` carry `label`
names too. The XML reader may add `"keyframe": bool` to tracked shapes (REST tracked
shapes are all keyframes).

Vendor terms: a **shape** is one drawn object on one frame; `points` is a flat list whose
meaning depends on `type` (rectangle `[x1, y1, x2, y2]` before rotation; ellipse
`[cx, cy, cx + rx, cy - ry]`; mask `runs + [x1, y1, x2, y2]`; cuboid 8 points; skeleton
`[]` with one `elements` entry per point). `rotation` is degrees clockwise about the
shape's centre. A **track** is one object followed over frames: its `shapes` are the
keyframes; `outside: true` means the object left the view at that frame. **Immutable**
attributes belong to the track, **mutable** ones to each tracked shape. `group` joins
shapes (0 = no group); `source` is who drew it (manual, auto, semi-auto, file, consensus).
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import TypeAdapter, ValidationError

from bridge.errors import FormatError, describe_validation_error
from bridge.limits import DEFAULT_MAX_PIXELS, check_pixels
from bridge.losses import LossReport
from bridge.schema import (
    AnnotationSet,
    BBox,
    Classification,
    Cuboid,
    Ellipse,
    Keyframe,
    Keypoint,
    Mask,
    Points,
    Polygon,
    Polyline,
    Region,
    Skeleton,
    Tag,
    Track,
)
from bridge_cvat.ontology import (
    KIND_TO_CVAT,
    LabelIndex,
    format_number,
    number_or_none,
)

__all__ = [
    "region_to_shape",
    "region_to_tag",
    "shape_to_region",
    "shape_to_region_dict",
    "tag_to_region",
    "tag_to_region_dict",
    "track_to_cvat",
    "track_to_unified",
]

ImageSize = tuple[int, int]
"""(width, height) of the frame in pixels; needed for masks."""

NUMBER_TYPES = {int, float}
MIN_POINTS = {"polygon": 3, "polyline": 2}
"""Fewest points CVAT draws (and its importer accepts) for each outline."""

# ---------------------------------------------------------------- attribute values


def _typed_value(text: str, spec: dict[str, Any] | None) -> Any:
    """A CVAT attribute value (always a string) typed by its spec: checkbox -> bool,
    number -> int/float; everything else stays a string."""
    input_type = spec.get("input_type") if spec else None
    if input_type == "checkbox" and text in ("true", "false"):
        return text == "true"
    if input_type == "number":
        try:
            number = float(text)
        except ValueError:
            return text
        if not math.isfinite(number):
            return text
        integral = number.is_integer() and "." not in text and "e" not in text.lower()
        return int(number) if integral else number
    return text


def attributes_to_classifications(
    attributes: list[dict[str, Any]],
    label: str | None,
    labels: LabelIndex,
    losses: LossReport,
    where: str,
) -> list[dict[str, Any]]:
    """CVAT `{"name", "value"}` attributes -> unified `Classification` dicts."""
    result = []
    specs = labels.specs.get(label or "", {})
    for attribute in attributes or ():
        name, value = attribute.get("name"), attribute.get("value", "")
        if not isinstance(name, str):
            raise FormatError("an attribute has no name", where=where)
        spec = specs.get(name)
        text = str(value)
        if spec is None:
            losses.record(
                "cvat.unknown_attribute",
                "attribute not declared for its label; kept as text",
                where=where,
                severity="unmapped",
            )
        elif _outside_spec(text, spec):
            losses.record(
                "cvat.attribute_outside_spec",
                "attribute value not among its spec's values "
                "(or out of its number range); kept as written",
                where=where,
                severity="unmapped",
            )
        result.append({"name": name, "answers": [{"value": _typed_value(text, spec)}]})
    return result


def _outside_spec(text: str, spec: dict[str, Any]) -> bool:
    """True for a value CVAT holds (its server does not check values against the spec, and
    a spec may change after the fact) but the spec does not allow: a checkbox that is not
    true/false, a radio or select value not among `values`, a number that is not one or
    lies outside [min, max]."""
    input_type, values = spec.get("input_type"), spec.get("values") or []
    if input_type == "checkbox":
        return text not in ("true", "false")
    if input_type in ("radio", "select"):
        return bool(values) and text not in values
    if input_type == "number":
        number = number_or_none(text)
        if number is None or not math.isfinite(number):
            return True
        bounds = [number_or_none(str(v)) for v in values[:2]]
        low, high = (bounds + [None, None])[:2]
        if low is not None and high is not None and low <= high:  # else the spec is no range
            return not low <= number <= high
    return False


def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return format_number(value)
    return str(value)


def classifications_to_attributes(
    classifications: list[Classification], losses: LossReport, where: str
) -> list[dict[str, str]]:
    """Unified answers -> CVAT `{"name", "value"}`; CVAT holds one value per attribute."""
    attributes = []
    for item in classifications:
        if not item.answers:
            continue
        if len(item.answers) > 1:
            losses.record(
                "cvat.multi_answer",
                "CVAT attributes hold one value; extra answers dropped",
                where=where,
            )
        if item.answers[0].classifications or item.frames:
            losses.record(
                "cvat.nested_classification",
                "nested answers and frame ranges have no CVAT attribute form",
                where=where,
            )
        attributes.append({"name": item.name, "value": _value_text(item.answers[0].value)})
    return attributes


# ---------------------------------------------------------------- points -> shapes


def _pairs(points: list[float], where: str) -> list[tuple[float, float]]:
    if len(points) % 2:
        raise FormatError(
            f"odd number of coordinates ({len(points)})", where=where, hint="points are x,y pairs"
        )
    it = iter(points)
    return list(zip(it, it, strict=True))


def _need(points: list[float], count: int, kind: str, where: str) -> None:
    if len(points) != count:
        raise FormatError(f"a {kind} needs {count} coordinates, got {len(points)}", where=where)


def _mask(points: list[float], size: ImageSize | None, where: str) -> dict[str, Any]:
    if size is None:
        raise FormatError(
            "a mask needs the image size",
            where=where,
            hint="the frame's width and height must be known",
        )
    if len(points) < 5:
        raise FormatError("a mask needs run lengths and a box", where=where)
    if not all(math.isfinite(v) and float(v).is_integer() for v in points):
        raise FormatError("mask runs and box corners must be whole numbers", where=where)
    *runs, x1, y1, x2, y2 = (int(v) for v in points)
    from bridge_cvat.masks import cvat_mask_to_rle  # numpy: only when a mask is met

    rle = cvat_mask_to_rle(runs, x1, y1, x2 - x1 + 1, y2 - y1 + 1, size[0], size[1], where=where)
    return {"type": "mask", "rle": {"size": list(rle.size), "counts": rle.counts}}


def ellipse_dict(
    cx: float, cy: float, rx: float, ry: float, rotation: float, where: str | None
) -> dict[str, Any]:
    """A unified ellipse, as a dict; a negative radius is refused (the schema's invariant,
    checked here for the record path too)."""
    if rx < 0 or ry < 0:
        raise FormatError(
            f"an ellipse has a negative radius (rx {rx}, ry {ry})",
            where=where,
            hint="CVAT writes rx and ry (the radii) >= 0",
        )
    return {"type": "ellipse", "cx": cx, "cy": cy, "rx": rx, "ry": ry, "rotation": rotation}


def geometry_dict(
    kind: str, points: list[float], rotation: float, size: ImageSize | None, where: str
) -> dict[str, Any]:
    """A CVAT shape `type` and flat `points` -> a unified shape, as a dict (not skeletons)."""
    if kind == "rectangle":
        _need(points, 4, "rectangle", where)
        x1, y1, x2, y2 = points
        width, height = x2 - x1, y2 - y1
        if not (math.isfinite(width) and math.isfinite(height)):
            side = "width" if not math.isfinite(width) else "height"
            raise FormatError(
                f"invalid value: shape.bbox.{side}: the corners are too far apart "
                "for the size to be a finite number",
                where=where,
            )
        if width < 0 or height < 0:
            raise FormatError(
                f"inverted box: the bottom-right corner ({x2}, {y2}) is left of or "
                f"above the top-left ({x1}, {y1})",
                where=where,
                hint="CVAT writes xtl <= xbr and ytl <= ybr",
            )
        return {
            "type": "bbox",
            "x": x1,
            "y": y1,
            "width": width,
            "height": height,
            "rotation": rotation,
        }
    if kind == "ellipse":
        _need(points, 4, "ellipse", where)
        cx, cy, right, top = points
        return ellipse_dict(cx, cy, right - cx, cy - top, rotation, where)
    if kind in ("polygon", "polyline"):
        pairs = _pairs(points, where)
        if len(pairs) < MIN_POINTS[kind]:
            raise FormatError(
                f"a {kind} needs at least {MIN_POINTS[kind]} points, got {len(pairs)}", where=where
            )
        return {"type": kind, "points": pairs}
    if kind == "points":
        return {"type": "points", "points": [{"x": x, "y": y} for x, y in _pairs(points, where)]}
    if kind == "cuboid":
        _need(points, 16, "cuboid", where)
        return {"type": "cuboid", "points": _pairs(points, where)}
    if kind == "mask":
        return _mask(points, size, where)
    raise FormatError(
        f"unknown shape type {kind!r}",
        where=where,
        hint="CVAT shapes are rectangle, polygon, polyline, points, ellipse, cuboid, mask, skeleton",
    )


def geometry_to_points(
    shape, extra: dict[str, Any], where: str = "", max_pixels: int = DEFAULT_MAX_PIXELS
) -> tuple[str, list[float], float] | None:
    """A unified shape -> (CVAT type, flat points, rotation), or None when CVAT has no such
    shape. `extra` may hold the mask's original crop (`cvat_mask_crop`). A cuboid without
    8 points or a mask whose RLE is malformed or above the pixel budget is a FormatError."""
    if isinstance(shape, BBox):
        box = [shape.x, shape.y, shape.x + shape.width, shape.y + shape.height]
        return "rectangle", box, shape.rotation
    if isinstance(shape, Ellipse):
        ellipse = [shape.cx, shape.cy, shape.cx + shape.rx, shape.cy - shape.ry]
        return "ellipse", ellipse, shape.rotation
    if isinstance(shape, Cuboid) and len(shape.points) != 8:
        raise FormatError(
            f"a cuboid needs 8 points, this one has {len(shape.points)}",
            where=where,
            hint="front face then back face, 4 corners each",
        )
    if isinstance(shape, Polygon | Polyline | Cuboid):
        flat = [c for point in shape.points for c in point]
        return KIND_TO_CVAT[shape.type], flat, 0.0
    if isinstance(shape, Points):
        return "points", [c for p in shape.points for c in (p.x, p.y)], 0.0
    if isinstance(shape, Mask):
        height, width = shape.rle.size
        check_pixels(width, height, where=where, max_pixels=max_pixels)
        crop = extra.get("cvat_mask_crop")
        crop = tuple(crop) if isinstance(crop, list | tuple) and len(crop) == 4 else None
        from bridge_cvat.masks import rle_to_cvat_mask  # numpy: only when a mask is met

        runs, left, top, width, height = rle_to_cvat_mask(shape.rle, crop, where=where)
        return "mask", [*runs, left, top, left + width - 1, top + height - 1], 0.0
    return None


def report_set_extras(
    aset: AnnotationSet, losses: LossReport, where: str, *, shape_scores: bool, status: bool
) -> None:
    """Record what of annotation set `aset` has no CVAT form (each with its count): reviews,
    the time spent (`lead_time`), its status unless the writer holds it (`status`: a job's
    stage/state), a prediction's score and model version, and the scores of its regions
    and tracks (`shape_scores`: the REST API keeps a shape's score, not a tag's or a
    track's; CVAT XML keeps none)."""
    if aset.reviews:
        losses.record(
            "cvat.review",
            "CVAT has no reviews of an annotation; dropped",
            where=where,
            count=len(aset.reviews),
        )
    if aset.lead_time is not None:
        losses.record(
            "cvat.lead_time", "CVAT keeps no time spent per annotation; dropped", where=where
        )
    if aset.status is not None and not status:
        losses.record(
            "cvat.status",
            f"annotation status {aset.status!r} has no place here "
            "(a CVAT job's stage/state); dropped",
            where=where,
        )
    if aset.score is not None or aset.model_version:
        losses.record(
            "cvat.prediction_info",
            "a prediction's score and model version have no CVAT form; dropped",
            where=where,
        )
    scores = sum(
        region.score is not None and not (shape_scores and not isinstance(region.shape, Tag))
        for region in aset.regions
    ) + sum(track.score is not None for track in aset.tracks)
    if scores:
        losses.record(
            "cvat.score",
            "CVAT keeps no score here (the REST API keeps a shape's only); dropped",
            where=where,
            count=scores,
        )


def has_label(label: str | None, losses: LossReport, where: str, what: str = "shape") -> bool:
    """True if `label` is a name CVAT can hold; else the loss is recorded (a CVAT writer
    never writes an empty or missing label name)."""
    if label:
        return True
    losses.record(
        "cvat.unlabeled_region",
        f"a {what} without a label name; CVAT needs one; skipped",
        where=where,
    )
    return False


# ---------------------------------------------------------------- validation


def validated(model, data: dict[str, Any], where: str):
    """`model` (a pydantic model or TypeAdapter) built from `data` in one validation pass;
    a value of the wrong type becomes a FormatError at `where`."""
    try:
        return (
            model.validate_python(data)
            if isinstance(model, TypeAdapter)
            else model.model_validate(data)
        )
    except ValidationError as error:
        raise FormatError(
            f"invalid value: {describe_validation_error(error)}", where=where
        ) from None


def _numbers_only(points: Any, where: str) -> list[float]:
    if not isinstance(points, list) or not set(map(type, points)) <= NUMBER_TYPES:
        raise FormatError("points must be a list of numbers", where=where)
    return points


# ---------------------------------------------------------------- skeleton elements


def _visibility(element: dict[str, Any]) -> str:
    if element.get("outside"):
        return "absent"
    return "occluded" if element.get("occluded") else "visible"


def _keypoint_dict(
    element: dict[str, Any], labels: LabelIndex, losses: LossReport, where: str
) -> dict[str, Any]:
    label = element.get("label")
    check_label(label, labels, where)
    points = _numbers_only(element.get("points") or [], where)
    _need(points, 2, "skeleton point", where)
    extra = {k: element[k] for k in ("source", "id", "z_order", "keyframe") if k in element}
    if element.get("type", "points") != "points":
        extra["type"] = element["type"]
    return {
        "x": points[0],
        "y": points[1],
        "label": label,
        "visibility": _visibility(element),
        "classifications": attributes_to_classifications(
            element.get("attributes"), label, labels, losses, where
        ),
        "extra": extra,
    }


def keypoint_to_element(
    point: Keypoint, frame: int, losses: LossReport, where: str
) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": point.extra.get("type", "points"),
        "label": point.label,
        "frame": frame,
        "points": [point.x, point.y],
        "occluded": point.visibility == "occluded",
        "outside": point.visibility == "absent",
        "attributes": classifications_to_attributes(point.classifications, losses, where),
    }
    for key in ("source", "id", "z_order", "keyframe"):
        if key in point.extra:
            element[key] = point.extra[key]
    return element


# ---------------------------------------------------------------- shapes and tags


def check_label(label: str | None, labels: LabelIndex, where: str) -> None:
    if label and label not in labels:
        raise FormatError(
            f"label {label!r} is not declared",
            where=where,
            hint="every label used by a shape must be in the task's or project's labels",
        )


def _geometry(shape: dict[str, Any], labels, losses, where, size) -> dict[str, Any]:
    kind = shape.get("type")
    if kind == "skeleton":
        elements = shape.get("elements") or []
        return {
            "type": "skeleton",
            "points": [_keypoint_dict(e, labels, losses, where) for e in elements],
        }
    points = _numbers_only(shape.get("points") or [], where)
    rotation = shape.get("rotation") or 0.0
    return geometry_dict(kind, points, rotation, size, where)


def _region_extra(shape: dict[str, Any], geometry: dict[str, Any]) -> dict[str, Any]:
    source, outside, rotation = shape.get("source"), shape.get("outside"), shape.get("rotation")
    extra = {}
    if source:
        extra["source"] = source
    if outside:
        extra["outside"] = outside
    kind = geometry["type"]
    if rotation and kind not in ("bbox", "ellipse"):
        extra["rotation"] = rotation
    if kind == "mask":
        x1, y1, x2, y2 = (int(v) for v in shape["points"][-4:])
        extra["cvat_mask_crop"] = [x1, y1, x2 - x1 + 1, y2 - y1 + 1]
    return extra


def _group(value: Any) -> str | None:
    return str(value) if value else None


def shape_to_region(
    shape: dict[str, Any],
    labels: LabelIndex,
    losses: LossReport,
    *,
    where: str,
    region_id: str | None = None,
    image_size: ImageSize | None = None,
    keep_frame: bool = False,
) -> Region:
    """A CVAT shape dict -> a unified `Region`. `region_id` is used when the shape has no
    `id` (XML); `image_size` (width, height) is needed for masks; `keep_frame` sets
    `Region.frame` (video items)."""
    region = shape_to_region_dict(
        shape,
        labels,
        losses,
        where=where,
        region_id=region_id,
        image_size=image_size,
        keep_frame=keep_frame,
    )
    return validated(Region, region, where)


def shape_to_region_dict(
    shape: dict[str, Any],
    labels: LabelIndex,
    losses: LossReport,
    *,
    where: str,
    region_id: str | None = None,
    image_size: ImageSize | None = None,
    keep_frame: bool = False,
) -> dict[str, Any]:
    """`shape_to_region` without the validation: the `Region` as a dict, for callers that
    validate a whole item at once (one pydantic pass is much cheaper than one per region).
    Values equal to the `Region` defaults are left out: validating them costs time and
    changes nothing."""
    label = shape.get("label") or None
    check_label(label, labels, where)
    geometry = _geometry(shape, labels, losses, where, image_size)
    shape_id = shape.get("id")
    region = {
        "id": str(shape_id) if shape_id is not None else (region_id or "0"),
        "label": label,
        "shape": geometry,
    }
    _copy_set(shape, region)
    attributes = shape.get("attributes")
    if attributes:
        region["classifications"] = attributes_to_classifications(
            attributes, label, labels, losses, where
        )
    extra = _region_extra(shape, geometry)
    if extra:
        region["extra"] = extra
    if keep_frame:
        region["frame"] = shape.get("frame", 0)
    return region


def _copy_set(shape: dict[str, Any], region: dict[str, Any]) -> None:
    """occluded, z_order, group and score, when the shape has them."""
    if "occluded" in shape:
        region["occluded"] = shape["occluded"]
    z_order, group, score = shape.get("z_order"), shape.get("group"), shape.get("score")
    if z_order is not None:
        region["z_order"] = z_order
    if group:
        region["group"] = str(group)
    if score is not None:
        region["score"] = score


def tag_to_region(
    tag: dict[str, Any],
    labels: LabelIndex,
    losses: LossReport,
    *,
    where: str,
    region_id: str | None = None,
    keep_frame: bool = False,
) -> Region:
    """A CVAT tag (a label on the whole frame, `LabeledImage`) -> a `Region` with a `Tag`."""
    region = tag_to_region_dict(
        tag, labels, losses, where=where, region_id=region_id, keep_frame=keep_frame
    )
    return validated(Region, region, where)


def tag_to_region_dict(
    tag: dict[str, Any],
    labels: LabelIndex,
    losses: LossReport,
    *,
    where: str,
    region_id: str | None = None,
    keep_frame: bool = False,
) -> dict[str, Any]:
    """`tag_to_region` without the validation (see `shape_to_region_dict`)."""
    label = tag.get("label") or None
    check_label(label, labels, where)
    tag_id = tag.get("id")
    region = {
        "id": str(tag_id) if tag_id is not None else (region_id or "0"),
        "label": label,
        "shape": {"type": "tag"},
        "group": _group(tag.get("group")),
        "score": tag.get("score"),
        "classifications": attributes_to_classifications(
            tag.get("attributes"), label, labels, losses, where
        ),
        "extra": {k: tag[k] for k in ("source",) if tag.get(k)},
    }
    if keep_frame:
        region["frame"] = tag.get("frame", 0)
    return region


def _common_out(region, frame: int, losses, where) -> dict[str, Any]:
    out: dict[str, Any] = {"label": region.label, "frame": frame}
    out["group"] = int(region.group) if region.group and region.group.isdigit() else 0
    if region.group and not region.group.isdigit():
        losses.record(
            "cvat.group_not_numeric", "CVAT group ids are numbers; group dropped", where=where
        )
    if region.source and region.source.tool == "cvat" and (region.source.region or "").isdigit():
        out["id"] = int(region.source.region)
    if region.extra.get("source"):
        out["source"] = region.extra["source"]
    if region.score is not None:
        out["score"] = region.score
    out["attributes"] = classifications_to_attributes(region.classifications, losses, where)
    return out


def region_to_tag(
    region: Region, losses: LossReport, *, frame: int = 0, where: str = ""
) -> dict[str, Any] | None:
    """A unified `Region` with a `Tag` -> a CVAT tag dict; None (and a loss) without a label."""
    if not has_label(region.label, losses, where, "tag"):
        return None
    return _common_out(region, region.frame if region.frame is not None else frame, losses, where)


def region_to_shape(
    region: Region,
    labels: LabelIndex | None,
    losses: LossReport,
    *,
    frame: int = 0,
    where: str = "",
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> dict[str, Any] | None:
    """A unified `Region` -> a CVAT shape dict, or None (and a loss) when CVAT has no such
    shape (text spans, time segments, 3D cuboids) or it has no label. Tags go through
    `region_to_tag`."""
    geometry = region.shape
    if not has_label(region.label, losses, where):
        return None
    if geometry.units != "px":
        losses.record(
            "cvat.percent_units", "shape in percent of an unknown image size; dropped", where=where
        )
        return None
    out = _common_out(region, region.frame if region.frame is not None else frame, losses, where)
    if isinstance(geometry, Skeleton):
        out.update(type="skeleton", points=[], rotation=0.0)
        out["elements"] = [
            keypoint_to_element(p, out["frame"], losses, where)
            for p in geometry.points
            if has_label(p.label, losses, where, "skeleton point")
        ]
    else:
        converted = geometry_to_points(geometry, region.extra, where, max_pixels)
        if converted is None:
            losses.record(
                f"cvat.no_{geometry.type}",
                f"CVAT has no {geometry.type} shape; dropped",
                where=where,
            )
            return None
        kind, points, rotation = converted
        out.update(type=kind, points=points, rotation=float(region.extra.get("rotation", rotation)))
    out.update(
        occluded=region.occluded,
        z_order=region.z_order or 0,
        outside=bool(region.extra.get("outside")),
    )
    return out


# ---------------------------------------------------------------- tracks


def _split_attributes(attributes, label, labels) -> tuple[list, list]:
    """(immutable, mutable) attributes of a tracked shape, by the label's specs."""
    fixed, changing = [], []
    for attribute in attributes or []:
        (changing if labels.is_mutable(label, attribute.get("name")) else fixed).append(attribute)
    return fixed, changing


def _keyframe(shape: dict[str, Any], label, labels, losses, where, size) -> dict[str, Any]:
    skeleton = shape.get("type") == "skeleton"
    geometry = None if skeleton else _geometry(shape, labels, losses, where, size)
    extra = _region_extra(shape, geometry) if geometry is not None else {}
    extra.pop("outside", None)
    if shape.get("id") is not None:
        extra["id"] = shape["id"]
    _, changing = _split_attributes(shape.get("attributes"), label, labels)
    if "frame" not in shape:
        raise FormatError("a tracked shape has no frame", where=where)
    return {
        "frame": shape["frame"],
        "shape": geometry,
        "outside": shape.get("outside", False),
        "occluded": shape.get("occluded", False),
        "keyframe": shape.get("keyframe", True),
        "z_order": shape.get("z_order"),
        "classifications": attributes_to_classifications(changing, label, labels, losses, where),
        "extra": extra,
    }


def _element_keypoints(
    track: dict[str, Any], labels, losses, where
) -> dict[int, list[dict[str, Any]]]:
    """Per frame, the keypoints of a skeleton track's element tracks at that frame."""
    by_frame: dict[int, list[dict[str, Any]]] = {}
    for element in track.get("elements") or []:
        for shape in element.get("shapes") or []:
            point = _keypoint_dict({**shape, "label": element.get("label")}, labels, losses, where)
            point["extra"].pop("id", None)
            if shape.get("keyframe") is not None:
                point["extra"]["keyframe"] = bool(shape["keyframe"])
            by_frame.setdefault(shape.get("frame"), []).append(point)
    return by_frame


def _skeleton_keyframes(
    track: dict[str, Any], label, labels, losses, where
) -> list[dict[str, Any]]:
    by_frame = _element_keypoints(track, labels, losses, where)
    own = {shape.get("frame"): shape for shape in track.get("shapes") or []}
    frames = set(own) | set(by_frame)
    if not all(isinstance(f, int) for f in frames):
        raise FormatError("a tracked shape has no integer frame", where=where)
    keyframes = []
    for frame in sorted(frames):
        shape = own.get(frame)
        if shape is None:
            keyframe = {
                "frame": frame,
                "keyframe": False,
                "extra": {"cvat_no_skeleton_shape": True},
            }
        else:
            keyframe = _keyframe(shape, label, labels, losses, where, None)
            if shape.get("points"):
                keyframe["extra"]["cvat_points"] = list(shape["points"])
        keyframe["shape"] = {"type": "skeleton", "points": by_frame.get(frame, [])}
        keyframes.append(keyframe)
    return keyframes


def _element_track_extra(track: dict[str, Any]) -> list[dict[str, Any]]:
    keep = ("label", "id", "source", "group", "attributes")
    return [{k: e[k] for k in keep if k in e} for e in track.get("elements") or []]


def track_to_unified(
    track: dict[str, Any],
    labels: LabelIndex,
    losses: LossReport,
    *,
    where: str,
    image_size: ImageSize | None = None,
) -> Track:
    """A CVAT track dict -> a unified `Track`, keyframes in frame order. Immutable
    attributes go to the track, mutable ones to each keyframe; skeleton tracks get one
    `Skeleton` per frame built from their element tracks."""
    label = track.get("label") or None
    check_label(label, labels, where)
    shapes = track.get("shapes") or []
    fixed = track.get("attributes")
    if fixed is None:  # XML: every tracked shape repeats the immutable attributes
        fixed = _split_attributes(shapes[0].get("attributes") if shapes else [], label, labels)[0]
    if track.get("elements"):
        keyframes = _skeleton_keyframes(track, label, labels, losses, where)
        extra = {"cvat_elements": _element_track_extra(track)}
    else:
        keyframes = [_keyframe(s, label, labels, losses, where, image_size) for s in shapes]
        extra = {}
    extra.update({k: track[k] for k in ("source",) if track.get(k)})
    track_id = track.get("id")
    unified = validated(
        Track,
        {
            "id": str(track_id) if track_id is not None else "0",
            "label": label,
            "keyframes": keyframes,
            "group": _group(track.get("group")),
            "classifications": attributes_to_classifications(fixed, label, labels, losses, where),
            "extra": extra,
        },
        where,
    )
    unified.keyframes.sort(key=lambda k: k.frame)
    return unified


def _tracked_shape(keyframe: Keyframe, geometry, losses, where) -> dict[str, Any] | None:
    out: dict[str, Any] = {
        "frame": keyframe.frame,
        "outside": keyframe.outside,
        "occluded": keyframe.occluded,
        "keyframe": keyframe.keyframe,
        "z_order": keyframe.z_order or 0,
    }
    if keyframe.extra.get("id") is not None:
        out["id"] = keyframe.extra["id"]
    if geometry is None or isinstance(geometry, Skeleton):
        out.update(
            type="skeleton", points=list(keyframe.extra.get("cvat_points", [])), rotation=0.0
        )
    else:
        converted = geometry_to_points(geometry, keyframe.extra, where)
        if converted is None:
            losses.record(
                f"cvat.no_{geometry.type}",
                f"CVAT has no {geometry.type} shape; dropped",
                where=where,
            )
            return None
        kind, points, rotation = converted
        out.update(
            type=kind, points=points, rotation=float(keyframe.extra.get("rotation", rotation))
        )
    out["attributes"] = classifications_to_attributes(keyframe.classifications, losses, where)
    return out


def _geometries(track: Track, is_skeleton: bool) -> list:
    """Each keyframe's shape; an outside keyframe without one (other tools store none)
    borrows the nearest earlier shape, else the next one: CVAT needs a shape there."""
    shapes = [k.shape for k in track.keyframes]
    if is_skeleton:
        return shapes
    known = [(i, s) for i, s in enumerate(shapes) if s is not None]
    filled = []
    for index, shape in enumerate(shapes):
        if shape is None and known:
            before = [s for i, s in known if i < index]
            shape = before[-1] if before else known[0][1]
        filled.append(shape)
    return filled


def _element_tracks(track: Track, losses, where) -> list[dict[str, Any]]:
    """Rebuild a skeleton track's element tracks from the keypoints of its keyframes."""
    known = {e.get("label"): e for e in track.extra.get("cvat_elements", [])}
    elements: dict[str | None, dict[str, Any]] = {}
    for label, info in known.items():
        elements[label] = {**info, "shapes": []}
    for keyframe in track.keyframes:
        points = keyframe.shape.points if isinstance(keyframe.shape, Skeleton) else []
        for point in points:
            if not has_label(point.label, losses, where, "skeleton point"):
                continue
            element = elements.setdefault(point.label, {"label": point.label, "shapes": []})
            shape = keypoint_to_element(point, keyframe.frame, losses, where)
            shape.pop("label")
            shape.setdefault("keyframe", True)
            element["shapes"].append(shape)
    for element in elements.values():
        element["frame"] = element["shapes"][0]["frame"] if element["shapes"] else 0
        element.setdefault("attributes", [])
    return list(elements.values())


def track_to_cvat(
    track: Track, labels: LabelIndex | None, losses: LossReport, *, where: str = ""
) -> dict[str, Any] | None:
    """A unified `Track` -> a CVAT track dict (None, and a loss, without a label). Tracked
    shapes keep a `keyframe` flag (the XML writes it; the REST connector sends only the
    keyframes and drops the key)."""
    if not has_label(track.label, losses, where, "track"):
        return None
    is_skeleton = any(isinstance(k.shape, Skeleton) for k in track.keyframes)
    shapes = []
    for keyframe, geometry in zip(track.keyframes, _geometries(track, is_skeleton), strict=True):
        if keyframe.extra.get("cvat_no_skeleton_shape"):
            continue
        if geometry is None and not is_skeleton:
            losses.record(
                "cvat.keyframe_without_shape",
                "a track keyframe without any shape; dropped",
                where=where,
            )
            continue
        shape = _tracked_shape(keyframe, geometry, losses, where)
        if shape is not None:
            shapes.append(shape)
    out: dict[str, Any] = {
        "label": track.label,
        "frame": shapes[0]["frame"]
        if shapes
        else (track.keyframes[0].frame if track.keyframes else 0),
        "group": int(track.group) if track.group and track.group.isdigit() else 0,
        "shapes": shapes,
        "attributes": classifications_to_attributes(track.classifications, losses, where),
        "elements": _element_tracks(track, losses, where) if is_skeleton else [],
    }
    if track.id.isdigit():
        out["id"] = int(track.id)
    if track.extra.get("source"):
        out["source"] = track.extra["source"]
    if track.score is not None:
        out["score"] = track.score
    return out
