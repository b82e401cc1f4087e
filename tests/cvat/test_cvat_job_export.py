"""CVAT job exports ("Export job dataset": `<meta><job>`) read as the job's annotation set
and written back as job exports; the sniffer knows CVAT XML behind a prolog."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from bridge_cvat.files import CvatXml, looks_like_cvat_xml
from bridge_cvat.xml_read import read_cvat_xml
from bridge_cvat.xml_write import write_cvat_xml

from bridge.api import convert
from bridge.losses import LossReport
from tests.cvat.cvat_xml_canon import canonical_file, first_difference

FIXTURES = Path(__file__).parent.parent / "fixtures" / "cvat"
IMAGES = FIXTURES / "job_export_images.xml"
VIDEO = FIXTURES / "job_export_video.xml"


def test_cvat_image_job_export_becomes_the_jobs_annotation_set():
    root = ET.parse(IMAGES).getroot()
    job = root.find("meta/job")
    images = root.findall("image")
    items = list(read_cvat_xml(IMAGES, LossReport()).items)
    assert [item.key for item in items] == [image.get("name") for image in images]
    for item, image in zip(items, images, strict=True):
        (aset,) = item.annotation_sets
        assert aset.id == f"job-{job.findtext('id')}"
        assert aset.annotator.name == job.findtext("assignee/username")
        assert aset.annotator.email == job.findtext("assignee/email")
        assert len(aset.regions) == len(image)  # every shape and tag of the image
        assert (item.media.width, item.media.height) == (
            int(image.get("width")),
            int(image.get("height")),
        )


def test_cvat_video_job_export_takes_its_frame_size_from_the_meta():
    root = ET.parse(VIDEO).getroot()
    (item,) = read_cvat_xml(VIDEO, LossReport()).items
    (aset,) = item.annotation_sets
    assert item.media.kind == "video"
    assert (item.media.width, item.media.height) == (1280, 720)  # <meta><original_size>
    assert item.media.frame_count == int(root.findtext("meta/job/size"))
    assert aset.id == "job-306" and aset.annotator.name == "dave"
    (track,) = aset.tracks
    assert [k.frame for k in track.keyframes] == [int(b.get("frame")) for b in root.iter("box")]
    assert [k.outside for k in track.keyframes] == [
        b.get("outside") == "1" for b in root.iter("box")
    ]


@pytest.mark.parametrize("source", [IMAGES, VIDEO], ids=lambda p: p.name)
def test_cvat_job_export_is_written_back_as_a_job_export(source, tmp_path):
    losses = LossReport()
    write_cvat_xml(read_cvat_xml(source, losses), tmp_path / "out.xml", losses)
    assert not losses, losses.as_dict()
    written = ET.parse(tmp_path / "out.xml").getroot()
    assert written.find("meta/job/id").text == ET.parse(source).getroot().findtext("meta/job/id")
    assert written.find("meta/task") is None and written.find("meta/project") is None
    left, right = canonical_file(source), canonical_file(tmp_path / "out.xml")
    assert left == right, first_difference(left, right)


def test_cvat_job_export_survives_the_unified_jsonl_file(tmp_path):
    assert not convert(IMAGES, tmp_path / "job.jsonl")
    assert not convert(tmp_path / "job.jsonl", tmp_path / "job.xml", to_format="cvat")
    assert ET.parse(tmp_path / "job.xml").getroot().findtext("meta/job/id") == "205"
    assert canonical_file(IMAGES) == canonical_file(tmp_path / "job.xml")


def test_cvat_job_stage_and_state_give_the_status_when_a_file_has_them(tmp_path):
    """CVAT's own job meta (bindings.JobData) has no stage/state; a file that adds them
    (a script's export) gets the status `job_status` gives them."""
    text = IMAGES.read_text().replace(
        "      <owner>",
        "      <stage>acceptance</stage>\n      <state>completed</state>\n      <owner>",
        1,
    )
    (tmp_path / "job.xml").write_text(text)
    items = list(read_cvat_xml(tmp_path / "job.xml", LossReport()).items)
    assert {item.annotation_sets[0].status for item in items} == {"accepted"}
    assert items[0].annotation_sets[0].extra == {
        "cvat_stage": "acceptance",
        "cvat_state": "completed",
    }


def test_cvat_meta_without_project_task_or_job_is_refused(tmp_path):
    from bridge.errors import FormatError

    (tmp_path / "x.xml").write_text(
        "<annotations><version>1.1</version><meta><dumped>x</dumped></meta></annotations>"
    )
    with pytest.raises(FormatError, match="neither <project>, <task> nor <job>"):
        read_cvat_xml(tmp_path / "x.xml", LossReport())


PROLOGS = [
    b"<!-- exported by hand -->\n",
    b'<?xml-stylesheet type="text/xsl" href="cvat.xsl"?>\n',
    b"\xef\xbb\xbf  \n",
    b"<!-- one -->\n<?pi two?>\n<!-- three -->",
]


@pytest.mark.parametrize("prolog", PROLOGS)
def test_cvat_xml_is_detected_behind_comments_instructions_and_a_bom(prolog, tmp_path):
    body = IMAGES.read_bytes()
    declaration, rest = body.split(b"\n", 1)
    path = tmp_path / "annotations.xml"
    path.write_bytes(
        prolog + rest if prolog.startswith(b"\xef") else declaration + b"\n" + prolog + rest
    )
    head = path.read_bytes()[:4096]
    assert looks_like_cvat_xml(head)
    assert CvatXml().sniff(path, head)
    assert len(list(read_cvat_xml(path, LossReport()).items)) == 5


@pytest.mark.parametrize(
    "head",
    [
        b"<annotationsX><meta/></annotationsX>",
        b"<!-- <annotations><meta> -->\n<other/>",
        b"<?xml version='1.0'?><annotations>\n<!-- x --><image/></annotations>",
        b'{"annotations": []}',
    ],
)
def test_cvat_sniffer_refuses_what_is_not_a_cvat_export(head):
    assert not looks_like_cvat_xml(head)
