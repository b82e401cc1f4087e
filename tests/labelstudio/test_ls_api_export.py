"""Pulling through an export snapshot: poll, stream to a temp file, parse, clean up."""

from __future__ import annotations

import json
import os
import tempfile

import httpx
import pytest
import respx
from bridge_labelstudio.api import LabelStudioApi
from pydantic import SecretStr

from bridge.errors import FormatError, NotFoundError, RemoteError
from bridge.http import RetryPolicy

BASE = "http://ls.test"
TASKS = [
    {
        "id": 1,
        "data": {"text": "a"},
        "annotations": [],
        "predictions": [{"id": 4, "result": [], "model_version": "m", "score": 0.25}],
    },
    {"id": 2, "data": {"text": "b"}, "annotations": [], "predictions": []},
]


def export_files() -> set[str]:
    return {n for n in os.listdir(tempfile.gettempdir()) if n.startswith("ls-export-")}


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def api(sleeps):
    retry = RetryPolicy(attempts=2, sleep=sleeps.append)
    return LabelStudioApi(BASE, SecretStr("k" * 20), retry=retry)


def mock_snapshot(mock, body: bytes) -> dict:
    routes = {
        "create": mock.post("/api/projects/3/exports/").respond(
            201, json={"id": 8, "status": "in_progress"}
        ),
        "poll": mock.get("/api/projects/3/exports/8").respond(
            200, json={"id": 8, "status": "completed"}
        ),
        "download": mock.get("/api/projects/3/exports/8/download").respond(
            200, content=body, headers={"Content-Type": "application/json"}
        ),
        "delete": mock.delete("/api/projects/3/exports/8").respond(204),
    }
    return routes


def test_ls_export_snapshot_yields_tasks_with_full_predictions(api, sleeps):
    before = export_files()
    with respx.mock(base_url=BASE) as mock:
        routes = mock_snapshot(mock, json.dumps(TASKS).encode())
        rows = list(api.export_tasks(3))
    assert rows == TASKS
    create_body = json.loads(routes["create"].calls[0].request.content)
    assert create_body["serialization_options"] == {"predictions": {"only_id": False}}
    assert routes["download"].calls[0].request.url.params["exportType"] == "JSON"
    assert sleeps == [1.0], "polled once, with the injected sleep"
    assert routes["delete"].call_count == 1, "the snapshot is removed from the server"
    assert export_files() == before, "the temporary download is removed"


def test_ls_truncated_export_is_format_error_and_cleans_up(api):
    before = export_files()
    truncated = json.dumps(TASKS).encode()[:-20]
    with respx.mock(base_url=BASE) as mock:
        mock_snapshot(mock, truncated)
        seen = []
        with pytest.raises(FormatError) as caught:
            for row in api.export_tasks(3):
                seen.append(row["id"])
    assert seen == [1]
    assert caught.value.where == "export of project 3: task 2"  # the task it breaks off in
    assert export_files() == before


def test_ls_export_of_missing_project_is_not_found(api):
    with respx.mock(base_url=BASE) as mock:
        mock.post("/api/projects/404/exports/").respond(404, json={"detail": "Not found."})
        with pytest.raises(NotFoundError):
            list(api.export_tasks(404))


def test_ls_sync_export_asks_for_all_tasks(api):
    with respx.mock(base_url=BASE) as mock:
        route = mock.get("/api/projects/3/export").respond(200, json=TASKS)
        assert [t["id"] for t in api.export_sync(3)] == [1, 2]
    params = route.calls[0].request.url.params
    assert params["download_all_tasks"] == "true" and params["exportType"] == "JSON"


def test_ls_export_download_is_retried_after_a_reset_or_503(sleeps):
    api = LabelStudioApi(
        BASE, SecretStr("k" * 20), retry=RetryPolicy(attempts=3, sleep=sleeps.append)
    )
    before = export_files()
    with respx.mock(base_url=BASE) as mock:
        routes = mock_snapshot(mock, b"")
        routes["download"].mock(
            side_effect=[
                httpx.ReadError("Connection reset by peer"),
                httpx.Response(503, headers={"Retry-After": "3"}, text="busy"),
                httpx.Response(200, json=TASKS),
            ]
        )
        rows = list(api.export_tasks(3))
    assert [row["id"] for row in rows] == [1, 2]
    assert sleeps == [1.0, 0.5, 3.0], "poll, backoff after the reset, Retry-After after the 503"
    assert export_files() == before


def test_ls_export_download_gives_up_after_the_retries(sleeps):
    api = LabelStudioApi(
        BASE, SecretStr("k" * 20), retry=RetryPolicy(attempts=2, sleep=sleeps.append)
    )
    before = export_files()
    with respx.mock(base_url=BASE) as mock:
        routes = mock_snapshot(mock, b"")
        routes["download"].respond(502, text="bad gateway")
        with pytest.raises(RemoteError) as caught:
            list(api.export_tasks(3))
    assert "HTTP 502" in caught.value.message
    assert caught.value.where == "GET /api/projects/3/exports/8/download?exportType=JSON"
    assert routes["download"].call_count == 2 and routes["delete"].call_count == 1
    assert export_files() == before
