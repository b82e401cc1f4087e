"""The shared HTTP policy against a real misbehaving server (tests/support/fake_server.py):
redirects, deadlines, body caps, Retry-After, dropped connections, tokens and redaction.
Each outcome is the right data or one `BridgeError`, fast, without a secret in it."""

from __future__ import annotations

import base64
import json
import time
from urllib.parse import quote

import httpx
import pytest
from pydantic import SecretStr

from bridge.errors import BridgeError, ConfigError, FormatError, RemoteError
from bridge.http import HttpClient, HttpLimits, RetryPolicy
from tests.support.fake_server import FakeServer

TOKEN = "tok-3f9a8b7c6d5e4f3a2b1c"


def echo_app(request: httpx.Request) -> httpx.Response:
    """Answers every request with what it received (method, path, body)."""
    return httpx.Response(
        200,
        json={
            "method": request.method,
            "path": request.url.path,
            "body": request.content.decode() or None,
        },
    )


@pytest.fixture
def server():
    with FakeServer(echo_app) as fake:
        yield fake


@pytest.fixture
def evil():
    with FakeServer(echo_app) as fake:
        yield fake


@pytest.fixture
def waits():
    return []


def client(server: FakeServer, waits: list, token: str = TOKEN, **limits) -> HttpClient:
    return HttpClient(
        server.url,
        tool="Tool",
        token=SecretStr(token),
        auth_scheme="Token",
        retry=RetryPolicy(attempts=3, backoff=0.25, sleep=waits.append),
        limits=HttpLimits(**limits),
        timeout=5.0,
    )


def one_line(error: BridgeError) -> str:
    assert "\n" not in error.message and "Traceback" not in str(error)
    assert TOKEN not in str(error)
    return error.message


# ----------------------------------------------------------------------- redirects


@pytest.mark.parametrize("status", [307, 308])
def test_post_redirected_to_another_origin_is_refused_and_its_body_stays_home(
    server, evil, waits, status
):
    server.fault("redirect", on=1, status=status, location=f"{evil.url}/collect")
    with client(server, waits) as http, pytest.raises(RemoteError) as caught:
        http.post("/api/projects/1/import", json=[{"data": {"secret": "task data"}}])
    assert "another origin" in one_line(caught.value)
    assert caught.value.where == "POST /api/projects/1/import"
    assert evil.requests == []  # neither the task data nor the token went there
    assert server.count("POST") == 1


def test_post_redirected_within_the_server_is_followed(server, waits):
    server.fault("redirect", on=1, status=308, location=f"{server.url}/api/import/")
    with client(server, waits) as http:
        answer = http.json("POST", "/api/import", json={"a": 1})
    assert answer == {"method": "POST", "path": "/api/import/", "body": '{"a":1}'}
    assert server.requests[1].headers["Authorization"] == f"Token {TOKEN}"


def test_get_redirected_to_another_origin_goes_there_without_the_token(server, evil, waits):
    server.fault("redirect", on=1, status=302, location=f"{evil.url}/files/export.json")
    with client(server, waits) as http:
        answer = http.json("GET", "/api/export")
    assert answer["path"] == "/files/export.json"
    assert "Authorization" not in evil.requests[0].headers


def test_a_request_that_allows_no_redirect_follows_none(server, waits):
    server.fault("redirect", on=1, status=307, location=f"{server.url}/api/token/refresh")
    with client(server, waits) as http, pytest.raises(RemoteError) as caught:
        http.post("/api/token/refresh/", json={"refresh": "x"}, allow_redirects=False)
    assert "redirect" in one_line(caught.value)
    assert server.count() == 1


def test_a_redirect_loop_is_a_remote_error(server, waits):
    server.fault("loop", when=lambda request: True, times=-1)
    started = time.monotonic()
    with client(server, waits) as http, pytest.raises(RemoteError) as caught:
        http.get("/api/projects/1/")
    assert "loop" in one_line(caught.value)
    assert time.monotonic() - started < 5
    assert server.count() == 1  # the target is the address just visited: not even sent


# ------------------------------------------------------------- deadlines and sizes


@pytest.mark.parametrize("kind", ["drip", "drip_headers"])
def test_a_server_that_drips_bytes_is_cut_off_at_the_deadline(server, waits, kind):
    server.fault(kind, on=1, interval=0.1)
    started = time.monotonic()
    with client(server, waits, deadline=1.0) as http, pytest.raises(RemoteError) as caught:
        http.get("/api/tasks")
    elapsed = time.monotonic() - started
    assert "within 1 s" in one_line(caught.value)
    assert elapsed < 3.0  # each byte came within the read timeout (5 s): only the deadline ends it
    assert server.count() == 1  # a deadline is not retried


def test_a_download_that_drips_is_cut_off_at_the_download_deadline(server, waits, tmp_path):
    server.fault("drip", on=1, interval=0.1)
    with (
        client(server, waits, download_deadline=1.0) as http,
        open(tmp_path / "x", "w+b") as out,
        pytest.raises(RemoteError) as caught,
    ):
        http.download("/export", out)
    assert "within 1 s" in one_line(caught.value)


def test_a_body_above_the_cap_is_refused_before_it_is_read(server, waits):
    server.fault("huge", on=1, size=10 * 1024**3)
    started = time.monotonic()
    with client(server, waits, max_bytes=1_000_000) as http, pytest.raises(RemoteError) as caught:
        http.get("/api/tasks")
    assert "larger than 1,000,000 bytes" in one_line(caught.value)
    assert time.monotonic() - started < 5


def test_a_gzip_bomb_stops_at_the_cap(server, waits):
    server.fault("gzip_bomb", on=1, size=64 * 1024**2)  # 64 MB of zeros in about 64 KB
    with client(server, waits, max_bytes=1_000_000) as http, pytest.raises(RemoteError) as caught:
        http.get("/api/tasks")
    assert "larger than 1,000,000 bytes" in one_line(caught.value)


def test_a_download_above_its_cap_is_refused(server, waits, tmp_path):
    server.fault("gzip_bomb", on=1, size=8 * 1024**2)
    with (
        client(server, waits, max_download_bytes=1_000_000) as http,
        open(tmp_path / "x", "w+b") as out,
        pytest.raises(RemoteError, match="larger than 1,000,000 bytes"),
    ):
        http.download("/export", out)
    assert (tmp_path / "x").stat().st_size <= 1_000_000 + (1 << 20)


def test_json_nested_beyond_the_parser_is_a_format_error(server, waits):
    server.fault("deep", on=1)
    with client(server, waits) as http, pytest.raises(FormatError) as caught:
        http.json("GET", "/api/tasks")
    assert "nested too deeply" in one_line(caught.value)


# ------------------------------------------------------------------ retries


def test_retry_after_nan_is_ignored_and_the_backoff_used(server, waits):
    server.fault("retry_after", on=1, status=503, value="nan")
    with client(server, waits) as http:
        assert http.json("GET", "/api/x")["path"] == "/api/x"
    assert waits == [0.25]


def test_retry_after_far_in_the_future_is_an_error_not_a_sleep(server, waits):
    server.fault("retry_after", on=1, status=429, value=str(10**9))
    with client(server, waits) as http, pytest.raises(RemoteError) as caught:
        http.get("/api/x")
    assert "asks to wait 1000000000 s" in one_line(caught.value)
    assert waits == []  # capped: nothing slept at all
    assert server.count() == 1


def test_a_post_is_not_sent_again_after_the_connection_drops(server, waits):
    server.fault("drop", on=1)
    with client(server, waits) as http, pytest.raises(RemoteError) as caught:
        http.post("/api/projects/1/import", json=[{"data": {}}])
    one_line(caught.value)
    assert server.count("POST") == 1  # the server may have acted: never a second import
    assert waits == []


def test_a_get_is_sent_again_after_the_connection_drops(server, waits):
    server.fault("drop", on=1)
    with client(server, waits) as http:
        assert http.json("GET", "/api/x")["path"] == "/api/x"
    assert server.count("GET") == 2


# ------------------------------------------------------------------ tokens, secrets


@pytest.mark.parametrize(
    ("token", "kind"),
    [
        ("abc\ndef", "a line break"),
        ("abc\r\ndef", "a line break"),
        ("tökén", "a non-ASCII"),
        ("abc def", "a space"),
        ("abc\x00def", "a control"),
    ],
)
def test_a_token_no_header_can_carry_is_a_config_error_before_any_request(
    server, waits, token, kind
):
    with pytest.raises(ConfigError) as caught:
        client(server, waits, token=token)
    assert kind in caught.value.message
    assert token not in str(caught.value) and "def" not in str(caught.value)
    assert server.requests == []


SPECIAL = 'Sp3c/ia+l="tok\\en&more'


@pytest.mark.parametrize(
    "echo",
    [SPECIAL, json.dumps(SPECIAL)[1:-1], quote(SPECIAL, safe=""), repr(SPECIAL)[1:-1]],
    ids=["raw", "json", "url", "repr"],
)
def test_a_token_echoed_by_the_server_is_redacted_in_every_form(server, waits, echo):
    server.app = lambda request: httpx.Response(400, text=f"bad token {echo} given")
    with client(server, waits, token=SPECIAL) as http, pytest.raises(RemoteError) as caught:
        http.get("/api/x")
    text = str(caught.value)
    assert "bad token *** given" in text
    for form in (SPECIAL, json.dumps(SPECIAL)[1:-1], quote(SPECIAL, safe=""), "tok\\en"):
        assert form not in text


def test_the_minted_label_studio_access_token_is_redacted_when_echoed(server, monkeypatch):
    from bridge_labelstudio.api import LabelStudioApi

    claims = base64.urlsafe_b64encode(json.dumps({"exp": 4102444800}).encode()).decode().rstrip("=")
    pat = f"eyJhbGciOiJIUzI1NiJ9.{claims}.c2lnbmF0dXJl"
    access = f"eyJhbGciOiJIUzI1NiJ9.{claims}.bWludGVkLWFjY2Vzcw"

    def app(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/token/refresh/":
            return httpx.Response(200, json={"access": access})
        sent = request.headers["Authorization"].removeprefix("Bearer ")
        return httpx.Response(500, json={"detail": f"crash while checking {sent}"})

    server.app = app
    retry = RetryPolicy(attempts=1, sleep=lambda s: None)
    with (
        LabelStudioApi(server.url, SecretStr(pat), retry=retry) as api,
        pytest.raises(RemoteError) as caught,
    ):
        api.whoami()
    assert "crash while checking ***" in str(caught.value)
    assert access not in str(caught.value) and pat not in str(caught.value)


def test_a_minted_token_with_a_line_break_is_a_remote_error(server):
    from bridge_labelstudio.api import LabelStudioApi

    claims = base64.urlsafe_b64encode(json.dumps({"exp": 4102444800}).encode()).decode().rstrip("=")
    pat = f"eyJhbGciOiJIUzI1NiJ9.{claims}.c2lnbmF0dXJl"
    server.app = lambda request: httpx.Response(200, json={"access": "abc\r\nX-Evil: 1"})
    retry = RetryPolicy(attempts=1, sleep=lambda s: None)
    with (
        LabelStudioApi(server.url, SecretStr(pat), retry=retry) as api,
        pytest.raises(RemoteError) as caught,
    ):
        api.whoami()
    assert "line break" in caught.value.message and "X-Evil" not in str(caught.value)


def test_the_token_exchange_follows_no_redirect_so_the_pat_stays_home(server, evil):
    from bridge_labelstudio.api import LabelStudioApi

    claims = base64.urlsafe_b64encode(json.dumps({"exp": 4102444800}).encode()).decode().rstrip("=")
    pat = f"eyJhbGciOiJIUzI1NiJ9.{claims}.c2lnbmF0dXJl"
    server.fault("redirect", on=1, status=307, location=f"{evil.url}/api/token/refresh/")
    retry = RetryPolicy(attempts=1, sleep=lambda s: None)
    with (
        LabelStudioApi(server.url, SecretStr(pat), retry=retry) as api,
        pytest.raises(RemoteError) as caught,
    ):
        api.whoami()
    assert "redirect" in caught.value.message and pat not in str(caught.value)
    assert evil.requests == []


@pytest.mark.parametrize(
    "url",
    [
        "labelstudio://admin:hunter22@ls.example.com:8080/projects/1",
        "cvat://admin:hunter22@cvat.example.com/tasks/1",
        "labelbox://admin:hunter22@projects/abc",
    ],
)
def test_credentials_in_a_connector_url_are_refused_and_not_printed(url, monkeypatch):
    from bridge.api import open_dataset

    for name in ("LABEL_STUDIO_API_KEY", "CVAT_ACCESS_TOKEN", "LABELBOX_API_KEY"):
        monkeypatch.setenv(name, "a-valid-token-123")
    with pytest.raises(ConfigError) as caught:
        open_dataset(url)
    assert "hunter22" not in str(caught.value)
    assert "***@" in caught.value.message


def test_limits_come_from_options():
    limits = HttpLimits.from_options({"http_deadline": "2.5", "http_max_bytes": "1000"})
    assert (limits.deadline, limits.max_bytes) == (2.5, 1000)
    with pytest.raises(ConfigError, match="http_deadline"):
        HttpLimits.from_options({"http_deadline": "nan"})


@pytest.mark.parametrize(
    ("variable", "url"),
    [
        ("LABEL_STUDIO_API_KEY", "labelstudio://{host}/projects/1"),
        ("CVAT_ACCESS_TOKEN", "cvat+http://{host}/tasks/1"),
        ("LABELBOX_API_KEY", "labelbox://projects/abc"),
    ],
)
def test_connectors_refuse_a_header_unsafe_token_before_any_request(
    server, monkeypatch, variable, url
):
    from bridge.api import open_dataset

    claims = base64.urlsafe_b64encode(b'{"exp": 4102444800}').decode().rstrip("=")
    monkeypatch.setenv(variable, f"eyJhbGciOiJIUzI1NiJ9.{claims}\n.c2lnbmF0dXJl")  # a JWT split
    monkeypatch.setenv("LABELBOX_ENDPOINT", f"{server.url}/graphql")
    with pytest.raises(ConfigError) as caught:
        open_dataset(url.format(host=server.host))
    assert "line break" in caught.value.message and variable in caught.value.message
    assert "c2lnbmF0dXJl" not in str(caught.value)
    assert server.requests == []
