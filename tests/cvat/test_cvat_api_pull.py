"""Pulling a CVAT task or project over respx into unified items, checked against values
computed by hand from the fixture answers."""

from __future__ import annotations

import httpx
import numpy as np
import pytest
import respx
from bridge_cvat.connector import CvatConnector
from bridge_cvat.job_states import job_status
from bridge_cvat.target import parse_url
from cvat_sdk.masks import decode_mask

from bridge.errors import FormatError
from bridge.geometry import rle_to_bitmap
from bridge.http import RetryPolicy
from bridge.losses import LossReport
from bridge.schema import BBox, Mask, Skeleton
from tests.cvat.test_cvat_api_oracle import fixture

HOST = "https://cvat.example.com"


def label_pages(request: httpx.Request) -> httpx.Response:
    """Project 7's labels in 3 pages (tasks 42, 43 share them); tasks 77 and 78, which a
    push creates, have their own labels with new ids."""
    task = request.url.params.get("task_id")
    if task in ("77", "78"):
        return httpx.Response(200, json=fixture(f"labels_task{task}.json"))
    page = request.url.params.get("page", "1")
    return httpx.Response(200, json=fixture(f"labels_project7_page{page}.json"))


def install_server(router: respx.MockRouter) -> None:
    """Routes answering like the fixture server: project 7 with image task 42 (jobs 101,
    102) and video task 43 (job 103)."""
    router.get(f"{HOST}/api/server/about").respond(json=fixture("server_about.json"))
    router.get(f"{HOST}/api/projects/7").respond(json=fixture("project7.json"))
    router.get(f"{HOST}/api/tasks", params={"project_id": "7"}).respond(
        json=fixture("tasks_project7.json")
    )
    router.get(f"{HOST}/api/labels").mock(side_effect=label_pages)
    for task in (42, 43):
        router.get(f"{HOST}/api/tasks/{task}").respond(json=fixture(f"task{task}.json"))
        router.get(f"{HOST}/api/tasks/{task}/data/meta").respond(
            json=fixture(f"task{task}_meta.json")
        )
        router.get(f"{HOST}/api/jobs", params={"task_id": str(task)}).respond(
            json=fixture(f"jobs_task{task}.json")
        )
    for job in (101, 102, 103):
        router.get(f"{HOST}/api/jobs/{job}/annotations/").respond(
            json=fixture(f"job{job}_annotations.json")
        )


def connector(url: str) -> CvatConnector:
    no_wait = lambda seconds: None  # noqa: E731 - tests never sleep
    return CvatConnector.from_url(
        url, token="t0k3n", retry=RetryPolicy(attempts=2, sleep=no_wait), sleep=no_wait
    )


def pull(url: str, losses: LossReport | None = None):
    losses = losses if losses is not None else LossReport()
    dataset = connector(url).read(losses)
    return dataset, list(dataset.items), losses


# ------------------------------------------------------------------------- URLs


@pytest.mark.parametrize(
    ("url", "base", "kind", "target_id"),
    [
        ("cvat://cvat.example.com/tasks/42", "https://cvat.example.com", "tasks", 42),
        (
            "cvat://cvat.example.com:8443/projects/7/",
            "https://cvat.example.com:8443",
            "projects",
            7,
        ),
        ("cvat+http://localhost:8080/tasks/new", "http://localhost:8080", "tasks", None),
        ("cvat://app.cvat.ai/projects/new", "https://app.cvat.ai", "projects", None),
    ],
)
def test_cvat_api_url_forms(url, base, kind, target_id):
    target = parse_url(url)
    assert (target.base_url, target.kind, target.id) == (base, kind, target_id)


@pytest.mark.parametrize(
    "url",
    ["cvat://host/jobs/3", "cvat://host/tasks/abc", "cvat:/host/tasks/1", "cvat+ftp://h/tasks/1"],
)
def test_cvat_api_bad_urls_are_config_errors(url):
    from bridge.errors import ConfigError

    with pytest.raises(ConfigError, match="cvat://HOST"):
        parse_url(url)


@pytest.mark.parametrize(
    ("stage", "state", "status"),
    [
        ("annotation", "new", "draft"),
        ("annotation", "in progress", "draft"),
        ("annotation", "completed", "submitted"),
        ("annotation", "rejected", "rejected"),
        ("validation", "new", "in_review"),
        ("validation", "completed", "in_review"),
        ("validation", "rejected", "rejected"),
        ("acceptance", "in progress", "in_review"),
        ("acceptance", "completed", "accepted"),
    ],
)
def test_cvat_api_job_stage_and_state_map_to_status(stage, state, status):
    assert job_status(stage, state) == status


# ------------------------------------------------------------------- image task


@respx.mock
def test_cvat_api_pull_image_task_one_item_per_frame():
    install_server(respx.mock)
    dataset, items, losses = pull("cvat://cvat.example.com/tasks/42")
    assert [item.key for item in items] == ["street/0001.jpg", "street/0002.jpg", "street/0003.png"]
    assert [(i.media.width, i.media.height) for i in items] == [(640, 480), (640, 480), (320, 240)]
    assert {item.subset for item in items} == {"train"}
    # frames 0-1 belong to alice's job 101, frame 2 to bob's job 102
    sets = [item.annotation_sets for item in items]
    assert [[s.id for s in per_item] for per_item in sets] == [
        ["job-101"],
        ["job-101"],
        ["job-102"],
    ]
    assert [s[0].annotator.name for s in sets] == ["alice", "alice", "bob"]
    assert [s[0].status for s in sets] == ["draft", "draft", "accepted"]
    assert [len(s[0].regions) for s in sets] == [4, 5, 1]  # frame 0: 3 shapes + 1 tag
    assert not losses


@respx.mock
def test_cvat_api_pull_keeps_rotated_box_and_attributes():
    install_server(respx.mock)
    _, items, _ = pull("cvat://cvat.example.com/tasks/42")
    box = next(r for r in items[0].annotation_sets[0].regions if r.id == "1001")
    assert box.label == "car"
    assert box.shape == BBox(x=100, y=50, width=120, height=80, rotation=30)
    assert box.occluded is True and box.z_order == 1 and box.group == "3"
    answers = {c.name: c.answers[0].value for c in box.classifications}
    assert answers == {"color": "blue", "parked": True}  # checkbox "true" -> True
    assert box.frame is None  # an image has no frames
    assert (box.source.tool, box.source.annotation, box.source.region) == ("cvat", "101", "1001")


@respx.mock
def test_cvat_api_pull_mask_matches_cvat_sdk_decoder():
    install_server(respx.mock)
    _, items, _ = pull("cvat://cvat.example.com/tasks/42")
    mask_region = next(r for r in items[1].annotation_sets[0].regions if r.id == "1004")
    assert isinstance(mask_region.shape, Mask)
    runs_and_box = fixture("job101_annotations.json")["shapes"][3]["points"]
    expected = decode_mask(runs_and_box, image_width=640, image_height=480)
    assert np.array_equal(rle_to_bitmap(mask_region.shape.rle), expected)
    assert int(expected.sum()) == 7  # 2 + 4 + 1 pixels, by hand
    assert mask_region.score == pytest.approx(0.87)


@respx.mock
def test_cvat_api_pull_skeleton_points_and_tag():
    install_server(respx.mock)
    _, items, _ = pull("cvat://cvat.example.com/tasks/42")
    regions = {r.id: r for r in items[1].annotation_sets[0].regions}
    skeleton = regions["1005"].shape
    assert isinstance(skeleton, Skeleton)
    assert [(p.label, p.x, p.y, p.visibility) for p in skeleton.points] == [
        ("head", 320.0, 100.0, "visible"),
        ("left_hand", 300.0, 160.0, "occluded"),
        ("right_hand", 0.0, 0.0, "absent"),
    ]
    assert regions["1005"].classifications[0].answers[0].value == 41  # number attribute
    tag = next(r for r in items[0].annotation_sets[0].regions if r.shape.type == "tag")
    assert (tag.id, tag.label, tag.classifications[0].answers[0].value) == (
        "tag-1301",
        "weather",
        "rain",
    )


@respx.mock
def test_cvat_api_pull_ontology_from_paginated_labels():
    install_server(respx.mock)
    dataset, _, _ = pull("cvat://cvat.example.com/tasks/42")
    ontology = dataset.project.ontology
    names = [(label.name, label.parent) for label in ontology.labels]
    assert names[:5] == [
        ("car", None),
        ("person", None),
        ("head", "person"),
        ("left_hand", "person"),
        ("right_hand", "person"),
    ]
    assert len(names) == 11  # 8 labels + 3 skeleton points
    person = ontology.labels[1]
    # the server's svg names points by sublabel id (13, 14, 15); edges come out by name
    assert person.edges == [("head", "left_hand"), ("head", "right_hand")]
    assert 'data-label-name="left_hand"' in person.tool_ids["cvat"]["svg"]
    car = ontology.labels[0]
    assert [(a.name, a.input, a.mutable) for a in car.attributes] == [
        ("color", "select", False),
        ("parked", "checkbox", True),
    ]
    assert all("project_id" not in label.extra for label in ontology.labels)


# ------------------------------------------------------------------- video task


@respx.mock
def test_cvat_api_pull_video_task_one_item_with_original_frame_numbers():
    install_server(respx.mock)
    _, items, _ = pull("cvat://cvat.example.com/tasks/43")
    assert len(items) == 1
    video = items[0]
    assert (video.key, video.media.kind, video.media.frame_count) == ("drive.mp4", "video", 10)
    (aset,) = video.annotation_sets
    assert (aset.id, aset.annotator.name, aset.status) == ("job-103", "carol", "in_review")
    # start_frame 10, step 3: REST frame f is video frame 10 + 3 f
    box = next(r for r in aset.regions if r.id == "3101")
    assert box.frame == 16
    assert box.shape == BBox(x=50, y=60, width=100, height=60, rotation=350)
    tag = next(r for r in aset.regions if r.shape.type == "tag")
    assert tag.frame == 19


@respx.mock
def test_cvat_api_pull_track_keyframes_and_outside():
    install_server(respx.mock)
    _, items, _ = pull("cvat://cvat.example.com/tasks/43")
    car = next(t for t in items[0].annotation_sets[0].tracks if t.id == "2001")
    assert car.label == "car"
    assert [(k.frame, k.outside, k.occluded) for k in car.keyframes] == [
        (10, False, False),
        (22, False, True),
        (28, True, False),
        (34, False, False),
    ]
    assert car.keyframes[0].shape == BBox(x=10, y=20, width=100, height=60, rotation=15)
    assert [k.classifications[0].answers[0].value for k in car.keyframes] == [
        False,
        True,
        True,
        False,
    ]
    assert [c.name for c in car.classifications] == ["color"]  # immutable: on the track
    person = next(t for t in items[0].annotation_sets[0].tracks if t.id == "2002")
    assert [k.frame for k in person.keyframes] == [13, 19]
    assert [(p.label, p.visibility) for p in person.keyframes[1].shape.points] == [
        ("head", "absent"),
        ("left_hand", "absent"),
        ("right_hand", "absent"),
    ]


@respx.mock
def test_cvat_api_pull_project_reads_every_task():
    install_server(respx.mock)
    dataset, items, _ = pull("cvat://cvat.example.com/projects/7")
    assert dataset.project.name == "traffic"
    assert [item.key for item in items] == [
        "street/0001.jpg",
        "street/0002.jpg",
        "street/0003.png",
        "drive.mp4",
    ]


@respx.mock
def test_cvat_api_pull_unknown_label_id_is_a_format_error():
    install_server(respx.mock)
    broken = fixture("job102_annotations.json")
    broken["shapes"][0]["label_id"] = 999
    respx.get(f"{HOST}/api/jobs/102/annotations/").respond(json=broken)
    with pytest.raises(FormatError, match="999") as caught:
        pull("cvat://cvat.example.com/tasks/42")
    assert caught.value.where == "job 102"


@respx.mock
def test_cvat_api_pull_malformed_shape_names_its_job():
    install_server(respx.mock)
    broken = fixture("job101_annotations.json")
    broken["shapes"][0]["points"] = "100,50,220,130"  # a string, not a list of numbers
    respx.get(f"{HOST}/api/jobs/101/annotations/").respond(json=broken)
    with pytest.raises(FormatError) as caught:
        pull("cvat://cvat.example.com/tasks/42")
    assert caught.value.where == "job 101"


@respx.mock
def test_cvat_api_pull_meta_without_frames_is_a_format_error():
    install_server(respx.mock)
    meta = fixture("task42_meta.json")
    meta["frames"] = None
    respx.get(f"{HOST}/api/tasks/42/data/meta").respond(json=meta)
    with pytest.raises(FormatError, match="'frames' is null") as caught:
        pull("cvat://cvat.example.com/tasks/42")
    assert caught.value.where == "GET /api/tasks/42/data/meta"


@respx.mock
def test_cvat_api_pull_streams_image_items_job_by_job():
    install_server(respx.mock)
    later_job = respx.get(f"{HOST}/api/jobs/102/annotations/").respond(
        json=fixture("job102_annotations.json")
    )
    items = iter(connector("cvat://cvat.example.com/tasks/42").read(LossReport()).items)
    first, second = next(items), next(items)  # frames 0 and 1: job 101 only
    assert (first.key, second.key) == ("street/0001.jpg", "street/0002.jpg")
    assert not later_job.called
    third = next(items)
    assert later_job.called and third.annotation_sets[0].id == "job-102"
    assert next(items, None) is None
