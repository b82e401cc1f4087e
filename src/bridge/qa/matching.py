"""How much two regions overlap, and which regions of two sets are the same object.

Terms:

* **IoU** (intersection over union) of two areas: |A ∩ B| / |A ∪ B|, in [0, 1]. It is 0.0
  when the union is empty (two zero-area shapes), never NaN.
* **OKS** (object keypoint similarity, COCO): for keypoints and skeletons, the mean over the
  reference's labeled keypoints of exp(-d² / (2 · area · (2σ)²)), d the distance to the
  other shape's keypoint of the same name (of the same index when points have no names),
  σ the keypoint's sigma (`COCO_KEYPOINT_SIGMAS` by name, else `default_sigma`), area the
  reference's area (by default the bounding box of its labeled points). A keypoint absent
  from the other shape adds 0. OKS plays the role of IoU for keypoint shapes. It is not
  symmetric: the first shape is the reference (the gold, or annotator A).
* **Similarity** is IoU for area shapes (boxes, polygons, ellipses, masks), OKS for
  keypoint shapes, and the 1D IoU of the intervals for time segments. Shapes of kinds that
  do not compare (a box and a keypoint set) have similarity 0.0.

How each IoU is computed:

| shapes | method |
|---|---|
| axis-aligned boxes | exact, vectorised with numpy |
| rotated boxes, ellipses, convex polygons (any mix) | exact polygon intersection (Sutherland-Hodgman clip: both outlines are convex); an ellipse is its inscribed polygon of `ELLIPSE_VERTICES` vertices (area short by < 0.2%) |
| masks | pycocotools `mask.iou` on the RLEs (exact on pixels) |
| a non-convex polygon, or any area shape with a mask | **raster IoU**: both shapes drawn with pycocotools (`frPyObjects`) on the item's pixel grid (the mask's grid when there is one; without a known size, on a grid of `RASTER_SIDE` pixels across the two shapes' extent) |

**Units.** A shape in percent units is turned into pixels (`bridge.units`) when the media
size is given (`size=(width, height)`); without a size two percent shapes are compared in
percent. IoU does not change when x and y are scaled (areas all scale by the same factor),
so this is exact for axis-aligned boxes, polygons, masks and unrotated ellipses; a rotated
box or ellipse in percent is then treated as if percent were square. A pixel shape cannot
be compared with a percent shape without the size (`QAError`).

**Matching** (`match`) pairs regions of set A with regions of set B one to one. A pair
counts only when its similarity is > 0 and >= `iou_threshold`; with `label_aware=True` it
also needs the same label. `assignment="optimal"` maximises the sum of the similarities of
the pairs (scipy `linear_sum_assignment`); `assignment="greedy"` is COCOeval's rule: B's
regions in order of decreasing `score` (the given order on ties, a missing score counts
as 0) each take the still-free region of A with the highest similarity (the later one on
a tie, as COCOeval does).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

import numpy as np
import numpy.typing as npt
from pycocotools import mask as coco_mask

from bridge.geometry.coords import bbox_corners
from bridge.qa.errors import QAError
from bridge.schema import (
    RLE,
    BBox,
    Ellipse,
    Mask,
    Point,
    Points,
    Polygon,
    Region,
    Shape,
    Skeleton,
    TimeSegment,
)
from bridge.units import shape_to_pixels

FloatArray = npt.NDArray[np.float64]
Size = tuple[int, int]
"""A media size as (width, height) in pixels."""
Assignment = Literal["optimal", "greedy"]

AREA_KINDS = frozenset({"bbox", "polygon", "ellipse", "mask"})
KEYPOINT_KINDS = frozenset({"points", "skeleton"})
INTERVAL_KINDS = frozenset({"time_segment"})
MATCHABLE_KINDS = AREA_KINDS | KEYPOINT_KINDS | INTERVAL_KINDS
"""Region kinds `match` compares; spans are matched by `bridge.qa.spans`, tracks by
`bridge.qa.tracks`."""

ELLIPSE_VERTICES = 64
RASTER_SIDE = 1024

COCO_KEYPOINT_SIGMAS: dict[str, float] = {
    "nose": 0.026,
    "left_eye": 0.025,
    "right_eye": 0.025,
    "left_ear": 0.035,
    "right_ear": 0.035,
    "left_shoulder": 0.079,
    "right_shoulder": 0.079,
    "left_elbow": 0.072,
    "right_elbow": 0.072,
    "left_wrist": 0.062,
    "right_wrist": 0.062,
    "left_hip": 0.107,
    "right_hip": 0.107,
    "left_knee": 0.087,
    "right_knee": 0.087,
    "left_ankle": 0.089,
    "right_ankle": 0.089,
}
"""COCO's per-keypoint sigmas for the 17 person keypoints (pycocotools `COCOeval`)."""
DEFAULT_SIGMA = 0.05
"""Sigma of a keypoint whose name is not in the sigmas table."""


# ------------------------------------------------------------------------------ units


def to_common_units(a: Shape, b: Shape, size: Size | None) -> tuple[Shape, Shape]:
    """`a` and `b` in the same units: pixels when `size` is known, else as they are if
    both are in the same units; a `QAError` otherwise."""
    if size is not None:
        a = shape_to_pixels(a, size[0], size[1]) or a
        b = shape_to_pixels(b, size[0], size[1]) or b
    if a.units != b.units:
        raise QAError(
            f"cannot compare a shape in {a.units} with a shape in {b.units}",
            hint="give the media size (-O media_size=WIDTHxHEIGHT) so percent shapes become pixels",
        )
    return a, b


# ------------------------------------------------------------------------- axis boxes


def box_iou_matrix(a: FloatArray, b: FloatArray) -> FloatArray:
    """IoU of every box of `a` (N x 4: x, y, width, height) with every box of `b`
    (M x 4): N x M, computed as pycocotools does. A pair whose union is empty has IoU 0.0."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    left_top = np.maximum(a[:, None, :2], b[None, :, :2])
    right_bottom = np.minimum((a[:, :2] + a[:, 2:])[:, None, :], (b[:, :2] + b[:, 2:])[None, :, :])
    overlap = np.clip(right_bottom - left_top, 0.0, None)
    inter = overlap[..., 0] * overlap[..., 1]
    area_a = a[:, 2] * a[:, 3]
    area_b = b[:, 2] * b[:, 3]
    union = area_a[:, None] + area_b[None, :] - inter
    result: FloatArray = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    return result


SMALL_MATRIX = 400
"""Up to this many pairs, plain Python beats numpy's per-call overhead."""

XYWH = tuple[float, float, float, float]


def _box_iou_lists(a: Sequence[XYWH], b: Sequence[XYWH]) -> list[list[float]]:
    """`box_iou_matrix` in plain Python, for an item's few boxes."""
    rows = []
    for ax, ay, aw, ah in a:
        ax2, ay2, area_a = ax + aw, ay + ah, aw * ah
        row = []
        for bx, by, bw, bh in b:
            # min(p, q) and max(p, q) spelled out: the same values, without the calls
            bx2, by2 = bx + bw, by + bh
            width = (bx2 if bx2 < ax2 else ax2) - (bx if bx > ax else ax)
            height = (by2 if by2 < ay2 else ay2) - (by if by > ay else ay)
            inter = width * height if width > 0 and height > 0 else 0.0
            union = area_a + bw * bh - inter
            row.append(inter / union if union > 0 else 0.0)
        rows.append(row)
    return rows


def is_axis_aligned(box: BBox) -> bool:
    return box.rotation % 360.0 == 0.0


def box_xywh(box: BBox) -> XYWH:
    return box.x, box.y, box.width, box.height


def box_iou(a: BBox, b: BBox) -> float:
    """IoU of two axis-aligned boxes (0.0 when the union is empty)."""
    width = min(a.x + a.width, b.x + b.width) - max(a.x, b.x)
    height = min(a.y + a.height, b.y + b.height) - max(a.y, b.y)
    inter = width * height if width > 0 and height > 0 else 0.0
    union = a.width * a.height + b.width * b.height - inter
    return inter / union if union > 0 else 0.0


# ------------------------------------------------------------------ convex polygons


def polygon_area(points: Sequence[Point]) -> float:
    """Signed shoelace area: positive when the outline turns counter-clockwise in a y-up
    frame (clockwise on screen)."""
    total = 0.0
    count = len(points)
    for index in range(count):
        x1, y1 = points[index]
        x2, y2 = points[(index + 1) % count]
        total += x1 * y2 - x2 * y1
    return total / 2.0


def is_convex(points: Sequence[Point]) -> bool:
    """Whether the outline turns the same way at every vertex (collinear ones ignored)."""
    sign = 0.0
    count = len(points)
    for index in range(count):
        ax, ay = points[index]
        bx, by = points[(index + 1) % count]
        cx, cy = points[(index + 2) % count]
        cross = (bx - ax) * (cy - by) - (by - ay) * (cx - bx)
        if cross != 0.0:
            if sign == 0.0:
                sign = cross
            elif (cross > 0) != (sign > 0):
                return False
    return True


def _positive(points: Sequence[Point]) -> list[Point]:
    return list(points) if polygon_area(points) >= 0 else list(reversed(points))


def clip_convex(subject: Sequence[Point], clip: Sequence[Point]) -> list[Point]:
    """The part of polygon `subject` inside the convex polygon `clip` (Sutherland-Hodgman).
    Exact for a convex `subject`; both outlines may turn either way."""
    output = _positive(subject)
    clip_points = _positive(clip)
    count = len(clip_points)
    for index in range(count):
        if not output:
            break
        ax, ay = clip_points[index]
        bx, by = clip_points[(index + 1) % count]
        ex, ey = bx - ax, by - ay

        def side(p: Point, ax: float = ax, ay: float = ay, ex: float = ex, ey: float = ey) -> float:
            return ex * (p[1] - ay) - ey * (p[0] - ax)

        points, output = output, []
        previous = points[-1]
        previous_side = side(previous)
        for current in points:
            current_side = side(current)
            if current_side >= 0:
                if previous_side < 0:
                    output.append(_crossing(previous, current, previous_side, current_side))
                output.append(current)
            elif previous_side >= 0:
                output.append(_crossing(previous, current, previous_side, current_side))
            previous, previous_side = current, current_side
    return output


def _crossing(p: Point, q: Point, side_p: float, side_q: float) -> Point:
    t = side_p / (side_p - side_q)
    return p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])


def convex_iou(a: Sequence[Point], b: Sequence[Point]) -> float:
    """Exact IoU of two convex polygons (0.0 when the union is empty)."""
    area_a = abs(polygon_area(a))
    area_b = abs(polygon_area(b))
    overlap = clip_convex(a, b)
    inter = abs(polygon_area(overlap)) if len(overlap) >= 3 else 0.0
    union = area_a + area_b - inter
    return inter / union if union > 0 else 0.0


def ellipse_outline(ellipse: Ellipse, vertices: int = ELLIPSE_VERTICES) -> list[Point]:
    """The polygon of `vertices` points inscribed in `ellipse` (rotation about its centre,
    clockwise on screen)."""
    theta = math.radians(ellipse.rotation)
    cos, sin = math.cos(theta), math.sin(theta)
    outline = []
    for index in range(vertices):
        t = 2.0 * math.pi * index / vertices
        dx, dy = ellipse.rx * math.cos(t), ellipse.ry * math.sin(t)
        outline.append((ellipse.cx + dx * cos - dy * sin, ellipse.cy + dx * sin + dy * cos))
    return outline


def outline(shape: Shape) -> list[Point] | None:
    """The polygon outline of a box, an ellipse or a polygon; None for other shapes."""
    if isinstance(shape, BBox):
        return bbox_corners(shape)
    if isinstance(shape, Ellipse):
        return ellipse_outline(shape)
    if isinstance(shape, Polygon):
        return [(float(x), float(y)) for x, y in shape.points]
    return None


# --------------------------------------------------------------------------- raster


@dataclass(frozen=True)
class Canvas:
    """A pixel grid to draw shapes on: `height` x `width` pixels; a point (x, y) lands at
    ((x - left) * scale, (y - top) * scale)."""

    width: int
    height: int
    left: float = 0.0
    top: float = 0.0
    scale: float = 1.0


def canvas_for(shapes: Sequence[Shape], size: Size | None) -> Canvas:
    """The grid raster IoU draws `shapes` on: a mask's own grid, else the media's pixels,
    else `RASTER_SIDE` pixels across the shapes' extent."""
    for shape in shapes:
        if isinstance(shape, Mask):
            height, width = shape.rle.size
            return Canvas(width=width, height=height)
    if size is not None and all(shape.units == "px" for shape in shapes):
        return Canvas(width=size[0], height=size[1])
    xs: list[float] = []
    ys: list[float] = []
    for shape in shapes:
        points = outline(shape) or []
        xs.extend(p[0] for p in points)
        ys.extend(p[1] for p in points)
    if not xs:
        return Canvas(width=1, height=1)
    extent = max(max(xs) - min(xs), max(ys) - min(ys))
    scale = RASTER_SIDE / extent if extent > 0 else 1.0
    return Canvas(
        width=math.ceil((max(xs) - min(xs)) * scale) + 1,
        height=math.ceil((max(ys) - min(ys)) * scale) + 1,
        left=min(xs),
        top=min(ys),
        scale=scale,
    )


def coco_rle(rle: RLE) -> dict[str, Any]:
    """A unified RLE in the dict form pycocotools takes."""
    return {"size": [rle.size[0], rle.size[1]], "counts": rle.counts.encode("ascii")}


def shape_rle(shape: Shape, canvas: Canvas) -> dict[str, Any]:
    """`shape` drawn on `canvas` as a pycocotools RLE dict."""
    if isinstance(shape, Mask):
        if (shape.rle.size[0], shape.rle.size[1]) != (canvas.height, canvas.width):
            raise QAError(
                f"masks of sizes {shape.rle.size} and {(canvas.height, canvas.width)} "
                "cannot be compared",
                hint="masks of one item must cover the same media size",
            )
        return coco_rle(shape.rle)
    points = outline(shape)
    if points is None:
        raise QAError(f"a {kind_of(shape)} has no area to draw")
    flat = [
        value
        for x, y in points
        for value in ((x - canvas.left) * canvas.scale, (y - canvas.top) * canvas.scale)
    ]
    rles = coco_mask.frPyObjects([flat], canvas.height, canvas.width)
    merged: dict[str, Any] = coco_mask.merge(rles)
    return merged


Drawer = Callable[[Shape, Canvas], dict[str, Any]]
"""Draws a shape on a canvas as a pycocotools RLE dict (`shape_rle`, or a cache of it)."""


def rle_iou(a: dict[str, Any], b: dict[str, Any]) -> float:
    """IoU of two pycocotools RLE dicts of one grid (0.0 when both are empty)."""
    return float(coco_mask.iou([a], [b], [0])[0][0])


# ------------------------------------------------------------------------------ OKS


def _keypoint_pairs(reference: Points | Skeleton, other: Points | Skeleton) -> list[Any]:
    named = all(p.label is not None for p in reference.points) and all(
        p.label is not None for p in other.points
    )
    if named:
        by_name = {p.label: p for p in other.points}
        return [(p, by_name.get(p.label)) for p in reference.points]
    return [
        (p, other.points[index] if index < len(other.points) else None)
        for index, p in enumerate(reference.points)
    ]


def oks(
    reference: Points | Skeleton,
    other: Points | Skeleton,
    *,
    sigmas: Mapping[str, float] | None = None,
    default_sigma: float = DEFAULT_SIGMA,
    area: float | None = None,
) -> float:
    """COCO object keypoint similarity of `other` to `reference` (see the module's terms).
    0.0 when the reference has no labeled (non-absent) keypoint."""
    table = COCO_KEYPOINT_SIGMAS if sigmas is None else sigmas
    present = [p for p in reference.points if p.visibility != "absent"]
    if not present:
        return 0.0
    if area is None:
        xs = [p.x for p in present]
        ys = [p.y for p in present]
        area = (max(xs) - min(xs)) * (max(ys) - min(ys))
    total = 0.0
    for ref, got in _keypoint_pairs(reference, other):
        if ref.visibility == "absent":
            continue
        if got is None or got.visibility == "absent":
            continue
        sigma = table.get(ref.label, default_sigma) if ref.label is not None else default_sigma
        variance = (2.0 * sigma) ** 2
        squared = (got.x - ref.x) ** 2 + (got.y - ref.y) ** 2
        total += math.exp(-squared / variance / (area + np.spacing(1)) / 2.0)
    return total / len(present)


# ----------------------------------------------------------------------- similarity


def kind_of(shape: Shape) -> str:
    """The shape's kind ("bbox", "polygon", ...)."""
    kind: str = getattr(shape, "type", "?")
    return kind


def _check_kind(shape: Shape) -> None:
    kind = kind_of(shape)
    if kind not in MATCHABLE_KINDS:
        raise QAError(
            f"regions of kind {kind} cannot be matched by IoU",
            hint="match spans with bridge.qa.spans and tracks with bridge.qa.tracks; "
            f"IoU covers {', '.join(sorted(MATCHABLE_KINDS))}",
        )


def similarity(
    a: Shape,
    b: Shape,
    *,
    size: Size | None = None,
    sigmas: Mapping[str, float] | None = None,
    oks_area: float | None = None,
    draw: Drawer = shape_rle,
) -> float:
    """IoU (area shapes, time segments) or OKS (keypoint shapes, `a` the reference) of two
    shapes, 0.0 for kinds that do not compare; see the module's table. `draw` rasterises
    a shape for raster IoU (`similarity_matrix` passes a cache)."""
    _check_kind(a)
    _check_kind(b)
    a, b = to_common_units(a, b, size)
    if kind_of(a) in KEYPOINT_KINDS and kind_of(b) in KEYPOINT_KINDS:
        assert isinstance(a, Points | Skeleton) and isinstance(b, Points | Skeleton)
        return oks(a, b, sigmas=sigmas, area=oks_area)
    if isinstance(a, TimeSegment) and isinstance(b, TimeSegment):
        if a.unit != b.unit:
            raise QAError(f"cannot compare a segment in {a.unit} with one in {b.unit}")
        inter = max(0.0, min(a.end, b.end) - max(a.start, b.start))
        union = (a.end - a.start) + (b.end - b.start) - inter
        return inter / union if union > 0 else 0.0
    if kind_of(a) not in AREA_KINDS or kind_of(b) not in AREA_KINDS:
        return 0.0
    if isinstance(a, BBox) and isinstance(b, BBox) and is_axis_aligned(a) and is_axis_aligned(b):
        return box_iou(a, b)
    outline_a, outline_b = outline(a), outline(b)
    if (
        outline_a is not None
        and outline_b is not None
        and is_convex(outline_a)
        and is_convex(outline_b)
    ):
        return convex_iou(outline_a, outline_b)
    canvas = canvas_for([a, b], size)
    return rle_iou(draw(a, canvas), draw(b, canvas))


def similarity_matrix(
    shapes_a: Sequence[Shape],
    shapes_b: Sequence[Shape],
    *,
    size: Size | None = None,
    sigmas: Mapping[str, float] | None = None,
) -> FloatArray:
    """`similarity` of every shape of `shapes_a` with every shape of `shapes_b` (N x M).
    Axis-aligned boxes in one units take a vectorised path; masks of one grid go through
    one pycocotools call."""
    if not shapes_a or not shapes_b:
        return np.zeros((len(shapes_a), len(shapes_b)))
    if size is not None:
        shapes_a = [shape_to_pixels(s, size[0], size[1]) or s for s in shapes_a]
        shapes_b = [shape_to_pixels(s, size[0], size[1]) or s for s in shapes_b]
    everything = [*shapes_a, *shapes_b]
    units = {shape.units for shape in everything}
    if len(units) == 1:
        if all(isinstance(s, BBox) and is_axis_aligned(s) for s in everything):
            corners_a = [box_xywh(s) for s in shapes_a]  # type: ignore[arg-type]
            corners_b = [box_xywh(s) for s in shapes_b]  # type: ignore[arg-type]
            if len(corners_a) * len(corners_b) <= SMALL_MATRIX:
                return np.array(_box_iou_lists(corners_a, corners_b), dtype=np.float64)
            return box_iou_matrix(np.array(corners_a), np.array(corners_b))
        if all(isinstance(s, Mask) for s in everything):
            sizes = {s.rle.size for s in everything}  # type: ignore[attr-defined]
            if len(sizes) == 1:
                rles_a = [coco_rle(s.rle) for s in shapes_a]  # type: ignore[attr-defined]
                rles_b = [coco_rle(s.rle) for s in shapes_b]  # type: ignore[attr-defined]
                ious = coco_mask.iou(rles_a, rles_b, [0] * len(rles_b))
                return np.asarray(ious, dtype=np.float64).reshape(len(rles_a), len(rles_b))
    # a shape is drawn once per canvas, not once per pair (the canvas is the mask's grid or
    # the media's, the same for every pair, unless neither is known)
    drawn: dict[tuple[int, Canvas], tuple[Shape, dict[str, Any]]] = {}

    def draw(shape: Shape, canvas: Canvas) -> dict[str, Any]:
        key = (id(shape), canvas)
        if key not in drawn:  # the shape is kept with its RLE, so its id is not reused
            drawn[key] = (shape, shape_rle(shape, canvas))
        return drawn[key][1]

    result = np.zeros((len(shapes_a), len(shapes_b)))
    for i, a in enumerate(shapes_a):
        for j, b in enumerate(shapes_b):
            result[i, j] = similarity(a, b, size=size, sigmas=sigmas, draw=draw)
    return result


# ------------------------------------------------------------------------- matching


class Pair(NamedTuple):
    """Region `index_a` of set A matched with region `index_b` of set B, with their
    similarity (IoU or OKS)."""

    index_a: int
    index_b: int
    iou: float


@dataclass(frozen=True)
class Matching:
    """A one-to-one matching: the pairs (in A's order) and the indices left unmatched on
    each side."""

    pairs: tuple[Pair, ...]
    unmatched_a: tuple[int, ...]
    unmatched_b: tuple[int, ...]


def assign(
    scores: FloatArray,
    threshold: float,
    *,
    assignment: Assignment = "optimal",
    order_b: Sequence[int] | None = None,
) -> Matching:
    """Match rows (A) to columns (B) of a similarity matrix: pairs need a similarity > 0
    and >= `threshold` (entries set to 0 beforehand are forbidden pairs). `order_b` is the
    order B's columns pick in greedy mode (default: column order)."""
    if assignment not in ("optimal", "greedy"):
        raise QAError(f"unknown assignment {assignment!r}", hint='use "optimal" or "greedy"')
    n_a, n_b = scores.shape
    chosen: list[tuple[int, int]] = []
    small = n_a * n_b <= SMALL_MATRIX
    # plain Python on an item's few regions: faster than numpy calls
    table: list[list[float]] | None = scores.tolist() if small else None
    if n_a and n_b:
        if assignment == "greedy":
            rows_of = table if table is not None else scores.tolist()
            taken = [False] * n_a
            for column in order_b if order_b is not None else range(n_b):
                best, best_score = -1, 0.0
                for row in range(n_a):
                    value = rows_of[row][column]
                    # `>=`: the later row wins a tie, as in COCOeval
                    if value > 0 and value >= threshold and value >= best_score and not taken[row]:
                        best, best_score = row, value
                if best >= 0:
                    taken[best] = True
                    chosen.append((best, int(column)))
        elif table is not None and (uncontested := _uncontested(table, threshold)) is not None:
            chosen = uncontested
        else:
            valid = (scores > 0) & (scores >= threshold)
            if valid.any():
                from scipy.optimize import linear_sum_assignment  # type: ignore[import-untyped]

                weights = np.where(valid, scores, 0.0)
                rows, cols = linear_sum_assignment(weights, maximize=True)
                chosen = [(int(r), int(c)) for r, c in zip(rows, cols, strict=True) if valid[r, c]]
    chosen.sort()
    if chosen:
        if table is not None:
            values = [table[r][c] for r, c in chosen]
        else:
            rows_, cols_ = zip(*chosen, strict=True)
            values = scores[list(rows_), list(cols_)].tolist()
        pairs = tuple(Pair(r, c, v) for (r, c), v in zip(chosen, values, strict=True))
    else:
        pairs = ()
    matched_a = {r for r, _ in chosen}
    matched_b = {c for _, c in chosen}
    return Matching(
        pairs=pairs,
        unmatched_a=tuple(i for i in range(n_a) if i not in matched_a),
        unmatched_b=tuple(j for j in range(n_b) if j not in matched_b),
    )


def _uncontested(table: list[list[float]], threshold: float) -> list[tuple[int, int]] | None:
    """The allowed pairs (similarity > 0 and >= `threshold`) when no two of them share a
    row or a column: then every one is in the optimal assignment (every other entry weighs
    0), so no solver is needed. None when some do share one."""
    allowed = [
        (row, column)
        for row, values in enumerate(table)
        for column, value in enumerate(values)
        if value > 0 and value >= threshold
    ]
    rows = {row for row, _ in allowed}
    columns = {column for _, column in allowed}
    if len(rows) != len(allowed) or len(columns) != len(allowed):
        return None
    return allowed


def same_label_only(
    scores: FloatArray, labels_a: Sequence[str], labels_b: Sequence[str]
) -> FloatArray:
    """`scores` with the pairs of different labels set to 0 (forbidden pairs for `assign`)."""
    if not len(labels_a) or not len(labels_b):
        return scores
    same = np.equal.outer(np.array(labels_a, dtype=object), np.array(labels_b, dtype=object))
    result: FloatArray = np.where(same, scores, 0.0)
    return result


def score_order(regions: Sequence[Region]) -> list[int]:
    """Indices of `regions` by decreasing score (stable; a missing score counts as 0)."""
    return sorted(range(len(regions)), key=lambda i: -(regions[i].score or 0.0))


def match(
    regions_a: Sequence[Region],
    regions_b: Sequence[Region],
    iou_threshold: float = 0.5,
    label_aware: bool = False,
    *,
    assignment: Assignment = "optimal",
    size: Size | None = None,
    sigmas: Mapping[str, float] | None = None,
    scores: FloatArray | None = None,
) -> Matching:
    """Match two lists of regions of one item (one frame) one to one (see the module's
    terms). `size` is the media's (width, height) when known. `scores` may pass a
    precomputed `similarity_matrix` of the two lists."""
    if scores is None:
        scores = similarity_matrix(
            [r.shape for r in regions_a], [r.shape for r in regions_b], size=size, sigmas=sigmas
        )
    if label_aware:
        scores = same_label_only(
            scores, [r.label or "" for r in regions_a], [r.label or "" for r in regions_b]
        )
    order = score_order(regions_b) if assignment == "greedy" else None
    return assign(scores, iou_threshold, assignment=assignment, order_b=order)
