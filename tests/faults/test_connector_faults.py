"""Every pull and push flow of the three connectors against a misbehaving server: each
fault on each request N of the flow. The outcome is the exact data of a run without
faults, or one `BridgeError` of one line: never a hang, a traceback, a leaked secret, a
body or a credential sent to another origin, or a silently different (empty) result."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from bridge.errors import BridgeError
from tests.support.fake_server import FakeServer

from .flows import CVAT_TOKEN, FLOWS, LB_KEY, LS_TOKEN, SECRETS, Flow

RUN_SECONDS = 12.0
CHEAP = {
    "json": ("json", {"body": "oops"}),
    "json_list": ("json", {"body": [[]]}),  # an array, but of no objects
    "deep": ("deep", {}),
    "redirect_away": ("redirect", {"status": 307}),
    "redirect_away_302": ("redirect", {"status": 302}),
    "loop": ("loop", {}),
    "retry_after_nan": ("retry_after", {"status": 503, "value": "nan"}),
    "retry_after_huge": ("retry_after", {"status": 429, "value": "1000000000"}),
    "drop": ("drop", {}),
    "status_500": ("status", {"status": 500}),
}
SLOW = {
    "drip": ("drip", {"interval": 0.1}),
    "huge": ("huge", {"size": 10 * 1024**3}),
    "gzip_bomb": ("gzip_bomb", {"size": 16 * 1024**2}),
}


@pytest.fixture(autouse=True)
def tokens(monkeypatch):
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", LS_TOKEN)
    monkeypatch.setenv("CVAT_ACCESS_TOKEN", CVAT_TOKEN)
    monkeypatch.setenv("LABELBOX_API_KEY", LB_KEY)
    monkeypatch.delenv("CVAT_ORG", raising=False)
    monkeypatch.delenv("LABELBOX_ENDPOINT", raising=False)


def echo(request: httpx.Request) -> httpx.Response:
    """What another origin answers: 200 with a JSON object describing the request."""
    return httpx.Response(200, json={"you_sent": request.method, "path": request.url.path})


def run(flow: Flow, tmp_path, fault: tuple[str, dict] | None = None, on: int | None = None):
    """(result or the BridgeError, the server, the evil server, the fake's state)."""
    evil_requests: list[httpx.Request] = []
    with FakeServer(virtual_origin=flow.virtual_origin) as server, FakeServer(echo) as evil:
        handler, state = flow.app(server.url)
        server.app = handler
        if fault is not None:
            kind, params = fault
            if kind == "redirect":
                params = {**params, "location": f"{evil.url}/elsewhere"}
            server.fault(kind, on=on, **params)
        started = time.monotonic()
        work = tmp_path / f"run-{on}-{fault[0] if fault else 'clean'}"
        work.mkdir()
        try:
            outcome: Any = normalized(flow.run(server, work, state), server)
        except BridgeError as error:
            outcome = error
        elapsed = time.monotonic() - started
        evil_requests = list(evil.requests)
        assert server.errors == [], server.errors
    assert elapsed < RUN_SECONDS, f"{flow.name}: took {elapsed:.1f} s"
    return outcome, server, evil_requests, state


def normalized(result: Any, server: FakeServer) -> Any:
    """`result` with the server's address (a new port each run) replaced by HOST."""
    text = json.dumps(result, sort_keys=True, default=repr)
    return json.loads(text.replace(server.host, "HOST"))


def check(
    flow: Flow, outcome: Any, clean: Any, evil_requests: list[httpx.Request], label: str
) -> str:
    for request in evil_requests:
        assert "Authorization" not in request.headers, label
        assert request.method == "GET" and not request.content, label
    if isinstance(outcome, BridgeError):
        text = str(outcome)
        assert "\n" not in outcome.message, f"{label}: {text}"
        assert "Traceback" not in text, label
        for secret in SECRETS:
            assert secret not in text, label
        return "error"
    assert outcome == clean, f"{label}: the run ended without an error but with other data"
    return "same"


@pytest.fixture(scope="module")
def clean_runs(tmp_path_factory):
    return {}


def clean_run(flow: Flow, tmp_path, cache: dict) -> tuple[Any, list[str]]:
    """The result of the flow without faults, and the paths of its requests in order."""
    if flow.name not in cache:
        outcome, server, _evil, _state = run(flow, tmp_path)
        assert not isinstance(outcome, BaseException), (
            f"{flow.name} fails without faults: {outcome}"
        )
        cache[flow.name] = (outcome, [request.url.path for request in server.requests])
    return cache[flow.name]


@pytest.mark.parametrize("flow", FLOWS, ids=[flow.name for flow in FLOWS])
@pytest.mark.parametrize("kind", sorted(CHEAP))
def test_every_request_of_every_flow_survives_each_fault(
    flow, kind, tmp_path, clean_runs, monkeypatch
):
    clean, paths = clean_run(flow, tmp_path, clean_runs)
    assert len(paths) >= 3
    outcomes = []
    for number in range(1, len(paths) + 1):
        label = f"{flow.name}, {kind} on request {number}"
        outcome, server, evil_requests, state = run(flow, tmp_path, CHEAP[kind], on=number)
        outcomes.append(check(flow, outcome, clean, evil_requests, label))
        if flow.name.startswith("labelstudio pull (export"):
            assert set(state.snapshots) <= set(state.deleted) | _faulted_delete(server, number)
    if kind in ("json", "deep", "loop", "retry_after_huge"):
        assert "error" in outcomes  # the fault was seen at least once


def _faulted_delete(server: FakeServer, number: int) -> set[int]:
    """The snapshot whose DELETE was the faulted request, if it was one."""
    request = server.requests[number - 1] if len(server.requests) >= number else None
    if request is not None and request.method == "DELETE":
        return {int(request.url.path.rstrip("/").rsplit("/", 1)[1])}
    return set()


@pytest.mark.parametrize("flow", FLOWS, ids=[flow.name for flow in FLOWS])
@pytest.mark.parametrize("kind", sorted(SLOW))
def test_slow_and_huge_answers_end_every_flow_quickly(flow, kind, tmp_path, clean_runs):
    clean, paths = clean_run(flow, tmp_path, clean_runs)
    requests = len(paths)
    for number in sorted({1, (requests + 1) // 2, requests}):
        outcome, _server, evil_requests, _state = run(flow, tmp_path, SLOW[kind], on=number)
        check(flow, outcome, clean, evil_requests, f"{flow.name}, {kind} on request {number}")
