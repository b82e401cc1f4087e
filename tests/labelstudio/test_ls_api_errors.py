"""Failure paths of the Label Studio API client, driven by respx (no server, no sleeping)."""

from __future__ import annotations

import httpx
import pytest
import respx
from bridge_labelstudio.api import LabelStudioApi
from pydantic import SecretStr

from bridge.errors import AuthError, FormatError, NotFoundError, RemoteError
from bridge.http import RetryPolicy

BASE = "http://ls.test"
TOKEN = "legacy0123456789abcdef0123456789ab"


class RecordingSleep:
    """An injected sleep that records the waits instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def sleep() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
def api(sleep: RecordingSleep) -> LabelStudioApi:
    retry = RetryPolicy(attempts=4, backoff=0.5, sleep=sleep)
    with LabelStudioApi(BASE, SecretStr(TOKEN), retry=retry) as client:
        yield client


def task(task_id: int) -> dict:
    return {"id": task_id, "data": {"image": f"http://img/{task_id}.jpg"}, "annotations": []}


def tasks_page(ids: list[int], total: int) -> httpx.Response:
    return httpx.Response(200, json={"tasks": [task(i) for i in ids], "total": total})


@respx.mock(base_url=BASE)
def test_ls_401_is_auth_error_without_token(respx_mock, api):
    respx_mock.get("/api/current-user/whoami").respond(401, json={"detail": "Invalid token."})
    with pytest.raises(AuthError) as caught:
        api.whoami()
    text = f"{caught.value}{caught.value!r}{caught.value.hint}"
    assert "HTTP 401" in text and "Invalid token." in text
    assert caught.value.where == "GET /api/current-user/whoami"
    assert "LABEL_STUDIO_API_KEY" in caught.value.hint
    assert TOKEN not in text
    assert respx_mock.calls.last.request.headers["Authorization"] == f"Token {TOKEN}"


@respx.mock(base_url=BASE)
def test_ls_401_echoing_the_token_is_redacted(respx_mock, api):
    detail = f"token {TOKEN} is unknown"
    respx_mock.get("/api/current-user/whoami").respond(401, json={"detail": detail})
    with pytest.raises(AuthError) as caught:
        api.whoami()
    assert TOKEN not in str(caught.value)
    assert "token *** is unknown" in str(caught.value)


@respx.mock(base_url=BASE)
def test_ls_401_legacy_tokens_disabled_hints_at_personal_token(respx_mock, api):
    detail = (
        "Authentication token no longer valid: legacy token authentication has been "
        "disabled for this organization"
    )
    respx_mock.get("/api/current-user/whoami").respond(401, json={"detail": detail})
    with pytest.raises(AuthError) as caught:
        api.whoami()
    assert "personal access token" in caught.value.hint


@respx.mock(base_url=BASE)
def test_ls_404_project_is_not_found_with_hint(respx_mock, api):
    respx_mock.get("/api/projects/99/").respond(
        404, json={"detail": "No Project matches the given query."}
    )
    with pytest.raises(NotFoundError) as caught:
        api.get_project(99)
    assert caught.value.where == "GET /api/projects/99/"
    assert "No Project matches" in caught.value.message
    assert "project id" in caught.value.hint


@respx.mock(base_url=BASE)
def test_ls_429_waits_the_hinted_seconds_then_succeeds(respx_mock, api, sleep):
    respx_mock.get("/api/projects/3/").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "7"}, json={"detail": "slow down"}),
            httpx.Response(200, json={"id": 3, "title": "P"}),
        ]
    )
    assert api.get_project(3) == {"id": 3, "title": "P"}
    assert sleep.waits == [7.0]


@respx.mock(base_url=BASE)
def test_ls_500_then_success_backs_off(respx_mock, api, sleep):
    respx_mock.get("/api/projects/3/").mock(
        side_effect=[
            httpx.Response(500, text="boom"),
            httpx.Response(502, text="bad gateway"),
            httpx.Response(200, json={"id": 3, "title": "P"}),
        ]
    )
    assert api.get_project(3)["title"] == "P"
    assert sleep.waits == [0.5, 1.0]  # backoff * 2**attempt


@respx.mock(base_url=BASE)
def test_ls_500_on_import_is_not_retried(respx_mock, api, sleep):
    route = respx_mock.post("/api/projects/3/import").respond(500, text="boom")
    with pytest.raises(RemoteError) as caught:
        api.import_tasks(3, [{"data": {"image": "a"}}])
    assert route.call_count == 1, "a POST the server may have acted on must not be repeated"
    assert sleep.waits == []
    assert caught.value.where == "POST /api/projects/3/import?return_task_ids=true"


@respx.mock(base_url=BASE)
def test_ls_connection_reset_mid_pagination_is_retried(respx_mock, api, sleep):
    calls = {"page2": 0}

    def pages(request: httpx.Request) -> httpx.Response:
        page = request.url.params["page"]
        if page == "1":
            return tasks_page([1, 2], total=5)
        if page == "2":
            calls["page2"] += 1
            if calls["page2"] == 1:
                raise httpx.ReadError("Connection reset by peer")
            return tasks_page([3, 4], total=5)
        if page == "3":
            return tasks_page([5], total=5)
        return httpx.Response(404, json={"detail": "Invalid page."})

    respx_mock.get("/api/tasks").mock(side_effect=pages)
    ids = [t["id"] for t in api.iter_tasks(7, page_size=2)]
    assert ids == [1, 2, 3, 4, 5]
    assert calls["page2"] == 2
    assert sleep.waits == [0.5]
    pages_asked = [c.request.url.params["page"] for c in respx_mock.calls]
    assert pages_asked == ["1", "2", "2", "3"], "stops at `total` without asking for page 4"


@respx.mock(base_url=BASE)
def test_ls_pagination_stops_on_404_or_empty_page(respx_mock, api):
    def pages(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        if page <= 2:
            return httpx.Response(200, json={"tasks": [task(page)]})  # no `total`
        return httpx.Response(404, json={"detail": "Invalid page."})

    respx_mock.get("/api/tasks").mock(side_effect=pages)
    assert [t["id"] for t in api.iter_tasks(7)] == [1, 2]
    first = respx_mock.calls[0].request.url.params
    assert dict(first) == {"project": "7", "page_size": "100", "fields": "all", "page": "1"}


@respx.mock(base_url=BASE)
def test_ls_missing_project_on_first_task_page_is_not_found(respx_mock, api):
    respx_mock.get("/api/tasks").respond(404, json={"detail": "Not found."})
    with pytest.raises(NotFoundError):
        list(api.iter_tasks(7))


@pytest.mark.parametrize(
    "bad_page",
    [
        httpx.Response(200, text="<html>proxy error</html>"),
        httpx.Response(200, json={"tasks": "oops", "total": 9}),
        httpx.Response(200, json={"tasks": [1, 2], "total": 9}),
        httpx.Response(200, json=[{"id": 3}]),
    ],
)
def test_ls_malformed_page_is_format_error_naming_the_request(bad_page, api):
    with respx.mock(base_url=BASE) as mock:
        mock.get("/api/tasks").mock(side_effect=[tasks_page([1, 2], total=9), bad_page])
        seen = []
        with pytest.raises(FormatError) as caught:
            for row in api.iter_tasks(7, page_size=2):
                seen.append(row["id"])
    assert seen == [1, 2]
    assert caught.value.where == "GET /api/tasks?project=7&page_size=2&fields=all&page=2"
    assert "malformed" in caught.value.message


@respx.mock(base_url=BASE)
def test_ls_projects_follow_pages_until_next_is_null(respx_mock, api):
    def pages(request: httpx.Request) -> httpx.Response:
        page = request.url.params["page"]
        nxt = "http://elsewhere/api/projects/?page=2" if page == "1" else None
        return httpx.Response(
            200, json={"count": 3, "next": nxt, "results": [{"id": int(page) * 10}]}
        )

    respx_mock.get("/api/projects/").mock(side_effect=pages)
    assert [p["id"] for p in api.list_projects(page_size=1)] == [10, 20]
    assert all(c.request.url.host == "ls.test" for c in respx_mock.calls)


@respx.mock(base_url=BASE)
def test_ls_import_answer_without_task_ids_is_format_error(respx_mock, api):
    respx_mock.post("/api/projects/3/import").respond(201, json={"import": 12})
    with pytest.raises(FormatError) as caught:
        api.import_tasks(3, [{"data": {"image": "a"}}])
    assert "task_ids" in caught.value.message
    assert "Enterprise" in caught.value.hint


@respx.mock(base_url=BASE)
def test_ls_import_400_names_the_validation_errors(respx_mock, api):
    body = {
        "status_code": 400,
        "detail": "Validation error",
        "validation_errors": {
            "non_field_errors": [
                "Import data contains completed_by=99 which is not a valid annotator's email or ID"
            ]
        },
    }
    respx_mock.post("/api/projects/3/import").respond(400, json=body)
    with pytest.raises(RemoteError) as caught:
        api.import_tasks(3, [{"data": {"image": "a"}, "annotations": [{"completed_by": 99}]}])
    assert "HTTP 400" in caught.value.message
    assert "completed_by=99 which is not a valid annotator" in caught.value.message
