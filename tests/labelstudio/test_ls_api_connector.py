"""The Label Studio connector without a server: URLs, the token, and what a push sends."""

from __future__ import annotations

import json

import httpx
import pytest
import respx
from bridge_labelstudio.connector import (
    LabelStudioConnector,
    LabelStudioHttpsConnector,
    parse_url,
)

from bridge import plugins
from bridge.errors import AuthError, ConfigError
from bridge.formats import Dataset
from bridge.losses import LossReport
from bridge.schema import (
    AnnotationSet,
    Annotator,
    BBox,
    Item,
    LabelClass,
    Media,
    Ontology,
    Project,
    Region,
    SourceRef,
)

TOKEN = "ci0123456789abcdef0123456789abcdef"
CONFIG = (
    '<View><Image name="image" value="$image"/>'
    '<RectangleLabels name="box" toName="image"><Label value="Car"/></RectangleLabels></View>'
)
USERS = [
    {"id": 1, "email": "ci@example.com", "first_name": "", "last_name": ""},
    {"id": 7, "email": "Ann@Example.com", "first_name": "Ann", "last_name": "Two"},
]


@pytest.mark.parametrize(
    ("url", "base", "project"),
    [
        ("labelstudio://127.0.0.1:8080/projects/3", "http://127.0.0.1:8080", 3),
        ("labelstudio://127.0.0.1:8080/projects/3/", "http://127.0.0.1:8080", 3),
        ("labelstudio://ls.local:8080", "http://ls.local:8080", None),
        ("labelstudio://ls.local:8080/projects/new", "http://ls.local:8080", None),
        ("labelstudio://ls.local:8080/projects", "http://ls.local:8080", None),
        ("labelstudio+https://example.org/projects/12", "https://example.org", 12),
        ("labelstudio+https://example.org/ls/projects/5", "https://example.org/ls", 5),
        ("labelstudio+http://example.org/projects/5", "http://example.org", 5),
    ],
)
def test_ls_url_forms(url, base, project):
    target = parse_url(url)
    assert (target.base_url, target.project_id) == (base, project)


@pytest.mark.parametrize(
    "url",
    [
        "labelstudio://host/projects/abc",
        "labelstudio://",
        "cvat://host/projects/1",
        "labelstudio://host/projects/3/tasks",
    ],
)
def test_ls_bad_urls_are_config_errors(url):
    with pytest.raises(ConfigError) as caught:
        parse_url(url)
    assert "labelstudio://HOST:PORT/projects/ID" in caught.value.hint


def test_ls_connectors_are_registered_for_both_schemes():
    assert plugins.get_connector("labelstudio") is LabelStudioConnector
    assert plugins.get_connector("labelstudio+https") is LabelStudioHttpsConnector


def test_ls_missing_token_says_which_variable(monkeypatch):
    monkeypatch.delenv("LABEL_STUDIO_API_KEY", raising=False)
    with pytest.raises(ConfigError) as caught:
        LabelStudioConnector.from_url("labelstudio://127.0.0.1:8080/projects/1")
    assert "LABEL_STUDIO_API_KEY" in str(caught.value)


@respx.mock(base_url="http://ls.test")
def test_ls_refused_token_never_appears_in_the_error(respx_mock, monkeypatch):
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", TOKEN)
    respx_mock.get("/api/projects/3/").respond(401, json={"detail": "Invalid token."})
    connector = LabelStudioConnector.from_url("labelstudio://ls.test/projects/3")
    with pytest.raises(AuthError) as caught:
        connector.read(LossReport())
    assert TOKEN not in f"{caught.value}{caught.value!r}"


@respx.mock(base_url="http://ls.test")
def test_ls_read_without_project_lists_the_projects(respx_mock, monkeypatch):
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", TOKEN)
    respx_mock.get("/api/projects/").respond(
        200,
        json={
            "count": 2,
            "next": None,
            "results": [{"id": 4, "title": "Cars"}, {"id": 9, "title": "NER"}],
        },
    )
    connector = LabelStudioConnector.from_url("labelstudio://ls.test")
    with pytest.raises(ConfigError) as caught:
        connector.read(LossReport())
    assert "4 'Cars', 9 'NER'" in caught.value.hint


# ------------------------------------------------------------------------------ push


def box_set(set_id: str, who: Annotator | None, **fields) -> AnnotationSet:
    region = Region(id=f"r-{set_id}", label="Car", shape=BBox(x=64, y=48, width=128, height=96))
    return AnnotationSet(id=set_id, annotator=who, regions=[region], **fields)


def item(n: int, sets: list[AnnotationSet], **fields) -> Item:
    url = f"http://img/{n}.jpg"
    media = Media(kind="image", uri=url, width=640, height=480)
    return Item(key=url, media=media, data={"image": url}, annotation_sets=sets, **fields)


class FakeServer:
    """Just enough Label Studio for a push: users, project create/get, import."""

    def __init__(self, mock: respx.MockRouter) -> None:
        self.imports: list[list[dict]] = []
        self.created: list[dict] = []
        self.next_task = 100
        mock.get("/api/users/").respond(200, json=USERS)
        mock.post("/api/projects/").mock(side_effect=self.create)
        mock.get("/api/projects/42/").respond(200, json={"id": 42, "label_config": CONFIG})
        mock.post("/api/projects/42/import").mock(side_effect=self.import_tasks)

    def create(self, request: httpx.Request) -> httpx.Response:
        self.created.append(json.loads(request.content))
        return httpx.Response(201, json={"id": 42})

    def import_tasks(self, request: httpx.Request) -> httpx.Response:
        assert request.url.params["return_task_ids"] == "true"
        tasks = json.loads(request.content)
        self.imports.append(tasks)
        ids = list(range(self.next_task, self.next_task + len(tasks)))
        self.next_task += len(tasks)
        return httpx.Response(
            201,
            json={
                "task_count": len(tasks),
                "task_ids": ids,
                "annotation_count": sum(len(t.get("annotations", [])) for t in tasks),
                "prediction_count": sum(len(t.get("predictions", [])) for t in tasks),
            },
        )


def push(items: list[Item], url: str = "labelstudio://ls.test", **options):
    ontology = Ontology(labels=[LabelClass(name="Car", kinds=["bbox"])])
    dataset = Dataset(
        project=Project(name="Cars", media_kind="image", ontology=ontology), items=items
    )
    losses = LossReport()
    result = LabelStudioConnector.from_url(url).write(dataset, losses, **options)
    return result, losses


@pytest.fixture
def server(monkeypatch):
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", TOKEN)
    with respx.mock(base_url="http://ls.test", assert_all_called=False) as mock:
        yield FakeServer(mock)


def test_ls_push_creates_a_project_and_imports_in_batches(server):
    items = [item(n, [box_set("a", Annotator(email="ci@example.com"))]) for n in range(5)]
    result, _ = push(items, batch_size=2)
    assert len(server.created) == 1
    assert server.created[0]["title"] == "Cars"
    assert "<RectangleLabels" in server.created[0]["label_config"]
    assert 'value="Car"' in server.created[0]["label_config"]
    assert [len(batch) for batch in server.imports] == [2, 2, 1], "one request per batch"
    assert result["tasks"] == {f"http://img/{n}.jpg": 100 + n for n in range(5)}
    assert result["project"] == 42 and result["created_project"] is True
    assert result["url"] == "labelstudio://ls.test/projects/42"
    assert result["annotations"] == 5


def test_ls_push_sends_import_shaped_tasks(server):
    from label_studio_sdk.types import AnnotationRequest

    sets = [
        box_set("a", Annotator(email="ann@example.com"), lead_time=4.5, status="submitted"),
        box_set("b", None, status="skipped", ground_truth=True),
        box_set("p", None, kind="prediction", model_version="det-2", score=0.25),
    ]
    push(
        [item(1, sets, extra={"meta": {"batch": "b1"}, "inner_id": 9, "project": 3})],
        url="labelstudio://ls.test/projects/42",
    )
    assert server.created == [], "the URL names a project: none is created"
    (task,) = server.imports[0]
    assert set(task) == {"data", "meta", "annotations", "predictions"}
    assert task["data"] == {"image": "http://img/1.jpg"}
    assert task["meta"] == {"batch": "b1"}, "server bookkeeping such as inner_id is not sent"
    first, second = task["annotations"]
    assert first["completed_by"] == 7, "found by email, case-insensitively"
    assert first["lead_time"] == 4.5 and first["was_cancelled"] is False
    assert first["ground_truth"] is False, "sent explicitly: Label Studio defaults it to true"
    assert "completed_by" not in second and second["was_cancelled"] is True
    assert second["ground_truth"] is True
    for annotation in task["annotations"]:
        AnnotationRequest.model_validate(annotation)
    (prediction,) = task["predictions"]
    assert prediction["model_version"] == "det-2" and prediction["score"] == 0.25
    box = prediction["result"][0]
    assert box["value"]["x"] == pytest.approx(10.0) and box["value"]["width"] == pytest.approx(20.0)
    assert box["original_width"] == 640 and box["from_name"] == "box"


def test_ls_push_records_annotators_the_server_does_not_know(server):
    stranger = box_set("a", Annotator(id="31", email="stranger@example.org"))
    other_server = box_set(
        "b",
        Annotator(id="7"),
        source=SourceRef(tool="labelstudio", instance="http://elsewhere:8080"),
    )
    this_server = box_set(
        "c", Annotator(id="7"), source=SourceRef(tool="labelstudio", instance="http://ls.test")
    )
    _, losses = push(
        [item(1, [stranger, other_server, this_server])], url="labelstudio://ls.test/projects/42"
    )
    annotations = server.imports[0][0]["annotations"]
    assert [a.get("completed_by") for a in annotations] == [None, None, 7]
    assert losses.count("annotator-not-kept") == 2
    assert losses["annotator-not-kept"].examples == [
        "item http://img/1.jpg annotation a by stranger@example.org",
        "item http://img/1.jpg annotation b by user 7",
    ]


def test_ls_push_records_drafts_and_keeps_foreign_keys(server):
    draft = box_set("d", Annotator(email="ci@example.com"), status="draft")
    foreign = item(2, [draft]).model_copy(update={"key": "gk-0002"})
    result, losses = push([foreign], url="labelstudio://ls.test/projects/42")
    (task,) = server.imports[0]
    assert task["annotations"] == [] and losses.count("draft-not-pushed") == 1
    assert task["meta"] == {"bridge_key": "gk-0002"}, (
        "a key Label Studio cannot derive rides in meta"
    )
    assert result["tasks"] == {"gk-0002": 100}


@respx.mock(base_url="http://ls.test")
def test_ls_pull_falls_back_to_pages_without_snapshot_api(respx_mock, monkeypatch):
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", TOKEN)
    respx_mock.get("/api/users/").respond(200, json=USERS)
    respx_mock.get("/api/projects/42/").respond(
        200, json={"id": 42, "title": "Cars", "label_config": CONFIG}
    )
    respx_mock.post("/api/projects/42/exports/").respond(404, json={"detail": "Not found."})
    task = {
        "id": 5,
        "data": {"image": "http://img/5.jpg"},
        "annotations_results": "[...]",
        "annotations": [{"id": 1, "completed_by": 7, "result": [], "created_ago": "1 minute"}],
    }
    respx_mock.get("/api/tasks").respond(200, json={"tasks": [task], "total": 1})
    dataset = LabelStudioConnector.from_url("labelstudio://ls.test/projects/42").read(LossReport())
    (pulled,) = list(dataset.items)
    assert pulled.key == "http://img/5.jpg" and pulled.source.item == "5"
    assert "annotations_results" not in pulled.extra
    (aset,) = pulled.annotation_sets
    assert "created_ago" not in aset.extra
    assert (aset.annotator.id, aset.annotator.email, aset.annotator.name) == (
        "7",
        "Ann@Example.com",
        "Ann Two",
    )
    assert dataset.project.name == "Cars" and dataset.project.media_kind == "image"


@pytest.mark.parametrize(
    ("name", "title"),
    [
        ("Cars", "Cars"),
        ("ab", "ab (label-bridge)"),
        ("", "(label-bridge)"),
        ("x" * 60, "x" * 49 + "…"),
        ("two\n lines", "two lines"),
    ],
)
def test_ls_new_project_titles_fit_label_studio_limits(name, title):
    from bridge_labelstudio.connector import project_title

    assert project_title(name) == title
    assert 3 <= len(title) <= 50


@respx.mock(base_url="http://ls.test", assert_all_called=False)
def test_ls_push_without_permission_to_list_users_records_annotators(respx_mock, monkeypatch):
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", TOKEN)
    respx_mock.get("/api/users/").respond(403, json={"detail": "You do not have permission."})
    respx_mock.get("/api/projects/42/").respond(200, json={"id": 42, "label_config": CONFIG})
    imported = respx_mock.post("/api/projects/42/import").respond(
        201, json={"task_ids": [1], "annotation_count": 1, "prediction_count": 0}
    )
    sets = [box_set("a", Annotator(email="ci@example.com"))]
    result, losses = push([item(1, sets)], url="labelstudio://ls.test/projects/42")
    assert result["tasks"] == {"http://img/1.jpg": 1}
    assert "completed_by" not in json.loads(imported.calls[0].request.content)[0]["annotations"][0]
    assert losses.count("annotator-not-kept") == 1


@pytest.mark.parametrize("value", ["abc", 0, -3, 2.5, True])
def test_ls_bad_size_options_are_config_errors(server, value):
    items = [item(1, [box_set("a", None)])]
    with pytest.raises(ConfigError) as caught:
        push(items, url="labelstudio://ls.test/projects/42", batch_size=value)
    assert "batch_size" in str(caught.value)


def test_ls_push_creates_the_project_from_the_final_ontology(server):
    """A reader finds labels while streaming: the project's config, created before the
    first task is imported, must still list every label (bridge.api spools the stream)."""
    from bridge import api

    project = Project(name="Cars", media_kind="image")

    def discovering():
        for n, label in enumerate(["Car", "Bus", "Tram"]):
            project.ontology.labels.append(LabelClass(name=label, kinds=["bbox"]))
            yield item(n, [box_set("a", Annotator(email="ci@example.com"))])

    api.write_dataset(
        Dataset(project=project, items=discovering()),
        "labelstudio://ls.test",
        "labelstudio",
        LossReport(),
    )
    config = server.created[0]["label_config"]
    assert all(f'value="{label}"' in config for label in ("Car", "Bus", "Tram"))
    assert sum(len(batch) for batch in server.imports) == 3
