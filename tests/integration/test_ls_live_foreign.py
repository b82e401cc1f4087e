"""Other tools' files pushed straight into a real Label Studio server (a project created
from the final ontology): the server takes the generated config and every task, and a pull
gives back the box tracks with their per-frame answers and the tags as Choices answers."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from bridge import api

CVAT = Path(__file__).parent.parent / "fixtures" / "cvat"


def _target(ls_server, monkeypatch) -> str:
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", ls_server.token)
    return f"labelstudio://{ls_server.url.split('://', 1)[1]}"


def test_ls_live_cvat_video_tracks_and_frame_answers(ls_server, monkeypatch):
    target = _target(ls_server, monkeypatch)
    done = api.transfer(CVAT / "all_shapes_video.xml", target, title="cvat video")
    assert done.written["created_project"] is True
    root = ET.parse(CVAT / "all_shapes_video.xml").getroot()
    box_tracks = [t for t in root.iter("track") if all(s.tag == "box" for s in t)]
    pulled = list(api.open_dataset(f"{target}/projects/{done.written['project']}").items)
    tracks = [t for i in pulled for s in i.annotation_sets for t in s.tracks]
    assert [t.label for t in tracks] == [t.get("label") for t in box_tracks]
    drawn = [
        b for t in box_tracks for b in t if b.get("keyframe") == "1" and b.get("outside") == "0"
    ]
    moving = [b.findtext("attribute[@name='moving']") == "true" for b in drawn]
    answers = [
        k.classifications[0].answers[0].value
        for t in tracks
        for k in t.keyframes
        if k.classifications
    ]
    assert answers == moving


def test_ls_live_cvat_tags_become_choices(ls_server, monkeypatch):
    target = _target(ls_server, monkeypatch)
    done = api.transfer(CVAT / "all_shapes_images.xml", target, title="cvat images")
    root = ET.parse(CVAT / "all_shapes_images.xml").getroot()
    tags = sorted(
        (image.get("name"), tag.get("label"))
        for image in root.iter("image")
        for tag in image.iter("tag")
    )
    pulled = list(api.open_dataset(f"{target}/projects/{done.written['project']}").items)
    answered = sorted(
        (item.key, answer.value)
        for item in pulled
        for s in item.annotation_sets
        for c in s.classifications
        if c.name == "tags"
        for answer in c.answers
    )
    assert answered == tags
