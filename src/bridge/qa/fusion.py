"""Geometric consensus: one set of regions from several annotators' sets on an item.

Terms:

* **Voters** are the annotation sets fused (each set votes once, even when one annotator
  made two). A voter's **reliability** is looked up by its annotator key
  (`bridge.qa.regions.annotator_key`; 1.0 when not given), and a region's **weight** is its
  voter's reliability times the region's `score` (1.0 when it has none).
* **Clustering** (greedy, seed-based): the regions of every voter (kinds IoU covers) are
  taken in order of decreasing weight (ties: set order, then region order); the first
  region not yet in a cluster seeds a new cluster, and every other voter adds its free
  region on the same frame with the highest similarity to the seed (IoU, OKS for
  keypoints), if that is >= `iou_threshold`. A cluster thus holds at most one region per
  voter, and chains of overlaps cannot merge distant objects.
* **Label vote**: the label with the largest sum of member weights wins (ties: the label
  that sorts first; no label counts as a label). The fused region's **score** is the share
  of voters agreeing: voters whose member has the winning label / all voters of the item.
  Clusters whose share is below `min_share` (default 0.5: at least half the voters) are
  left out.
* **Fused shape**, from the members with the winning label, weighted by their weights:
  boxes, ellipses and time segments: the weighted mean of each coordinate (rotations by a
  weighted circular mean); keypoints and skeletons: the weighted mean of each keypoint
  (by name, else by index) over the members where it is present (an equal mean when
  their weights sum to 0); polygons, masks and any
  mix of area kinds: a pixel vote on the media's grid (a mask's grid when a member is a
  mask): a pixel is in when the weights of the members covering it sum to at least half of
  the members' total weight; the result is a `Mask`. A pixel vote needs the media size
  (or a mask among the members); without it a `QAError` says so.
* The output is a new `AnnotationSet` of kind `consensus` holding the fused regions.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np

from bridge.geometry.masks import bitmap_to_rle
from bridge.qa.errors import QAError
from bridge.qa.matching import (
    MATCHABLE_KINDS,
    Size,
    canvas_for,
    kind_of,
    shape_rle,
    similarity,
)
from bridge.qa.regions import annotator_key, media_size
from bridge.schema import (
    AnnotationSet,
    AnyShape,
    BBox,
    Ellipse,
    Item,
    Keypoint,
    Mask,
    Points,
    Region,
    Shape,
    Skeleton,
    TimeSegment,
)
from bridge.select import SetSelector, SourceName, select_sets
from bridge.units import shape_to_pixels


@dataclass(frozen=True)
class Member:
    """A region in a cluster: which voter drew it and its weight."""

    voter: int
    region: Region
    weight: float


def _candidates(
    sets: Sequence[AnnotationSet], reliability: Mapping[str, float] | None, size: Size | None
) -> list[Member]:
    members = []
    for voter, aset in enumerate(sets):
        trust = 1.0 if reliability is None else reliability.get(annotator_key(aset), 1.0)
        for region in aset.regions:
            if kind_of(region.shape) not in MATCHABLE_KINDS:
                continue
            if size is not None:
                shape = shape_to_pixels(region.shape, size[0], size[1])
                if shape is not region.shape and shape is not None:
                    region = region.model_copy(update={"shape": shape})
            score = 1.0 if region.score is None else region.score
            members.append(Member(voter, region, trust * score))
    return members


def cluster_regions(
    sets: Sequence[AnnotationSet],
    *,
    iou_threshold: float = 0.5,
    reliability: Mapping[str, float] | None = None,
    size: Size | None = None,
    sigmas: Mapping[str, float] | None = None,
) -> list[list[Member]]:
    """Clusters of the regions of `sets` (see the module's terms), seeds first."""
    members = _candidates(sets, reliability, size)
    order = sorted(range(len(members)), key=lambda i: -members[i].weight)  # stable
    free = [True] * len(members)
    clusters: list[list[Member]] = []
    for seed_index in order:
        if not free[seed_index]:
            continue
        free[seed_index] = False
        seed = members[seed_index]
        cluster = [seed]
        best: dict[int, tuple[float, int]] = {}
        for index in order:
            other = members[index]
            if not free[index] or other.voter == seed.voter:
                continue
            if other.region.frame != seed.region.frame:
                continue
            value = similarity(seed.region.shape, other.region.shape, size=size, sigmas=sigmas)
            if (
                value > 0
                and value >= iou_threshold
                and (other.voter not in best or value > best[other.voter][0])
            ):
                best[other.voter] = (value, index)
        for voter in sorted(best):
            index = best[voter][1]
            free[index] = False
            cluster.append(members[index])
        clusters.append(cluster)
    return clusters


def vote_label(cluster: Sequence[Member]) -> str | None:
    """The label with the largest total weight (ties: the first in sort order)."""
    totals: dict[str | None, float] = {}
    for member in cluster:
        totals[member.region.label] = totals.get(member.region.label, 0.0) + member.weight
    best = max(totals.values())
    winners = [label for label, total in totals.items() if total == best]
    return sorted(winners, key=lambda label: (label is None, label or ""))[0]


def _mean(values: Sequence[float], weights: Sequence[float]) -> float:
    return sum(v * w for v, w in zip(values, weights, strict=True)) / sum(weights)


def _circular_mean(degrees: Sequence[float], weights: Sequence[float]) -> float:
    sin = sum(w * math.sin(math.radians(d)) for d, w in zip(degrees, weights, strict=True))
    cos = sum(w * math.cos(math.radians(d)) for d, w in zip(degrees, weights, strict=True))
    if abs(sin) < 1e-12:
        return 0.0 if cos >= 0 else 180.0
    return math.degrees(math.atan2(sin, cos)) % 360.0


def _fuse_keypoints(shapes: Sequence[Points | Skeleton], weights: Sequence[float]) -> Shape:
    first = shapes[0]
    named = all(p.label is not None for s in shapes for p in s.points)
    fused: list[Keypoint] = []
    for index, point in enumerate(first.points):
        xs, ys, ws = [], [], []
        for shape, weight in zip(shapes, weights, strict=True):
            if named:
                found = next((p for p in shape.points if p.label == point.label), None)
            else:
                found = shape.points[index] if index < len(shape.points) else None
            if found is not None and found.visibility != "absent":
                xs.append(found.x)
                ys.append(found.y)
                ws.append(weight)
        if ws:
            if sum(ws) <= 0:  # present only in members of weight 0: as `fuse_shapes` does
                ws = [1.0] * len(ws)
            fused.append(point.model_copy(update={"x": _mean(xs, ws), "y": _mean(ys, ws)}))
        else:
            fused.append(point)
    return first.model_copy(update={"points": fused})


def fuse_shapes(
    shapes: Sequence[Shape], weights: Sequence[float], *, size: Size | None = None
) -> Shape:
    """One shape from `shapes` weighted by `weights` (see the module's terms)."""
    if sum(weights) <= 0:
        weights = [1.0] * len(shapes)
    if len(shapes) == 1:
        return shapes[0]
    kinds = {kind_of(s) for s in shapes}
    if kinds == {"bbox"}:
        boxes = [s for s in shapes if isinstance(s, BBox)]
        return boxes[0].model_copy(
            update={
                "x": _mean([b.x + b.width / 2 for b in boxes], weights)
                - _mean([b.width for b in boxes], weights) / 2,
                "y": _mean([b.y + b.height / 2 for b in boxes], weights)
                - _mean([b.height for b in boxes], weights) / 2,
                "width": _mean([b.width for b in boxes], weights),
                "height": _mean([b.height for b in boxes], weights),
                "rotation": _circular_mean([b.rotation for b in boxes], weights),
            }
        )
    if kinds == {"ellipse"}:
        ellipses = [s for s in shapes if isinstance(s, Ellipse)]
        return ellipses[0].model_copy(
            update={
                "cx": _mean([e.cx for e in ellipses], weights),
                "cy": _mean([e.cy for e in ellipses], weights),
                "rx": _mean([e.rx for e in ellipses], weights),
                "ry": _mean([e.ry for e in ellipses], weights),
                "rotation": _circular_mean([e.rotation for e in ellipses], weights),
            }
        )
    if kinds == {"time_segment"}:
        segments = [s for s in shapes if isinstance(s, TimeSegment)]
        return segments[0].model_copy(
            update={
                "start": _mean([s.start for s in segments], weights),
                "end": _mean([s.end for s in segments], weights),
            }
        )
    if kinds <= {"points", "skeleton"}:
        return _fuse_keypoints([s for s in shapes if isinstance(s, Points | Skeleton)], weights)
    return pixel_vote(shapes, weights, size=size)


def pixel_vote(
    shapes: Sequence[Shape], weights: Sequence[float], *, size: Size | None = None
) -> Mask:
    """The pixels covered by members holding at least half the total weight, as a mask."""
    if size is None and not any(isinstance(s, Mask) for s in shapes):
        raise QAError(
            "fusing polygons or masks needs the media size",
            hint="give the item's width and height (-O media_size=WIDTHxHEIGHT)",
        )
    canvas = canvas_for(shapes, size)
    from pycocotools import mask as coco_mask

    votes = np.zeros((canvas.height, canvas.width), dtype=np.float64)
    for shape, weight in zip(shapes, weights, strict=True):
        votes += weight * coco_mask.decode(shape_rle(shape, canvas)).astype(np.float64)
    return Mask(type="mask", rle=bitmap_to_rle(votes >= sum(weights) / 2.0))


def fuse_sets(
    sets: Sequence[AnnotationSet],
    *,
    size: Size | None = None,
    iou_threshold: float = 0.5,
    reliability: Mapping[str, float] | None = None,
    min_share: float = 0.5,
    set_id: str = "consensus",
    sigmas: Mapping[str, float] | None = None,
) -> AnnotationSet:
    """The consensus of `sets` (one item) as a new annotation set of kind `consensus`."""
    if not sets:
        raise QAError("no annotation set to fuse", hint="select at least one set")
    clusters = cluster_regions(
        sets, iou_threshold=iou_threshold, reliability=reliability, size=size, sigmas=sigmas
    )
    regions: list[Region] = []
    for cluster in clusters:
        label = vote_label(cluster)
        agreeing = [m for m in cluster if m.region.label == label]
        share = len({m.voter for m in agreeing}) / len(sets)
        if share < min_share:
            continue
        shape = fuse_shapes(
            [m.region.shape for m in agreeing], [m.weight for m in agreeing], size=size
        )
        regions.append(
            Region(
                id=f"{set_id}-{len(regions) + 1}",
                label=label,
                shape=cast(AnyShape, shape),  # fused from region shapes: one of them
                frame=agreeing[0].region.frame,
                score=share,
            )
        )
    return AnnotationSet(id=set_id, kind="consensus", regions=regions)


def consensus_for_item(
    item: Item,
    sets: str | SetSelector = "human",
    *,
    source_name: SourceName | None = None,
    **options: object,
) -> AnnotationSet | None:
    """The consensus of the item's selected sets (None when none is selected); options as
    for `fuse_sets` (the size comes from the item)."""
    chosen = select_sets(item, sets, source_name=source_name)
    if not chosen:
        return None
    return fuse_sets(chosen, size=media_size(item), **options)  # type: ignore[arg-type]


def with_consensus(
    items: Iterable[Item], sets: str | SetSelector = "human", **options: object
) -> Iterator[Item]:
    """Stream `items`, each with its consensus set appended (items where no set is
    selected pass unchanged)."""
    for item in items:
        consensus = consensus_for_item(item, sets, **options)  # type: ignore[arg-type]
        if consensus is None:
            yield item
        else:
            yield item.model_copy(update={"annotation_sets": [*item.annotation_sets, consensus]})
