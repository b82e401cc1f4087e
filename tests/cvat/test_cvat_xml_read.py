"""Reading CVAT XML: every element of the real exports arrives, with the right values.

Expected counts come from a plain ElementTree walk of each file (independent of the
streaming reader); expected values were read off the XML by hand."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from bridge_cvat.xml_read import read_cvat_xml

from bridge.api import open_dataset
from bridge.geometry import rle_to_bitmap
from bridge.losses import LossReport
from bridge.schema import BBox, Cuboid, Ellipse, Mask, Skeleton, Tag

FIXTURES = Path(__file__).parent.parent / "fixtures" / "cvat"
ALL_FILES = sorted(p.name for p in FIXTURES.glob("*.xml"))
SHAPE_TAGS = {"box", "polygon", "polyline", "points", "ellipse", "cuboid", "mask", "skeleton"}


def read(name: str):
    losses = LossReport()
    dataset = read_cvat_xml(FIXTURES / name, losses)
    items = list(dataset.items)
    return dataset.project, items, losses


def xml_counts(path: Path) -> dict[str, int]:
    """Shapes, tags, attribute values, tracks, tracked shapes and skeleton points, counted
    with ElementTree."""
    root = ET.parse(path).getroot()
    counts = dict.fromkeys(
        ["images", "shapes", "tags", "shape_attributes", "tracks", "tracked", "points"], 0
    )
    for image in root.iter("image"):
        counts["images"] += 1
        for child in image:
            kind = "tags" if child.tag == "tag" else "shapes"
            counts[kind] += 1
            counts["shape_attributes"] += len(child.findall("attribute"))
            for element in child:
                if element.tag in SHAPE_TAGS:
                    counts["points"] += 1
                    counts["shape_attributes"] += len(element.findall("attribute"))
    for track in root.findall("track"):
        counts["tracks"] += 1
        for shape in track:
            if shape.tag in SHAPE_TAGS:
                counts["tracked"] += 1
                counts["points"] += sum(1 for e in shape if e.tag in SHAPE_TAGS)
            elif shape.tag == "track":
                counts["points"] += len(list(shape))
    return counts


def unified_counts(items) -> dict[str, int]:
    counts = dict.fromkeys(
        ["images", "shapes", "tags", "shape_attributes", "tracks", "tracked", "points"], 0
    )
    for item in items:
        counts["images"] += item.media.kind == "image"
        for aset in item.annotation_sets:
            for region in aset.regions:
                counts["tags" if isinstance(region.shape, Tag) else "shapes"] += 1
                counts["shape_attributes"] += len(region.classifications)
                if isinstance(region.shape, Skeleton):
                    counts["points"] += len(region.shape.points)
                    counts["shape_attributes"] += sum(
                        len(p.classifications) for p in region.shape.points
                    )
            for track in aset.tracks:
                counts["tracks"] += 1
                for keyframe in track.keyframes:
                    if not keyframe.extra.get("cvat_no_skeleton_shape"):
                        counts["tracked"] += 1
                    if isinstance(keyframe.shape, Skeleton):
                        counts["points"] += len(keyframe.shape.points)
    return counts


@pytest.mark.parametrize("name", ALL_FILES)
def test_cvat_every_element_is_read(name):
    _, items, _ = read(name)
    assert unified_counts(items) == xml_counts(FIXTURES / name)


@pytest.mark.parametrize("name", ALL_FILES)
def test_cvat_every_label_and_attribute_spec_is_read(name):
    root = ET.parse(FIXTURES / name).getroot()
    project, _, _ = read(name)
    xml_labels = root.findall("meta//labels/label")
    assert [label.findtext("name") for label in xml_labels] == [
        label.name for label in project.ontology.labels
    ]
    for xml_label, label in zip(xml_labels, project.ontology.labels, strict=True):
        specs = xml_label.findall("attributes/attribute")
        assert [a.findtext("name") for a in specs] == [spec.name for spec in label.attributes]
        assert [a.findtext("input_type") for a in specs] == [
            spec.input for spec in label.attributes
        ]
        assert [(a.findtext("mutable") or "False").lower() == "true" for a in specs] == [
            spec.mutable for spec in label.attributes
        ]
        assert label.parent == xml_label.findtext("parent")


@pytest.mark.parametrize("name", ALL_FILES)
def test_cvat_every_tracked_attribute_is_read(name):
    root = ET.parse(FIXTURES / name).getroot()
    _, items, _ = read(name)
    tracks = [t for item in items for s in item.annotation_sets for t in s.tracks]
    for xml_track in root.findall("track"):
        track = next(
            t for t in tracks if t.id == xml_track.get("id") and t.label == xml_track.get("label")
        )
        shapes = [s for s in xml_track if s.tag in SHAPE_TAGS]
        for xml_shape, keyframe in zip(shapes, track.keyframes, strict=True):
            expected = {a.get("name"): a.text or "" for a in xml_shape.findall("attribute")}
            got = {
                c.name: c.answers[0].value for c in keyframe.classifications + track.classifications
            }
            assert {
                k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in got.items()
            } == expected
            assert keyframe.frame == int(xml_shape.get("frame"))
            assert keyframe.outside == (xml_shape.get("outside") == "1")
            assert keyframe.keyframe == (xml_shape.get("keyframe") == "1")


def test_cvat_project_export_keeps_subsets_tasks_and_typed_attributes():
    project, items, losses = read("for_images_export_project.xml")
    assert project.name == "test"
    assert [i.key for i in items] == [
        f"{s}/img{n}.jpg" for s in ("Test", "Train", "Validation") for n in (0, 1)
    ]
    assert [i.subset for i in items][::2] == ["Test", "Train", "Validation"]
    box = items[2].annotation_sets[0].regions[0]
    assert box.label == "label1" and box.occluded and box.z_order == 1
    assert (box.shape.x, box.shape.y, box.shape.width, box.shape.height) == (0, 2, 4, 2)
    values = {c.name: c.answers[0].value for c in box.classifications}
    assert values == {"a1": True, "a2": "v3", "a3": "0003", "a4": 2.4}
    spec = {s.name: s for s in project.ontology.labels[0].attributes}
    assert [o.value for o in spec["a2"].options] == ["v1", "v2", "v3"] and spec[
        "a2"
    ].input == "radio"
    assert (spec["a4"].min, spec["a4"].max, spec["a4"].step) == (2.4, 1.0, -5.6)
    assert not losses


def test_cvat_empty_label_is_read_as_no_label():
    _, items, _ = read("for_images_export_task_train.xml")
    polyline = items[0].annotation_sets[0].regions[1]
    assert polyline.label is None and polyline.shape.type == "polyline"


def test_cvat_video_keeps_original_frame_numbers_and_outside():
    project, items, _ = read("for_video.xml")
    assert project.media_kind == "video" and len(items) == 1
    video = items[0]
    assert (video.key, video.media.width, video.media.height, video.media.frame_count) == (
        "t.mp4",
        25,
        20,
        4,
    )
    assert video.extra["cvat_frame_step"] == 3
    tracks = video.annotation_sets[0].tracks
    assert [t.id for t in tracks] == ["0", "1", "2"]
    box = tracks[0]
    assert [(k.frame, k.outside, k.occluded) for k in box.keyframes] == [
        (10, False, True),
        (13, True, False),
        (16, True, False),
    ]
    assert [k.classifications[0].answers[0].value for k in tracks[1].keyframes] == ["hgkf", "jk"]
    assert tracks[1].classifications == []  # hgl is mutable: it lives on keyframes


def test_cvat_old_skeleton_track_layout_is_read_per_point():
    project, items, _ = read("for_video_with_skeleton.xml")
    skeleton = items[0].annotation_sets[0].tracks[3]
    assert skeleton.label == "skeleton" and skeleton.extra["cvat_layout"] == "nested_tracks"
    frame13 = next(k for k in skeleton.keyframes if k.frame == 13)
    by_label = {p.label: p for p in frame13.shape.points}
    assert by_label["3"].visibility == "absent" and by_label["3"].extra["keyframe"] is True
    assert by_label["1"].extra["keyframe"] is False and (by_label["1"].x, by_label["1"].y) == (
        48.8,
        111.77,
    )
    assert frame13.keyframe is False
    labels = {label.name: label for label in project.ontology.labels}
    assert labels["skeleton"].edges == [("3", "2"), ("1", "4")]
    assert [label.name for label in project.ontology.labels if label.parent == "skeleton"] == [
        "1",
        "2",
        "3",
        "4",
    ]


def test_cvat_all_image_shapes_have_hand_checked_geometry():
    _, items, losses = read("all_shapes_images.xml")
    regions = {r.label: r for r in items[0].annotation_sets[0].regions}
    box = regions["car"]
    assert isinstance(box.shape, BBox)
    assert (box.shape.x, box.shape.y, box.shape.width, box.shape.height, box.shape.rotation) == (
        1.25,
        2.5,
        6.5,
        3.5,
        30,
    )
    assert (
        box.group == "7" and box.extra["source"] == "manual" and box.z_order == 3 and box.occluded
    )
    assert {c.name: c.answers[0].value for c in box.classifications} == {
        "parked": True,
        "color": "dark green",
        "doors": 4,
        "plate": 'AB <12> "x"',
        "view": "side",
    }
    ellipse = regions["wheel"].shape
    assert isinstance(ellipse, Ellipse) and (
        ellipse.cx,
        ellipse.cy,
        ellipse.rx,
        ellipse.ry,
        ellipse.rotation,
    ) == (3, 6, 1.5, 0.75, 15.5)
    cuboid = regions["truck"].shape
    assert (
        isinstance(cuboid, Cuboid) and cuboid.points[0] == (1, 1) and cuboid.points[7] == (4, 2.5)
    )
    mask = regions["sky"].shape
    assert isinstance(mask, Mask)
    expected = np.zeros((8, 10), bool)
    for x, y in [(3, 1), (4, 1), (5, 1), (4, 2), (5, 2)]:
        expected[y, x] = True
    assert np.array_equal(rle_to_bitmap(mask.rle), expected)
    skeleton = regions["person"].shape
    assert [(p.label, p.visibility) for p in skeleton.points] == [
        ("head", "occluded"),
        ("foot", "absent"),
    ]
    assert skeleton.points[0].classifications[0].answers[0].value is False
    tag = regions["night"]
    assert isinstance(tag.shape, Tag) and tag.classifications[0].answers[0].value is True
    assert items[0].key == "street/a & b.jpg"
    assert items[0].annotation_sets[0].annotator.email == "alice@example.com"
    assert (
        items[2].annotation_sets[0].annotator.email == "bob@example.com"
    )  # frame 2 is in job 102 only
    assert items[2].annotation_sets[0].regions == []
    assert not losses


def test_cvat_video_tracks_split_mutable_and_immutable_attributes():
    _, items, _ = read("all_shapes_video.xml")
    car = items[0].annotation_sets[0].tracks[0]
    assert [c.name for c in car.classifications] == ["model"] and car.classifications[0].answers[
        0
    ].value == "sedan"
    assert [k.classifications[0].answers[0].value for k in car.keyframes] == [
        False,
        False,
        True,
        True,
        False,
    ]
    assert [k.keyframe for k in car.keyframes] == [True, False, True, True, True]
    assert [k.shape.rotation for k in car.keyframes] == [45, 40, 35, 35, 0]
    assert car.group == "5" and items[0].annotation_sets[0].annotator.name == "carol"
    person = items[0].annotation_sets[0].tracks[3]
    last = person.keyframes[1]
    assert [(p.label, p.visibility, p.extra["keyframe"]) for p in last.shape.points] == [
        ("head", "absent", True),
        ("foot", "visible", False),
    ]


def test_cvat_video_project_gives_one_item_per_task():
    project, items, _ = read("video_project.xml")
    assert [(i.key, i.subset, i.media.width) for i in items] == [
        ("21/clip a", "train", 32),
        ("22/clip b", "val", 40),
    ]
    assert [[t.id for t in i.annotation_sets[0].tracks] for i in items] == [["0", "2"], ["1"]]
    assert items[0].annotation_sets[0].annotator.name == "dave"
    assert items[1].annotation_sets[0].annotator is None


def test_cvat_format_is_detected_for_convert():
    dataset = open_dataset(FIXTURES / "for_video.xml")
    assert dataset.meta["format"] == "cvat"
