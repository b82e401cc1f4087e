"""YOLO label lines <-> unified regions (pure: no disk).

A YOLO label file holds one object per line, `CLASS v1 v2 ...`, coordinates normalized to
0-1 of the image's width (x) and height (y). The four Ultralytics layouts (*tasks*):

| task | line |
|---|---|
| detect | `class cx cy w h` (the box's centre and size) |
| segment | `class x1 y1 x2 y2 ...` (a polygon, 3 points or more) |
| obb | `class x1 y1 x2 y2 x3 y3 x4 y4` (an oriented box's corners, in drawing order) |
| pose | `class cx cy w h px1 py1 v1 ... pxK pyK vK` (a box and K keypoints, v: 0 not labeled, 1 occluded, 2 visible) |

Normalized coordinates are the schema's percent units divided by 100, so a shape whose
image size is unknown needs no size to be written (except a rotated box) and is read back
in percent. Written coordinates have 6 significant digits (`%g`, as Ultralytics' own
converters write them).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from bridge.geometry.coords import bbox_corners
from bridge.losses import LossReport
from bridge.schema import (
    BBox,
    Ellipse,
    Keypoint,
    Mask,
    Points,
    Polygon,
    Region,
    Shape,
    Skeleton,
    Visibility,
)

Task = Literal["detect", "segment", "obb", "pose"]
TASKS: tuple[Task, ...] = ("detect", "segment", "obb", "pose")
VISIBILITY_FLAG: dict[Visibility, int] = {"absent": 0, "occluded": 1, "visible": 2}
FLAG_VISIBILITY: dict[int, Visibility] = {flag: name for name, flag in VISIBILITY_FLAG.items()}
ELLIPSE_POINTS = 32


def number(value: float) -> str:
    """A normalized coordinate as written: 6 significant digits (`%g`, what Ultralytics'
    own COCO converter writes: 0.479492, 0.0907344, 1)."""
    text = f"{value:.6g}"
    return "0" if text == "-0" else text


@dataclass
class LineWriter:
    """Regions of one image -> YOLO lines for one task. `scale` turns a shape into
    normalized units: (sx, sy) to divide pixel x and y by, or None when the image size is
    unknown (then only percent shapes can be written)."""

    task: Task
    losses: LossReport
    class_index: Callable[[str], int]
    keypoint_names: Callable[[str, list[Keypoint]], list[str]]
    size: tuple[int, int] | None
    where: str = ""

    def _lose(self, code: str, message: str, severity: Any = "dropped") -> None:
        self.losses.record(code, message, where=self.where, severity=severity)

    def _factors(self, shape: Shape) -> tuple[float, float] | None:
        if shape.units == "percent":
            return 100.0, 100.0
        if self.size is None:
            self._lose(
                "yolo.size-unknown",
                "a pixel shape on an image whose size is unknown (YOLO coordinates are normalized)",
            )
            return None
        return float(self.size[0]), float(self.size[1])

    def lines(self, regions: list[Region]) -> list[str]:
        out: list[str] = []
        boxes_by_group: dict[str, BBox] = {}
        if self.task == "pose":  # a keypoint shape's box: its group's box, else outline
            for region in sorted(regions, key=lambda r: not isinstance(r.shape, BBox)):
                box = group_box(region.shape) if region.group is not None else None
                if box is None or region.group is None:
                    continue
                known = boxes_by_group.get(region.group)
                if known is None:
                    boxes_by_group[region.group] = box
                elif isinstance(region.shape, Polygon) and known.units == box.units:
                    boxes_by_group[region.group] = union(known, box)
        elif self.task in ("segment", "obb"):
            parts: dict[tuple[str, str | None], int] = {}
            for region in regions:
                if region.group is not None and region.shape.type in ("polygon", "bbox"):
                    key = (region.group, region.label)
                    parts[key] = parts.get(key, 0) + 1
            split = sum(1 for count in parts.values() if count > 1)
            if split:
                self.losses.record(
                    "yolo.group-split",
                    "an object drawn in several parts (a grouped multi-polygon) written as one line per part",
                    where=self.where,
                    severity="approximated",
                    count=split,
                )
        for region in regions:
            if region.label is None:
                self._lose("yolo.unlabeled-dropped", "region without a label (YOLO needs a class)")
                continue
            line = self.line(region, boxes_by_group)
            if line is not None:
                out.append(line)
        return out

    def line(self, region: Region, boxes_by_group: dict[str, BBox]) -> str | None:
        shape = region.shape
        kind = shape.type
        if self.task == "pose":
            if region.group in boxes_by_group and not isinstance(shape, Points | Skeleton):
                if not isinstance(shape, BBox):
                    self._lose(
                        "yolo.pose-outline-as-box",
                        "the outline of a keypoint object written as its box (pose lines hold a box)",
                        "approximated",
                    )
                return None  # the box or outline of a keypoint group: its line's box
            if not isinstance(shape, Points | Skeleton):
                self._lose(f"yolo.pose-{kind}-dropped", f"{kind} regions in a pose dataset")
                return None
        factors = self._factors(shape)
        if factors is None:
            return None
        sx, sy = factors
        if shape.units == "percent" and isinstance(shape, BBox) and shape.rotation % 360:
            if self.size is None:
                self._lose(
                    "yolo.size-unknown",
                    "a rotated box in percent of an image whose size is unknown",
                )
                return None
            from bridge.units import shape_to_pixels

            converted = shape_to_pixels(shape, *self.size)
            assert isinstance(converted, BBox)
            shape = converted
            sx, sy = float(self.size[0]), float(self.size[1])
        values = self.values(region, shape, sx, sy, boxes_by_group)
        if values is None:
            return None
        index = self.class_index(region.label or "")
        return " ".join([str(index), *(number(v) for v in values)])

    def values(
        self,
        region: Region,
        shape: Shape,
        sx: float,
        sy: float,
        boxes_by_group: dict[str, BBox],
    ) -> list[float] | None:
        task, kind = self.task, shape.type
        if task == "pose":
            assert isinstance(shape, Points | Skeleton)
            return self.pose(region, shape, sx, sy, boxes_by_group)
        outline = self.outline(shape, kind)
        if outline is None:
            return None
        if task == "segment":
            return [c / (sx if i % 2 == 0 else sy) for i, c in enumerate(outline)]
        if task == "obb":
            if not (isinstance(shape, BBox) or (isinstance(shape, Polygon) and len(outline) == 8)):
                self._lose(
                    f"yolo.obb-{kind}-dropped",
                    f"{kind} regions in an oriented-box dataset (boxes and 4-point polygons only)",
                )
                return None
            return [c / (sx if i % 2 == 0 else sy) for i, c in enumerate(outline)]
        # detect: the axis-aligned box around the outline (a plain box: centre and size
        # computed as Ultralytics' converter does, x + w / 2 then divided by the width)
        if isinstance(shape, BBox) and not shape.rotation % 360:
            return [
                (shape.x + shape.width / 2) / sx,
                (shape.y + shape.height / 2) / sy,
                shape.width / sx,
                shape.height / sy,
            ]
        xs, ys = outline[0::2], outline[1::2]
        if not isinstance(shape, BBox):
            self._lose(
                f"yolo.{kind}-as-box",
                f"{kind} written as the box around it (detect layout)",
                "approximated",
            )
        elif shape.rotation % 360:
            self._lose(
                "yolo.rotation-dropped",
                "rotated box written as the axis-aligned box around it (use -O task=obb to keep it)",
                "approximated",
            )
        left, right, top, bottom = min(xs), max(xs), min(ys), max(ys)
        return [
            (left + right) / 2 / sx,
            (top + bottom) / 2 / sy,
            (right - left) / sx,
            (bottom - top) / sy,
        ]

    def outline(self, shape: Shape, kind: str) -> list[float] | None:
        """The shape as a flat list of outline points, in its own units."""
        if isinstance(shape, BBox):
            if shape.rotation % 360:
                return [c for point in bbox_corners(shape) for c in point]
            x, y, w, h = shape.x, shape.y, shape.width, shape.height
            return [x, y, x + w, y, x + w, y + h, x, y + h]
        if isinstance(shape, Polygon):
            return [c for point in shape.points for c in point]
        if isinstance(shape, Ellipse):
            self._lose(
                "yolo.ellipse-as-polygon",
                f"ellipse written as a {ELLIPSE_POINTS}-point polygon",
                "approximated",
            )
            theta = math.radians(shape.rotation)
            cos, sin = math.cos(theta), math.sin(theta)
            flat: list[float] = []
            for step in range(ELLIPSE_POINTS):
                angle = 2 * math.pi * step / ELLIPSE_POINTS
                dx, dy = shape.rx * math.cos(angle), shape.ry * math.sin(angle)
                flat += [shape.cx + dx * cos - dy * sin, shape.cy + dx * sin + dy * cos]
            return flat
        if isinstance(shape, Mask) and self.task == "detect":
            from bridge.geometry.masks import rle_bbox

            x, y, w, h = rle_bbox(shape.rle)
            return [x, y, x + w, y, x + w, y + h, x, y + h]
        if isinstance(shape, Points | Skeleton) and self.task == "detect":
            labeled = [p for p in shape.points if p.visibility != "absent"]
            if labeled:
                return [c for p in labeled for c in (p.x, p.y)]
        self._lose(f"yolo.{kind}-dropped", f"{kind} regions have no form in the {self.task} layout")
        return None

    def pose(
        self,
        region: Region,
        shape: Points | Skeleton,
        sx: float,
        sy: float,
        boxes_by_group: dict[str, BBox],
    ) -> list[float] | None:
        names = self.keypoint_names(region.label or "", shape.points)
        slots: list[list[float]] = [[0.0, 0.0, 0] for _ in names]
        index = {name: number for number, name in enumerate(names)}
        positional = all(point.label is None for point in shape.points)
        for number, point in enumerate(shape.points):
            slot = number if positional else index.get(point.label or "")
            if slot is None or slot >= len(names):
                self._lose("yolo.keypoint-unknown", "a keypoint that is not one of its class's")
                continue
            flag = VISIBILITY_FLAG[point.visibility]
            slots[slot] = [point.x / sx, point.y / sy, flag] if flag else [0.0, 0.0, 0]
        box = boxes_by_group.get(region.group) if region.group is not None else None
        if box is not None and box.units == shape.units:
            box_values = [
                (box.x + box.width / 2) / sx,
                (box.y + box.height / 2) / sy,
                box.width / sx,
                box.height / sy,
            ]
        else:
            labeled = [s for s in slots if s[2]]
            if not labeled:
                self._lose("yolo.empty-pose-dropped", "a keypoint shape with no labeled point")
                return None
            xs, ys = [s[0] for s in labeled], [s[1] for s in labeled]
            box_values = [
                (min(xs) + max(xs)) / 2,
                (min(ys) + max(ys)) / 2,
                max(xs) - min(xs),
                max(ys) - min(ys),
            ]
        return box_values + [v for s in slots for v in s]


def group_box(shape: Shape) -> BBox | None:
    """The axis-aligned box of a box or polygon (the box of a pose line), same units."""
    if isinstance(shape, BBox) and not shape.rotation % 360:
        return shape
    if isinstance(shape, Polygon):
        xs, ys = [p[0] for p in shape.points], [p[1] for p in shape.points]
        return BBox(
            x=min(xs),
            y=min(ys),
            width=max(xs) - min(xs),
            height=max(ys) - min(ys),
            units=shape.units,
        )
    return None


def union(a: BBox, b: BBox) -> BBox:
    left, top = min(a.x, b.x), min(a.y, b.y)
    right, bottom = max(a.x + a.width, b.x + b.width), max(a.y + a.height, b.y + b.height)
    return BBox(x=left, y=top, width=right - left, height=bottom - top, units=a.units)


# --------------------------------------------------------------------------- reading


def parse_line(text: str) -> tuple[int, list[float]] | None:
    """`CLASS v1 v2 ...` as (class, values); None for a line that is not one."""
    parts = text.split()
    if not parts:
        return None
    try:
        index = int(parts[0])
        values = [float(v) for v in parts[1:]]
    except ValueError:
        return None
    if index < 0 or not all(math.isfinite(v) for v in values):
        return None
    return index, values


def obb_box(corners: list[float]) -> BBox:
    """The unified box (rotated about its centre) whose corners, in drawing order
    (top-left, top-right, bottom-right, bottom-left of the unrotated box), are `corners`."""
    x1, y1, x2, y2, x3, y3, _, _ = corners
    width = math.hypot(x2 - x1, y2 - y1)
    height = math.hypot(x3 - x2, y3 - y2)
    rotation = math.degrees(math.atan2(y2 - y1, x2 - x1))
    cx, cy = (x1 + x3) / 2, (y1 + y3) / 2
    return BBox(
        x=cx - width / 2,
        y=cy - height / 2,
        width=width,
        height=height,
        rotation=rotation % 360,
    )


def regions_from_line(
    task: Task,
    label: str,
    values: list[float],
    line_id: str,
    size: tuple[int, int] | None,
    keypoint_names: list[str],
) -> list[Region] | str:
    """The regions of one checked line, or a message saying what is wrong with it."""
    if size is None:
        sx, sy, units = 100.0, 100.0, "percent"
    else:
        sx, sy, units = float(size[0]), float(size[1]), "px"

    def scaled(flat: list[float]) -> list[float]:
        return [v * (sx if i % 2 == 0 else sy) for i, v in enumerate(flat)]

    if task == "detect" or task == "pose":
        if len(values) < 4:
            return "a box needs cx cy w h"
        cx, cy, w, h = scaled(values[:4])
        box = BBox(x=cx - w / 2, y=cy - h / 2, width=w, height=h, units=units)
        if task == "detect":
            if len(values) != 4:
                return f"a detect line has 5 values, not {len(values) + 1}"
            return [Region(id=line_id, label=label, shape=box)]
        rest = values[4:]
        width = 3 if len(rest) == 3 * len(keypoint_names) else 2
        if len(rest) != width * len(keypoint_names):
            return f"a pose line needs {len(keypoint_names)} keypoints (kpt_shape)"
        points = []
        for number, name in enumerate(keypoint_names):
            x, y = rest[width * number] * sx, rest[width * number + 1] * sy
            flag = int(rest[width * number + 2]) if width == 3 else 2
            if flag not in FLAG_VISIBILITY:
                return f"keypoint visibility {flag} is not 0, 1 or 2"
            points.append(Keypoint(x=x, y=y, label=name, visibility=FLAG_VISIBILITY[flag]))
        return [
            Region(id=line_id, label=label, shape=box, group=line_id),
            Region(
                id=f"{line_id}.kp",
                label=label,
                shape=Skeleton(points=points, units=units),
                group=line_id,
            ),
        ]
    if len(values) % 2 or len(values) < 6:
        return "a polygon needs 3 points or more (an even number of values)"
    flat = scaled(values)
    if task == "obb":
        if len(values) != 8:
            return "an oriented box has 4 corners"
        if units == "px":
            return [Region(id=line_id, label=label, shape=obb_box(flat))]
    points = [(flat[i], flat[i + 1]) for i in range(0, len(flat), 2)]
    return [Region(id=line_id, label=label, shape=Polygon(points=points, units=units))]
