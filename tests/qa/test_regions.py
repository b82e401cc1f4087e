"""Region agreement between two annotation sets (bridge.qa.regions); expected values are
counted by construction."""

import pytest

from bridge.qa.regions import (
    RegionAgreementAccumulator,
    annotator_key,
    dataset_region_agreement,
    region_agreement,
)
from bridge.schema import (
    AnnotationSet,
    Annotator,
    BBox,
    Item,
    Media,
    Region,
    Span,
    Tag,
)


def box(x, y, w=10, h=10):
    return BBox(x=x, y=y, width=w, height=h)


def aset(sid, who, *regions):
    return AnnotationSet(id=sid, annotator=Annotator(email=who), regions=list(regions))


def reg(rid, shape, label="car", frame=None):
    return Region(id=rid, shape=shape, label=label, frame=frame)


def test_two_sets_on_one_image():
    a = aset(
        "1",
        "ann@x",
        reg("a1", box(0, 0)),
        reg("a2", box(100, 0), "person"),
        reg("a3", box(300, 300)),
    )
    b = aset(
        "2",
        "bob@x",
        reg("b1", box(0, 1)),  # IoU 90/110 with a1
        reg("b2", box(100, 0), "car"),  # IoU 1 with a2, other label
        reg("b3", box(200, 200)),
        reg("t", Tag(), "blurry"),  # a tag is not matched by IoU
    )
    result = region_agreement(a, b)
    assert [(p.id_a, p.id_b) for p in result.pairs] == [("a1", "b1"), ("a2", "b2")]
    assert result.pairs[0].iou == pytest.approx(90 / 110)
    assert result.unmatched_a == ("a3",) and result.unmatched_b == ("b3",)
    assert (result.n_a, result.n_b) == (3, 3)
    assert result.score == pytest.approx(2 * 2 / 6)
    assert result.mean_iou == pytest.approx((90 / 110 + 1) / 2)
    assert result.label_agreement == pytest.approx(0.5)
    aware = region_agreement(a, b, label_aware=True)
    assert [(p.id_a, p.id_b) for p in aware.pairs] == [("a1", "b1")]
    assert aware.score == pytest.approx(2 / 6)
    assert aware.label_agreement == 1.0


def test_empty_and_disjoint_sets_have_defined_values():
    empty = region_agreement(aset("1", "a"), aset("2", "b"))
    assert empty.score == 1.0 and empty.mean_iou is None and empty.label_agreement is None
    one_side = region_agreement(aset("1", "a", reg("r", box(0, 0))), aset("2", "b"))
    assert one_side.score == 0.0 and one_side.unmatched_a == ("r",)
    apart = region_agreement(
        aset("1", "a", reg("r", box(0, 0))), aset("2", "b", reg("s", box(50, 50)))
    )
    assert apart.score == 0.0 and apart.mean_iou is None


def test_video_regions_match_only_on_their_frame():
    a = aset("1", "a", reg("a0", box(0, 0), frame=0), reg("a1", box(0, 0), frame=1))
    b = aset("2", "b", reg("b1", box(0, 0), frame=1), reg("b2", box(0, 0), frame=2))
    result = region_agreement(a, b)
    assert [(p.id_a, p.id_b, p.frame) for p in result.pairs] == [("a1", "b1", 1)]
    assert result.unmatched_a == ("a0",) and result.unmatched_b == ("b2",)


def test_annotator_key_falls_back_in_order():
    assert annotator_key(AnnotationSet(id="1", annotator=Annotator(id="7", name="Ann"))) == "7"
    assert annotator_key(AnnotationSet(id="1", annotator=Annotator(name="Ann"))) == "Ann"
    assert annotator_key(AnnotationSet(id="1", kind="prediction", model_version="yolo")) == "yolo"
    assert annotator_key(AnnotationSet(id="9")) == "set 9"


def item(key, *sets):
    return Item(
        key=key, media=Media(kind="image", width=400, height=400), annotation_sets=list(sets)
    )


def test_pairs_are_pooled_over_a_stream_of_items():
    items = [
        # ann and bob agree on one of 2+2 boxes; cyd has nothing
        item(
            "i1",
            aset("1", "bob", reg("b1", box(0, 0)), reg("b2", box(50, 50))),
            aset("2", "ann", reg("a1", box(0, 0)), reg("a2", box(200, 200))),
            aset("3", "cyd"),
        ),
        # ann and bob agree fully on one box
        item("i2", aset("4", "ann", reg("a", box(5, 5))), aset("5", "bob", reg("b", box(5, 5)))),
    ]
    totals = dataset_region_agreement(iter(items))
    ann_bob = totals["ann", "bob"]
    assert (ann_bob.items, ann_bob.matched, ann_bob.n_a, ann_bob.n_b) == (2, 2, 3, 3)
    assert ann_bob.score == pytest.approx(4 / 6)
    assert ann_bob.mean_item_score == pytest.approx((0.5 + 1.0) / 2)
    assert ann_bob.mean_iou == 1.0 and ann_bob.label_agreement == 1.0
    assert totals["ann", "cyd"].score == 0.0 and totals["ann", "cyd"].mean_iou is None
    assert set(totals) == {("ann", "bob"), ("ann", "cyd"), ("bob", "cyd")}


def test_accumulator_takes_the_selected_sets_only():
    accumulator = RegionAgreementAccumulator(sets="human")
    prediction = AnnotationSet(
        id="p", kind="prediction", model_version="m1", regions=[reg("p", box(0, 0))]
    )
    results = accumulator.add_item(
        item("i", aset("1", "ann", reg("a", box(0, 0))), aset("2", "bob"), prediction)
    )
    assert [(a, b) for a, b, _ in results] == [("ann", "bob")]


def test_spans_are_left_to_the_span_module():
    a = aset("1", "a", reg("s", Span(start=0, end=4)))
    b = aset("2", "b", reg("t", Span(start=0, end=4)))
    result = region_agreement(a, b)
    assert result.n_a == 0 and result.n_b == 0


def test_percent_shapes_use_the_item_size_and_keypoints_use_oks():
    from bridge.schema import Keypoint, Points

    # ann drew in pixels, bob's reader kept percent: 10% of 400 px = 40 px
    a = aset("1", "ann", reg("a", box(40, 40, 40, 40)))
    b = aset("2", "bob", reg("b", BBox(x=10, y=10, width=10, height=10, units="percent")))
    totals = dataset_region_agreement([item("i", a, b)])
    assert totals["ann", "bob"].matched == 1 and totals["ann", "bob"].mean_iou == pytest.approx(1.0)
    # keypoints: the same skeleton 1 px off matches by OKS, a far one does not
    person = [Keypoint(x=100, y=100, label="nose"), Keypoint(x=140, y=180, label="left_hip")]
    moved = [Keypoint(x=101, y=100, label="nose"), Keypoint(x=140, y=181, label="left_hip")]
    far = [Keypoint(x=300, y=300, label="nose"), Keypoint(x=340, y=380, label="left_hip")]
    ref = aset("1", "ann", reg("p", Points(points=person), "person"))
    near = region_agreement(ref, aset("2", "bob", reg("q", Points(points=moved), "person")))
    assert len(near.pairs) == 1 and 0.9 < near.pairs[0].iou < 1.0
    away = region_agreement(ref, aset("2", "bob", reg("q", Points(points=far), "person")))
    assert away.pairs == () and away.score == 0.0
