"""Track agreement: per-frame IoU of interpolated tracks, track matching and identity
switches.

Terms:

* A track's **shape at a frame** follows CVAT's interpolation (its dataset manager's
  `get_interpolated_shapes`): between two keyframes the shape is interpolated unless the
  first keyframe is *outside*; an outside keyframe hides the object from that frame until
  the next keyframe; after the last keyframe, if it is not outside, the shape stays as it
  is up to `end_frame` (exclusive). Frames before the first keyframe have no shape.
  Interpolation, at offset t = (frame - f0) / (f1 - f0):

  - boxes and ellipses: every coordinate linearly (x, y, width, height; centre and radii),
    the rotation by CVAT's shortest-turn rule: r0 + d · t (mod 360) with
    d = ((r1 - r0 + 180) mod 360) - 180, and CVAT's quirk kept: a turn of exactly 180°
    gives d = 1;
  - points: linearly when both keyframes hold one point; several points keep the first
    keyframe's positions (as CVAT does); skeletons: each keypoint linearly (CVAT
    interpolates each skeleton element as a one-point track);
  - polygons and polylines with the same number of vertices: each vertex linearly (CVAT
    resamples outlines along their length instead, so in-between frames of polygons may
    differ from CVAT's); otherwise, and for masks, the first keyframe's shape is kept.

  A keyframe with no shape keeps the previous shape. An outside keyframe's shape (if any)
  is where an interpolation towards it ends.
* The **end frame** is the media's `frame_count` when known, else one past the last
  keyframe of the tracks compared.
* **Per-frame IoU** of two tracks: over the frames where either is present, the IoU of
  their shapes (0 where only one is present). Their **track IoU** is its mean; 0.0 when
  neither is ever present.
* **Track matching** pairs tracks of two sets one to one, maximising the sum of track IoUs
  (optimal assignment), a pair needing a track IoU >= the threshold.
* **Identity switches** (CLEAR MOT, as py-motmetrics counts them): frame by frame, a
  reference object keeps the hypothesis it was matched with on the previous frame when
  their IoU is still >= the threshold; the others are matched optimally by IoU. An IDSW is
  a reference object matched with a hypothesis other than the one it was last matched
  with (on any earlier frame). MOTA = 1 - (misses + false positives + IDSW) / reference
  objects; MOTP is the mean IoU of the matches.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np

from bridge.qa.errors import QAError
from bridge.qa.matching import Matching, Size, assign, kind_of, similarity
from bridge.qa.regions import annotator_key, media_size
from bridge.schema import (
    BBox,
    Ellipse,
    Item,
    Keyframe,
    Keypoint,
    Points,
    Polygon,
    Polyline,
    Shape,
    Skeleton,
    Track,
)
from bridge.select import SetSelector, SourceName, select_sets

# ----------------------------------------------------------------- interpolation


def angle_difference(right: float, left: float) -> float:
    """CVAT's signed shortest turn from `left` to `right` degrees (see the module's terms)."""
    difference = right - left
    difference = ((difference + 180) % 360) - 180
    if abs(difference) >= 180:
        # CVAT's own expression: reached only for exactly -180, where it gives 1
        difference = 360 - abs(difference) * -1 if difference > 0 else 1
    return difference


def _lerp(a: float, b: float, t: float) -> float:
    return a + (b - a) * t


def _rotation(r0: float, r1: float, t: float) -> float:
    return (r0 + angle_difference(r1, r0) * t + 360) % 360


def _lerp_keypoints(a: Sequence[Keypoint], b: Sequence[Keypoint], t: float) -> list[Keypoint]:
    named = all(p.label is not None for p in (*a, *b))
    by_label = {p.label: p for p in b}
    result = []
    for index, point in enumerate(a):
        other = by_label.get(point.label) if named else (b[index] if index < len(b) else None)
        if other is None:
            result.append(point)
        else:
            result.append(
                point.model_copy(
                    update={"x": _lerp(point.x, other.x, t), "y": _lerp(point.y, other.y, t)}
                )
            )
    return result


def interpolate(shape0: Shape, shape1: Shape, t: float) -> Shape:
    """The shape a fraction `t` of the way from keyframe shape `shape0` to `shape1`."""
    if kind_of(shape0) != kind_of(shape1) or shape0.units != shape1.units:
        raise QAError(
            f"cannot interpolate a {kind_of(shape0)} ({shape0.units}) into a "
            f"{kind_of(shape1)} ({shape1.units})",
            hint="a track's keyframes must hold shapes of one kind and units",
        )
    if isinstance(shape0, BBox) and isinstance(shape1, BBox):
        return shape0.model_copy(
            update={
                "x": _lerp(shape0.x, shape1.x, t),
                "y": _lerp(shape0.y, shape1.y, t),
                "width": _lerp(shape0.width, shape1.width, t),
                "height": _lerp(shape0.height, shape1.height, t),
                "rotation": _rotation(shape0.rotation, shape1.rotation, t),
            }
        )
    if isinstance(shape0, Ellipse) and isinstance(shape1, Ellipse):
        return shape0.model_copy(
            update={
                "cx": _lerp(shape0.cx, shape1.cx, t),
                "cy": _lerp(shape0.cy, shape1.cy, t),
                "rx": _lerp(shape0.rx, shape1.rx, t),
                "ry": _lerp(shape0.ry, shape1.ry, t),
                "rotation": _rotation(shape0.rotation, shape1.rotation, t),
            }
        )
    if isinstance(shape0, Points) and isinstance(shape1, Points):
        if len(shape0.points) == 1 and len(shape1.points) == 1:
            return shape0.model_copy(
                update={"points": _lerp_keypoints(shape0.points, shape1.points, t)}
            )
        return shape0
    if isinstance(shape0, Skeleton) and isinstance(shape1, Skeleton):
        return shape0.model_copy(
            update={"points": _lerp_keypoints(shape0.points, shape1.points, t)}
        )
    if isinstance(shape0, Polygon | Polyline) and isinstance(shape1, Polygon | Polyline):
        if len(shape0.points) == len(shape1.points):
            points = [
                (_lerp(x0, x1, t), _lerp(y0, y1, t))
                for (x0, y0), (x1, y1) in zip(shape0.points, shape1.points, strict=True)
            ]
            return shape0.model_copy(update={"points": points})
        return shape0
    return shape0


def track_shapes(track: Track, end_frame: int) -> dict[int, Shape]:
    """The shape of `track` at every frame where it is present, below `end_frame`."""
    keyframes = sorted(track.keyframes, key=lambda k: k.frame)
    for before, after in zip(keyframes, keyframes[1:], strict=False):
        if before.frame == after.frame:
            raise QAError(
                f"track {track.id} has two keyframes at frame {before.frame}",
                hint="a track holds at most one keyframe per frame",
            )
    shapes: dict[int, Shape] = {}
    previous: Keyframe | None = None
    previous_shape: Shape | None = None
    for keyframe in keyframes:
        shape = keyframe.shape or previous_shape
        if previous is not None and previous_shape is not None and not previous.outside:
            target = shape or previous_shape
            span = keyframe.frame - previous.frame
            for frame in range(previous.frame + 1, min(keyframe.frame, end_frame)):
                shapes[frame] = interpolate(previous_shape, target, (frame - previous.frame) / span)
        if keyframe.frame >= end_frame:
            return shapes
        if not keyframe.outside and shape is not None:
            shapes[keyframe.frame] = shape
        previous, previous_shape = keyframe, shape
    if previous is not None and previous_shape is not None and not previous.outside:
        for frame in range(previous.frame + 1, end_frame):
            shapes[frame] = previous_shape
    return shapes


def end_frame_of(tracks: Iterable[Track], frame_count: int | None = None) -> int:
    """`frame_count` when known, else one past the last keyframe of `tracks` (0 for none)."""
    if frame_count is not None:
        return frame_count
    last = [k.frame for track in tracks for k in track.keyframes]
    return max(last) + 1 if last else 0


# ---------------------------------------------------------------- per-frame IoU


def per_frame_iou(
    shapes_a: Mapping[int, Shape], shapes_b: Mapping[int, Shape], *, size: Size | None = None
) -> dict[int, float]:
    """IoU at every frame where either track is present (0 where one is absent)."""
    result = {}
    for frame in sorted(set(shapes_a) | set(shapes_b)):
        a, b = shapes_a.get(frame), shapes_b.get(frame)
        result[frame] = similarity(a, b, size=size) if a is not None and b is not None else 0.0
    return result


def track_iou(
    shapes_a: Mapping[int, Shape], shapes_b: Mapping[int, Shape], *, size: Size | None = None
) -> float:
    """Mean per-frame IoU (0.0 when neither track is ever present)."""
    if not shapes_a or not shapes_b:
        return 0.0
    if max(shapes_a) < min(shapes_b) or max(shapes_b) < min(shapes_a):
        return 0.0
    values = per_frame_iou(shapes_a, shapes_b, size=size)
    return sum(values.values()) / len(values)


def match_tracks(
    tracks_a: Sequence[Track],
    tracks_b: Sequence[Track],
    end_frame: int,
    *,
    iou_threshold: float = 0.5,
    label_aware: bool = False,
    size: Size | None = None,
) -> Matching:
    """Match two sets' tracks one to one by track IoU (optimal assignment)."""
    shapes_a = [track_shapes(t, end_frame) for t in tracks_a]
    shapes_b = [track_shapes(t, end_frame) for t in tracks_b]
    scores = np.zeros((len(tracks_a), len(tracks_b)))
    for i, a in enumerate(shapes_a):
        for j, b in enumerate(shapes_b):
            if label_aware and tracks_a[i].label != tracks_b[j].label:
                continue
            scores[i, j] = track_iou(a, b, size=size)
    return assign(scores, iou_threshold)


# ----------------------------------------------------------------------- CLEAR MOT


@dataclass
class MotCounts:
    """CLEAR MOT counts of hypothesis tracks against reference tracks."""

    objects: int = 0
    matches: int = 0
    misses: int = 0
    false_positives: int = 0
    id_switches: int = 0
    iou_sum: float = 0.0

    @property
    def mota(self) -> float | None:
        """1 - (misses + FP + IDSW) / objects; None when there is no reference object."""
        if not self.objects:
            return None
        return 1.0 - (self.misses + self.false_positives + self.id_switches) / self.objects

    @property
    def motp(self) -> float | None:
        """Mean IoU of the matches; None when nothing matched."""
        return self.iou_sum / self.matches if self.matches else None

    def add(self, other: MotCounts) -> None:
        self.objects += other.objects
        self.matches += other.matches
        self.misses += other.misses
        self.false_positives += other.false_positives
        self.id_switches += other.id_switches
        self.iou_sum += other.iou_sum


def mot_counts(
    reference: Sequence[Track],
    hypothesis: Sequence[Track],
    end_frame: int,
    *,
    iou_threshold: float = 0.5,
    size: Size | None = None,
) -> MotCounts:
    """CLEAR MOT counts, identity switches included (see the module's terms)."""
    ref_shapes = {t.id: track_shapes(t, end_frame) for t in reference}
    hyp_shapes = {t.id: track_shapes(t, end_frame) for t in hypothesis}
    frames = sorted(
        {f for s in ref_shapes.values() for f in s} | {f for s in hyp_shapes.values() for f in s}
    )
    counts = MotCounts()
    last_match: dict[str, str] = {}
    previous: dict[str, str] = {}
    for frame in frames:
        refs = [tid for tid, s in ref_shapes.items() if frame in s]
        hyps = [tid for tid, s in hyp_shapes.items() if frame in s]
        current: dict[str, str] = {}
        ious: dict[tuple[str, str], float] = {}
        for ref_id in refs:
            hyp_id = previous.get(ref_id)
            if hyp_id is not None and hyp_id in hyps:
                iou = similarity(ref_shapes[ref_id][frame], hyp_shapes[hyp_id][frame], size=size)
                if iou > 0 and iou >= iou_threshold:
                    current[ref_id] = hyp_id
                    ious[ref_id, hyp_id] = iou
        free_refs = [r for r in refs if r not in current]
        taken = set(current.values())
        free_hyps = [h for h in hyps if h not in taken]
        if free_refs and free_hyps:
            scores = np.array(
                [
                    [
                        similarity(ref_shapes[r][frame], hyp_shapes[h][frame], size=size)
                        for h in free_hyps
                    ]
                    for r in free_refs
                ]
            )
            for pair in assign(scores, iou_threshold).pairs:
                ref_id, hyp_id = free_refs[pair.index_a], free_hyps[pair.index_b]
                current[ref_id] = hyp_id
                ious[ref_id, hyp_id] = pair.iou
        for ref_id, hyp_id in current.items():
            if ref_id in last_match and last_match[ref_id] != hyp_id:
                counts.id_switches += 1
            last_match[ref_id] = hyp_id
            counts.iou_sum += ious[ref_id, hyp_id]
        counts.objects += len(refs)
        counts.matches += len(current)
        counts.misses += len(refs) - len(current)
        counts.false_positives += len(hyps) - len(current)
        previous = current
    return counts


# ------------------------------------------------------------ sets and datasets


@dataclass(frozen=True)
class TrackAgreement:
    """Two sets' tracks on one video: matched pairs (track ids and track IoU), the ids
    left unmatched, and CLEAR MOT counts of B against A."""

    pairs: tuple[tuple[str, str, float], ...]
    unmatched_a: tuple[str, ...]
    unmatched_b: tuple[str, ...]
    mot: MotCounts

    @property
    def score(self) -> float:
        """2 · matched / (n_a + n_b); 1.0 when neither set has a track."""
        total = 2 * len(self.pairs) + len(self.unmatched_a) + len(self.unmatched_b)
        return 2.0 * len(self.pairs) / total if total else 1.0

    @property
    def mean_iou(self) -> float | None:
        if not self.pairs:
            return None
        return sum(iou for _, _, iou in self.pairs) / len(self.pairs)


def track_agreement(
    tracks_a: Sequence[Track],
    tracks_b: Sequence[Track],
    *,
    frame_count: int | None = None,
    iou_threshold: float = 0.5,
    label_aware: bool = False,
    size: Size | None = None,
) -> TrackAgreement:
    """Match the tracks of two sets and count identity switches of B against A."""
    end = end_frame_of([*tracks_a, *tracks_b], frame_count)
    matching = match_tracks(
        tracks_a, tracks_b, end, iou_threshold=iou_threshold, label_aware=label_aware, size=size
    )
    mot = mot_counts(tracks_a, tracks_b, end, iou_threshold=iou_threshold, size=size)
    return TrackAgreement(
        pairs=tuple(
            (tracks_a[p.index_a].id, tracks_b[p.index_b].id, p.iou) for p in matching.pairs
        ),
        unmatched_a=tuple(tracks_a[i].id for i in matching.unmatched_a),
        unmatched_b=tuple(tracks_b[j].id for j in matching.unmatched_b),
        mot=mot,
    )


@dataclass
class TrackTotals:
    """One annotator pair's track agreement summed over videos."""

    items: int = 0
    matched: int = 0
    n_a: int = 0
    n_b: int = 0
    iou_sum: float = 0.0
    mot: MotCounts = field(default_factory=MotCounts)

    @property
    def score(self) -> float:
        total = self.n_a + self.n_b
        return 2.0 * self.matched / total if total else 1.0

    @property
    def mean_iou(self) -> float | None:
        return self.iou_sum / self.matched if self.matched else None


@dataclass
class TrackAgreementAccumulator:
    """Track agreement of every annotator pair over a stream of video items (A: the key
    that sorts first)."""

    sets: str | SetSelector = "all"
    iou_threshold: float = 0.5
    label_aware: bool = False
    source_name: SourceName | None = None
    totals: dict[tuple[str, str], TrackTotals] = field(default_factory=dict)

    def add_item(self, item: Item) -> None:
        chosen = select_sets(item, self.sets, source_name=self.source_name)
        keyed = sorted(((annotator_key(s), s) for s in chosen), key=lambda pair: pair[0])
        for (key_a, set_a), (key_b, set_b) in combinations(keyed, 2):
            if not set_a.tracks and not set_b.tracks:
                continue
            agreement = track_agreement(
                set_a.tracks,
                set_b.tracks,
                frame_count=item.media.frame_count,
                iou_threshold=self.iou_threshold,
                label_aware=self.label_aware,
                size=media_size(item),
            )
            totals = self.totals.setdefault((key_a, key_b), TrackTotals())
            totals.items += 1
            totals.matched += len(agreement.pairs)
            totals.n_a += len(set_a.tracks)
            totals.n_b += len(set_b.tracks)
            totals.iou_sum += sum(iou for _, _, iou in agreement.pairs)
            totals.mot.add(agreement.mot)
