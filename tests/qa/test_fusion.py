"""Geometric consensus (bridge.qa.fusion): clusters, votes and fused shapes computed by
hand or with numpy on the bitmaps."""

import numpy as np
import pytest
from pycocotools import mask as coco_mask

from bridge.geometry.masks import rle_to_bitmap
from bridge.qa.errors import QAError
from bridge.qa.fusion import cluster_regions, fuse_sets, with_consensus
from bridge.schema import (
    RLE,
    AnnotationSet,
    Annotator,
    BBox,
    Item,
    Keypoint,
    Mask,
    Media,
    Points,
    Polygon,
    Region,
)


def box(x, y, w=10, h=10, rotation=0.0):
    return BBox(x=x, y=y, width=w, height=h, rotation=rotation)


def aset(sid, who, *regions):
    return AnnotationSet(id=sid, annotator=Annotator(email=who), regions=list(regions))


def reg(rid, shape, label="car", score=None, frame=None):
    return Region(id=rid, shape=shape, label=label, score=score, frame=frame)


THREE = [
    aset("1", "ann", reg("a", box(0, 0, 10, 10)), reg("a2", box(100, 100), "person")),
    aset("2", "bob", reg("b", box(2, 0, 10, 12))),
    aset("3", "cyd", reg("c", box(1, 1, 10, 10), "truck")),
]


def test_majority_label_and_mean_box():
    consensus = fuse_sets(THREE)
    assert consensus.kind == "consensus" and consensus.id == "consensus"
    # the car cluster: car from ann and bob, truck from cyd -> car, 2 of 3 voters;
    # the person box (1 of 3) is below the default min_share of 0.5
    assert len(consensus.regions) == 1
    car = consensus.regions[0]
    assert car.label == "car" and car.score == pytest.approx(2 / 3)
    # mean of the two car boxes (centres (5, 5) and (7, 6), sizes 10x10 and 10x12)
    assert (car.shape.x, car.shape.y, car.shape.width, car.shape.height) == pytest.approx(
        (1.0, 0.0, 10.0, 11.0)
    )
    everything = fuse_sets(THREE, min_share=0.0)
    assert sorted((r.label, round(r.score, 3)) for r in everything.regions) == [
        ("car", 0.667),
        ("person", 0.333),
    ]


def test_reliability_weights_the_vote():
    consensus = fuse_sets(THREE, reliability={"cyd": 5.0}, min_share=0.0)
    labels = {r.label: r for r in consensus.regions}
    # truck weighs 5 against 2 for car: truck wins, agreed by 1 voter of 3
    assert set(labels) == {"truck", "person"}
    assert labels["truck"].score == pytest.approx(1 / 3)
    assert labels["truck"].shape.x == 1 and labels["truck"].shape.y == 1


def test_boxes_weighted_by_score():
    model_a = AnnotationSet(
        id="p1", kind="prediction", model_version="m1", regions=[reg("p", box(0, 0), score=0.25)]
    )
    model_b = AnnotationSet(
        id="p2", kind="prediction", model_version="m2", regions=[reg("q", box(2, 0), score=0.75)]
    )
    fused = fuse_sets([model_a, model_b]).regions[0]
    assert fused.shape.x == pytest.approx(0.25 * 0 + 0.75 * 2)
    assert fused.score == 1.0


def test_one_region_per_voter_in_a_cluster():
    # ann drew the object twice; bob once: two clusters, ann's second box alone
    sets = [
        aset("1", "ann", reg("a1", box(0, 0)), reg("a2", box(1, 0))),
        aset("2", "bob", reg("b", box(0, 0))),
    ]
    clusters = cluster_regions(sets)
    assert sorted(sorted(m.region.id for m in c) for c in clusters) == [["a1", "b"], ["a2"]]
    consensus = fuse_sets(sets)
    assert sorted(r.score for r in consensus.regions) == [0.5, 1.0]


def test_rotated_boxes_average_their_angles_on_the_circle():
    sets = [
        aset("1", "ann", reg("a", box(0, 0, 10, 10, 350))),
        aset("2", "bob", reg("b", box(0, 0, 10, 10, 10))),
    ]
    assert fuse_sets(sets).regions[0].shape.rotation == pytest.approx(0.0, abs=1e-9)


def bitmap_mask(bitmap):
    encoded = coco_mask.encode(np.asfortranarray(bitmap.astype(np.uint8)))
    return Mask(rle=RLE(size=tuple(encoded["size"]), counts=encoded["counts"].decode()))


def test_masks_by_pixel_vote():
    rng = np.random.default_rng(3)
    base = np.zeros((30, 40), dtype=bool)
    base[5:25, 5:30] = True
    bitmaps = [base ^ (rng.random(base.shape) < 0.1) for _ in range(3)]
    sets = [aset(str(i), f"ann{i}", reg(f"m{i}", bitmap_mask(b))) for i, b in enumerate(bitmaps)]
    fused = fuse_sets(sets).regions[0]
    expected = np.sum(bitmaps, axis=0) >= 1.5  # at least half of 3 equal weights
    assert np.array_equal(rle_to_bitmap(fused.shape.rle), expected)
    # weighted: ann0 alone outweighs the other two
    weighted = fuse_sets(sets, reliability={"ann0": 3.0}).regions[0]
    assert np.array_equal(rle_to_bitmap(weighted.shape.rle), bitmaps[0])


def test_polygons_become_a_mask_and_need_the_size():
    square = Polygon(points=[(10, 10), (30, 10), (30, 30), (10, 30)])
    shifted = Polygon(points=[(12, 10), (32, 10), (32, 30), (12, 30)])
    sets = [aset("1", "ann", reg("a", square)), aset("2", "bob", reg("b", shifted))]
    fused = fuse_sets(sets, size=(50, 40)).regions[0]
    assert fused.shape.type == "mask" and fused.shape.rle.size == (40, 50)
    # the pixel vote of two equal weights keeps the union (votes >= half)
    bitmap = rle_to_bitmap(fused.shape.rle)
    union = np.logical_or(
        coco_mask.decode(
            coco_mask.merge(coco_mask.frPyObjects([[10, 10, 30, 10, 30, 30, 10, 30]], 40, 50))
        ),
        coco_mask.decode(
            coco_mask.merge(coco_mask.frPyObjects([[12, 10, 32, 10, 32, 30, 12, 30]], 40, 50))
        ),
    )
    assert np.array_equal(bitmap, union)
    with pytest.raises(QAError, match="media size"):
        fuse_sets(sets)


def test_keypoints_are_averaged_by_name():
    a = Points(points=[Keypoint(x=0, y=0, label="nose"), Keypoint(x=10, y=10, label="left_eye")])
    b = Points(points=[Keypoint(x=12, y=10, label="left_eye"), Keypoint(x=2, y=0, label="nose")])
    sets = [aset("1", "ann", reg("a", a, "person")), aset("2", "bob", reg("b", b, "person"))]
    # wide sigmas: 2 px off on a 10 px object is then a close match (OKS about 0.99)
    fused = fuse_sets(sets, sigmas={"nose": 1.0, "left_eye": 1.0}).regions[0]
    assert [(p.label, p.x, p.y) for p in fused.shape.points] == [
        ("nose", 1, 0),
        ("left_eye", 11, 10),
    ]


def test_degenerate_inputs():
    with pytest.raises(QAError, match="no annotation set"):
        fuse_sets([])
    alone = fuse_sets([THREE[0]])
    assert [(r.label, r.score) for r in alone.regions] == [("car", 1.0), ("person", 1.0)]
    assert fuse_sets([aset("1", "ann"), aset("2", "bob")]).regions == []
    # zero-area boxes never overlap: each stays alone (1 of 2 voters)
    flat = [
        aset("1", "ann", reg("a", box(0, 0, 0, 5))),
        aset("2", "bob", reg("b", box(0, 0, 0, 5))),
    ]
    assert [r.score for r in fuse_sets(flat).regions] == [0.5, 0.5]


def test_frames_and_streaming():
    sets = [
        aset("1", "ann", reg("a", box(0, 0), frame=1)),
        aset("2", "bob", reg("b", box(0, 0), frame=2)),
    ]
    assert len(cluster_regions(sets)) == 2
    items = [
        Item(key="i", media=Media(kind="image", width=50, height=50), annotation_sets=list(THREE))
    ]
    out = list(with_consensus(iter(items)))
    assert [s.kind for s in out[0].annotation_sets] == ["human", "human", "human", "consensus"]


def test_keypoint_present_only_in_a_member_of_weight_zero_is_kept_not_a_crash():
    from bridge.qa.fusion import fuse_shapes
    from bridge.schema import Keypoint, Points

    zero = Points(points=[Keypoint(x=0, y=0, label="nose"), Keypoint(x=2, y=6, label="eye")])
    one = Points(points=[Keypoint(x=4, y=4, label="nose")])
    fused = fuse_shapes([zero, one], [0.0, 1.0])
    # nose: weights 0 and 1 give the second member's point; eye: only the weight-0 member
    # has it, so it is that member's point (equal weights), not a division by zero
    assert [(p.label, p.x, p.y) for p in fused.points] == [("nose", 4, 4), ("eye", 2, 6)]
