"""CVAT XML -> unified -> CVAT XML is semantically identical (see cvat_xml_canon for what
"semantically" forgives), directly and through the unified JSONL file; and what a CVAT
file cannot hold from other tools is reported, not dropped silently."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from bridge_cvat.xml_read import read_cvat_xml
from bridge_cvat.xml_write import write_cvat_xml

from bridge.api import convert
from bridge.formats import Dataset
from bridge.losses import LossReport
from bridge.schema import (
    AnnotationSet,
    BBox,
    Classification,
    Item,
    Keyframe,
    Media,
    Project,
    Region,
    Span,
    Track,
)
from tests.cvat.cvat_xml_canon import canonical_file, first_difference

FIXTURES = Path(__file__).parent.parent / "fixtures" / "cvat"
ALL_FILES = sorted(p.name for p in FIXTURES.glob("*.xml"))


def assert_same_cvat(a: Path, b: Path) -> None:
    left, right = canonical_file(a), canonical_file(b)
    assert left == right, first_difference(left, right)


def without_unlabeled(source: Path, tmp_path: Path) -> tuple[Path, int]:
    """`source` without its `label=""` shapes (Datumaro's test files have some; CVAT
    needs a label, so the writer reports and skips them), and how many there were."""
    tree = ET.parse(source)
    count = 0
    for parent in tree.getroot().iter():
        for element in list(parent):
            if element.tag not in ("meta", "attribute") and element.get("label") == "":
                parent.remove(element)
                count += 1
    expected = tmp_path / f"expected-{source.name}"
    tree.write(expected, encoding="utf-8")
    return expected, count


@pytest.mark.parametrize("name", ALL_FILES)
def test_cvat_xml_round_trip_is_semantically_identical(name, tmp_path):
    losses = LossReport()
    write_cvat_xml(read_cvat_xml(FIXTURES / name, losses), tmp_path / name, losses)
    expected, unlabeled = without_unlabeled(FIXTURES / name, tmp_path)
    assert_same_cvat(expected, tmp_path / name)
    assert losses.count("cvat.unlabeled_region") == unlabeled
    assert {loss["code"] for loss in losses.as_dict()} <= {"cvat.unlabeled_region"}, (
        losses.as_dict()
    )


@pytest.mark.parametrize("name", ALL_FILES)
def test_cvat_round_trip_through_unified_jsonl_file(name, tmp_path):
    assert not convert(FIXTURES / name, tmp_path / "unified.jsonl")
    back = convert(tmp_path / "unified.jsonl", tmp_path / name, to_format="cvat")
    expected, unlabeled = without_unlabeled(FIXTURES / name, tmp_path)
    assert_same_cvat(expected, tmp_path / name)
    assert back.count("cvat.unlabeled_region") == unlabeled


def test_canonical_form_notices_a_changed_coordinate(tmp_path):
    """Guard for the comparison itself: a 0.01 px change is not 'semantically identical'."""
    text = (FIXTURES / "for_video.xml").read_text().replace('xtl="3.00"', 'xtl="3.01"')
    (tmp_path / "moved.xml").write_text(text)
    assert canonical_file(FIXTURES / "for_video.xml") != canonical_file(tmp_path / "moved.xml")


def _dataset(items, project=None) -> Dataset:
    return Dataset(project=project or Project(name="from elsewhere"), items=items)


def test_cvat_writer_declares_labels_and_attributes_the_ontology_lacks(tmp_path):
    region = Region(
        id="r1",
        label="new_label",
        shape=BBox(x=1, y=2, width=3, height=4, rotation=10),
        classifications=[
            Classification.model_validate({"name": "quality", "answers": [{"value": "good"}]})
        ],
    )
    item = Item(
        key="a.jpg",
        media=Media(kind="image", uri="a.jpg", width=20, height=10),
        annotation_sets=[AnnotationSet(id="s", regions=[region])],
    )
    losses = LossReport()
    write_cvat_xml(_dataset([item]), tmp_path / "out.xml", losses)
    root = ET.parse(tmp_path / "out.xml").getroot()
    label = root.find("meta/task/labels/label")
    assert label.findtext("name") == "new_label" and label.findtext("type") == "rectangle"
    assert label.findtext("attributes/attribute/name") == "quality"
    box = root.find("image/box")
    assert {k: box.get(k) for k in ("xtl", "ytl", "xbr", "ybr", "rotation")} == {
        "xtl": "1",
        "ytl": "2",
        "xbr": "4",
        "ybr": "6",
        "rotation": "10",
    }
    reread = list(read_cvat_xml(tmp_path / "out.xml", LossReport()).items)
    assert reread[0].annotation_sets[0].regions[0].classifications[0].answers[0].value == "good"


def test_cvat_writer_reports_what_cvat_cannot_hold(tmp_path):
    span = Region(id="t", label="PER", shape=Span(start=0, end=4))
    track = Track(
        id="uuid-1",
        label="car",
        keyframes=[
            Keyframe(frame=0, shape=BBox(x=0, y=0, width=2, height=2)),
            Keyframe(frame=5, shape=BBox(x=1, y=1, width=2, height=2), outside=True),
        ],
    )
    one_frame = Region(id="f", label="car", frame=3, shape=BBox(x=0, y=0, width=1, height=1))
    video = Item(
        key="v.mp4",
        media=Media(kind="video", uri="v.mp4", width=10, height=10),
        annotation_sets=[
            AnnotationSet(id="s", tracks=[track], regions=[span, one_frame]),
            AnnotationSet(id="second"),
        ],
    )
    losses = LossReport()
    write_cvat_xml(_dataset([video]), tmp_path / "v.xml", losses)
    assert losses.count("cvat.no_span") == 1
    assert losses.count("cvat.track_id_renumbered") == 2  # "uuid-1" and the one-frame shape
    assert losses.count("cvat.shape_as_track") == 1
    assert losses.count("cvat.extra_annotation_sets") == 1
    tracks = ET.parse(tmp_path / "v.xml").getroot().findall("track")
    assert [[(b.get("frame"), b.get("outside")) for b in t] for t in tracks] == [
        [("0", "0"), ("5", "1")],
        [("3", "0"), ("4", "1")],
    ]
