"""Label Studio -> CVAT names what CVAT cannot hold (region scores, reviews, lead_time,
annotation status, prediction scores) with counts, and no CVAT writer writes an empty or
missing label name: such shapes are reported and skipped. Counts come from the Label
Studio JSON (a real export) or from the items built here, not from our reader."""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import respx
from bridge_cvat.convert import report_set_extras
from bridge_cvat.xml_write import write_cvat_xml

from bridge.api import convert
from bridge.formats import Dataset
from bridge.losses import LossReport
from bridge.schema import (
    AnnotationSet,
    BBox,
    Item,
    Keyframe,
    Keypoint,
    Media,
    Project,
    Region,
    Skeleton,
    Tag,
    Track,
)
from tests.cvat.test_cvat_api_pull import install_server
from tests.cvat.test_cvat_api_push import connector, install_new_task, sent_json

REAL = Path(__file__).parent.parent / "fixtures" / "labelstudio" / "real_image_boxes.json"


def written_annotations(tasks: list[dict]) -> list[dict]:
    """The Label Studio annotation CVAT gets for each task: the first one (CVAT keeps one
    annotation set per image; the others are reported as extra sets)."""
    return [task["annotations"][0] for task in tasks if task.get("annotations")]


def test_labelstudio_to_cvat_reports_lead_time_and_status_of_a_real_export(tmp_path):
    tasks = json.loads(REAL.read_text())
    losses = convert(REAL, tmp_path / "out.xml", to_format="cvat")
    written = written_annotations(tasks)
    assert losses.count("cvat.lead_time") == sum(a.get("lead_time") is not None for a in written)
    assert losses.count("cvat.lead_time") == 2
    assert losses.count("cvat.status") == len(written)  # every Label Studio annotation has one


def test_labelstudio_prediction_scores_and_reviews_are_reported(tmp_path):
    tasks = json.loads(REAL.read_text())
    variant = copy.deepcopy(tasks)
    variant[0]["annotations"] = []  # the prediction is what CVAT gets for the first image
    reviews = [
        {"created_by": {"id": 9, "email": "rev@example.com"}, "accepted": True},
        {
            "created_by": {"id": 9, "email": "rev@example.com"},
            "accepted": False,
            "comment": "box too loose",
        },
    ]
    variant[1]["annotations"][0]["reviews"] = reviews
    (tmp_path / "variant.json").write_text(json.dumps(variant))
    losses = convert(tmp_path / "variant.json", tmp_path / "out.xml", to_format="cvat")
    prediction = variant[0]["predictions"][0]
    scored = [r for r in prediction["result"] if r.get("score") is not None]
    assert losses.count("cvat.score") == len(scored) == 1
    assert losses.count("cvat.prediction_info") == 1  # its score 0.88 and model version
    assert losses.count("cvat.review") == len(reviews)
    boxes = ET.parse(tmp_path / "out.xml").getroot().findall("image/box")
    assert boxes and all("score" not in box.attrib for box in boxes)


def test_cvat_rest_keeps_shape_scores_but_reports_tag_and_track_scores():
    aset = AnnotationSet(
        id="s",
        regions=[
            Region(id="a", label="car", score=0.5, shape=BBox(x=0, y=0, width=1, height=1)),
            Region(id="b", label="weather", score=0.7, shape=Tag()),
        ],
        tracks=[
            Track(
                id="t",
                label="car",
                score=0.9,
                keyframes=[Keyframe(frame=0, shape=BBox(x=0, y=0, width=1, height=1))],
            )
        ],
    )
    rest, xml = LossReport(), LossReport()
    report_set_extras(aset, rest, "x", shape_scores=True, status=True)
    report_set_extras(aset, xml, "x", shape_scores=False, status=False)
    assert rest.count("cvat.score") == 2  # the tag's and the track's
    assert xml.count("cvat.score") == 3


def unlabeled_item() -> Item:
    regions = [
        Region(id="1", label="", shape=BBox(x=0, y=0, width=2, height=2)),
        Region(id="2", label=None, shape=BBox(x=1, y=1, width=2, height=2)),
        Region(id="3", label="", shape=Tag()),
        Region(id="4", label="car", shape=BBox(x=2, y=2, width=2, height=2)),
        Region(
            id="5",
            label="person",
            shape=Skeleton(points=[Keypoint(x=1, y=1, label="head"), Keypoint(x=2, y=2, label="")]),
        ),
    ]
    return Item(
        key="a.jpg",
        media=Media(kind="image", uri="https://x.example.com/a.jpg", width=8, height=8),
        annotation_sets=[AnnotationSet(id="s", regions=regions)],
    )


def test_cvat_xml_writer_never_writes_an_empty_label_name(tmp_path):
    losses = LossReport()
    write_cvat_xml(
        Dataset(project=Project(name="p"), items=[unlabeled_item()]), tmp_path / "out.xml", losses
    )
    root = ET.parse(tmp_path / "out.xml").getroot()
    labels = [e.get("label") for e in root.iter() if "label" in e.attrib]
    assert labels == ["car", "person", "head"]
    assert losses.count("cvat.unlabeled_region") == 4  # box "", box None, tag "", point ""
    assert "" not in [n.text for n in root.iter("name")]


@respx.mock
def test_cvat_rest_push_never_sends_an_unlabeled_shape():
    install_server(respx.mock)
    routes = install_new_task(respx.mock, 77, "request_finished.json")
    item = unlabeled_item()
    item.annotation_sets[0].regions = item.annotation_sets[0].regions[:4]
    others = [
        Item(
            key=f"{n}.jpg",
            media=Media(kind="image", uri=f"https://x.example.com/{n}.jpg", width=8, height=8),
        )
        for n in (1, 2)
    ]
    losses = LossReport()
    connector("cvat://cvat.example.com/tasks/new").write(
        Dataset(project=Project(name="p"), items=[item, *others]), losses
    )
    body = sent_json(routes["put"].calls.last)
    assert len(body["shapes"]) == 1 and not body["tags"]
    assert losses.count("cvat.unlabeled_region") == 3


@pytest.mark.parametrize("label", ["", None])
def test_cvat_writer_skips_an_unlabeled_track(tmp_path, label):
    track = Track(
        id="1",
        label=label,
        keyframes=[
            Keyframe(frame=0, shape=BBox(x=0, y=0, width=1, height=1)),
            Keyframe(frame=3, shape=BBox(x=0, y=0, width=1, height=1), outside=True),
        ],
    )
    video = Item(
        key="v.mp4",
        media=Media(kind="video", uri="v.mp4", width=8, height=8),
        annotation_sets=[AnnotationSet(id="s", tracks=[track])],
    )
    losses = LossReport()
    write_cvat_xml(Dataset(project=Project(name="p"), items=[video]), tmp_path / "v.xml", losses)
    assert ET.parse(tmp_path / "v.xml").getroot().findall("track") == []
    assert losses.count("cvat.unlabeled_region") == 1


def test_cvat_writer_leaves_unnamed_label_classes_out_of_the_meta(tmp_path):
    from bridge.schema import LabelClass, Ontology

    project = Project(
        name="p", ontology=Ontology(labels=[LabelClass(name=""), LabelClass(name="car")])
    )
    losses = LossReport()
    write_cvat_xml(Dataset(project=project, items=[unlabeled_item()]), tmp_path / "out.xml", losses)
    names = [n.text for n in ET.parse(tmp_path / "out.xml").getroot().iter("name")]
    assert "car" in names and "" not in names and None not in names
    assert losses.count("cvat.unnamed_label") == 1
