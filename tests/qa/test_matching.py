"""IoU and OKS of unified shapes, and one-to-one matching (bridge.qa.matching).

Expected values come from geometry worked out by hand, from pycocotools (box and mask IoU,
COCOeval's OKS) and from an independent high-resolution raster written here."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pycocotools import mask as coco_mask
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from bridge.qa.errors import QAError
from bridge.qa.matching import (
    COCO_KEYPOINT_SIGMAS,
    assign,
    match,
    oks,
    similarity,
    similarity_matrix,
)
from bridge.schema import (
    RLE,
    BBox,
    Ellipse,
    Keypoint,
    Mask,
    Points,
    Polygon,
    Polyline,
    Region,
    Span,
    TimeSegment,
)


def box(x, y, w, h, rotation=0.0, units="px"):
    return BBox(x=x, y=y, width=w, height=h, rotation=rotation, units=units)


def region(shape, rid, label=None, score=None, frame=None):
    return Region(id=rid, shape=shape, label=label, score=score, frame=frame)


# ------------------------------------------------------------------ boxes


def test_square_and_the_same_square_turned_45_degrees():
    # Two squares of side 2 with one centre, one turned 45°: they overlap in a regular
    # octagon of inradius 1, area 8·tan(22.5°) = 8(√2 - 1); the union is 8 - that.
    octagon = 8 * (math.sqrt(2) - 1)
    expected = octagon / (8 - octagon)  # = 1/√2
    assert similarity(box(0, 0, 2, 2), box(0, 0, 2, 2, rotation=45)) == pytest.approx(expected)
    assert expected == pytest.approx(1 / math.sqrt(2))


def test_rotated_box_inside_a_larger_one():
    # a 2x2 square turned 30° about (5, 5) lies inside the 10x10 axis-aligned box
    inner = box(4, 4, 2, 2, rotation=30)
    assert similarity(inner, box(0, 0, 10, 10)) == pytest.approx(4 / 100)


def raster_iou(a: BBox, b: BBox, samples: int) -> float:
    """IoU by sampling a `samples` x `samples` grid of points over both boxes (a disc
    around each centre holds the turned box): independent of the code under test."""
    reach = [
        (bx.x + bx.width / 2, bx.y + bx.height / 2, math.hypot(bx.width, bx.height) / 2)
        for bx in (a, b)
    ]
    left = min(cx - r for cx, _, r in reach)
    right = max(cx + r for cx, _, r in reach)
    top = min(cy - r for _, cy, r in reach)
    bottom = max(cy + r for _, cy, r in reach)
    xs = left + (np.arange(samples) + 0.5) * (right - left) / samples
    ys = top + (np.arange(samples) + 0.5) * (bottom - top) / samples
    grid_x, grid_y = np.meshgrid(xs, ys)

    def inside(bx: BBox):
        cx, cy = bx.x + bx.width / 2, bx.y + bx.height / 2
        theta = math.radians(bx.rotation)
        dx, dy = grid_x - cx, grid_y - cy
        # undo a clockwise-on-screen rotation
        ux = dx * math.cos(theta) + dy * math.sin(theta)
        uy = -dx * math.sin(theta) + dy * math.cos(theta)
        return (np.abs(ux) <= bx.width / 2) & (np.abs(uy) <= bx.height / 2)

    in_a, in_b = inside(a), inside(b)
    union = np.logical_or(in_a, in_b).sum()
    return float(np.logical_and(in_a, in_b).sum() / union) if union else 0.0


coordinate = st.floats(0, 80, allow_nan=False)
side = st.floats(5, 40, allow_nan=False)
angle = st.floats(-180, 180, allow_nan=False)


@settings(max_examples=40)
@given(coordinate, coordinate, side, side, angle, coordinate, coordinate, side, side, angle)
def test_rotated_boxes_match_a_fine_raster(x1, y1, w1, h1, r1, x2, y2, w2, h2, r2):
    a, b = box(x1, y1, w1, h1, r1), box(x2, y2, w2, h2, r2)
    assert similarity(a, b) == pytest.approx(raster_iou(a, b, 1500), abs=0.005)


@settings(max_examples=60)
@given(
    st.lists(st.tuples(coordinate, coordinate, st.floats(0, 40), st.floats(0, 40)), max_size=6),
    st.lists(st.tuples(coordinate, coordinate, st.floats(0, 40), st.floats(0, 40)), max_size=6),
)
def test_axis_aligned_box_iou_equals_pycocotools(boxes_a, boxes_b):
    ours = similarity_matrix([box(*b) for b in boxes_a], [box(*b) for b in boxes_b])
    assert ours.shape == (len(boxes_a), len(boxes_b))
    if boxes_a and boxes_b:
        theirs = coco_mask.iou(
            [list(b) for b in boxes_a], [list(b) for b in boxes_b], [0] * len(boxes_b)
        )
        np.testing.assert_allclose(ours, np.asarray(theirs), atol=1e-12)
    assert not np.isnan(ours).any()


def test_zero_area_boxes_have_iou_zero_not_nan():
    flat = box(5, 5, 0, 10)
    assert similarity(flat, flat) == 0.0
    assert similarity_matrix([flat], [flat])[0, 0] == 0.0
    assert similarity(box(5, 5, 0, 10, rotation=30), box(5, 5, 0, 10, rotation=30)) == 0.0


def test_disjoint_boxes_have_iou_zero():
    assert similarity(box(0, 0, 10, 10), box(20, 20, 5, 5)) == 0.0


# ----------------------------------------------------------- percent units


def test_percent_boxes_with_a_size_compare_as_pixels():
    # 10%..30% of 200 px wide = 20..60 px; 10%..50% of 100 px high = 10..50 px
    a = box(10, 10, 20, 40, units="percent")
    b = box(20, 10, 40, 40, units="percent")  # 40..120 px x 10..50 px
    # pixel boxes: [20,60]x[10,50] and [40,120]x[10,50]: inter 20x40, union 40x40+80x40-800
    expected = 800 / (1600 + 3200 - 800)
    assert similarity(a, b, size=(200, 100)) == pytest.approx(expected)
    # without a size they compare in percent: same IoU for axis-aligned boxes
    assert similarity(a, b) == pytest.approx(expected)


def test_pixels_against_percent_without_a_size_is_an_error():
    with pytest.raises(QAError, match="percent"):
        similarity(box(0, 0, 10, 10), box(0, 0, 10, 10, units="percent"))
    # with the size it works: 10% of 100 px = 10 px
    assert similarity(
        box(0, 0, 10, 10), box(0, 0, 10, 10, units="percent"), size=(100, 100)
    ) == pytest.approx(1.0)


# ------------------------------------------------------ ellipses, polygons


def test_concentric_circles():
    # inscribed 64-gons of radii 1 and 2 are similar figures: area ratio exactly 1/4
    small, large = Ellipse(cx=3, cy=3, rx=1, ry=1), Ellipse(cx=3, cy=3, rx=2, ry=2)
    assert similarity(small, large) == pytest.approx(0.25)


def test_ellipse_against_its_bounding_box():
    # area π·rx·ry against the box 2rx x 2ry: π/4, within the 64-gon's 0.2 % shortfall
    ellipse = Ellipse(cx=50, cy=40, rx=20, ry=10)
    assert similarity(ellipse, box(30, 30, 40, 20)) == pytest.approx(math.pi / 4, rel=0.003)


def test_turned_ellipse_is_the_same_ellipse_turned_180():
    a = Ellipse(cx=50, cy=40, rx=20, ry=10, rotation=30)
    b = Ellipse(cx=50, cy=40, rx=20, ry=10, rotation=210)
    assert similarity(a, b) == pytest.approx(1.0)
    # a quarter turn: overlap of two crossed ellipses is well below 1
    c = Ellipse(cx=50, cy=40, rx=20, ry=10, rotation=120)
    assert similarity(a, c) < 0.6


def test_non_convex_polygon_uses_a_raster_close_to_the_exact_area():
    # an L of area 7500 holding a 50x50 square: IoU 2500/7500
    ell = Polygon(points=[(0, 0), (100, 0), (100, 50), (50, 50), (50, 100), (0, 100)])
    square = Polygon(points=[(0, 0), (50, 0), (50, 50), (0, 50)])
    assert similarity(ell, square, size=(200, 200)) == pytest.approx(1 / 3, abs=0.02)
    assert similarity(ell, square) == pytest.approx(1 / 3, abs=0.01)  # grid of 1024


def test_convex_polygon_and_box_are_exact():
    triangle = Polygon(points=[(0, 0), (10, 0), (0, 10)])  # area 50
    assert similarity(triangle, box(0, 0, 10, 10)) == pytest.approx(0.5)


# -------------------------------------------------------------------- masks


def bitmap_mask(bitmap):
    encoded = coco_mask.encode(np.asfortranarray(bitmap.astype(np.uint8)))
    return Mask(rle=RLE(size=tuple(encoded["size"]), counts=encoded["counts"].decode()))


@settings(max_examples=40)
@given(st.integers(0, 2**32 - 1), st.integers(1, 4), st.integers(1, 4))
def test_mask_iou_equals_pycocotools_and_pixel_counts(seed, n_a, n_b):
    rng = np.random.default_rng(seed)
    bitmaps_a = [rng.random((17, 23)) < rng.random() for _ in range(n_a)]
    bitmaps_b = [rng.random((17, 23)) < rng.random() for _ in range(n_b)]
    masks_a = [bitmap_mask(b) for b in bitmaps_a]
    masks_b = [bitmap_mask(b) for b in bitmaps_b]
    ours = similarity_matrix(masks_a, masks_b)
    theirs = coco_mask.iou(
        [coco_mask.encode(np.asfortranarray(b.astype(np.uint8))) for b in bitmaps_a],
        [coco_mask.encode(np.asfortranarray(b.astype(np.uint8))) for b in bitmaps_b],
        [0] * n_b,
    )
    np.testing.assert_allclose(ours, np.asarray(theirs).reshape(n_a, n_b))
    for i, a in enumerate(bitmaps_a):
        for j, b in enumerate(bitmaps_b):
            union = np.logical_or(a, b).sum()
            expected = np.logical_and(a, b).sum() / union if union else 0.0
            assert ours[i, j] == pytest.approx(expected)
            assert similarity(masks_a[i], masks_b[j]) == pytest.approx(expected)


def test_mask_against_a_box_rasterises_the_box_on_the_mask_grid():
    bitmap = np.zeros((40, 40), dtype=bool)
    bitmap[10:20, 10:30] = True  # 200 pixels
    # the box covering the left half of it exactly
    assert similarity(bitmap_mask(bitmap), box(10, 10, 10, 10)) == pytest.approx(0.5, abs=0.06)


def test_masks_against_polygons_draw_each_shape_once(monkeypatch):
    # 3 masks x 2 polygons on one 40 x 40 grid: every value is the pair's own raster IoU
    # (pixel counts by construction), and each of the 5 shapes is drawn once, not per pair
    import bridge.qa.matching as matching

    masks = []
    for top in (0, 10, 20):
        bitmap = np.zeros((40, 40), dtype=bool)
        bitmap[top : top + 10, 0:20] = True  # rows top..top+9, columns 0..19: 200 pixels
        masks.append(bitmap_mask(bitmap))
    # an L (non-convex, so rasterised) over rows 0..19, columns 0..19 minus rows 10..19 of
    # columns 10..19: 300 pixels; and a box over rows 20..39, columns 0..19: 400 pixels
    ell = Polygon(points=[(0, 0), (20, 0), (20, 10), (10, 10), (10, 20), (0, 20)])
    square = box(0, 20, 20, 20)
    calls = []
    real = matching.shape_rle
    monkeypatch.setattr(matching, "shape_rle", lambda s, c: calls.append(s) or real(s, c))
    ours = similarity_matrix(masks, [ell, square])
    expected = [
        [200 / 300, 0.0],  # mask rows 0..9 inside the L
        [100 / 400, 0.0],  # rows 10..19: 100 pixels shared, union 200 + 300 - 100
        [0.0, 200 / 400],  # rows 20..29 inside the box
    ]
    np.testing.assert_allclose(ours, expected, atol=1e-9)
    assert len(calls) == 5


def test_masks_of_different_sizes_are_an_error():
    a = bitmap_mask(np.ones((4, 4), dtype=bool))
    b = bitmap_mask(np.ones((5, 4), dtype=bool))
    with pytest.raises(QAError, match="sizes"):
        similarity(a, b)


# ---------------------------------------------------------------------- OKS


PERSON = list(COCO_KEYPOINT_SIGMAS)


@settings(max_examples=40)
@given(st.integers(0, 2**32 - 1))
def test_oks_equals_cocoeval_compute_oks(seed):
    rng = np.random.default_rng(seed)
    gt_xy = rng.uniform(50, 150, size=(17, 2))
    dt_xy = gt_xy + rng.normal(0, rng.uniform(0.5, 15), size=(17, 2))
    area = float(rng.uniform(500, 8000))
    gt_kps = [v for (x, y) in gt_xy for v in (float(x), float(y), 2)]
    dt_kps = [v for (x, y) in dt_xy for v in (float(x), float(y), 2)]
    dataset = {
        "images": [{"id": 1, "width": 200, "height": 200}],
        "categories": [{"id": 1, "name": "person", "keypoints": PERSON}],
        "annotations": [
            {
                "id": 1,
                "image_id": 1,
                "category_id": 1,
                "keypoints": gt_kps,
                "num_keypoints": 17,
                "area": area,
                "bbox": [40, 40, 120, 120],
                "iscrowd": 0,
            }
        ],
    }
    gt = COCO()
    gt.dataset = dataset
    gt.createIndex()
    dt = gt.loadRes([{"image_id": 1, "category_id": 1, "keypoints": dt_kps, "score": 1.0}])
    evaluator = COCOeval(gt, dt, "keypoints")
    evaluator.params.imgIds = [1]
    evaluator._prepare()
    theirs = evaluator.computeOks(1, 1)[0][0]
    reference = Points(
        points=[Keypoint(x=x, y=y, label=n) for n, (x, y) in zip(PERSON, gt_xy, strict=True)]
    )
    other = Points(
        points=[Keypoint(x=x, y=y, label=n) for n, (x, y) in zip(PERSON, dt_xy, strict=True)]
    )
    assert oks(reference, other, area=area) == pytest.approx(theirs, rel=1e-9)


def test_oks_absent_keypoints_and_names():
    reference = Points(
        points=[
            Keypoint(x=0, y=0, label="nose"),
            Keypoint(x=10, y=10, label="left_eye"),
            Keypoint(x=99, y=99, label="right_eye", visibility="absent"),
        ]
    )
    # same positions, listed in another order; the absent one in the reference is not counted
    other = Points(
        points=[Keypoint(x=10, y=10, label="left_eye"), Keypoint(x=0, y=0, label="nose")]
    )
    assert oks(reference, other) == pytest.approx(1.0)
    # the other shape misses the nose: it adds 0 out of 2
    only_eye = Points(points=[Keypoint(x=10, y=10, label="left_eye")])
    assert oks(reference, only_eye) == pytest.approx(0.5)
    # custom sigma table: distance 1, area 100 (box of the points), sigma 0.1
    moved = Points(
        points=[Keypoint(x=1, y=0, label="nose"), Keypoint(x=10, y=10, label="left_eye")]
    )
    expected = (math.exp(-1 / (0.2**2) / 100 / 2) + 1) / 2
    assert oks(reference, moved, sigmas={"nose": 0.1, "left_eye": 0.1}) == pytest.approx(expected)
    # nothing labeled in the reference: defined as 0.0
    empty = Points(points=[Keypoint(x=0, y=0, visibility="absent")])
    assert oks(empty, other) == 0.0


# ------------------------------------------------------------- other kinds


def test_time_segments_and_kinds_that_do_not_compare():
    assert similarity(TimeSegment(start=0, end=10), TimeSegment(start=5, end=15)) == pytest.approx(
        5 / 15
    )
    keypoints = Points(points=[Keypoint(x=1, y=1)])
    assert similarity(box(0, 0, 5, 5), keypoints) == 0.0
    with pytest.raises(QAError, match="polyline"):
        similarity(Polyline(points=[(0, 0), (1, 1)]), box(0, 0, 1, 1))
    with pytest.raises(QAError, match="span"):
        similarity_matrix([Span(start=0, end=3)], [Span(start=0, end=3)])


# ------------------------------------------------------------------ matching


def test_optimal_and_greedy_assignment_differ_as_designed():
    # B0 (higher score) overlaps A0 most; greedy gives it A0 and leaves B1 alone;
    # the optimal assignment pairs A0-B1 and A1-B0 (sum 1.1 > 0.6)
    scores = np.array([[0.6, 0.55], [0.55, 0.0]])
    greedy = assign(scores, 0.5, assignment="greedy", order_b=[0, 1])
    assert [(p.index_a, p.index_b) for p in greedy.pairs] == [(0, 0)]
    assert greedy.unmatched_a == (1,) and greedy.unmatched_b == (1,)
    optimal = assign(scores, 0.5)
    assert [(p.index_a, p.index_b) for p in optimal.pairs] == [(0, 1), (1, 0)]
    assert optimal.unmatched_a == () and optimal.unmatched_b == ()


def test_greedy_takes_detections_by_score():
    # the same matrix, but B1 scores higher: greedy gives B1 A0 first, then B0 takes A1
    regions_a = [region(box(0, 0, 10, 10), "a0"), region(box(20, 0, 10, 10), "a1")]
    regions_b = [
        region(box(1, 0, 10, 10), "b0", score=0.2),  # IoU with a0 9/11
        region(box(0, 1, 10, 10), "b1", score=0.9),  # IoU with a0 9/11 as well
    ]
    result = match(regions_a, regions_b, assignment="greedy")
    assert [(p.index_a, p.index_b) for p in result.pairs] == [(0, 1)]
    assert result.unmatched_b == (0,)


def test_match_threshold_labels_and_empty_sides():
    regions_a = [region(box(0, 0, 10, 10), "a0", "car"), region(box(50, 50, 10, 10), "a1", "car")]
    regions_b = [
        region(box(0, 0, 10, 12), "b0", "truck"),  # IoU 100/120
        region(box(55, 50, 10, 10), "b1", "car"),  # IoU 50/150: below 0.5
    ]
    blind = match(regions_a, regions_b, 0.5)
    assert [(p.index_a, p.index_b) for p in blind.pairs] == [(0, 0)]
    assert blind.pairs[0].iou == pytest.approx(100 / 120)
    assert blind.unmatched_a == (1,) and blind.unmatched_b == (1,)
    aware = match(regions_a, regions_b, 0.5, label_aware=True)
    assert aware.pairs == () and aware.unmatched_a == (0, 1) and aware.unmatched_b == (0, 1)
    low = match(regions_a, regions_b, 0.3)
    assert len(low.pairs) == 2
    empty = match([], regions_b)
    assert empty.pairs == () and empty.unmatched_b == (0, 1)
    assert match([], []).pairs == ()


def test_unknown_assignment_is_an_error():
    with pytest.raises(QAError, match="assignment"):
        assign(np.array([[0.9]]), 0.5, assignment="best")  # type: ignore[arg-type]


def test_many_boxes_take_the_numpy_path_with_the_same_values():
    rng = np.random.default_rng(7)
    boxes_a = rng.uniform(0, 100, size=(30, 4)).tolist()
    boxes_b = rng.uniform(0, 100, size=(25, 4)).tolist()  # 750 pairs: over SMALL_MATRIX
    ours = similarity_matrix([box(*b) for b in boxes_a], [box(*b) for b in boxes_b])
    theirs = coco_mask.iou(boxes_a, boxes_b, [0] * len(boxes_b))
    np.testing.assert_allclose(ours, np.asarray(theirs), atol=1e-12)
    assert (ours > 0).sum() > 50  # the data overlaps: the check is not vacuous


@settings(max_examples=300, deadline=None)
@given(
    st.integers(1, 5),
    st.integers(1, 5),
    st.lists(st.sampled_from([0.0, 0.0, 0.0, 0.3, 0.5, 0.6, 0.75, 0.9, 1.0]), min_size=25),
    st.sampled_from([0.0, 0.5, 0.7]),
)
def test_small_optimal_assignment_equals_scipy(n_a, n_b, values, threshold):
    # sparse matrices: most have no two allowed pairs in one row or column (no solver
    # needed), some do (ties included); the pairs must be scipy's either way
    from scipy.optimize import linear_sum_assignment

    scores = np.array(values[: n_a * n_b], dtype=np.float64).reshape(n_a, n_b)
    valid = (scores > 0) & (scores >= threshold)
    rows, cols = linear_sum_assignment(np.where(valid, scores, 0.0), maximize=True)
    expected = sorted((int(r), int(c)) for r, c in zip(rows, cols, strict=True) if valid[r, c])
    result = assign(scores, threshold)
    assert [(p.index_a, p.index_b) for p in result.pairs] == expected
    assert [p.iou for p in result.pairs] == [float(scores[r, c]) for r, c in expected]
    assert set(result.unmatched_a) == set(range(n_a)) - {r for r, _ in expected}
    assert set(result.unmatched_b) == set(range(n_b)) - {c for _, c in expected}
