"""The YOLO layouts written and read, checked by hand and by supervision's YOLO loader."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import supervision as sv
import yaml
from PIL import Image

from bridge import api
from bridge.errors import ConfigError
from bridge.formats import Dataset
from bridge.losses import LossReport
from bridge.schema import (
    AnnotationSet,
    BBox,
    Item,
    Keyframe,
    Keypoint,
    LabelClass,
    Media,
    Ontology,
    Polygon,
    Project,
    Region,
    Relation,
    Skeleton,
    Track,
)

W, H = 64, 48


def _png(path, width=W, height=H):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (width, height), (40, 80, 120)).save(path)
    return path


def _item(tmp_path, key, regions, subset=None, sets=None, image=True):
    uri = str(_png(tmp_path / "src" / f"{key}.png")) if image else f"https://example.com/{key}.png"
    media = Media(kind="image", uri=uri, width=W, height=H)
    sets = sets or [AnnotationSet(id="a", regions=regions)]
    return Item(key=key, media=media, subset=subset, annotation_sets=sets)


def _write(tmp_path, items, labels, name="out", **options):
    ontology = Ontology(
        labels=[c if isinstance(c, LabelClass) else LabelClass(name=c) for c in labels]
    )
    dataset = Dataset(
        project=Project(name="p", ontology=ontology), items=iter(items), ontology_final=True
    )
    losses = LossReport()
    out = tmp_path / name
    api.write_dataset(dataset, out, "yolo", losses, **options)
    return out, losses


def _lines(path):
    return [[float(v) for v in line.split()] for line in path.read_text().splitlines()]


def test_detect_layout_by_hand_and_through_supervision(tmp_path):
    items = [
        _item(
            tmp_path,
            "a",
            [Region(id="1", label="dog", shape=BBox(x=8, y=12, width=16, height=24))],
            subset="train",
        ),
        _item(
            tmp_path,
            "b",
            [Region(id="1", label="cat", shape=BBox(x=0, y=0, width=32, height=48))],
            subset="val",
        ),
    ]
    out, losses = _write(tmp_path, items, ["cat", "dog"], copy_images="true")
    data = yaml.safe_load((out / "data.yaml").read_text())
    assert data["names"] == {0: "cat", 1: "dog"}
    assert data["train"] == "images/train" and data["val"] == "images/val"
    # dog: centre (16, 24) of 64 x 48 -> (0.25, 0.5); size 16 x 24 -> (0.25, 0.5)
    assert _lines(out / "labels/train/a.txt") == [[1, 0.25, 0.5, 0.25, 0.5]]
    assert _lines(out / "labels/val/b.txt") == [[0, 0.25, 0.5, 0.5, 1.0]]
    assert (out / "images/train/a.png").is_file()
    assert not losses
    loaded = sv.DetectionDataset.from_yolo(
        images_directory_path=str(out / "images/train"),
        annotations_directory_path=str(out / "labels/train"),
        data_yaml_path=str(out / "data.yaml"),
    )
    assert loaded.classes == ["cat", "dog"]
    _, _, detections = loaded[0]
    assert detections.class_id.tolist() == [1]
    assert np.allclose(detections.xyxy, [[8, 12, 24, 36]])


def test_segment_layout_through_supervision_and_back(tmp_path):
    triangle = Polygon(points=[(8, 8), (40, 8), (8, 40)])
    box = BBox(x=32, y=16, width=16, height=16)
    regions = [
        Region(id="1", label="leaf", shape=triangle),
        Region(id="2", label="leaf", shape=box),
    ]
    out, _ = _write(
        tmp_path, [_item(tmp_path, "a", regions)], ["leaf"], task="segment", copy_images="true"
    )
    expected = [0, 0.125, 8 / 48, 0.625, 8 / 48, 0.125, 40 / 48]
    assert _lines(out / "labels/train/a.txt")[0] == pytest.approx(expected, abs=5e-7)
    loaded = sv.DetectionDataset.from_yolo(
        images_directory_path=str(out / "images/train"),
        annotations_directory_path=str(out / "labels/train"),
        data_yaml_path=str(out / "data.yaml"),
        force_masks=True,
    )
    _, _, detections = loaded[0]
    assert np.allclose(detections.xyxy, [[8, 8, 40, 40], [32, 16, 48, 32]], atol=1)
    assert detections.mask.shape == (2, H, W)
    back = list(api.open_dataset(out / "data.yaml").items)
    shapes = [r.shape for r in back[0].annotation_sets[0].regions]
    flat = [c for point in shapes[0].points for c in point]
    assert flat == pytest.approx([8, 8, 40, 8, 8, 40], abs=1e-3)
    flat = [c for point in shapes[1].points for c in point]
    assert flat == pytest.approx([32, 16, 48, 16, 48, 32, 32, 32], abs=1e-3)
    assert back[0].media.width == W and back[0].subset == "train"


def test_obb_corners_and_back(tmp_path):
    # a 20 x 10 box centred on (32, 24), turned 90 degrees clockwise
    box = BBox(x=22, y=19, width=20, height=10, rotation=90)
    out, _ = _write(
        tmp_path,
        [_item(tmp_path, "a", [Region(id="1", label="ship", shape=box)])],
        ["ship"],
        task="obb",
        copy_images="true",
    )
    values = _lines(out / "labels/train/a.txt")[0]
    # corners top-left, top-right, bottom-right, bottom-left of the unrotated box, turned:
    # (-10,-5)->(5,-10), (10,-5)->(5,10), (10,5)->(-5,10), (-10,5)->(-5,-10) about (32, 24)
    expected = [(37, 14), (37, 34), (27, 34), (27, 14)]
    assert values[0] == 0
    assert values[1:] == pytest.approx(
        [c / s for x, y in expected for c, s in ((x, W), (y, H))], abs=1e-6
    )
    back = list(api.open_dataset(out / "data.yaml").items)[0].annotation_sets[0].regions[0].shape
    assert (back.x, back.y, back.width, back.height, back.rotation) == pytest.approx(
        (22, 19, 20, 10, 90), abs=1e-3
    )


def test_pose_layout_with_the_ontology_keypoints(tmp_path):
    labels = [
        LabelClass(name="hand", kinds=["skeleton"]),
        LabelClass(name="thumb", parent="hand"),
        LabelClass(name="index", parent="hand"),
        LabelClass(name="wrist", parent="hand"),
    ]
    skeleton = Skeleton(
        points=[
            Keypoint(x=16, y=12, label="wrist"),
            Keypoint(x=48, y=36, label="thumb", visibility="occluded"),
        ]
    )
    region = Region(id="1", label="hand", shape=skeleton)
    out, _ = _write(tmp_path, [_item(tmp_path, "a", [region])], labels, copy_images="true")
    data = yaml.safe_load((out / "data.yaml").read_text())
    assert data["kpt_shape"] == [3, 3] and data["names"] == {0: "hand"} and data["task"] == "pose"
    # box around the labeled points: x 16..48, y 12..36 -> centre (32, 24), size 32 x 24
    assert _lines(out / "labels/train/a.txt") == [
        [0, 0.5, 0.5, 0.5, 0.5, 0.75, 0.75, 1, 0, 0, 0, 0.25, 0.25, 2]
    ]
    back = list(api.open_dataset(out / "data.yaml", "yolo").items)[0].annotation_sets[0].regions
    assert [r.shape.type for r in back] == ["bbox", "skeleton"]
    points = {p.label: (p.x, p.y, p.visibility) for p in back[1].shape.points}
    assert points["wrist"][:2] == pytest.approx((16, 12)) and points["wrist"][2] == "visible"
    assert points["thumb"][2] == "occluded" and points["index"][2] == "absent"


def test_task_follows_the_shapes_when_the_ontology_has_no_kinds(tmp_path):
    polygon = Region(id="1", label="a", shape=Polygon(points=[(0, 0), (10, 0), (0, 10)]))
    out, _ = _write(tmp_path, [_item(tmp_path, "a", [polygon])], ["a"])
    assert yaml.safe_load((out / "data.yaml").read_text())["task"] == "segment"
    rotated = Region(id="1", label="a", shape=BBox(x=0, y=0, width=4, height=2, rotation=30))
    out, _ = _write(tmp_path, [_item(tmp_path, "b", [rotated])], ["a"], name="out2")
    assert yaml.safe_load((out / "data.yaml").read_text())["task"] == "obb"


def test_what_yolo_cannot_hold_is_reported(tmp_path):
    aset = AnnotationSet(
        id="a",
        regions=[
            Region(id="1", label="a", shape=BBox(x=0, y=0, width=4, height=4)),
            Region(id="2", label="a", shape=BBox(x=8, y=8, width=4, height=4, rotation=45)),
        ],
        relations=[Relation(from_id="1", to_id="2")],
        tracks=[Track(id="t", keyframes=[Keyframe(frame=0)])],
    )
    items = [_item(tmp_path, "a", [], sets=[aset]), _item(tmp_path, "r", [], image=False)]
    out, losses = _write(tmp_path, items, ["a"], task="detect", copy_images="true")
    for code in (
        "yolo.relations-dropped",
        "yolo.tracks-dropped",
        "yolo.rotation-dropped",
        "yolo.image-not-copied",
    ):
        assert losses.count(code) == 1, code
    assert len(_lines(out / "labels/train/a.txt")) == 2


def test_bad_task_option_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError):
        _write(tmp_path, [], ["a"], task="classify")


NASTY = [
    "../../escape",
    "/etc/passwd",
    "a\x00b",
    "..",
    ".hidden",
    "sub/dir/../../../x",
    "C:\\windows\\system32",
    "name with spaces & ünïcode",
    "\n\t",
]


@pytest.mark.parametrize("key", NASTY)
def test_item_names_never_write_outside_the_output(tmp_path, key):
    region = Region(id="1", label="a", shape=BBox(x=0, y=0, width=4, height=4))
    item = Item(
        key=key,
        media=Media(kind="image", uri=key if "\x00" not in key else None, width=W, height=H),
        subset=key,
        annotation_sets=[AnnotationSet(id="a", regions=[region])],
    )
    (tmp_path / "work").mkdir()
    out, _ = _write(tmp_path / "work", [item], ["a"])
    everything = [p for p in (tmp_path).rglob("*")]
    outside = [
        p for p in everything if out not in p.parents and p != out and p != tmp_path / "work"
    ]
    assert outside == []
    labels = list((out / "labels").rglob("*.txt"))
    assert len(labels) == 1 and labels[0].parent.parent == out / "labels"
    assert _lines(labels[0])[0] == pytest.approx([0, 2 / W, 2 / H, 4 / W, 4 / H], abs=5e-7)


def test_a_symlink_at_the_output_is_not_followed(tmp_path):
    target = tmp_path / "elsewhere"
    target.mkdir()
    link = tmp_path / "out"
    link.symlink_to(target)
    with pytest.raises(ConfigError, match="symbolic link"):
        _write(tmp_path, [_item(tmp_path, "a", [])], ["a"])
    assert list(target.iterdir()) == []


def test_a_non_empty_output_needs_overwrite(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not empty"):
        _write(tmp_path, [_item(tmp_path, "a", [])], ["a"])
    assert (out / "keep.txt").read_text() == "mine"
    _write(tmp_path, [_item(tmp_path, "a", [])], ["a"], overwrite="true")
    assert not (out / "keep.txt").exists() and (out / "data.yaml").is_file()
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_a_failed_write_leaves_nothing(tmp_path):
    def broken():
        yield _item(tmp_path, "a", [])
        raise RuntimeError("source broke")

    dataset = Dataset(
        project=Project(name="p", ontology=Ontology(labels=[LabelClass(name="a")])), items=broken()
    )
    with pytest.raises(RuntimeError):
        api.write_dataset(dataset, tmp_path / "out", "yolo", LossReport())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src"]


def test_coco_to_yolo_detect_matches_the_coco_boxes(tmp_path):
    source = Path(__file__).resolve().parents[1] / "fixtures/coco/instances_val2017_subset.json"
    out = tmp_path / "yolo"
    api.convert(source, out, to_format="yolo", task="detect")
    data = json.loads(source.read_text())
    image = data["images"][0]
    expected = sorted(
        [
            [
                a["bbox"][0] + a["bbox"][2] / 2,
                a["bbox"][1] + a["bbox"][3] / 2,
                a["bbox"][2],
                a["bbox"][3],
            ]
            for a in data["annotations"]
            if a["image_id"] == image["id"]
        ]
    )
    stem = image["file_name"].rsplit(".", 1)[0]
    got = sorted(
        [
            v[1] * image["width"],
            v[2] * image["height"],
            v[3] * image["width"],
            v[4] * image["height"],
        ]
        for v in _lines(out / "labels/train" / f"{stem}.txt")
    )
    # COCO's bbox is written as read only for boxes; polygons give their own bounds, which
    # real COCO rounds to 2 decimals
    assert len(got) == len(expected)
    for mine, theirs in zip(got, expected, strict=True):
        assert mine == pytest.approx(theirs, abs=0.05)
    assert math.isclose(len(yaml.safe_load((out / "data.yaml").read_text())["names"]), 80)


def test_labels_without_images_read_in_percent_until_given_a_size(tmp_path):
    region = Region(id="1", label="a", shape=BBox(x=8, y=12, width=16, height=24))
    out, _ = _write(tmp_path, [_item(tmp_path, "a", [region])], ["a"])
    assert not (out / "images").exists()
    losses = LossReport()
    box = (
        list(api.open_dataset(out / "data.yaml", "yolo", losses).items)[0]
        .annotation_sets[0]
        .regions[0]
        .shape
    )
    assert box.units == "percent" and (box.x, box.y, box.width, box.height) == pytest.approx(
        (12.5, 25, 25, 50)
    )
    assert losses.count("size-unknown") == 1
    sized = list(api.open_dataset(out / "data.yaml", "yolo", media_size="64x48").items)
    box = sized[0].annotation_sets[0].regions[0].shape
    assert box.units == "px" and (box.x, box.y, box.width, box.height) == pytest.approx(
        (8, 12, 16, 24)
    )


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("cat 0.1 0.2 0.3 0.4", "not a YOLO label line"),
        ("5 0.1 0.2 0.3 0.4", "not in data.yaml"),
        ("0 0.1 0.2 0.3", "polygon needs 3 points"),
        ("0 0.1 0.2 nan 0.4", "not a YOLO label line"),
        ("0 0.1 0.2 0.3 -0.4", "height"),
    ],
)
def test_bad_label_lines_are_format_errors_with_their_place(tmp_path, line, problem):
    from bridge.errors import FormatError

    (tmp_path / "labels" / "train").mkdir(parents=True)
    (tmp_path / "labels" / "train" / "a.txt").write_text(f"0 0.5 0.5 0.2 0.2\n{line}\n")
    (tmp_path / "data.yaml").write_text("train: images/train\nnames: {0: a}\n")
    with pytest.raises(FormatError) as caught:
        list(api.open_dataset(tmp_path / "data.yaml", "yolo").items)
    assert caught.value.where.endswith("a.txt:2")
    assert problem in str(caught.value)
