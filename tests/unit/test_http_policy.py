"""The shared HTTP policy: retries, Retry-After, idempotency, errors without secrets."""

from __future__ import annotations

import httpx
import pytest
import respx
from pydantic import SecretStr

from bridge.errors import AuthError, FormatError, NotFoundError, RemoteError
from bridge.http import HttpClient, RetryPolicy, iter_next_pages

BASE = "http://tool.test"
TOKEN = "s3cr3t-token-value"


@pytest.fixture
def waits():
    return []


@pytest.fixture
def client(waits):
    policy = RetryPolicy(attempts=4, backoff=0.5, sleep=waits.append)
    with HttpClient(
        BASE,
        tool="Tool",
        token=SecretStr(TOKEN),
        auth_scheme="Token",
        auth_hint="set $TOOL_TOKEN",
        retry=policy,
    ) as c:
        yield c


@respx.mock
def test_sends_the_auth_header(client):
    route = respx.get(f"{BASE}/api/x").respond(200, json={"ok": True})
    assert client.json("GET", "/api/x") == {"ok": True}
    assert route.calls.last.request.headers["Authorization"] == f"Token {TOKEN}"


@respx.mock
def test_429_waits_what_retry_after_says_then_succeeds(client, waits):
    respx.get(f"{BASE}/api/x").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "7"}),
            httpx.Response(200, json=[1]),
        ]
    )
    assert client.json("GET", "/api/x") == [1]
    assert waits == [7.0]


@respx.mock
def test_5xx_backs_off_exponentially(client, waits):
    respx.get(f"{BASE}/api/x").mock(
        side_effect=[
            httpx.Response(500),
            httpx.Response(502),
            httpx.Response(503),
            httpx.Response(200, json={}),
        ]
    )
    client.json("GET", "/api/x")
    assert waits == [0.5, 1.0, 2.0]


@respx.mock
def test_5xx_gives_up_with_remote_error(client, waits):
    respx.get(f"{BASE}/api/x").respond(500, json={"detail": "db down"})
    with pytest.raises(RemoteError) as caught:
        client.get("/api/x")
    assert "HTTP 500" in caught.value.message and "db down" in caught.value.message
    assert caught.value.where == "GET /api/x"
    assert len(waits) == 3


@respx.mock
def test_post_is_not_repeated_after_a_server_error(client, waits):
    route = respx.post(f"{BASE}/api/create").mock(
        side_effect=[httpx.Response(500), httpx.Response(201, json={})]
    )
    with pytest.raises(RemoteError):
        client.post("/api/create", json={"a": 1})
    assert route.call_count == 1  # the server may have created it: no duplicate
    assert waits == []


@respx.mock
def test_post_is_repeated_after_429(client, waits):
    route = respx.post(f"{BASE}/api/create").mock(
        side_effect=[httpx.Response(429), httpx.Response(201, json={"id": 3})]
    )
    assert client.json("POST", "/api/create", json={}) == {"id": 3}
    assert route.call_count == 2


@respx.mock
def test_connection_reset_on_get_is_retried(client, waits):
    respx.get(f"{BASE}/api/x").mock(
        side_effect=[httpx.ReadError("connection reset by peer"), httpx.Response(200, json=2)]
    )
    assert client.json("GET", "/api/x") == 2
    assert waits == [0.5]


@respx.mock
def test_401_is_auth_error_without_the_token(client):
    respx.get(f"{BASE}/api/x").respond(401, json={"detail": f"Invalid token {TOKEN}"})
    with pytest.raises(AuthError) as caught:
        client.get("/api/x")
    text = str(caught.value)
    assert TOKEN not in text
    assert "HTTP 401" in text and "set $TOOL_TOKEN" in text


@respx.mock
def test_404_is_not_found(client):
    respx.get(f"{BASE}/api/projects/9").respond(404, json={"detail": "Not found."})
    with pytest.raises(NotFoundError) as caught:
        client.get("/api/projects/9")
    assert caught.value.where == "GET /api/projects/9"


@respx.mock
def test_non_json_body_is_format_error_naming_the_request(client):
    respx.get(f"{BASE}/api/x").respond(200, text="<html>proxy error</html>")
    with pytest.raises(FormatError) as caught:
        client.json("GET", "/api/x", params={"page": 2})
    assert caught.value.where == "GET /api/x?page=2"
    assert "proxy error" in caught.value.message


@respx.mock
def test_next_links_are_followed_across_three_pages(client):
    respx.get(f"{BASE}/api/items", params={"page_size": "2"}).respond(
        200, json={"count": 5, "next": f"{BASE}/api/items?page=2", "results": [1, 2]}
    )
    respx.get(f"{BASE}/api/items", params={"page": "2"}).respond(
        200, json={"count": 5, "next": f"{BASE}/api/items?page=3", "results": [3, 4]}
    )
    respx.get(f"{BASE}/api/items", params={"page": "3"}).respond(
        200, json={"count": 5, "next": None, "results": [5]}
    )
    assert list(iter_next_pages(client, "/api/items", params={"page_size": 2})) == [1, 2, 3, 4, 5]


@respx.mock
def test_malformed_page_is_format_error(client):
    respx.get(f"{BASE}/api/items").respond(200, json={"count": 1, "items": []})
    with pytest.raises(FormatError, match="malformed page"):
        list(iter_next_pages(client, "/api/items"))


def test_retry_after_http_date_is_understood():
    from datetime import UTC, datetime, timedelta
    from email.utils import format_datetime

    from bridge.http import retry_after_seconds

    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    seconds = retry_after_seconds(httpx.Response(429, headers={"Retry-After": later}))
    assert 25 <= seconds <= 31


@respx.mock
def test_query_params_are_named_in_errors(client):
    respx.get(f"{BASE}/api/tasks").respond(404, json={"detail": "Invalid page."})
    with pytest.raises(NotFoundError) as caught:
        client.get("/api/tasks", params={"project": 3, "page": 9})
    assert caught.value.where == "GET /api/tasks?project=3&page=9"


@respx.mock
def test_download_streams_into_the_file_and_restarts_after_a_broken_connection(
    client, waits, tmp_path
):
    body = b"x" * 3_000_000
    route = respx.get(f"{BASE}/export").mock(
        side_effect=[
            httpx.Response(503, headers={"Retry-After": "2"}),
            httpx.ReadError("reset"),
            httpx.Response(200, content=body),
        ]
    )
    with open(tmp_path / "out.bin", "w+b") as handle:
        handle.write(b"stale bytes from an earlier attempt")
        client.download("/export", handle, params={"exportType": "JSON"})
    assert (tmp_path / "out.bin").read_bytes() == body
    assert route.call_count == 3
    assert waits == [2.0, 1.0]
    assert route.calls.last.request.url.params["exportType"] == "JSON"


@respx.mock
def test_download_error_is_mapped(client, tmp_path):
    respx.get(f"{BASE}/export").respond(403, json={"detail": "no"})
    with open(tmp_path / "out.bin", "w+b") as handle, pytest.raises(AuthError):
        client.download("/export", handle)


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "-5", "soon", "Mon, 99 Foo 2024"])
def test_retry_after_that_is_not_a_finite_time_is_ignored(value):
    from bridge.http import retry_after_seconds

    assert retry_after_seconds(httpx.Response(429, headers={"Retry-After": value})) is None


def test_retry_after_above_the_cap_is_an_error_without_a_sleep(waits):
    policy = RetryPolicy(attempts=3, max_wait=60.0, sleep=waits.append)
    hinted = httpx.Response(503, headers={"Retry-After": "61"})
    with pytest.raises(RemoteError, match="asks to wait 61 s"):
        policy.wait_for(0, hinted, "GET /api/x")
    assert policy.wait_for(0, httpx.Response(503, headers={"Retry-After": "60"})) == 60.0
    assert policy.wait_for(2, httpx.Response(503, headers={"Retry-After": "nan"})) == 2.0
    assert waits == []


def test_secret_forms_cover_json_url_and_repr():
    import json
    from urllib.parse import quote, quote_plus

    from bridge.secrets import forms, redact

    secret = 'a/b+c d"e\\f\u00e9'
    shown = forms(secret)
    for form in (
        secret,
        json.dumps(secret)[1:-1],
        quote(secret, safe=""),
        quote_plus(secret),
        repr(secret)[1:-1],
        json.dumps(secret).replace("/", "\\/")[1:-1],
    ):
        assert form in shown
        assert redact(f"x {form} y", [secret]) == "x *** y"


def test_short_secrets_are_redacted_by_their_client_but_not_registered_process_wide():
    from bridge import secrets

    secrets.register("abc")
    assert secrets.redact("abc") == "abc"
    with HttpClient(BASE, tool="Tool", token=SecretStr("abc")) as short:
        assert short.redact("the abc token") == "the *** token"
