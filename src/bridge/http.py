"""One HTTP client policy for every connector.

`HttpClient` wraps an `httpx.Client` with:

* the tool's auth header built from a `SecretStr` token (`Token ...` or `Bearer ...`);
* timeouts, and a limit on concurrent requests (a semaphore shared by threads);
* retries with exponential backoff on 429, 5xx and connection errors, honouring
  `Retry-After`; a request that is not idempotent (POST, PATCH) is retried only when the
  server cannot have acted on it (429, connection refused), so nothing is created twice;
* errors mapped to `BridgeError`s that name the request (method and path) and never
  contain the token; the sleep function is injectable so tests do not wait.
"""

from __future__ import annotations

import email.utils
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import httpx
from pydantic import SecretStr

from bridge.errors import AuthError, BridgeError, FormatError, NotFoundError, RemoteError

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
SAFE_TO_RETRY_ANY_METHOD = frozenset({429})


@dataclass
class RetryPolicy:
    """How often and how long to retry. `sleep` is called with each wait in seconds."""

    attempts: int = 5
    backoff: float = 0.5
    max_wait: float = 60.0
    sleep: Callable[[float], None] = field(default=time.sleep)

    def wait_for(self, attempt: int, response: httpx.Response | None) -> float:
        """Seconds to wait before retry number `attempt` (0-based)."""
        hinted = retry_after_seconds(response) if response is not None else None
        wait = hinted if hinted is not None else self.backoff * (2**attempt)
        return min(max(wait, 0.0), self.max_wait)


def retry_after_seconds(response: httpx.Response) -> float | None:
    """The server's `Retry-After` header in seconds (delta-seconds or an HTTP date)."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(moment.timestamp() - time.time(), 0.0)


def describe_request(method: str, url: httpx.URL | str) -> str:
    """`METHOD /path?query` for error messages (no host, no credentials)."""
    url = httpx.URL(str(url))
    query = f"?{url.query.decode()}" if url.query else ""
    return f"{method} {url.path}{query}"


class HttpClient:
    """A connector's HTTP session with the shared retry, error and secrecy policy."""

    def __init__(
        self,
        base_url: str,
        *,
        tool: str,
        token: SecretStr | None = None,
        auth_scheme: str = "Bearer",
        auth_hint: str | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        max_concurrency: int = 4,
        transport: httpx.BaseTransport | None = None,
    ):
        self.tool = tool
        self.base_url = base_url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self.auth_hint = auth_hint
        self._token = token
        self._semaphore = threading.BoundedSemaphore(max_concurrency)
        all_headers = {"Accept": "application/json", **(headers or {})}
        if token is not None:
            all_headers["Authorization"] = f"{auth_scheme} {token.get_secret_value()}"
        self._client = httpx.Client(
            base_url=self.base_url,
            headers=all_headers,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            follow_redirects=True,
            transport=transport,
        )

    # -- secrecy -----------------------------------------------------------------------

    def redact(self, text: str) -> str:
        """`text` with the token replaced by ***."""
        if self._token is not None:
            secret = self._token.get_secret_value()
            if secret:
                text = text.replace(secret, "***")
        return text

    # -- requests ----------------------------------------------------------------------

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Send a request with retries; return the response or raise a `BridgeError`."""
        method = method.upper()
        idempotent = kwargs.pop("idempotent", method in IDEMPOTENT_METHODS)
        request = self._client.build_request(method, url, params=kwargs.get("params"))
        where = self.redact(describe_request(method, request.url))
        last = self.retry.attempts - 1
        for attempt in range(self.retry.attempts):
            try:
                with self._semaphore:
                    response = self._client.request(method, url, **kwargs)
            except httpx.TransportError as error:
                retriable = idempotent or isinstance(error, httpx.ConnectError)
                if attempt < last and retriable:
                    self.retry.sleep(self.retry.wait_for(attempt, None))
                    continue
                raise RemoteError(
                    f"{self.tool} could not be reached: {self.redact(str(error)) or type(error).__name__}",
                    where=where,
                    hint="check the URL and that the server is running",
                ) from None
            status = response.status_code
            retriable = status in RETRY_STATUSES and (
                idempotent or status in SAFE_TO_RETRY_ANY_METHOD
            )
            if retriable and attempt < last:
                self.retry.sleep(self.retry.wait_for(attempt, response))
                continue
            if status >= 400:
                raise self.error_for(response, where)
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def error_for(self, response: httpx.Response, where: str) -> BridgeError:
        """The `BridgeError` for an HTTP error response."""
        status = response.status_code
        detail = self.redact(response_detail(response))
        if status in (401, 403):
            verb = "refused the credentials" if status == 401 else "denied access"
            return AuthError(
                f"{self.tool} {verb} (HTTP {status}): {detail}", where=where, hint=self.auth_hint
            )
        if status == 404:
            return NotFoundError(
                f"{self.tool} has no such object (HTTP 404): {detail}", where=where
            )
        if status == 429:
            return RemoteError(
                f"{self.tool} kept rate-limiting after {self.retry.attempts} attempts (HTTP 429)",
                where=where,
                hint="wait and retry, or lower the concurrency",
            )
        return RemoteError(f"{self.tool} answered HTTP {status}: {detail}", where=where)

    def download(
        self, url: str, handle: BinaryIO, *, chunk_size: int = 1 << 20, **kwargs: Any
    ) -> None:
        """GET `url` and write its body into `handle` (a seekable binary file) chunk by
        chunk, never holding it in memory. A broken connection or a 429/5xx starts the
        download again from the beginning, under the same retry policy as `request`."""
        request = self._client.build_request("GET", url, params=kwargs.get("params"))
        where = self.redact(describe_request("GET", request.url))
        last = self.retry.attempts - 1
        for attempt in range(self.retry.attempts):
            handle.seek(0)
            handle.truncate()
            retry_response: httpx.Response | None = None
            try:
                with self._semaphore, self._client.stream("GET", url, **kwargs) as response:
                    if response.status_code in RETRY_STATUSES and attempt < last:
                        retry_response = response
                    elif response.status_code >= 400:
                        response.read()
                        raise self.error_for(response, where)
                    else:
                        for chunk in response.iter_bytes(chunk_size):
                            handle.write(chunk)
                        return
            except httpx.TransportError as error:
                if attempt == last:
                    raise RemoteError(
                        f"the download from {self.tool} broke off: {type(error).__name__}",
                        where=where,
                        hint="check the connection and retry",
                    ) from None
            self.retry.sleep(self.retry.wait_for(attempt, retry_response))

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def json(self, method: str, url: str, **kwargs: Any) -> Any:
        """Send a request and decode its JSON body; a body that is not JSON is a
        `FormatError` naming the request."""
        response = self.request(method, url, **kwargs)
        return decode_json(
            response, self.redact(describe_request(method.upper(), response.request.url))
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def decode_json(response: httpx.Response, where: str) -> Any:
    """The JSON body of `response`, or a `FormatError` naming the request."""
    try:
        return response.json()
    except ValueError:
        snippet = response.text[:120].replace("\n", " ")
        raise FormatError(
            f"malformed response: not JSON (HTTP {response.status_code}, body starts {snippet!r})",
            where=where,
            hint="the server or a proxy in front of it returned something unexpected; retry later",
        ) from None


def response_detail(response: httpx.Response, limit: int = 300) -> str:
    """A short human-readable reason from an error response body."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:limit].strip() or response.reason_phrase
    if isinstance(body, dict):
        for key in ("detail", "message", "error", "errors"):
            if key in body:
                return str(body[key])[:limit]
    return str(body)[:limit]


def iter_next_pages(client: HttpClient, url: str, *, params: dict[str, Any] | None = None,
                    results_key: str = "results") -> Iterator[Any]:  # fmt: skip
    """Yield every element of a `{"count", "next", "results"}` paginated collection,
    following `next` links until one is null."""
    next_url: str | None = url
    next_params = params
    while next_url:
        page = client.json("GET", next_url, params=next_params)
        if not isinstance(page, dict) or not isinstance(page.get(results_key), list):
            raise FormatError(
                f"malformed page: expected an object with a {results_key!r} list",
                where=describe_request("GET", next_url),
            )
        yield from page[results_key]
        next_url, next_params = page.get("next"), None
