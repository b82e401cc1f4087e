"""The CVAT sync target through the real push engine and a real (SQLite) workspace, against
a stateful fake CVAT served by respx. Every body we send is validated against cvat-sdk's
request models (`assert_request_body`); the expected requests are listed by hand.

* first push: exactly the project, tasks, data uploads, job annotations and task renames;
* second push: no request that changes anything;
* a changed set: exactly one PUT of that task's job annotations;
* a push killed after N changing requests (the N+1-th raises, before or after the fake
  server executed it) and rerun: every item in exactly one task, with its annotations;
* `--as predictions`: shapes and tags with `source: "auto"`, shapes with their score;
* conflicts: a task edited in CVAT whose set also changed in the source is a conflict
  (`prefer` skip / target / source), found by reading only the changed set's job; the fake
  answers PUT and GET of job annotations like CVAT (ids and defaults added, checked
  complete against cvat-sdk's `LabeledData`);
* `/projects/new` killed right after creating the project: the rerun finds it by name.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from bridge_cvat.sync_target import CvatSyncTarget, parse_marker

from bridge.formats import Dataset
from bridge.schema import (
    AnnotationSet,
    Annotator,
    Answer,
    BBox,
    Classification,
    ClassificationSpec,
    Item,
    LabelClass,
    Media,
    Ontology,
    OptionSpec,
    Project,
    Region,
    Tag,
)
from bridge.store import MatchRule, SourceSpec, open_workspace
from bridge.sync.engine import PushOptions, push
from tests.cvat.test_cvat_api_oracle import assert_complete, assert_request_body, fixture

HOST = "https://cvat.example.com"
DATA = "https://data.example.com/street"
CHANGING = ("POST", "PUT", "PATCH", "DELETE")


class Crash(RuntimeError):
    """What the fake raises to kill a push mid-way."""


# ------------------------------------------------------------------------- the fake


class FakeCvat:
    """A CVAT server's state: projects with labels, tasks with their media and jobs' annotations.
    `crash_after=N` makes the N+1-th changing request raise `Crash` (after executing it
    when `executed` is True). Every changing request is logged as (method, path, body)."""

    def __init__(self) -> None:
        self.projects: dict[int, dict[str, Any]] = {}
        self.labels: dict[int, list[dict[str, Any]]] = {}
        self.tasks: dict[int, dict[str, Any]] = {}
        self.frames: dict[int, list[str]] = {}
        self.annotations: dict[int, dict[str, Any]] = {}  # job id -> body
        self.log: list[tuple[str, str, Any]] = []
        self.reads: list[str] = []
        self.next_id = 100
        self.crash_after: int | None = None
        self.executed = False

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    # -- routing ------------------------------------------------------------------------

    def __call__(self, request: httpx.Request) -> httpx.Response:
        method, path = request.method, request.url.path
        body = json.loads(request.content) if request.content else None
        if method in CHANGING:
            crashing = self.crash_after is not None and len(self.log) >= self.crash_after
            if crashing and not self.executed:
                raise Crash(f"killed before {method} {path}")
            self.log.append((method, path, body))
            response = self.change(method, path, body, request)
            if crashing:
                raise Crash(f"killed after {method} {path}")
            return response
        self.reads.append(path)
        return self.read(path, request.url.params)

    def change(self, method: str, path: str, body: Any, request: httpx.Request) -> httpx.Response:
        if method == "POST" and path == "/api/projects":
            assert_request_body("ProjectWriteRequest", body)
            project_id = self.new_id()
            self.projects[project_id] = {"name": body["name"]}
            self.labels[project_id] = []
            self.add_labels(project_id, body.get("labels", []))
            return httpx.Response(201, json=self.project_json(project_id))
        if match := re.fullmatch(r"/api/projects/(\d+)", path):
            assert method == "PATCH"
            assert_request_body("PatchedProjectWriteRequest", body)
            self.add_labels(int(match[1]), body["labels"])
            return httpx.Response(200, json=self.project_json(int(match[1])))
        if method == "POST" and path == "/api/tasks":
            assert_request_body("TaskWriteRequest", body)
            task_id = self.new_id()
            self.tasks[task_id] = {"name": body["name"], "project_id": body["project_id"]}
            self.frames[task_id] = []
            return httpx.Response(201, json=self.task_json(task_id))
        if match := re.fullmatch(r"/api/tasks/(\d+)/data/", path):
            assert_request_body("DataRequest", body)
            task_id = int(match[1])
            assert not self.frames[task_id], "data attached twice to one task"
            self.frames[task_id] = [url.rsplit("/", 1)[-1] for url in body["remote_files"]]
            return httpx.Response(202, json={"rq_id": f"create:task-{task_id}"})
        if match := re.fullmatch(r"/api/tasks/(\d+)", path):
            task_id = int(match[1])
            if method == "DELETE":
                del self.tasks[task_id]
                return httpx.Response(204)
            assert_request_body("PatchedTaskWriteRequest", body)
            self.tasks[task_id]["name"] = body["name"]
            return httpx.Response(200, json=self.task_json(task_id))
        if match := re.fullmatch(r"/api/jobs/(\d+)/annotations/", path):
            assert method == "PUT" and "action" not in request.url.params
            assert_request_body("LabeledDataRequest", body)
            self.annotations[int(match[1])] = self.stored(body)
            return httpx.Response(200, json=self.annotations[int(match[1])])
        raise AssertionError(f"unexpected {method} {path}")

    def read(self, path: str, params: httpx.QueryParams) -> httpx.Response:
        if path == "/api/labels":
            if "project_id" in params:
                labels = self.labels[int(params["project_id"])]
            else:
                labels = self.labels[self.tasks[int(params["task_id"])]["project_id"]]
            return httpx.Response(200, json=page(labels))
        if path == "/api/projects":
            projects = [
                self.project_json(p)
                for p in self.projects
                if params.get("search", "").lower() in self.projects[p]["name"].lower()
            ]
            return httpx.Response(200, json=page(projects))
        if match := re.fullmatch(r"/api/jobs/(\d+)/annotations/", path):
            empty = {"version": 0, "tags": [], "shapes": [], "tracks": [], "intervals": []}
            return httpx.Response(200, json=self.annotations.get(int(match[1]), empty))
        if path == "/api/tasks":
            project_id = int(params["project_id"])
            tasks = [
                self.task_json(t) for t in self.tasks if self.tasks[t]["project_id"] == project_id
            ]
            return httpx.Response(200, json=page(tasks))
        if match := re.fullmatch(r"/api/tasks/(\d+)", path):
            return httpx.Response(200, json=self.task_json(int(match[1])))
        if match := re.fullmatch(r"/api/tasks/(\d+)/data/meta", path):
            return httpx.Response(200, json=self.meta_json(int(match[1])))
        if match := re.fullmatch(r"/api/requests/create:task-(\d+)", path):
            finished = fixture("request_finished.json")
            finished["id"] = f"create:task-{match[1]}"
            return httpx.Response(200, json=finished)
        if path == "/api/jobs":
            task_id = int(params["task_id"])
            job = fixture("jobs_task77.json")["results"][0]
            job.update(id=job_id(task_id), task_id=task_id, start_frame=0, stop_frame=0)
            job["frame_count"] = 1
            return httpx.Response(200, json=page([job]))
        raise AssertionError(f"unexpected GET {path}")

    # -- state -> JSON ------------------------------------------------------------------

    def stored(self, body: dict[str, Any]) -> dict[str, Any]:
        """What CVAT keeps of a LabeledDataRequest and answers (to the PUT and to GETs):
        every field of its LabeledData model, defaults filled in, ids given."""
        shape_defaults = {
            "occluded": False,
            "outside": False,
            "z_order": 0,
            "rotation": 0.0,
            "group": 0,
            "source": "manual",
            "attributes": [],
            "score": 0.0,
            "elements": [],
        }
        common = {"group": 0, "source": "manual", "attributes": []}
        tracked = {"occluded": False, "outside": False, "z_order": 0, "rotation": 0.0}
        tracked["attributes"] = []
        answer = {
            "version": 1,
            "intervals": [],
            "shapes": [
                {**shape_defaults, **s, "id": self.new_id()} for s in body.get("shapes", [])
            ],
            "tags": [{**common, **t, "id": self.new_id()} for t in body.get("tags", [])],
            "tracks": [
                {
                    **common,
                    "elements": [],
                    **t,
                    "shapes": [{**tracked, **s, "id": self.new_id()} for s in t["shapes"]],
                    "id": self.new_id(),
                }
                for t in body.get("tracks", [])
            ],
        }
        assert_complete("LabeledData", answer)
        return answer

    def add_labels(self, project_id: int, labels: list[dict[str, Any]]) -> None:
        for label in labels:
            if "id" in label:  # an existing label: its attributes, existing ones by id
                (known,) = [k for k in self.labels[project_id] if k["id"] == label["id"]]
                ids = {a["id"] for a in known["attributes"]}
                assert ids <= {a.get("id") for a in label["attributes"]}, "an attribute dropped"
                known["attributes"] = [
                    a if "id" in a else {**a, "id": self.new_id()} for a in label["attributes"]
                ]
                continue
            assert label["name"] not in {known["name"] for known in self.labels[project_id]}
            attributes = [{**a, "id": self.new_id()} for a in label.get("attributes", [])]
            self.labels[project_id].append(
                {
                    "id": self.new_id(),
                    "name": label["name"],
                    "color": label.get("color") or "#000000",
                    "type": label.get("type", "any"),
                    "svg": "",
                    "attributes": attributes,
                    "sublabels": [],
                    "project_id": project_id,
                    "task_id": None,
                    "parent_id": None,
                    "has_parent": False,
                }
            )

    def project_json(self, project_id: int) -> dict[str, Any]:
        project = fixture("project7.json")
        project.update(id=project_id, name=self.projects[project_id]["name"])
        return project

    def task_json(self, task_id: int) -> dict[str, Any]:
        task = fixture("task77.json")
        state = self.tasks[task_id]
        task.update(
            id=task_id,
            name=state["name"],
            project_id=state["project_id"],
            size=len(self.frames[task_id]),
        )
        return task

    def meta_json(self, task_id: int) -> dict[str, Any]:
        meta = fixture("task77_meta.json")
        frames = [
            {
                "name": name,
                "width": 640,
                "height": 480,
                "related_files": 0,
                "has_related_context": False,
            }
            for name in self.frames[task_id]
        ]
        meta.update(size=len(frames), start_frame=0, stop_frame=len(frames) - 1, frames=frames)
        return meta

    # -- what the tests look at ---------------------------------------------------------

    def changes(self) -> list[tuple[str, str]]:
        return [(method, path) for method, path, _ in self.log]

    def task_of(self, key: str) -> list[int]:
        """The tasks whose (only) frame is the file `key`."""
        return [t for t, frames in self.frames.items() if frames == [key] and t in self.tasks]


def job_id(task_id: int) -> int:
    return task_id * 10 + 1


def page(results: list[Any]) -> dict[str, Any]:
    return {"count": len(results), "next": None, "previous": None, "results": results}


# ------------------------------------------------------------------------- data


def ontology() -> Ontology:
    color = ClassificationSpec(
        name="color", input="select", options=[OptionSpec(value="red"), OptionSpec(value="blue")]
    )
    return Ontology(
        labels=[
            LabelClass(name="car", kinds=["bbox"], attributes=[color]),
            LabelClass(name="person", kinds=["bbox"]),
            LabelClass(name="night", kinds=["tag"]),
        ]
    )


def region(
    rid: str, label: str, x: float, score: float | None = None, color: str | None = None
) -> Region:
    classifications = [Classification(name="color", answers=[Answer(value=color)])] if color else []
    return Region(
        id=rid,
        label=label,
        shape=BBox(type="bbox", x=x, y=20, width=30, height=40),
        score=score,
        classifications=classifications,
    )


def items(shift: float = 0.0) -> list[Item]:
    """Three images; the second has two sets (CVAT keeps the first), the third none."""
    first = AnnotationSet(
        id="a1",
        annotator=Annotator(email="ann@example.com"),
        regions=[region("r1", "car", 10 + shift, color="blue"), region("r2", "person", 100)],
    )
    second = AnnotationSet(id="b1", regions=[region("r3", "car", 50)])
    extra = AnnotationSet(
        id="b2", annotator=Annotator(email="bob@example.com"), regions=[region("r4", "person", 5)]
    )
    return [
        Item(
            key="0001.jpg",
            media=Media(kind="image", uri=f"{DATA}/0001.jpg", width=640, height=480),
            annotation_sets=[first],
        ),
        Item(
            key="0002.jpg",
            media=Media(kind="image", uri=f"{DATA}/0002.jpg", width=640, height=480),
            annotation_sets=[second, extra],
        ),
        Item(
            key="0003.jpg", media=Media(kind="image", uri=f"{DATA}/0003.jpg", width=640, height=480)
        ),
    ]


def workspace(tmp_path: Path, shift: float = 0.0, name: str = "ws.db"):
    ws = open_workspace(tmp_path / name)
    dataset = Dataset(project=Project(name="street", ontology=ontology()), items=items(shift))
    ws.pull(dataset, SourceSpec("vendor", tool="jsonl"), MatchRule.parse("key"))
    return ws


def cvat_push(ws, url: str, **options: Any):
    target = CvatSyncTarget(url, {"token": "cvat-test-token", "poll_interval": 0, **options})
    try:
        return push(
            ws,
            target,
            PushOptions(
                **{
                    k: v
                    for k, v in options.items()
                    if k in ("as_predictions", "delete", "prefer", "full_scan")
                }
            ),
        )
    finally:
        target.close()


@pytest.fixture
def fake():
    server = FakeCvat()
    with respx.mock(assert_all_called=False) as router:
        router.route(host="cvat.example.com").mock(side_effect=server)
        yield server


def shapes_of(fake: FakeCvat, key: str) -> list[tuple[str, list[float]]]:
    (task_id,) = fake.task_of(key)
    labels = {
        label["id"]: label["name"] for label in fake.labels[fake.tasks[task_id]["project_id"]]
    }
    body = fake.annotations.get(job_id(task_id), {"shapes": []})
    return sorted((labels[s["label_id"]], s["points"]) for s in body["shapes"])


# ------------------------------------------------------------------------- tests


def test_first_push_sends_exactly_the_creates(fake: FakeCvat, tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    result = cvat_push(ws, "cvat://cvat.example.com/projects/new")
    (project_id,) = fake.projects
    tasks = sorted(fake.tasks)
    assert len(tasks) == 3
    expected = [("POST", "/api/projects")]
    for task_id in tasks:
        expected += [("POST", "/api/tasks"), ("POST", f"/api/tasks/{task_id}/data/")]
        if fake.frames[task_id] != ["0003.jpg"]:  # an item without sets gets no annotations
            expected += [
                ("PUT", f"/api/jobs/{job_id(task_id)}/annotations/"),
                ("PATCH", f"/api/tasks/{task_id}"),
            ]
    assert fake.changes() == expected
    # the project was created with the ontology's labels
    assert [label["name"] for label in fake.labels[project_id]] == ["car", "person", "night"]
    # boxes as x1, y1, x2, y2 (x, y, x + 30, y + 40), per task
    assert shapes_of(fake, "0001.jpg") == [
        ("car", [10.0, 20.0, 40.0, 60.0]),
        ("person", [100.0, 20.0, 130.0, 60.0]),
    ]
    assert shapes_of(fake, "0002.jpg") == [("car", [50.0, 20.0, 80.0, 60.0])]  # b1, not b2
    car = next(label for label in fake.labels[project_id] if label["name"] == "car")
    (first_task,) = fake.task_of("0001.jpg")
    (car_shape,) = [
        s for s in fake.annotations[job_id(first_task)]["shapes"] if s["label_id"] == car["id"]
    ]
    assert car_shape["attributes"] == [{"spec_id": car["attributes"][0]["id"], "value": "blue"}]
    assert "source" not in car_shape or car_shape["source"] == "manual"
    # the CVAT-only-keeps-one-set loss is reported
    assert result.losses.count("cvat.extra_annotation_sets") == 1
    # every task name carries the item's marker; the second one both set keys
    markers = {fake.frames[t][0]: parse_marker(fake.tasks[t]["name"], "bridge") for t in tasks}
    assert markers["0001.jpg"][0] == "0001.jpg" and len(markers["0001.jpg"][2]) == 1
    assert len(markers["0002.jpg"][2]) == 2 and markers["0003.jpg"][2] == []
    assert result.plan.counts()["create"] == {"project": 1, "item": 3, "annotation_set": 3}
    ws.close()


def test_second_push_sends_nothing(fake: FakeCvat, tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    cvat_push(ws, "cvat://cvat.example.com/projects/new")
    sent = len(fake.log)
    result = cvat_push(ws, "cvat://cvat.example.com/projects/new")
    assert fake.changes()[sent:] == []
    counts = result.plan.counts()
    assert counts["create"] == counts["update"] == {"project": 0, "item": 0, "annotation_set": 0}
    assert counts["unchanged"] == {"project": 1, "item": 3, "annotation_set": 3}
    ws.close()


def test_a_changed_set_is_one_put(fake: FakeCvat, tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    cvat_push(ws, "cvat://cvat.example.com/projects/new")
    sent = len(fake.log)
    ws.pull(
        Dataset(project=Project(name="street", ontology=ontology()), items=items(shift=5)),
        SourceSpec("vendor", tool="jsonl"),
        MatchRule.parse("key"),
    )
    read = len(fake.reads)
    result = cvat_push(ws, "cvat://cvat.example.com/projects/new")
    (task_id,) = fake.task_of("0001.jpg")
    assert fake.changes()[sent:] == [("PUT", f"/api/jobs/{job_id(task_id)}/annotations/")]
    # the changed set's job was read once to look for an edit made in CVAT (none: no conflict)
    annotation_reads = [p for p in fake.reads[read:] if p.endswith("/annotations/")]
    assert annotation_reads == [f"/api/jobs/{job_id(task_id)}/annotations/"]
    assert result.plan.conflicts == []
    assert shapes_of(fake, "0001.jpg")[0] == ("car", [15.0, 20.0, 45.0, 60.0])
    assert result.plan.counts()["update"]["annotation_set"] == 1
    ws.close()


def reference_annotations(tmp_path: Path) -> dict[str, list[tuple[str, list[float]]]]:
    server = FakeCvat()
    server.projects[7] = {"name": "street"}
    server.labels[7] = []
    with respx.mock(assert_all_called=False) as router:
        router.route(host="cvat.example.com").mock(side_effect=server)
        ws = workspace(tmp_path, name="reference.db")
        cvat_push(ws, "cvat://cvat.example.com/projects/7")
        ws.close()
    return {key: shapes_of(server, key) for key in ("0001.jpg", "0002.jpg", "0003.jpg")}


@pytest.mark.parametrize("executed", [False, True], ids=["before", "after"])
def test_a_push_killed_midway_and_rerun_creates_nothing_twice(
    tmp_path: Path, executed: bool
) -> None:
    expected = reference_annotations(tmp_path)
    # the clean run makes 1 label PATCH + 3 x (task, data) + 2 x (PUT, rename) = 11 changes
    for crash_after in range(11):
        server = FakeCvat()
        server.projects[7] = {"name": "street"}
        server.labels[7] = []
        with respx.mock(assert_all_called=False) as router:
            router.route(host="cvat.example.com").mock(side_effect=server)
            ws = workspace(tmp_path, name=f"crash{crash_after}{executed}.db")
            server.crash_after, server.executed = crash_after, executed
            with pytest.raises(Crash):
                cvat_push(ws, "cvat://cvat.example.com/projects/7")
            server.crash_after = None
            cvat_push(ws, "cvat://cvat.example.com/projects/7")
            again = len(server.log)
            cvat_push(ws, "cvat://cvat.example.com/projects/7")
            assert server.changes()[again:] == [], f"crash after {crash_after}: third run sent"
            ws.close()
        where = f"crash after {crash_after} ({'executed' if executed else 'not executed'})"
        assert len(server.tasks) == 3, where
        for key in expected:
            assert len(server.task_of(key)) == 1, where
            assert shapes_of(server, key) == expected[key], where
        assert [label["name"] for label in server.labels[7]] == ["car", "person", "night"], where


def test_as_predictions_marks_shapes_auto_with_scores(fake: FakeCvat, tmp_path: Path) -> None:
    ws = open_workspace(tmp_path / "p.db")
    prediction = AnnotationSet(
        id="p1",
        kind="prediction",
        score=0.5,
        regions=[
            region("r1", "car", 10, score=0.9),
            region("r2", "person", 60),  # no score of its own: the set's
            Region(id="t", label="night", shape=Tag(type="tag")),
        ],
    )
    item = Item(
        key="0009.jpg",
        media=Media(kind="image", uri=f"{DATA}/0009.jpg"),
        annotation_sets=[prediction],
    )
    ws.pull(
        Dataset(project=Project(name="p", ontology=ontology()), items=[item]),
        SourceSpec("model"),
        MatchRule.parse("key"),
    )
    cvat_push(ws, "cvat://cvat.example.com/projects/new", as_predictions=True)
    ((_, _, body),) = [entry for entry in fake.log if entry[0] == "PUT"]
    assert sorted((s["source"], s.get("score")) for s in body["shapes"]) == [
        ("auto", 0.5),
        ("auto", 0.9),
    ]
    assert [t["source"] for t in body["tags"]] == ["auto"]
    ws.close()


def test_a_task_url_is_refused() -> None:
    from bridge.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        CvatSyncTarget("cvat://cvat.example.com/tasks/4", {"token": "cvat-test-token"})
    assert "project" in caught.value.message


def test_deletions_go_only_with_delete(fake: FakeCvat, tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    cvat_push(ws, "cvat://cvat.example.com/projects/new")
    kept = [item for item in items() if item.key != "0001.jpg"]
    ws.pull(
        Dataset(project=Project(name="street", ontology=ontology()), items=kept),
        SourceSpec("vendor", tool="jsonl"),
        MatchRule.parse("key"),
    )
    (gone,) = fake.task_of("0001.jpg")
    sent = len(fake.log)
    result = cvat_push(ws, "cvat://cvat.example.com/projects/new")
    assert fake.changes()[sent:] == [] and result.plan.counts()["delete"]["item"] == 1
    cvat_push(ws, "cvat://cvat.example.com/projects/new", delete=True)
    assert ("DELETE", f"/api/tasks/{gone}") in fake.changes()[sent:]
    assert gone not in fake.tasks and len(fake.tasks) == 2
    sent = len(fake.log)
    cvat_push(ws, "cvat://cvat.example.com/projects/new", delete=True)
    assert fake.changes()[sent:] == []
    ws.close()


def test_registered_for_cvat_urls() -> None:
    from bridge_cvat.sync_target import sync_target

    from bridge.plugins import get_sync_target_factory

    assert get_sync_target_factory("cvat") is sync_target
    assert get_sync_target_factory("cvat+http") is sync_target


def test_an_existing_project_gets_only_the_labels_it_lacks(fake: FakeCvat, tmp_path: Path) -> None:
    fake.projects[7] = {"name": "street"}
    fake.labels[7] = []
    color = {
        "name": "color",
        "mutable": False,
        "input_type": "select",
        "values": ["red", "blue"],
        "default_value": "red",
    }
    fake.add_labels(7, [{"name": "car", "type": "rectangle", "attributes": [color]}])
    ws = workspace(tmp_path)
    cvat_push(ws, "cvat://cvat.example.com/projects/7")
    method, path, body = fake.log[0]
    assert (method, path) == ("PATCH", "/api/projects/7")
    assert [label["name"] for label in body["labels"]] == ["person", "night"]
    assert [label["name"] for label in fake.labels[7]] == ["car", "person", "night"]
    assert all(fake.tasks[t]["project_id"] == 7 for t in fake.tasks) and len(fake.tasks) == 3
    ws.close()


def test_an_existing_label_gets_the_attributes_it_lacks(fake: FakeCvat, tmp_path: Path) -> None:
    fake.projects[7] = {"name": "street"}
    fake.labels[7] = []
    fake.add_labels(
        7,
        [
            {
                "name": "car",
                "type": "rectangle",
                "attributes": [
                    {
                        "name": "parked",
                        "mutable": True,
                        "input_type": "checkbox",
                        "values": ["false"],
                        "default_value": "false",
                    }
                ],
            }
        ],
    )
    (car,) = fake.labels[7]
    parked_id = car["attributes"][0]["id"]
    ws = workspace(tmp_path)
    cvat_push(ws, "cvat://cvat.example.com/projects/7")
    method, path, body = fake.log[0]
    assert (method, path) == ("PATCH", "/api/projects/7")
    first = body["labels"][0]
    assert first["id"] == car["id"] and first["name"] == "car"
    assert [(a["name"], a.get("id")) for a in first["attributes"]] == [
        ("parked", parked_id),
        ("color", None),
    ]
    assert [label["name"] for label in body["labels"][1:]] == ["person", "night"]
    assert [a["name"] for a in fake.labels[7][0]["attributes"]] == ["parked", "color"]
    assert shapes_of(fake, "0001.jpg")[0] == ("car", [10.0, 20.0, 40.0, 60.0])
    sent = len(fake.log)
    cvat_push(ws, "cvat://cvat.example.com/projects/7")
    assert fake.changes()[sent:] == []
    ws.close()


# ------------------------------------------------------------------ conflicts, project


def edit_in_cvat(fake: FakeCvat, key: str) -> None:
    """What an annotator moving the car box of `key` in CVAT's UI leaves on the server."""
    (task_id,) = fake.task_of(key)
    stored = fake.annotations[job_id(task_id)]
    car = next(
        label["id"]
        for label in fake.labels[fake.tasks[task_id]["project_id"]]
        if label["name"] == "car"
    )
    (shape,) = [s for s in stored["shapes"] if s["label_id"] == car]
    shape["points"] = [12.0, 22.0, 42.0, 62.0]
    stored["version"] += 1


def set_id_of(ws, key: str) -> tuple[str, str]:
    (stored,) = [s for s in ws.iter_items() if s.item.key == key]
    return stored.item_id, stored.sets[0].set_id


@pytest.mark.parametrize("prefer", ["skip", "target", "source"])
def test_an_edit_made_in_cvat_is_a_conflict(fake: FakeCvat, tmp_path: Path, prefer: str) -> None:
    ws = workspace(tmp_path)
    cvat_push(ws, "cvat://cvat.example.com/projects/new")
    edit_in_cvat(fake, "0001.jpg")
    ws.pull(
        Dataset(project=Project(name="street", ontology=ontology()), items=items(shift=5)),
        SourceSpec("vendor", tool="jsonl"),
        MatchRule.parse("key"),
    )
    item_id, set_id = set_id_of(ws, "0001.jpg")
    sent = len(fake.log)
    result = cvat_push(ws, "cvat://cvat.example.com/projects/new", prefer=prefer)
    assert result.plan.conflicts == [
        {"kind": "annotation_set", "id": set_id, "item": item_id, "resolution": prefer}
    ]
    (task_id,) = fake.task_of("0001.jpg")
    if prefer == "source":  # the source's version overwrites the edit: one PUT
        assert fake.changes()[sent:] == [("PUT", f"/api/jobs/{job_id(task_id)}/annotations/")]
        assert shapes_of(fake, "0001.jpg")[0] == ("car", [15.0, 20.0, 45.0, 60.0])
    else:  # the edit made in CVAT stays
        assert fake.changes()[sent:] == []
        assert shapes_of(fake, "0001.jpg")[0] == ("car", [12.0, 22.0, 42.0, 62.0])
    sent = len(fake.log)
    again = cvat_push(ws, "cvat://cvat.example.com/projects/new", prefer=prefer)
    assert fake.changes()[sent:] == []
    # skip leaves the conflict open (listed again); target and source settled it
    assert len(again.plan.conflicts) == (1 if prefer == "skip" else 0)
    ws.close()


def test_an_edit_in_cvat_without_a_source_change_costs_no_request(
    fake: FakeCvat, tmp_path: Path
) -> None:
    ws = workspace(tmp_path)
    cvat_push(ws, "cvat://cvat.example.com/projects/new")
    edit_in_cvat(fake, "0001.jpg")
    sent, read = len(fake.log), len(fake.reads)
    result = cvat_push(ws, "cvat://cvat.example.com/projects/new")
    assert fake.changes()[sent:] == [] and result.plan.conflicts == []
    assert [p for p in fake.reads[read:] if "/jobs/" in p or re.search(r"/tasks/\d", p)] == []
    assert shapes_of(fake, "0001.jpg")[0] == ("car", [12.0, 22.0, 42.0, 62.0])
    ws.close()


def test_a_run_killed_after_creating_the_project_reuses_it(fake: FakeCvat, tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    fake.crash_after, fake.executed = 0, True  # POST /api/projects done, then killed
    with pytest.raises(Crash):
        cvat_push(ws, "cvat://cvat.example.com/projects/new")
    fake.crash_after = None
    (project_id,) = fake.projects
    assert re.search(r" \[bridge:project:[0-9a-f]{16}\]$", fake.projects[project_id]["name"])
    result = cvat_push(ws, "cvat://cvat.example.com/projects/new")
    assert list(fake.projects) == [project_id]
    assert [m for m, p in fake.changes() if p == "/api/projects"] == ["POST"]
    assert sorted(fake.tasks[t]["project_id"] for t in fake.tasks) == [project_id] * 3
    assert result.project == str(project_id)
    # another workspace pushing to /projects/new gets its own project
    other = workspace(tmp_path, name="other.db")
    cvat_push(other, "cvat://cvat.example.com/projects/new")
    assert len(fake.projects) == 2
    ws.close()
    other.close()


def test_the_fingerprint_ignores_ids_and_order_and_sees_edits() -> None:
    from bridge_cvat.sync_target import annotation_fingerprint

    def shape(sid: int, label: int, x: float, value: str = "red") -> dict[str, Any]:
        return {
            "id": sid,
            "type": "rectangle",
            "frame": 0,
            "label_id": label,
            "points": [x, 1.0, x + 5, 6.0],
            "attributes": [{"spec_id": 9, "value": value}],
        }

    track = {
        "id": 30,
        "label_id": 1,
        "frame": 0,
        "shapes": [{"id": 31, "type": "rectangle", "frame": 0, "points": [0, 0, 1, 1]}],
    }
    base = {0: {"version": 1, "shapes": [shape(1, 1, 0), shape(2, 2, 10)], "tracks": [track]}}
    again = {
        0: {
            "version": 7,
            "shapes": [shape(8, 2, 10), shape(7, 1, 0)],
            "tracks": [{**track, "id": 99}],
        }
    }
    assert annotation_fingerprint(base) == annotation_fingerprint(again)
    for edited in (
        [shape(1, 1, 0.5), shape(2, 2, 10)],  # a box moved
        [shape(1, 1, 0, "blue"), shape(2, 2, 10)],  # an attribute answered differently
        [shape(1, 2, 0), shape(2, 2, 10)],  # relabelled
        [shape(1, 1, 0)],  # one deleted
    ):
        changed = {0: {**base[0], "shapes": edited}}
        assert annotation_fingerprint(changed) != annotation_fingerprint(base)
    moved_track = {**track, "shapes": [{**track["shapes"][0], "points": [0, 0, 2, 2]}]}
    assert annotation_fingerprint({0: {**base[0], "tracks": [moved_track]}}) != (
        annotation_fingerprint(base)
    )
    assert annotation_fingerprint({5: base[0]}) != annotation_fingerprint(base)  # another job


def test_items_a_task_cannot_hold_are_reported_like_the_file_push(
    fake: FakeCvat, tmp_path: Path
) -> None:
    """One check shared with `NewTasksPush` (`task_media_url`): no http(s) URL is reported
    first (even for a text item), then a media kind CVAT cannot label; neither is pushed."""
    ws = open_workspace(tmp_path / "ws.db")
    odd = [
        Item(key="a.txt", media=Media(kind="text", uri="file:///a.txt")),
        Item(key="b.txt", media=Media(kind="text", uri=f"{DATA}/b.txt")),
        Item(key="c.jpg", media=Media(kind="image", uri="s3://bucket/c.jpg")),
        items()[0],
    ]
    dataset = Dataset(project=Project(name="street", ontology=ontology()), items=odd)
    ws.pull(dataset, SourceSpec("vendor", tool="jsonl"), MatchRule.parse("key"))
    result = cvat_push(ws, "cvat://cvat.example.com/projects/new")
    assert sorted(result.losses["cvat.no_remote_url"].examples) == ["a.txt", "c.jpg"]
    assert result.losses["cvat.media_kind"].examples == ["b.txt"]
    assert result.losses.count("cvat.no_remote_url") == 2
    assert result.losses.count("cvat.media_kind") == 1
    assert [p for m, p in fake.changes() if p == "/api/tasks"] == ["/api/tasks"]
    ws.close()


def test_a_pull_between_the_crash_and_the_rerun_still_reuses_the_project(
    fake: FakeCvat, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The project marker comes from the workspace's own id, not its items: an item pulled
    after the crash with an id smaller than every other (the old key's input) changes
    nothing."""
    import uuid
    from types import SimpleNamespace

    import bridge.store.pull

    ws = workspace(tmp_path)
    fake.crash_after, fake.executed = 0, True  # POST /api/projects done, then killed
    with pytest.raises(Crash):
        cvat_push(ws, "cvat://cvat.example.com/projects/new")
    fake.crash_after = None
    (project_id,) = fake.projects
    counter = iter(range(1000))  # ids 000...0, 000...1: below every random uuid4 hex
    monkeypatch.setattr(
        bridge.store.pull,
        "uuid",
        SimpleNamespace(uuid4=lambda: uuid.UUID(int=next(counter))),
    )
    newcomer = Item(key="0000.jpg", media=Media(kind="image", uri=f"{DATA}/0000.jpg"))
    dataset = Dataset(project=Project(name="street", ontology=ontology()), items=[newcomer])
    ws.pull(dataset, SourceSpec("late", tool="jsonl"), MatchRule.parse("key"))
    monkeypatch.undo()
    assert min(item.item_id for item in ws.iter_items()) == "0" * 32
    result = cvat_push(ws, "cvat://cvat.example.com/projects/new")
    assert list(fake.projects) == [project_id]
    assert result.project == str(project_id)
    assert sorted(fake.tasks[t]["project_id"] for t in fake.tasks) == [project_id] * 4
    ws.close()


def test_an_empty_workspace_killed_after_creating_the_project_reuses_it(
    fake: FakeCvat, tmp_path: Path
) -> None:
    ws = open_workspace(tmp_path / "empty.db")
    fake.crash_after, fake.executed = 0, True
    with pytest.raises(Crash):
        cvat_push(ws, "cvat://cvat.example.com/projects/new")
    fake.crash_after = None
    (project_id,) = fake.projects
    assert re.search(r" \[bridge:project:[0-9a-f]{16}\]$", fake.projects[project_id]["name"])
    cvat_push(ws, "cvat://cvat.example.com/projects/new")
    assert list(fake.projects) == [project_id]
    ws.close()


def test_the_workspace_id_is_made_once_and_kept(tmp_path: Path) -> None:
    """`Workspace.workspace_id`: written at creation, the same after reopening; a workspace
    made before the key existed gets one on first use, then keeps it."""
    from sqlalchemy import delete

    from bridge.store import models

    ws = open_workspace(tmp_path / "ws.db")
    first = ws.workspace_id
    assert re.fullmatch(r"[0-9a-f]{32}", first)
    ws.close()
    ws = open_workspace(tmp_path / "ws.db")
    assert ws.workspace_id == first
    with ws.engine.begin() as conn:  # as a workspace written before the key existed
        conn.execute(delete(models.meta).where(models.meta.c.key == "workspace_id"))
    ws.close()
    ws = open_workspace(tmp_path / "ws.db")
    made = ws.workspace_id
    assert re.fullmatch(r"[0-9a-f]{32}", made) and made != first
    ws.close()
    ws = open_workspace(tmp_path / "ws.db")
    assert ws.workspace_id == made
    ws.close()
