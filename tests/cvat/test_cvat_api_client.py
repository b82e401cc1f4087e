"""CvatApi over respx: auth headers, errors without the token, retries, pagination,
background requests, annotation writes."""

from __future__ import annotations

import httpx
import pytest
import respx
from bridge_cvat.api import CvatApi
from pydantic import SecretStr

from bridge.errors import AuthError, BridgeError, FormatError, RemoteError
from bridge.http import RetryPolicy
from tests.cvat.test_cvat_api_oracle import assert_request_body, fixture, load

HOST = "https://cvat.example.com"
TOKEN = "pat-s3cr3t-token-value"


class Sleeps:
    """An injected sleep: records the waits instead of waiting."""

    def __init__(self):
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def make_api(sleeps: Sleeps | None = None, **options) -> CvatApi:
    sleeps = sleeps or Sleeps()
    retry = RetryPolicy(attempts=4, backoff=0.5, sleep=sleeps)
    return CvatApi(HOST, token=SecretStr(TOKEN), retry=retry, sleep=sleeps, **options)


@respx.mock
def test_cvat_api_sends_bearer_token_and_organization():
    route = respx.get(f"{HOST}/api/server/about").respond(json=fixture("server_about.json"))
    about = make_api(organization="acme").about()
    assert load("About", about).version == "2.22.0"
    request = route.calls.last.request
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["X-Organization"] == "acme"


@respx.mock
def test_cvat_api_without_organization_sends_no_org_header():
    route = respx.get(f"{HOST}/api/server/about").respond(json=fixture("server_about.json"))
    make_api().about()
    assert "X-Organization" not in route.calls.last.request.headers


@pytest.mark.parametrize("status", [401, 403])
@respx.mock
def test_cvat_api_auth_failure_is_clear_and_hides_the_token(status):
    detail = f"Invalid token {TOKEN}" if status == 401 else "You do not have permission."
    respx.get(f"{HOST}/api/tasks/42").respond(status, json={"detail": detail})
    with pytest.raises(AuthError) as caught:
        make_api().get_task(42)
    text = str(caught.value)
    assert TOKEN not in text
    assert f"HTTP {status}" in text
    assert "GET /api/tasks/42" in text
    assert "CVAT_ACCESS_TOKEN" in text  # the hint says what to set


@respx.mock
def test_cvat_api_retries_429_honouring_retry_after():
    route = respx.get(f"{HOST}/api/tasks/42").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "7"}, json={"detail": "slow down"}),
            httpx.Response(200, json=fixture("task42.json")),
        ]
    )
    sleeps = Sleeps()
    task = make_api(sleeps).get_task(42)
    assert task["id"] == 42
    assert route.call_count == 2
    assert sleeps.calls == [7.0]


@pytest.mark.parametrize("status", [500, 502, 503, 504])
@respx.mock
def test_cvat_api_retries_5xx_with_backoff(status):
    route = respx.get(f"{HOST}/api/jobs/101/annotations/").mock(
        side_effect=[
            httpx.Response(status, text="upstream error"),
            httpx.Response(status, text="upstream error"),
            httpx.Response(200, json=fixture("job101_annotations.json")),
        ]
    )
    sleeps = Sleeps()
    answer = make_api(sleeps).get_job_annotations(101)
    assert len(answer["shapes"]) == 8
    assert route.call_count == 3
    assert sleeps.calls == [0.5, 1.0]


@respx.mock
def test_cvat_api_gives_up_after_the_last_attempt():
    route = respx.get(f"{HOST}/api/tasks/42").respond(503, json={"detail": "maintenance"})
    with pytest.raises(RemoteError, match="HTTP 503: maintenance"):
        make_api().get_task(42)
    assert route.call_count == 4


@respx.mock
def test_cvat_api_does_not_retry_a_task_creation_on_5xx():
    # the server may have created the task before failing: a retry would duplicate it
    route = respx.post(f"{HOST}/api/tasks").respond(502, text="bad gateway")
    with pytest.raises(RemoteError):
        make_api().create_task({"name": "t"})
    assert route.call_count == 1


@respx.mock
def test_cvat_api_follows_next_through_three_label_pages():
    pages = [fixture(f"labels_project7_page{n}.json") for n in (1, 2, 3)]
    route = respx.get(f"{HOST}/api/labels").mock(
        side_effect=[httpx.Response(200, json=page) for page in pages]
    )
    labels = list(make_api(page_size=3).list_labels(project_id=7))
    assert [label["name"] for label in labels] == [
        "car",
        "person",
        "road",
        "weather",
        "lane",
        "sign",
        "truck",
        "cone",
    ]
    urls = [str(call.request.url) for call in route.calls]
    assert urls[0] == f"{HOST}/api/labels?project_id=7&page_size=3"
    assert urls[1:] == [pages[0]["next"], pages[1]["next"]]
    assert pages[2]["next"] is None


@respx.mock
def test_cvat_api_lists_jobs_of_a_task():
    route = respx.get(f"{HOST}/api/jobs").respond(json=fixture("jobs_task42.json"))
    jobs = list(make_api().list_jobs(42))
    assert [(job["id"], job["assignee"]["username"]) for job in jobs] == [
        (101, "alice"),
        (102, "bob"),
    ]
    assert route.calls.last.request.url.params["task_id"] == "42"


@respx.mock
def test_cvat_api_malformed_page_is_a_format_error():
    respx.get(f"{HOST}/api/jobs").respond(json={"count": 1, "results": "oops"})
    with pytest.raises(FormatError, match="results"):
        list(make_api().list_jobs(42))


@respx.mock
def test_cvat_api_waits_for_a_request_to_finish():
    route = respx.get(f"{HOST}/api/requests/create:task-77").mock(
        side_effect=[
            httpx.Response(200, json=fixture("request_queued.json")),
            httpx.Response(200, json=fixture("request_started.json")),
            httpx.Response(200, json=fixture("request_finished.json")),
        ]
    )
    sleeps = Sleeps()
    done = make_api(sleeps).wait_for_request("create:task-77", poll_interval=3.0)
    assert done["status"] == "finished"
    assert route.call_count == 3
    assert sleeps.calls == [3.0, 3.0]


@respx.mock
def test_cvat_api_failed_request_raises_with_the_server_message():
    respx.get(f"{HOST}/api/requests/create:task-77").mock(
        side_effect=[
            httpx.Response(200, json=fixture("request_started.json")),
            httpx.Response(200, json=fixture("request_failed.json")),
        ]
    )
    with pytest.raises(BridgeError) as caught:
        make_api().wait_for_request("create:task-77")
    assert isinstance(caught.value, RemoteError)
    assert "Failed to download https://data.example.com/street/0002.jpg: 404 Not Found" in str(
        caught.value
    )


@respx.mock
def test_cvat_api_request_that_never_finishes_times_out():
    respx.get(f"{HOST}/api/requests/create:task-77").respond(json=fixture("request_started.json"))
    sleeps = Sleeps()
    with pytest.raises(RemoteError, match="still started"):
        make_api(sleeps).wait_for_request("create:task-77", poll_interval=10, timeout=30)
    assert sleeps.calls == [10, 10, 10]


@respx.mock
def test_cvat_api_attach_data_posts_a_valid_data_request():
    route = respx.post(f"{HOST}/api/tasks/77/data/").respond(202, json={"rq_id": "create:task-77"})
    body = {"remote_files": ["https://data.example.com/a.jpg"], "image_quality": 70}
    assert make_api().attach_data(77, body) == "create:task-77"
    assert_request_body(
        "DataRequest", httpx.Response(200, content=route.calls.last.request.content).json()
    )


@pytest.mark.parametrize("action", ["create", "update", "delete"])
@respx.mock
def test_cvat_api_patches_annotations_with_an_action(action):
    route = respx.patch(f"{HOST}/api/jobs/101/annotations/").respond(json={"version": 5})
    body = {"shapes": [{"type": "points", "label_id": 19, "frame": 1, "points": [5.0, 6.0]}]}
    make_api().patch_job_annotations(101, action, body)
    request = route.calls.last.request
    assert request.url.params["action"] == action
    sent = httpx.Response(200, content=request.content).json()
    assert_request_body("PatchedLabeledDataRequest", sent)
    assert sent == body


def test_cvat_api_refuses_an_unknown_patch_action():
    with pytest.raises(ValueError):
        make_api().patch_job_annotations(101, "replace", {})


@respx.mock
def test_cvat_api_next_links_never_leave_our_server():
    # behind a TLS-terminating proxy CVAT may answer with http:// or internal host names
    first = fixture("labels_project7_page1.json")
    first["next"] = "http://cvat-server:8080/api/labels?page=2&page_size=3&project_id=7"
    last = fixture("labels_project7_page3.json")
    route = respx.get(f"{HOST}/api/labels").mock(
        side_effect=[httpx.Response(200, json=first), httpx.Response(200, json=last)]
    )
    elsewhere = respx.route(host="cvat-server").respond(500)
    labels = list(make_api(page_size=3).list_labels(project_id=7))
    assert len(labels) == 5  # page 1 (3) + page 3 (2)
    assert not elsewhere.called
    second = route.calls[1].request
    assert str(second.url) == f"{HOST}/api/labels?page=2&page_size=3&project_id=7"
    assert second.headers["Authorization"] == f"Bearer {TOKEN}"


@respx.mock
def test_cvat_api_lists_projects_and_tasks():
    project = fixture("project7.json")
    respx.get(f"{HOST}/api/projects").respond(
        json={"count": 1, "next": None, "previous": None, "results": [project]}
    )
    tasks = respx.get(f"{HOST}/api/tasks").respond(json=fixture("tasks_project7.json"))
    api = make_api()
    assert [p["name"] for p in api.list_projects()] == ["traffic"]
    assert [t["id"] for t in api.list_tasks(project_id=7)] == [42, 43]
    assert tasks.calls.last.request.url.params["project_id"] == "7"
    load(
        "PaginatedProjectReadList",
        {"count": 1, "next": None, "previous": None, "results": [project]},
    )


@respx.mock
def test_cvat_api_connector_takes_token_and_organization_from_the_environment(monkeypatch):
    from bridge_cvat.connector import CvatConnector

    monkeypatch.setenv("CVAT_ACCESS_TOKEN", "from-env")
    monkeypatch.setenv("CVAT_ORG", "acme")
    route = respx.get("http://localhost:8080/api/projects").respond(
        json={"count": 0, "next": None, "previous": None, "results": []}
    )
    connector = CvatConnector.from_url("cvat+http://localhost:8080/projects/new")
    assert connector.list_projects() == []
    headers = route.calls.last.request.headers
    assert (headers["Authorization"], headers["X-Organization"]) == ("Bearer from-env", "acme")
    assert "from-env" not in repr(connector.api.http._token)  # kept as a SecretStr
