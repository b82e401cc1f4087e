"""COCO annotations <-> unified regions (pure: no disk, no network).

**One COCO annotation** is one object on one image: a category, a `bbox` ([x, y, width,
height], pixels), a `segmentation` (polygons `[[x1, y1, x2, y2, ...], ...]`, or an RLE
`{"size": [height, width], "counts": ...}` whose counts are a list of runs, "uncompressed",
or pycocotools' string, "compressed"), an `area`, `iscrowd` (1: a crowd of objects, stored
as an RLE), and for keypoint categories `keypoints` ([x, y, v] per keypoint of the
category; v=0 not labeled, 1 labeled but not visible, 2 visible) with `num_keypoints`.

Unified side, read: the annotation's geometry becomes regions of its category: one
`Polygon` per polygon of the segmentation, or a `Mask`, or a `BBox` when there is no
segmentation, plus a `Skeleton` for its keypoints. When one annotation gives several
regions they share `group` = the annotation id. Each region keeps the annotation id in
`source.region`, and the primary one keeps `bbox`, `area`, `iscrowd` (when 1) and the RLE
form in `extra`, so that COCO -> unified -> COCO gives the same numbers back.

Written: the regions of one annotation set are grouped by (`group`, label) (ungrouped
regions stand alone) and each group becomes one annotation: its polygons the segmentation
(an ellipse becomes a 64-point polygon), or its mask, its skeleton or points the
keypoints, a lone box the bbox. `area` is the mask's pixel count, the polygons' exact area
(shoelace; overlapping parts counted twice), or the box's; `bbox` is the tight box around
the segmentation, the box, or the labeled keypoints. Values read from COCO (`extra`) are
written back as they were read.
"""

from __future__ import annotations

import math
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from pydantic import TypeAdapter

from bridge.geometry.coords import bbox_corners
from bridge.losses import LossReport
from bridge.schema import (
    RLE,
    Answer,
    AnyShape,
    AttributeValue,
    BBox,
    Classification,
    Keypoint,
    Mask,
    Polygon,
    Region,
    Shape,
    Skeleton,
    SourceRef,
    Visibility,
)
from bridge.units import shape_to_pixels
from bridge_coco.rle import counts_to_string, polygon_area, string_to_counts

TOOL = "coco"
ELLIPSE_POINTS = 64
VISIBILITY_FLAG: dict[Visibility, int] = {"absent": 0, "occluded": 1, "visible": 2}
FLAG_VISIBILITY: dict[int, Visibility] = {flag: name for name, flag in VISIBILITY_FLAG.items()}
CARRIED_KINDS = frozenset({"bbox", "polygon", "mask", "skeleton", "points", "ellipse"})
"""Region kinds a COCO annotation holds (an ellipse as a polygon)."""


# --------------------------------------------------------------------------- writing
#
# The writer works on plain dicts: an item *record* (`bridge.formats.ItemRecords`, fields
# equal to their defaults may be missing, numbers may be ints where the schema says
# float) or an `Item`'s `model_dump()`. Every schema float is passed through `float()` so
# that both give the same bytes.


_PLAIN = re.compile(r"(?:/(?!/)|https?://[^/]+/)[A-Za-z0-9._~/+=@!$&'()*,:-]*")
"""A media path or URL that `urlsplit` and `unquote` leave as it is (no query, fragment,
escape, backslash or odd character): its file name is its last part."""


def file_name(item: dict[str, Any]) -> str:
    """The image's `file_name`: a relative media path as it is (when it stays below its
    root: no `..`), else the last part of the URL or path, else the item key."""
    uri = item["media"].get("uri")
    if not uri:
        return str(item["key"])
    if _PLAIN.fullmatch(uri):  # an absolute path or an http(s) URL: no need to split it
        base = posixpath.basename(uri[uri.find("/", 8) if uri[0] == "h" else 0 :].rstrip("/"))
        return base if base not in ("", "..", ".") else str(item["key"])
    parts = urlsplit(uri)
    path = uri.replace("\\", "/")
    if parts.scheme or parts.netloc or path.startswith("/") or ".." in path.split("/"):
        base = posixpath.basename(
            unquote(parts.path if len(parts.scheme) > 1 else path).rstrip("/")
        )
        return base if base not in ("", "..", ".") else str(item["key"])
    return str(uri)


def from_coco(element: dict[str, Any]) -> bool:
    """Was this item or region read from a COCO file?"""
    source = element.get("source")
    return source is not None and source["tool"] == TOOL


def image_entry(
    item: dict[str, Any], image_id: int, size: tuple[int, int] | None
) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": image_id, "file_name": file_name(item)}
    if size is not None:
        entry["width"], entry["height"] = size
    if from_coco(item):
        for key, value in item.get("extra", {}).items():
            entry.setdefault(key, value)
    return entry


def kept_id(source: dict[str, Any] | None, which: str) -> int | None:
    """The COCO id an element read from COCO had (image: "item", annotation: "region")."""
    if source is None or source["tool"] != TOOL:
        return None
    text = source.get(which)
    if isinstance(text, str) and text.isdigit() and text[:1] != "0":
        return int(text)
    return None


def group_regions(regions: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Regions that make one annotation: same `group` and label; ungrouped alone."""
    groups: dict[tuple[str, str | None], list[dict[str, Any]]] = {}
    out: list[list[dict[str, Any]]] = []
    for region in regions:
        group = region.get("group")
        if group is None:
            out.append([region])
            continue
        key = (group, region.get("label"))
        members = groups.get(key)
        if members is None:
            members = groups[key] = []
            out.append(members)
        members.append(region)
    return out


_SHAPE = TypeAdapter(AnyShape)


def _percent_to_pixels(shape: dict[str, Any], size: tuple[int, int]) -> dict[str, Any]:
    """A percent shape in pixels (through the schema's own conversion, `shape_to_pixels`)."""
    converted = shape_to_pixels(_SHAPE.validate_python(shape), *size)
    assert converted is not None
    return converted.model_dump()


def _flat_points(points: list[Any]) -> list[float]:
    return [float(c) for point in points for c in point]


@dataclass
class AnnotationWriter:
    """Turns groups of region dicts of one image into COCO annotation dicts (no `id` yet)."""

    losses: LossReport
    keypoint_names: Callable[[str, list[dict[str, Any]]], list[str]]
    """Category name, the shape's points -> the category's keypoint names."""
    category_id: Callable[[str], int]
    size: tuple[int, int] | None = None
    where: str = ""

    def _lose(self, code: str, message: str, severity: Any = "dropped") -> None:
        self.losses.record(code, message, where=self.where, severity=severity)

    def pixel_shape(self, region: dict[str, Any]) -> dict[str, Any] | None:
        shape: dict[str, Any] = region["shape"]
        if shape.get("units", "px") == "percent":
            if self.size is None:
                self._lose(
                    "coco.size-unknown",
                    "shape in percent of an image whose pixel size is unknown (give -O media_size=WxH)",
                )
                return None
            shape = _percent_to_pixels(shape, self.size)
        return shape

    def annotation(self, group: list[dict[str, Any]]) -> dict[str, Any] | None:
        primary = group[0]
        label = primary.get("label")
        if label is None:
            self._lose("coco.unlabeled-dropped", "region without a label (COCO needs a category)")
            return None
        polygons: list[list[float]] = []
        masks: list[tuple[dict[str, Any], dict[str, Any]]] = []
        boxes: list[dict[str, Any]] = []
        keypoint_shapes: list[dict[str, Any]] = []
        for region in group:
            shape = region["shape"]
            kind = shape["type"]
            if kind not in CARRIED_KINDS:
                self._lose(f"coco.{kind}-dropped", f"{kind} regions have no COCO form")
                continue
            if shape.get("units") == "percent":
                shape = self.pixel_shape(region)
                if shape is None:
                    continue
            if kind == "bbox":
                boxes.append(shape)
            elif kind == "polygon":
                polygons.append(_flat_points(shape["points"]))
            elif kind == "ellipse":
                polygons.append(ellipse_polygon(shape))
                self._lose(
                    "coco.ellipse-as-polygon",
                    f"ellipse written as a {ELLIPSE_POINTS}-point polygon",
                    "approximated",
                )
            elif kind == "mask":
                masks.append((shape, region))
            else:  # points, skeleton
                keypoint_shapes.append(shape)
        entry: dict[str, Any] = {}
        if masks and polygons:
            self._lose(
                "coco.mask-with-polygons",
                "a mask grouped with polygons: COCO's segmentation is one or the other (the mask is dropped)",
            )
            masks = []
        if len(masks) > 1:
            self._lose(
                "coco.masks-merged-dropped",
                "several masks in one group: only the first is written",
            )
        if len(keypoint_shapes) > 1:
            self._lose(
                "coco.keypoints-extra-dropped",
                "several keypoint shapes in one group: only the first is written",
            )
        box = boxes[0] if boxes else None
        rotated = box is not None and float(box.get("rotation", 0.0)) % 360
        if len(boxes) > 1 or (box is not None and (polygons or masks)):
            self._lose(
                "coco.box-in-group-dropped",
                "a box grouped with a segmentation or another box: COCO's bbox is the segmentation's",
            )
        if rotated:
            self._lose(
                "coco.rotation-dropped",
                "rotated box written as the axis-aligned box around it",
                "approximated",
            )
        if polygons:
            entry["segmentation"] = polygons
            entry["area"] = sum(polygon_area(p) for p in polygons)
            entry["bbox"] = bounds([c for p in polygons for c in p])
        elif masks:
            mask, mask_region = masks[0]
            segmentation = self.mask_segmentation(mask, mask_region)
            if segmentation is None:
                return None
            from bridge.geometry.masks import rle_area, rle_bbox

            rle = RLE(size=tuple(mask["rle"]["size"]), counts=mask["rle"]["counts"])
            entry["segmentation"] = segmentation
            entry["area"] = rle_area(rle)
            entry["bbox"] = list(rle_bbox(rle))
        elif box is not None:
            entry["segmentation"] = []
            if rotated:
                corners = bbox_corners(BBox.model_validate(box))
                entry["bbox"] = bounds([c for point in corners for c in point])
            else:
                entry["bbox"] = [
                    float(box["x"]),
                    float(box["y"]),
                    float(box["width"]),
                    float(box["height"]),
                ]
            entry["area"] = entry["bbox"][2] * entry["bbox"][3]
        if keypoint_shapes:
            values = self.keypoints(label, keypoint_shapes[0])
            entry["keypoints"] = values
            entry["num_keypoints"] = sum(1 for v in values[2::3] if v > 0)
            if "bbox" not in entry:
                labeled = [
                    c
                    for i in range(0, len(values), 3)
                    if values[i + 2] > 0
                    for c in values[i : i + 2]
                ]
                entry["segmentation"] = []
                entry["bbox"] = bounds(labeled) if labeled else [0, 0, 0, 0]
                entry["area"] = entry["bbox"][2] * entry["bbox"][3]
        if "bbox" not in entry:
            return None
        entry["iscrowd"] = 1 if is_crowd(primary) else 0
        entry["category_id"] = self.category_id(label)
        if from_coco(primary):
            extra = primary.get("extra", {})
            for key in ("bbox", "area"):
                if key in extra:
                    entry[key] = extra[key]
        for region in group:
            score = region.get("score")
            if score is not None:
                entry["score"] = float(score)
                break
        attributes = region_attributes(group)
        if attributes:
            entry["attributes"] = attributes
            self._lose(
                "coco.attributes-extra",
                "region attributes written in the annotation's \"attributes\" key (as CVAT's COCO export does), which COCO readers ignore",
                "unmapped",
            )
        for region in group:
            if region.get("z_order") is not None:
                self._lose("coco.z-order-dropped", "COCO has no drawing order")
                break
        return entry

    def mask_segmentation(
        self, mask: dict[str, Any], region: dict[str, Any]
    ) -> dict[str, Any] | None:
        height, width = mask["rle"]["size"]
        if self.size is not None and (width, height) != self.size:
            self._lose(
                "coco.mask-size-mismatch",
                "a mask whose size is not the image's (COCO masks cover the whole image)",
            )
            return None
        form = region.get("extra", {}).get("rle_form") if from_coco(region) else None
        if form is None:
            form = "uncompressed" if is_crowd(region) else "compressed"
        counts: Any = mask["rle"]["counts"]
        if form == "uncompressed":
            counts = string_to_counts(counts)
        return {"size": [height, width], "counts": counts}

    def keypoints(self, label: str, shape: dict[str, Any]) -> list[float]:
        points = shape["points"]
        names = self.keypoint_names(label, points)
        values: list[float] = [0, 0, 0] * len(names)
        index = {name: number for number, name in enumerate(names)}
        positional = all(point.get("label") is None for point in points)
        for number, point in enumerate(points):
            slot = number if positional else index.get(point.get("label") or "")
            if slot is None or slot >= len(names):
                self._lose(
                    "coco.keypoint-unknown",
                    "a keypoint that is not one of its category's keypoints",
                )
                continue
            values[3 * slot : 3 * slot + 3] = [
                float(point["x"]),
                float(point["y"]),
                VISIBILITY_FLAG[point.get("visibility", "visible")],
            ]
            if point.get("classifications"):
                self._lose("coco.keypoint-attributes-dropped", "attributes of a keypoint")
        return values


def is_crowd(region: dict[str, Any]) -> bool:
    """Crowd: `extra["iscrowd"]` or an "iscrowd" attribute answered truthy."""
    extra = region.get("extra")
    if extra and extra.get("iscrowd") in (1, True, "1", "true"):
        return True
    for classification in region.get("classifications", ()):
        if classification["name"] == "iscrowd" and classification["answers"]:
            return classification["answers"][0]["value"] in (1, True, "1", "true", "yes")
    return False


def region_attributes(group: list[dict[str, Any]]) -> dict[str, Any]:
    attributes: dict[str, Any] = {}
    for region in group:
        if region.get("occluded"):
            attributes["occluded"] = True
        for classification in region.get("classifications", ()):
            if classification["name"] == "iscrowd":
                continue
            values = [answer["value"] for answer in classification["answers"]]
            attributes[classification["name"]] = values[0] if len(values) == 1 else values
    return attributes


def bounds(flat: list[float]) -> list[float]:
    xs, ys = flat[0::2], flat[1::2]
    left, top = min(xs), min(ys)
    return [left, top, max(xs) - left, max(ys) - top]


def ellipse_polygon(shape: dict[str, Any]) -> list[float]:
    theta = math.radians(float(shape.get("rotation", 0.0)))
    cos, sin = math.cos(theta), math.sin(theta)
    cx, cy, rx, ry = (float(shape[key]) for key in ("cx", "cy", "rx", "ry"))
    flat: list[float] = []
    for step in range(ELLIPSE_POINTS):
        angle = 2 * math.pi * step / ELLIPSE_POINTS
        dx, dy = rx * math.cos(angle), ry * math.sin(angle)
        flat += [cx + dx * cos - dy * sin, cy + dx * sin + dy * cos]
    return flat


# --------------------------------------------------------------------------- reading


@dataclass
class CategoryInfo:
    """What the reader needs of a category: its name and its keypoint (point-class) names."""

    name: str
    keypoints: list[str] = field(default_factory=list)


def mask_from_segmentation(segmentation: dict[str, Any]) -> tuple[Mask, str]:
    """A COCO RLE dict (checked by the reader) as a unified mask and its form."""
    height, width = segmentation["size"]
    counts = segmentation["counts"]
    if isinstance(counts, list):
        return Mask(rle=RLE(size=(height, width), counts=counts_to_string(counts))), "uncompressed"
    return Mask(rle=RLE(size=(height, width), counts=counts)), "compressed"


def regions_from_annotation(
    annotation: dict[str, Any], category: CategoryInfo, instance: str | None
) -> list[Region]:
    """The unified regions of one checked COCO annotation (see the module docstring)."""
    annotation_id = str(annotation.get("id", ""))
    shapes: list[Shape] = []
    extra: dict[str, Any] = {}
    segmentation = annotation.get("segmentation")
    if isinstance(segmentation, dict):
        mask, form = mask_from_segmentation(segmentation)
        shapes.append(mask)
        extra["rle_form"] = form
    elif segmentation:
        shapes.extend(
            Polygon(points=[(p[i], p[i + 1]) for i in range(0, len(p), 2)]) for p in segmentation
        )
    elif "bbox" in annotation:
        x, y, w, h = annotation["bbox"]
        shapes.append(BBox(x=x, y=y, width=w, height=h))
    keypoints = annotation.get("keypoints")
    if keypoints:
        shapes.append(
            Skeleton(
                points=[
                    Keypoint(
                        x=keypoints[3 * i],
                        y=keypoints[3 * i + 1],
                        label=name,
                        visibility=FLAG_VISIBILITY[int(keypoints[3 * i + 2])],
                    )
                    for i, name in enumerate(category.keypoints)
                ]
            )
        )
    for key in ("bbox", "area"):
        if key in annotation:
            extra[key] = annotation[key]
    if annotation.get("iscrowd"):
        extra["iscrowd"] = annotation["iscrowd"]
    for key, value in annotation.items():
        if key not in KNOWN_ANNOTATION_KEYS:
            extra[key] = value
    attributes = annotation.get("attributes")
    classifications: list[Classification] = []
    occluded = False
    if isinstance(attributes, dict):
        for name, value in attributes.items():
            if name == "occluded" and isinstance(value, bool):
                occluded = value
            elif isinstance(value, AttributeValue):  # type: ignore[arg-type]
                classifications.append(Classification(name=name, answers=[Answer(value=value)]))
            elif isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
                classifications.append(
                    Classification(name=name, answers=[Answer(value=v) for v in value])
                )
            else:
                extra.setdefault("attributes", {})[name] = value
    score = annotation.get("score")
    source = SourceRef(tool=TOOL, instance=instance, region=annotation_id or None)
    group = annotation_id if len(shapes) > 1 else None
    regions = []
    for number, shape in enumerate(shapes):
        regions.append(
            Region(
                id=annotation_id if number == 0 else f"{annotation_id}.{number}",
                label=category.name,
                shape=shape,
                group=group,
                score=score,
                occluded=occluded,
                classifications=classifications if number == 0 else [],
                source=source,
                extra=extra if number == 0 else {},
            )
        )
    return regions


KNOWN_ANNOTATION_KEYS = frozenset(
    {
        "id",
        "image_id",
        "category_id",
        "segmentation",
        "bbox",
        "area",
        "iscrowd",
        "keypoints",
        "num_keypoints",
        "score",
        "attributes",
        "annotator",
    }
)
