"""Personal access tokens: exchanged for short-lived access tokens, refreshed on expiry."""

from __future__ import annotations

import base64
import json

import httpx
import pytest
import respx
from bridge_labelstudio.api import LabelStudioApi, is_personal_access_token, jwt_expiry
from pydantic import SecretStr

from bridge.errors import AuthError
from bridge.http import RetryPolicy

BASE = "http://ls.test"


def make_jwt(payload: dict) -> str:
    """An unsigned-looking JWT with `payload` (Label Studio's are HS256; we never verify)."""

    def part(obj: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(payload)}.c2lnbmF0dXJl"


PAT = make_jwt({"token_type": "refresh", "exp": 8103029928, "user_id": "1"})
ACCESS_1 = make_jwt({"token_type": "access", "exp": 1_000_300, "jti": "a1"})
ACCESS_2 = make_jwt({"token_type": "access", "exp": 1_000_900, "jti": "a2"})


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def make_api(clock: Clock) -> LabelStudioApi:
    retry = RetryPolicy(attempts=2, sleep=lambda s: None)
    return LabelStudioApi(BASE, SecretStr(PAT), retry=retry, clock=clock)


def test_ls_token_kind_is_told_by_shape():
    assert is_personal_access_token(PAT)
    assert not is_personal_access_token("ci0123456789abcdef0123456789abcdef")
    assert not is_personal_access_token("a.b.c")  # three parts, but no JSON payload
    assert jwt_expiry(ACCESS_1) == 1_000_300.0


@respx.mock(base_url=BASE)
def test_ls_pat_is_exchanged_and_sent_as_bearer(respx_mock):
    refresh = respx_mock.post("/api/token/refresh/").respond(200, json={"access": ACCESS_1})
    whoami = respx_mock.get("/api/current-user/whoami").respond(200, json={"id": 1})
    api = make_api(Clock(1_000_000))
    assert api.whoami() == {"id": 1}
    assert api.whoami() == {"id": 1}
    assert refresh.call_count == 1, "one access token serves until it nears expiry"
    sent = refresh.calls[0].request
    assert json.loads(sent.content) == {"refresh": PAT}
    assert "Authorization" not in sent.headers
    for call in whoami.calls:
        assert call.request.headers["Authorization"] == f"Bearer {ACCESS_1}"


@respx.mock(base_url=BASE)
def test_ls_access_token_is_refreshed_before_it_expires(respx_mock):
    refresh = respx_mock.post("/api/token/refresh/").mock(
        side_effect=[
            httpx.Response(200, json={"access": ACCESS_1}),
            httpx.Response(200, json={"access": ACCESS_2}),
        ]
    )
    whoami = respx_mock.get("/api/current-user/whoami").respond(200, json={"id": 1})
    clock = Clock(1_000_000)
    api = make_api(clock)
    api.whoami()
    clock.now = 1_000_269  # 31 s before exp: still good
    api.whoami()
    clock.now = 1_000_271  # inside the 30 s margin: mint a new one
    api.whoami()
    assert refresh.call_count == 2
    headers = [c.request.headers["Authorization"] for c in whoami.calls]
    assert headers == [f"Bearer {ACCESS_1}", f"Bearer {ACCESS_1}", f"Bearer {ACCESS_2}"]


@respx.mock(base_url=BASE)
def test_ls_401_on_access_token_refreshes_once_and_retries(respx_mock):
    respx_mock.post("/api/token/refresh/").mock(
        side_effect=[
            httpx.Response(200, json={"access": ACCESS_1}),
            httpx.Response(200, json={"access": ACCESS_2}),
        ]
    )

    def whoami(request: httpx.Request) -> httpx.Response:
        if request.headers["Authorization"] == f"Bearer {ACCESS_1}":
            return httpx.Response(401, json={"detail": "Token is invalid or expired"})
        return httpx.Response(200, json={"id": 1})

    respx_mock.get("/api/current-user/whoami").mock(side_effect=whoami)
    assert make_api(Clock(1_000_000)).whoami() == {"id": 1}


@respx.mock(base_url=BASE)
def test_ls_revoked_pat_is_auth_error_without_the_token(respx_mock):
    respx_mock.post("/api/token/refresh/").respond(
        401, json={"detail": f"Token {PAT} is blacklisted", "code": "token_not_valid"}
    )
    with pytest.raises(AuthError) as caught:
        make_api(Clock(1_000_000)).whoami()
    assert PAT not in str(caught.value)
    assert caught.value.where == "POST /api/token/refresh/"
