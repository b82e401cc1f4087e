"""Box TP/FP/FN at IoU 0.5 equal pycocotools' COCOeval on the same detections.

COCOeval matches greedily in score order within each category, so the comparison uses
`assignment="greedy"`; the optimal assignment is checked against it where both must agree
(well-separated boxes)."""

import contextlib
import io

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from bridge.qa.gold import evaluate_against_gold
from bridge.schema import AnnotationSet, BBox, Item, Media, Region

CATEGORIES = (1, 2, 3)


def cocoeval_counts(images, threshold_index=0):
    """Per category (tp, fp, fn) from COCOeval.evaluate() at iouThrs[threshold_index]."""
    gt_anns, dt_anns = [], []
    for image_id, (gts, dts) in enumerate(images, start=1):
        for x, y, w, h, cat in gts:
            gt_anns.append(
                {
                    "id": len(gt_anns) + 1,
                    "image_id": image_id,
                    "category_id": cat,
                    "bbox": [x, y, w, h],
                    "area": w * h,
                    "iscrowd": 0,
                }
            )
        for x, y, w, h, cat, score in dts:
            dt_anns.append(
                {"image_id": image_id, "category_id": cat, "bbox": [x, y, w, h], "score": score}
            )
    counts = {cat: [0, 0, 0] for cat in CATEGORIES}
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = {
            "images": [{"id": i, "width": 200, "height": 200} for i in range(1, len(images) + 1)],
            "categories": [{"id": c, "name": str(c)} for c in CATEGORIES],
            "annotations": gt_anns,
        }
        gt.createIndex()
        dt = gt.loadRes(dt_anns)
        evaluator = COCOeval(gt, dt, "bbox")
        evaluator.evaluate()
    for record in evaluator.evalImgs:
        if record is None or record["aRng"] != [0, 1e10]:
            continue
        cat = record["category_id"]
        dt_matched = np.asarray(record["dtMatches"])[threshold_index]
        gt_matched = np.asarray(record["gtMatches"])[threshold_index]
        counts[cat][0] += int((dt_matched > 0).sum())
        counts[cat][1] += int((dt_matched == 0).sum())
        counts[cat][2] += int((gt_matched == 0).sum())
    return counts


def our_counts(images, assignment, threshold=0.5):
    items = []
    for index, (gts, dts) in enumerate(images):
        gold = AnnotationSet(
            id="g",
            kind="gold",
            regions=[
                Region(id=f"g{n}", label=str(cat), shape=BBox(x=x, y=y, width=w, height=h))
                for n, (x, y, w, h, cat) in enumerate(gts)
            ],
        )
        model = AnnotationSet(
            id="d",
            kind="prediction",
            model_version="m",
            regions=[
                Region(
                    id=f"d{n}",
                    label=str(cat),
                    score=score,
                    shape=BBox(x=x, y=y, width=w, height=h),
                )
                for n, (x, y, w, h, cat, score) in enumerate(dts)
            ],
        )
        items.append(
            Item(key=f"i{index}", media=Media(kind="image"), annotation_sets=[gold, model])
        )
    evaluation = evaluate_against_gold(iter(items), thresholds=(threshold,), assignment=assignment)
    table = evaluation.per_annotator["m"].regions.table(threshold)
    return {
        cat: [
            table.classes[str(cat)].tp if str(cat) in table.classes else 0,
            table.classes[str(cat)].fp if str(cat) in table.classes else 0,
            table.classes[str(cat)].fn if str(cat) in table.classes else 0,
        ]
        for cat in CATEGORIES
    }


# integer coordinates: pycocotools and numpy then compute bit-identical IoUs, ties included
gt_box = st.tuples(
    st.integers(0, 60),
    st.integers(0, 60),
    st.integers(1, 30),
    st.integers(1, 30),
    st.sampled_from(CATEGORIES),
)


@st.composite
def image(draw):
    gts = draw(st.lists(gt_box, max_size=6))
    dts = []
    # detections near the ground truth (jittered) and stray ones
    for x, y, w, h, cat in gts:
        if draw(st.booleans()):
            dx, dy, dw, dh = (draw(st.integers(-6, 6)) for _ in range(4))
            label = cat if draw(st.integers(0, 4)) else draw(st.sampled_from(CATEGORIES))
            score = draw(st.integers(1, 20)) / 20
            dts.append(
                (max(0, x + dx), max(0, y + dy), max(1, w + dw), max(1, h + dh), label, score)
            )
    for x, y, w, h, cat in draw(st.lists(gt_box, max_size=3)):
        dts.append((x, y, w, h, cat, draw(st.integers(1, 20)) / 20))
    return gts, dts


@settings(max_examples=60)
@given(st.lists(image(), min_size=1, max_size=6).filter(lambda imgs: any(d for _, d in imgs)))
def test_greedy_counts_equal_cocoeval(images):
    assert our_counts(images, "greedy") == cocoeval_counts(images)


@settings(max_examples=30)
@given(st.lists(image(), min_size=1, max_size=4).filter(lambda imgs: any(d for _, d in imgs)))
def test_greedy_counts_equal_cocoeval_at_075(images):
    # iouThrs = linspace(0.5, 0.95, 10): index 5 is 0.75
    assert our_counts(images, "greedy", 0.75) == cocoeval_counts(images, threshold_index=5)


@settings(max_examples=30)
@given(st.lists(st.integers(0, 3), min_size=1, max_size=8), st.integers(0, 2**32 - 1))
def test_optimal_equals_cocoeval_on_well_separated_boxes(counts, seed):
    # boxes on a 50 px grid, 20 px wide, detections jittered by at most 3 px: each detection
    # can only overlap its own ground truth, so every assignment rule gives the same counts
    rng = np.random.default_rng(seed)
    images = []
    for count in counts:
        cells = rng.choice(9, size=count, replace=False)
        gts = [
            (int(c % 3) * 50, int(c // 3) * 50, 20, 20, int(rng.choice(CATEGORIES))) for c in cells
        ]
        dts = [
            (
                x + int(rng.integers(-3, 4)),
                y + int(rng.integers(-3, 4)),
                20,
                20,
                cat,
                float(rng.random()),
            )
            for x, y, _, _, cat in gts
            if rng.random() < 0.8
        ]
        dts.append((160, 160, 20, 20, int(rng.choice(CATEGORIES)), 0.5))  # a stray one
        images.append((gts, dts))
    assert our_counts(images, "optimal") == cocoeval_counts(images)
