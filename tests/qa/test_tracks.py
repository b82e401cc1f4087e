"""Track interpolation, per-frame IoU, track matching and identity switches
(bridge.qa.tracks): values computed by hand from CVAT's interpolation rules and CLEAR MOT's
definitions."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.qa.errors import QAError
from bridge.qa.tracks import (
    TrackAgreementAccumulator,
    angle_difference,
    match_tracks,
    mot_counts,
    per_frame_iou,
    track_agreement,
    track_iou,
    track_shapes,
)
from bridge.schema import (
    AnnotationSet,
    Annotator,
    BBox,
    Item,
    Keyframe,
    Keypoint,
    Media,
    Points,
    Skeleton,
    Track,
)


def box(x, y, w=10, h=10, rotation=0.0):
    return BBox(x=x, y=y, width=w, height=h, rotation=rotation)


def track(tid, *keyframes, label="car"):
    return Track(id=tid, label=label, keyframes=list(keyframes))


def kf(frame, shape=None, outside=False):
    return Keyframe(frame=frame, shape=shape, outside=outside)


def test_box_interpolation_between_two_keyframes_as_cvat():
    # CVAT interpolates the corners [xtl, ytl, xbr, ybr] linearly: from [10, 20, 40, 60]
    # to [30, 20, 80, 60] over 4 frames; rotation 350 -> 10 turns +20 through 0
    t = track("t", kf(0, box(10, 20, 30, 40, 350)), kf(4, box(30, 20, 50, 40, 10)))
    shapes = track_shapes(t, end_frame=6)
    expected = {
        1: (15, 20, 35, 40, 355),
        2: (20, 20, 40, 40, 0),
        3: (25, 20, 45, 40, 5),
        4: (30, 20, 50, 40, 10),
        5: (30, 20, 50, 40, 10),  # the last keyframe stays to the end frame
    }
    for frame, (x, y, w, h, r) in expected.items():
        got = shapes[frame]
        assert (got.x, got.y, got.width, got.height) == pytest.approx((x, y, w, h))
        assert got.rotation == pytest.approx(r)
    assert set(shapes) == {0, 1, 2, 3, 4, 5}


def test_cvat_angle_rule():
    assert angle_difference(10, 350) == 20
    assert angle_difference(350, 10) == -20
    assert angle_difference(90, 0) == 90
    # CVAT's expression for a half turn gives 1, kept as is
    assert angle_difference(180, 0) == 1
    assert angle_difference(0, 180) == 1


def test_outside_keyframes_hide_the_object_until_the_next_keyframe():
    t = track(
        "t",
        kf(0, box(0, 0)),
        kf(3, box(30, 0), outside=True),  # the object leaves at frame 3
        kf(6, box(60, 0)),
    )
    shapes = track_shapes(t, end_frame=10)
    assert sorted(shapes) == [0, 1, 2, 6, 7, 8, 9]
    # frames 1 and 2 interpolate towards the outside keyframe's shape, as CVAT does
    assert shapes[1].x == pytest.approx(10) and shapes[2].x == pytest.approx(20)
    assert shapes[9].x == 60
    # a track that ends outside is not propagated
    ends = track("t", kf(2, box(0, 0)), kf(4, box(0, 0), outside=True))
    assert sorted(track_shapes(ends, end_frame=10)) == [2, 3]
    # the end frame cuts an interpolation short
    long = track("t", kf(0, box(0, 0)), kf(10, box(100, 0)))
    cut = track_shapes(long, end_frame=5)
    assert sorted(cut) == [0, 1, 2, 3, 4] and cut[4].x == pytest.approx(40)


def test_points_and_skeletons_interpolate_as_cvat():
    one = track(
        "p",
        kf(0, Points(points=[Keypoint(x=0, y=0)])),
        kf(2, Points(points=[Keypoint(x=10, y=4)])),
    )
    mid = track_shapes(one, 3)[1]
    assert (mid.points[0].x, mid.points[0].y) == (5, 2)
    several = track(
        "p",
        kf(0, Points(points=[Keypoint(x=0, y=0), Keypoint(x=1, y=1)])),
        kf(2, Points(points=[Keypoint(x=10, y=10), Keypoint(x=11, y=11)])),
    )
    held = track_shapes(several, 3)[1]  # CVAT keeps the first keyframe's points
    assert [(p.x, p.y) for p in held.points] == [(0, 0), (1, 1)]
    skeleton = track(
        "s",
        kf(
            0, Skeleton(points=[Keypoint(x=0, y=0, label="head"), Keypoint(x=4, y=0, label="tail")])
        ),
        kf(
            4, Skeleton(points=[Keypoint(x=8, y=0, label="tail"), Keypoint(x=0, y=8, label="head")])
        ),
    )
    quarter = track_shapes(skeleton, 5)[1]
    assert [(p.label, p.x, p.y) for p in quarter.points] == [("head", 0, 2), ("tail", 5, 0)]


def test_bad_tracks_are_errors():
    with pytest.raises(QAError, match="two keyframes"):
        track_shapes(track("t", kf(1, box(0, 0)), kf(1, box(1, 1))), 5)
    mixed = track("t", kf(0, box(0, 0)), kf(2, Points(points=[Keypoint(x=0, y=0)])))
    with pytest.raises(QAError, match="interpolate"):
        track_shapes(mixed, 5)


def test_per_frame_iou_counts_absent_frames_as_zero():
    a = track_shapes(track("a", kf(0, box(0, 0)), kf(4, box(0, 0), outside=True)), 6)
    b = track_shapes(track("b", kf(2, box(0, 5))), 6)
    # a: frames 0-3; b: frames 2-5; overlap frames 2, 3 at IoU 50/150
    ious = per_frame_iou(a, b)
    assert ious == pytest.approx({0: 0, 1: 0, 2: 1 / 3, 3: 1 / 3, 4: 0, 5: 0})
    assert track_iou(a, b) == pytest.approx((2 / 3) / 6)
    assert track_iou(a, {}) == 0.0


def moving(tid, y, frames, label="car"):
    """A box on row y moving 10 px a frame, one keyframe per frame of `frames`."""
    keyframes = [kf(f, box(10 * f, y)) for f in frames]
    return track(
        tid, *keyframes, kf(frames[-1] + 1, box(10 * frames[-1] + 10, y), outside=True), label=label
    )


def test_identity_switch_when_a_track_is_taken_over():
    reference = [moving("G1", 0, range(10)), moving("G2", 100, range(10))]
    # H1 follows G1 on frames 0-4, H3 takes over from frame 5; H2 follows G2 throughout
    hypothesis = [
        moving("H1", 0, range(5)),
        moving("H3", 0, range(5, 10)),
        moving("H2", 100, range(10)),
    ]
    counts = mot_counts(reference, hypothesis, end_frame=10)
    assert (counts.objects, counts.matches, counts.misses, counts.false_positives) == (20, 20, 0, 0)
    assert counts.id_switches == 1
    assert counts.mota == pytest.approx(1 - 1 / 20) and counts.motp == pytest.approx(1.0)


def test_two_identity_switches_when_hypotheses_swap_objects():
    reference = [moving("G1", 0, range(10)), moving("G2", 100, range(10))]
    swap_1 = [kf(f, box(10 * f, 0 if f < 5 else 100)) for f in range(10)]
    swap_2 = [kf(f, box(10 * f, 100 if f < 5 else 0)) for f in range(10)]
    hypothesis = [track("H1", *swap_1), track("H2", *swap_2)]
    counts = mot_counts(reference, hypothesis, end_frame=10)
    assert counts.id_switches == 2 and counts.matches == 20
    # one missed frame and a false positive: G2's hypothesis drifts away at frame 9
    drift = [kf(f, box(10 * f, 100 if f < 9 else 300)) for f in range(10)]
    counts = mot_counts(reference, [moving("H1", 0, range(10)), track("H2", *drift)], end_frame=10)
    assert (counts.misses, counts.false_positives, counts.id_switches) == (1, 1, 0)


def test_previous_match_is_kept_while_it_holds():
    # H1 and H2 both overlap G1; H1 was first, H2 would score higher from frame 1 on:
    # CLEAR MOT keeps H1 (no switch) as long as its IoU stays >= the threshold
    reference = [track("G1", *[kf(f, box(0, 0, 10, 10)) for f in range(3)])]
    hypothesis = [
        track("H1", *[kf(f, box(2, 0, 10, 10)) for f in range(3)]),  # IoU 80/120
        track("H2", kf(1, box(1, 0, 10, 10)), kf(2, box(1, 0, 10, 10))),  # IoU 90/110
    ]
    counts = mot_counts(reference, hypothesis, end_frame=3)
    assert counts.id_switches == 0 and counts.false_positives == 2


def test_tracks_are_matched_by_mean_iou():
    reference = [moving("G1", 0, range(10)), moving("G2", 100, range(10), label="bus")]
    hypothesis = [moving("H2", 100, range(4), label="bus"), moving("H1", 0, range(10))]
    result = match_tracks(reference, hypothesis, 10)
    # H1 = G1 on all 10 frames; H2 covers 4 of G2's 10 frames: track IoU 0.4 < 0.5
    assert [(p.index_a, p.index_b, p.iou) for p in result.pairs] == [(0, 1, 1.0)]
    assert result.unmatched_b == (0,)
    low = match_tracks(reference, hypothesis, 10, iou_threshold=0.3)
    assert [(p.index_a, p.index_b) for p in low.pairs] == [(0, 1), (1, 0)]
    assert low.pairs[1].iou == pytest.approx(0.4)
    assert (
        match_tracks(reference, hypothesis, 10, iou_threshold=0.3, label_aware=True).pairs[1:]
        == low.pairs[1:]
    )


def test_agreement_and_accumulator_over_videos():
    a = AnnotationSet(id="1", annotator=Annotator(email="ann"), tracks=[moving("G1", 0, range(10))])
    b = AnnotationSet(id="2", annotator=Annotator(email="bob"), tracks=[moving("H1", 0, range(10))])
    agreement = track_agreement(a.tracks, b.tracks, frame_count=10)
    assert agreement.pairs == (("G1", "H1", 1.0),) and agreement.score == 1.0
    assert track_agreement([], []).score == 1.0 and track_agreement([], []).mean_iou is None
    accumulator = TrackAgreementAccumulator()
    accumulator.add_item(
        Item(key="v", media=Media(kind="video", frame_count=10), annotation_sets=[b, a])
    )
    totals = accumulator.totals["ann", "bob"]
    assert (totals.matched, totals.n_a, totals.n_b, totals.mot.id_switches) == (1, 1, 1, 0)
    assert totals.mot.mota == 1.0


def cvat_simple_interpolation(points0, points1, rotation0, rotation1, frame0, frame1):
    """CVAT's simple_interpolation on its own representation (the corner list
    [xtl, ytl, xbr, ybr] and a rotation), transcribed from its dataset manager."""

    def find_angle_diff(right_angle, left_angle):
        angle_diff = right_angle - left_angle
        angle_diff = ((angle_diff + 180) % 360) - 180
        if abs(angle_diff) >= 180:
            angle_diff = 360 - abs(angle_diff) * -1 if angle_diff > 0 else 1
        return angle_diff

    shapes = {}
    distance = frame1 - frame0
    diff = np.subtract(points1, points0)
    for frame in range(frame0 + 1, frame1):
        offset = (frame - frame0) / distance
        rotation = (rotation0 + find_angle_diff(rotation1, rotation0) * offset + 360) % 360
        shapes[frame] = (list(np.asarray(points0) + diff * offset), rotation)
    return shapes


@settings(max_examples=60)
@given(
    st.tuples(*[st.floats(0, 500, allow_nan=False)] * 2, *[st.floats(1, 200, allow_nan=False)] * 2),
    st.tuples(*[st.floats(0, 500, allow_nan=False)] * 2, *[st.floats(1, 200, allow_nan=False)] * 2),
    st.floats(0, 359, allow_nan=False),
    st.floats(0, 359, allow_nan=False),
    st.integers(0, 20),
    st.integers(1, 12),
)
def test_box_interpolation_equals_cvat_formula(first, second, r0, r1, frame0, gap):
    b0, b1 = box(*first, rotation=r0), box(*second, rotation=r1)
    frame1 = frame0 + gap
    ours = track_shapes(track("t", kf(frame0, b0), kf(frame1, b1)), frame1 + 1)
    theirs = cvat_simple_interpolation(
        [b0.x, b0.y, b0.x + b0.width, b0.y + b0.height],
        [b1.x, b1.y, b1.x + b1.width, b1.y + b1.height],
        r0,
        r1,
        frame0,
        frame1,
    )
    assert sorted(ours) == list(range(frame0, frame1 + 1))
    for frame, (points, rotation) in theirs.items():
        got = ours[frame]
        assert [got.x, got.y, got.x + got.width, got.y + got.height] == pytest.approx(points)
        assert got.rotation == pytest.approx(rotation)
