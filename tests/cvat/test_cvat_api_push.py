"""Pushing to CVAT over respx: every body we send is a valid cvat-sdk request model, and
a pull -> unified -> push round trip writes back the same annotations (rotated boxes,
masks, skeletons, tags, track keyframes and outside flags)."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from bridge.errors import BridgeError, RemoteError
from bridge.formats import Dataset
from bridge.losses import LossReport
from bridge.schema import BBox, Item, Keyframe, Media, Project, Region, Track
from tests.cvat.test_cvat_api_oracle import assert_request_body, fixture, load
from tests.cvat.test_cvat_api_pull import HOST, connector, install_server, pull

DATA = "https://data.example.com/street"
SHIFT = 500  # the new tasks' labels and attribute specs have ids 500 above the old ones


def sent_json(call) -> dict:
    return json.loads(call.request.content)


def install_new_task(router: respx.MockRouter, task_id: int, rq_fixture: str) -> dict:
    """Routes for a task the push creates; returns the routes to inspect."""
    routes = {
        "create": router.post(f"{HOST}/api/tasks").respond(
            201, json=fixture(f"task{task_id}.json")
        ),
        "data": router.post(f"{HOST}/api/tasks/{task_id}/data/").respond(
            202, json={"rq_id": f"create:task-{task_id}"}
        ),
        "request": router.get(f"{HOST}/api/requests/create:task-{task_id}").mock(
            side_effect=[
                httpx.Response(200, json=fixture("request_started.json")),
                httpx.Response(200, json=fixture(rq_fixture)),
            ]
        ),
        "put": router.put(url__regex=rf"{HOST}/api/jobs/\d+/annotations/").respond(
            json={"version": 1, "tags": [], "shapes": [], "tracks": []}
        ),
    }
    router.get(f"{HOST}/api/tasks/{task_id}").respond(json=fixture(f"task{task_id}.json"))
    router.get(f"{HOST}/api/tasks/{task_id}/data/meta").respond(
        json=fixture(f"task{task_id}_meta.json")
    )
    router.get(f"{HOST}/api/jobs", params={"task_id": str(task_id)}).respond(
        json=fixture(f"jobs_task{task_id}.json")
    )
    return routes


# What CVAT fills in when a field is left out; both sides are compared without them.
SERVER_DEFAULTS = {
    "group": (0, None),
    "rotation": (0.0,),
    "z_order": (0,),
    "occluded": (False,),
    "outside": (False,),
    "source": ("manual",),
    "score": (1.0,),
    "attributes": ([],),
    "elements": ([],),
}


def canonical(rest: dict, *, shift: int = 0) -> dict:
    """A REST shape/tag/track without ids and server defaults, label and spec ids shifted."""
    out = {}
    for key, value in rest.items():
        if key == "id" or value in SERVER_DEFAULTS.get(key, ()):
            continue
        if key == "label_id":
            value += shift
        elif key == "attributes":
            value = sorted((a["spec_id"] + shift, a["value"]) for a in value)
        elif key in ("shapes", "elements"):
            value = [canonical(child, shift=shift) for child in value]
            value.sort(key=lambda c: (c.get("frame", 0), c.get("label_id", 0)))
        elif key == "points":
            value = [float(v) for v in value]
        out[key] = value
    return out


def canonical_all(things: list, shift: int = 0) -> list:
    return sorted(
        (canonical(t, shift=shift) for t in things), key=lambda c: json.dumps(c, sort_keys=True)
    )


# ------------------------------------------------------------------ round trips


@respx.mock
def test_cvat_api_round_trip_image_task_into_a_new_task():
    install_server(respx.mock)
    routes = install_new_task(respx.mock, 77, "request_finished.json")
    dataset, items, _ = pull("cvat://cvat.example.com/tasks/42")
    losses = LossReport()
    result = connector("cvat://cvat.example.com/tasks/new").write(
        Dataset(project=dataset.project, items=items),
        losses,
        media_base_url="https://data.example.com",
        name="traffic",
    )
    assert result == {
        "tasks": [{"id": 77, "jobs": [{"id": 701, "shapes": 9, "tags": 1, "tracks": 0}]}]
    }

    task_body = sent_json(routes["create"].calls.last)
    assert_request_body("TaskWriteRequest", task_body)
    assert task_body["name"] == "traffic" and task_body["subset"] == "train"
    sent_labels = {label["name"]: label for label in task_body["labels"]}
    assert list(sent_labels) == [
        "car",
        "person",
        "road",
        "weather",
        "lane",
        "sign",
        "truck",
        "cone",
    ]
    assert [s["name"] for s in sent_labels["person"]["sublabels"]] == [
        "head",
        "left_hand",
        "right_hand",
    ]
    assert sent_labels["car"]["attributes"][1] == {
        "name": "parked",
        "mutable": True,
        "input_type": "checkbox",
        "values": ["false"],
        "default_value": "false",
    }
    assert 'data-label-name="head"' in sent_labels["person"]["svg"]  # names, not old ids

    data_body = sent_json(routes["data"].calls.last)
    assert_request_body("DataRequest", data_body)
    assert data_body["remote_files"] == [
        f"{DATA}/0001.jpg",
        f"{DATA}/0002.jpg",
        f"{DATA}/0003.png",
    ]
    assert data_body["sorting_method"] == "predefined"

    put = routes["put"].calls.last
    assert put.request.url.path == "/api/jobs/701/annotations/"
    body = sent_json(put)
    assert_request_body("LabeledDataRequest", body)
    original = [fixture("job101_annotations.json"), fixture("job102_annotations.json")]
    assert canonical_all(body["shapes"]) == canonical_all(
        [s for job in original for s in job["shapes"]], shift=SHIFT
    )
    assert canonical_all(body["tags"]) == canonical_all(original[0]["tags"], shift=SHIFT)
    # nothing lost but the jobs' assignees and statuses, which need job_workflow=true
    assert [loss.code for loss in losses] == ["cvat.job_workflow_not_pushed"]


@respx.mock
def test_cvat_api_round_trip_video_keeps_tracks_keyframes_and_outside():
    install_server(respx.mock)
    routes = install_new_task(respx.mock, 78, "request_finished_78.json")
    dataset, items, _ = pull("cvat://cvat.example.com/tasks/43")
    losses = LossReport()
    job = respx.patch(f"{HOST}/api/jobs/781").respond(json={})
    connector("cvat://cvat.example.com/tasks/new").write(
        Dataset(project=dataset.project, items=items),
        losses,
        media_base_url="https://data.example.com/videos",
        job_workflow="true",
    )
    job_body = sent_json(job.calls.last)
    assert_request_body("PatchedJobWriteRequest", job_body)
    # carol (user 7 on this server), validation / new: as job 103 was
    assert job_body == {"stage": "validation", "state": "new", "assignee": 7}
    data_body = sent_json(routes["data"].calls.last)
    assert_request_body("DataRequest", data_body)
    assert data_body["remote_files"] == ["https://data.example.com/videos/drive.mp4"]
    # the same frame selection as the source task, so REST frame numbers line up
    assert (data_body["start_frame"], data_body["stop_frame"], data_body["frame_filter"]) == (
        10,
        37,
        "step=3",
    )
    body = sent_json(routes["put"].calls.last)
    assert routes["put"].calls.last.request.url.path == "/api/jobs/781/annotations/"
    assert_request_body("LabeledDataRequest", body)
    original = fixture("job103_annotations.json")
    assert canonical_all(body["tracks"]) == canonical_all(original["tracks"], shift=SHIFT)
    assert canonical_all(body["shapes"]) == canonical_all(original["shapes"], shift=SHIFT)
    assert canonical_all(body["tags"]) == canonical_all(original["tags"], shift=SHIFT)
    car = next(t for t in body["tracks"] if t["label_id"] == 11 + SHIFT)
    assert [(s["frame"], s["outside"]) for s in car["shapes"]] == [
        (0, False),
        (4, False),
        (6, True),
        (8, False),
    ]
    assert [s["rotation"] for s in car["shapes"]] == [15.0, 15.0, 15.0, 0.0]
    assert not losses


@respx.mock
def test_cvat_api_push_into_existing_task_replaces_each_job():
    install_server(respx.mock)
    put = respx.put(url__regex=rf"{HOST}/api/jobs/\d+/annotations/").respond(json={"version": 2})
    dataset, items, _ = pull("cvat://cvat.example.com/tasks/42")
    result = connector("cvat://cvat.example.com/tasks/42").write(
        Dataset(project=dataset.project, items=items), LossReport()
    )
    assert [job["id"] for job in result["tasks"][0]["jobs"]] == [101, 102]
    bodies = {call.request.url.path: sent_json(call) for call in put.calls}
    for job in (101, 102):
        body = bodies[f"/api/jobs/{job}/annotations/"]
        assert_request_body("LabeledDataRequest", body)
        assert canonical_all(body["shapes"]) == canonical_all(
            fixture(f"job{job}_annotations.json")["shapes"]
        )


@respx.mock
def test_cvat_api_push_update_patches_with_the_pulled_ids():
    install_server(respx.mock)
    patch = respx.patch(url__regex=rf"{HOST}/api/jobs/\d+/annotations/").respond(json={})
    dataset, items, _ = pull("cvat://cvat.example.com/tasks/42")
    box = next(r for r in items[2].annotation_sets[0].regions if r.id == "1020")
    box.shape = BBox(x=11, y=12, width=50, height=30, rotation=45)
    items = [items[2]]  # only the edited frame
    connector("cvat://cvat.example.com/tasks/42").write(
        Dataset(project=dataset.project, items=items), LossReport(), mode="update"
    )
    call = next(c for c in patch.calls if c.request.url.path == "/api/jobs/102/annotations/")
    assert call.request.url.params["action"] == "update"
    body = sent_json(call)
    assert_request_body("PatchedLabeledDataRequest", body)
    (shape,) = body["shapes"]
    assert (shape["id"], shape["points"], shape["rotation"]) == (1020, [11, 12, 61, 42], 45)


# ------------------------------------------------------------------ failures


@respx.mock
def test_cvat_api_push_data_upload_failure_raises_with_server_message():
    install_server(respx.mock)
    routes = install_new_task(respx.mock, 77, "request_failed.json")
    dataset, items, _ = pull("cvat://cvat.example.com/tasks/42")
    with pytest.raises(BridgeError) as caught:
        connector("cvat://cvat.example.com/tasks/new").write(
            Dataset(project=dataset.project, items=items),
            LossReport(),
            media_base_url="https://data.example.com",
        )
    assert isinstance(caught.value, RemoteError)
    assert "Failed to download https://data.example.com/street/0002.jpg: 404 Not Found" in str(
        caught.value
    )
    assert not routes["put"].called  # nothing written after a failed upload


@respx.mock
def test_cvat_api_push_new_project_creates_project_then_task_without_labels():
    install_server(respx.mock)
    routes = install_new_task(respx.mock, 77, "request_finished.json")
    created = respx.post(f"{HOST}/api/projects").respond(201, json=fixture("project7.json"))
    dataset, items, _ = pull("cvat://cvat.example.com/tasks/42")
    result = connector("cvat://cvat.example.com/projects/new").write(
        Dataset(project=dataset.project, items=items),
        LossReport(),
        media_base_url="https://data.example.com",
    )
    assert result["project"] == 7
    project_body = sent_json(created.calls.last)
    assert_request_body("ProjectWriteRequest", project_body)
    assert len(project_body["labels"]) == 8
    task_body = sent_json(routes["create"].calls.last)
    assert_request_body("TaskWriteRequest", task_body)
    assert task_body["project_id"] == 7 and "labels" not in task_body  # a project task


@respx.mock
def test_cvat_api_push_reports_what_cvat_cannot_hold():
    install_server(respx.mock)
    routes = install_new_task(respx.mock, 77, "request_finished.json")
    project = Project(name="p")
    items = [
        Item(
            key=f"{n:04d}.jpg",
            media=Media(kind="image", uri=f"https://x.example.com/{n}.jpg", width=640, height=480),
        )
        for n in range(3)
    ]
    from bridge.schema import AnnotationSet

    items[0].annotation_sets = [
        AnnotationSet(
            id="a", regions=[Region(id="r", label="car", shape=BBox(x=1, y=2, width=3, height=4))]
        ),
        AnnotationSet(id="b", regions=[]),
    ]
    items[1].annotation_sets = [
        AnnotationSet(
            id="c",
            tracks=[
                Track(
                    id="t",
                    label="car",
                    keyframes=[Keyframe(frame=0, shape=BBox(x=0, y=0, width=1, height=1))],
                )
            ],
        )
    ]
    losses = LossReport()
    connector("cvat://cvat.example.com/tasks/new").write(
        Dataset(project=project, items=items), losses
    )
    assert losses.count("cvat.extra_annotation_sets") == 1
    assert losses.count("cvat.track_on_image") == 1
    body = sent_json(routes["put"].calls.last)
    assert_request_body("LabeledDataRequest", body)
    assert [s["points"] for s in body["shapes"]] == [[1, 2, 4, 6]]


@respx.mock
def test_cvat_api_round_trip_through_a_jsonl_file_with_the_python_api(tmp_path, monkeypatch):
    """cvat:// -> unified JSONL on disk -> cvat://.../tasks/new, as `bridge convert` does:
    everything CVAT needs to rebuild the annotations survives the unified file."""
    from bridge import api

    monkeypatch.setenv("CVAT_ACCESS_TOKEN", "env-token")
    monkeypatch.delenv("CVAT_ORG", raising=False)
    install_server(respx.mock)
    routes = install_new_task(respx.mock, 78, "request_finished_78.json")
    routes["request"].side_effect = [httpx.Response(200, json=fixture("request_finished_78.json"))]
    pulled = api.convert("cvat://cvat.example.com/tasks/43", tmp_path / "video.jsonl")
    assert not pulled
    pushed = api.convert(
        tmp_path / "video.jsonl",
        "cvat://cvat.example.com/tasks/new",
        media_base_url="https://data.example.com/videos",
    )
    assert [loss.code for loss in pushed] == ["cvat.job_workflow_not_pushed"]
    assert routes["create"].calls.last.request.headers["Authorization"] == "Bearer env-token"
    body = sent_json(routes["put"].calls.last)
    assert_request_body("LabeledDataRequest", body)
    original = fixture("job103_annotations.json")
    for key in ("tracks", "shapes", "tags"):
        assert canonical_all(body[key]) == canonical_all(original[key], shift=SHIFT)


@respx.mock
def test_cvat_api_replace_leaves_jobs_without_pushed_frames_alone():
    install_server(respx.mock)
    put = respx.put(url__regex=rf"{HOST}/api/jobs/\d+/annotations/").respond(json={})
    dataset, items, _ = pull("cvat://cvat.example.com/tasks/42")
    result = connector("cvat://cvat.example.com/tasks/42").write(
        Dataset(project=dataset.project, items=[items[2]]), LossReport()
    )
    assert [call.request.url.path for call in put.calls] == ["/api/jobs/102/annotations/"]
    assert result["tasks"][0]["jobs"] == [{"id": 102, "shapes": 1, "tags": 0, "tracks": 0}]


@respx.mock
def test_cvat_api_update_skips_regions_that_have_no_cvat_id():
    install_server(respx.mock)
    patch = respx.patch(url__regex=rf"{HOST}/api/jobs/\d+/annotations/").respond(json={})
    dataset, items, _ = pull("cvat://cvat.example.com/tasks/42")
    aset = items[2].annotation_sets[0]
    aset.regions.append(Region(id="new", label="car", shape=BBox(x=0, y=0, width=2, height=2)))
    losses = LossReport()
    connector("cvat://cvat.example.com/tasks/42").write(
        Dataset(project=dataset.project, items=[items[2]]), losses, mode="update"
    )
    (call,) = patch.calls
    assert [s["id"] for s in sent_json(call)["shapes"]] == [1020]
    assert losses.count("cvat.no_id_to_update") == 1


@respx.mock
def test_cvat_api_job_workflow_finds_annotators_from_another_tool_by_username():
    install_server(respx.mock)
    routes = install_new_task(respx.mock, 77, "request_finished.json")
    users = respx.get(f"{HOST}/api/users").respond(
        json={
            "count": 2,
            "next": None,
            "previous": None,
            "results": [
                {
                    "url": f"{HOST}/api/users/9",
                    "id": 9,
                    "username": "alice2",
                    "first_name": "",
                    "last_name": "",
                },
                {
                    "url": f"{HOST}/api/users/5",
                    "id": 5,
                    "username": "alice",
                    "first_name": "Alice",
                    "last_name": "Ng",
                },
            ],
        }
    )
    # what a non-admin sees: BasicUser entries of cvat-sdk's MetaUser (anyOf BasicUser, User)
    load("PaginatedMetaUserList", json.loads(users.return_value.content))
    job = respx.patch(f"{HOST}/api/jobs/701").respond(json={})
    from bridge.schema import AnnotationSet, Annotator

    items = [
        Item(
            key=f"{n}.jpg",
            media=Media(kind="image", uri=f"https://x.example.com/{n}.jpg", width=640, height=480),
            annotation_sets=[
                AnnotationSet(id="ls-1", annotator=Annotator(name="alice"), status="submitted")
            ],
        )
        for n in range(3)
    ]
    losses = LossReport()
    connector("cvat://cvat.example.com/tasks/new").write(
        Dataset(project=Project(name="p"), items=items), losses, job_workflow=True
    )
    assert users.calls.last.request.url.params["search"] == "alice"
    assert users.call_count == 1  # looked up once for the three items
    job_body = sent_json(job.calls.last)
    assert_request_body("PatchedJobWriteRequest", job_body)
    assert job_body == {"stage": "annotation", "state": "completed", "assignee": 5}
    assert not losses
    assert routes["put"].called


@respx.mock
def test_cvat_api_job_workflow_reports_disagreeing_sets_in_one_job():
    install_server(respx.mock)
    install_new_task(respx.mock, 77, "request_finished.json")
    job = respx.patch(f"{HOST}/api/jobs/701").respond(json={})
    dataset, items, _ = pull("cvat://cvat.example.com/tasks/42")  # alice/draft, bob/accepted
    losses = LossReport()
    connector("cvat://cvat.example.com/tasks/new").write(
        Dataset(project=dataset.project, items=items),
        losses,
        media_base_url="https://data.example.com",
        job_workflow=True,
    )
    assert not job.called  # one new job holds both: nothing to agree on
    assert losses.count("cvat.job_status_mixed") == 1
    assert losses.count("cvat.job_annotators_mixed") == 1


@respx.mock
def test_cvat_api_push_into_existing_project_creates_a_task_there():
    install_server(respx.mock)
    routes = install_new_task(respx.mock, 77, "request_finished.json")
    projects = respx.post(f"{HOST}/api/projects")
    dataset, items, _ = pull("cvat://cvat.example.com/tasks/42")
    result = connector("cvat://cvat.example.com/projects/7").write(
        Dataset(project=dataset.project, items=items),
        LossReport(),
        media_base_url="https://data.example.com",
        name="more streets",
    )
    assert not projects.called and "project" not in result
    task_body = sent_json(routes["create"].calls.last)
    assert_request_body("TaskWriteRequest", task_body)
    assert task_body == {"name": "more streets", "project_id": 7, "subset": "train"}
    assert [t["id"] for t in result["tasks"]] == [77]


@respx.mock
def test_cvat_api_job_workflow_option_is_parsed_strictly_before_anything_is_sent():
    from bridge.errors import ConfigError

    item = Item(key="a.jpg", media=Media(kind="image", uri="https://x.example.com/a.jpg"))
    with pytest.raises(ConfigError, match="job_workflow must be true or false, not 'ture'"):
        connector("cvat://cvat.example.com/tasks/new").write(
            Dataset(project=Project(name="p"), items=[item]), LossReport(), job_workflow="ture"
        )
    assert not respx.mock.calls  # no task was created
