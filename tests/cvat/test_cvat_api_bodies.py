"""Job bodies built from unified sets: frame numbering, job ranges, what is reported."""

from __future__ import annotations

import pytest
from bridge_cvat.ontology import (
    LabelIndex,
    label_requests,
    labels_to_ontology,
    ontology_to_labels,
    server_free,
)
from bridge_cvat.rest import BodyBuilder, FrameNumbering, JobFrames, RestLabels, shape_to_rest

from bridge.errors import FormatError
from bridge.losses import LossReport
from bridge.schema import AnnotationSet, BBox, Keyframe, Region, Track
from tests.cvat.test_cvat_api_oracle import assert_request_body, fixture

LABELS = [
    label for page in (1, 2, 3) for label in fixture(f"labels_project7_page{page}.json")["results"]
]


def box(frame: int, region_id: str = "r") -> Region:
    return Region(id=region_id, label="car", frame=frame, shape=BBox(x=1, y=2, width=3, height=4))


def track(track_id: str, *frames: int) -> Track:
    keyframes = [Keyframe(frame=f, shape=BBox(x=f, y=0, width=5, height=5)) for f in frames]
    return Track(id=track_id, label="car", keyframes=keyframes)


def build(aset: AnnotationSet, start: int, stop: int, losses: LossReport) -> dict:
    builder = BodyBuilder(
        RestLabels(LABELS), LabelIndex.from_labels(server_free(LABELS)), losses, keep_ids=False
    )
    job = JobFrames(7, start, stop, video_set=aset, numbering=FrameNumbering(start=10, step=3))
    body = builder.body(job)
    assert_request_body("LabeledDataRequest", body)
    return body


@pytest.mark.parametrize(("rest", "video"), [(0, 10), (1, 13), (2, 16), (9, 37)])
def test_cvat_api_frame_numbering_start_10_step_3(rest, video):
    numbering = FrameNumbering(start=10, step=3)
    assert numbering.to_unified(rest) == video
    assert numbering.to_rest(video) == rest


@pytest.mark.parametrize("frame", [9, 11, 12, 14, 0])
def test_cvat_api_frame_numbering_refuses_frames_the_task_skips(frame):
    assert FrameNumbering(start=10, step=3).to_rest(frame) is None


def test_cvat_api_frame_numbering_from_meta():
    assert FrameNumbering.from_meta(fixture("task43_meta.json"), "t") == FrameNumbering(10, 3)
    assert FrameNumbering.from_meta(fixture("task42_meta.json"), "t") == FrameNumbering(0, 1)
    with pytest.raises(FormatError, match="frame_filter"):
        FrameNumbering.from_meta({"frame_filter": "every=2"}, "task 9")


def test_cvat_api_job_body_holds_only_its_frames_and_reports_the_rest():
    aset = AnnotationSet(
        id="s",
        regions=[box(16, "in"), box(11, "between"), box(40, "later job")],
        tracks=[track("a", 10, 22), track("b", 13, 25), track("c", 28, 31)],
    )
    losses = LossReport()
    body = build(aset, 0, 4, losses)  # REST frames 0-4 = video frames 10..22
    assert [s["frame"] for s in body["shapes"]] == [2]
    assert [[s["frame"] for s in t["shapes"]] for t in body["tracks"]] == [[0, 4], [1, 5]]
    assert [t["frame"] for t in body["tracks"]] == [0, 1]
    assert losses.count("cvat.frame_not_in_task") == 1  # video frame 11 is not sampled
    assert losses.count("cvat.track_crosses_jobs") == 1  # track b runs to REST frame 5
    assert losses["cvat.track_crosses_jobs"].severity == "approximated"


def test_cvat_api_new_task_labels_carry_no_server_ids():
    requests = label_requests(ontology_to_labels(labels_to_ontology(server_free(LABELS))))
    body = {"name": "t", "labels": requests}
    assert_request_body("TaskWriteRequest", body)
    text = str(requests)
    assert "'id'" not in text and "project_id" not in text
    person = next(r for r in requests if r["name"] == "person")
    assert [s["name"] for s in person["sublabels"]] == ["head", "left_hand", "right_hand"]
    number = next(r for r in requests if r["name"] == "person")["attributes"][0]
    assert (number["input_type"], number["values"]) == ("number", ["0", "120", "1"])


def test_cvat_api_unknown_label_or_attribute_on_push_is_a_clear_error():
    labels = RestLabels(LABELS)
    shape = {"type": "rectangle", "label": "bus", "frame": 0, "points": [0, 0, 1, 1]}
    with pytest.raises(FormatError, match="'bus' does not exist on the server"):
        shape_to_rest(shape, labels, where="job 1")
    shape = {**shape, "label": "car", "attributes": [{"name": "speed", "value": "3"}]}
    with pytest.raises(FormatError, match="no attribute 'speed'"):
        shape_to_rest(shape, labels, where="job 1")


def test_cvat_api_unplaceable_frame_is_reported_once_across_jobs():
    aset = AnnotationSet(id="s", regions=[box(11)], tracks=[track("t", 10, 14)])
    losses = LossReport()
    builder = BodyBuilder(
        RestLabels(LABELS), LabelIndex.from_labels(server_free(LABELS)), losses, keep_ids=False
    )
    numbering = FrameNumbering(start=10, step=3)
    first = builder.body(JobFrames(1, 0, 4, video_set=aset, numbering=numbering))
    builder.body(JobFrames(2, 5, 9, video_set=aset, numbering=numbering))
    assert losses.count("cvat.frame_not_in_task") == 2  # the box and the track, once each
    # the track keeps its placeable keyframe (video frame 10 = REST 0) in the first job
    assert [[s["frame"] for s in t["shapes"]] for t in first["tracks"]] == [[0]]
