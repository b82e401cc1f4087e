"""One HTTP client policy for every connector.

`HttpClient` wraps an `httpx.Client` with:

* the tool's auth header built from a `SecretStr` token (`Token ...` or `Bearer ...`); a
  token an HTTP header cannot carry (a line break, a non-ASCII character) is a
  `ConfigError` before anything is sent;
* timeouts, an overall *deadline* per request (a server that drips a byte every few
  seconds is cut off), and a cap on the size of every answer (a huge body or a gzip bomb
  is refused while streaming, never buffered whole);
* redirects followed by hand under one rule: a request body never follows a redirect to
  another origin (a non-GET request redirected elsewhere is refused), a request made with
  `allow_redirects=False` (a token exchange) follows none, credentials are dropped on a
  cross-origin hop, and a redirect loop is an error;
* retries with exponential backoff on 429, 5xx and connection errors, honouring
  `Retry-After` (a value that is not a finite number is ignored; one above the cap is an
  error, not a sleep); a request that is not idempotent (POST, PATCH) is retried only
  when the server cannot have acted on it (429, connection refused), so nothing is
  created twice;
* errors mapped to `BridgeError`s that name the request (method and path) and never
  contain a credential (see `bridge.secrets`); the sleep function is injectable so tests
  do not wait.
"""

from __future__ import annotations

import contextlib
import email.utils
import functools
import json
import math
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import httpcore
import httpx
from pydantic import SecretStr

from bridge import secrets
from bridge.errors import (
    AuthError,
    BridgeError,
    ConfigError,
    FormatError,
    NotFoundError,
    RemoteError,
)
from bridge.options import integer, number

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
BODYLESS_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
SAFE_TO_RETRY_ANY_METHOD = frozenset({429})
MAX_REDIRECTS = 10
ERROR_BODY_BYTES = 64 * 1024
"""How much of an error answer is read to explain it (the rest is dropped)."""
CHUNK_BYTES = 1 << 20

DEFAULT_DEADLINE = 600.0
DEFAULT_DOWNLOAD_DEADLINE = 4 * 3600.0
DEFAULT_MAX_BYTES = 512 * 1024 * 1024
DEFAULT_MAX_DOWNLOAD_BYTES = 64 * 1024 * 1024 * 1024


@dataclass(frozen=True)
class HttpLimits:
    """Bounds on one request: `deadline` (seconds, the whole exchange including the body),
    `max_bytes` (an answer read into memory, after decompression), and the same two for
    downloads streamed into a file. `-O http_deadline=`, `-O http_download_deadline=`,
    `-O http_max_bytes=`, `-O http_max_download_bytes=` set them."""

    deadline: float = DEFAULT_DEADLINE
    download_deadline: float = DEFAULT_DOWNLOAD_DEADLINE
    max_bytes: int = DEFAULT_MAX_BYTES
    max_download_bytes: int = DEFAULT_MAX_DOWNLOAD_BYTES

    OPTIONS = {
        "http_deadline": "deadline",
        "http_download_deadline": "download_deadline",
        "http_max_bytes": "max_bytes",
        "http_max_download_bytes": "max_download_bytes",
    }

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> HttpLimits:
        """The limits named in connector options (positive numbers), defaults otherwise:
        whole bytes for the `max_` ones, seconds (at least a millisecond) for deadlines."""
        values: dict[str, Any] = {}
        for option, name in cls.OPTIONS.items():
            if options.get(option) is None:
                continue
            if name.startswith("max_"):
                values[name] = integer(option, options[option], minimum=1)
            else:
                values[name] = number(option, options[option], minimum=0.001)
        return cls(**values)


# ---------------------------------------------------------------------------- retries


@dataclass
class RetryPolicy:
    """How often and how long to retry. `sleep` is called with each wait in seconds;
    a server asking for a wait above `max_wait` gets an error instead of the sleep."""

    attempts: int = 5
    backoff: float = 0.5
    max_wait: float = 60.0
    sleep: Callable[[float], None] = field(default=time.sleep)

    def wait_for(
        self, attempt: int, response: httpx.Response | None, where: str | None = None
    ) -> float:
        """Seconds to wait before retry number `attempt` (0-based)."""
        hinted = retry_after_seconds(response) if response is not None else None
        if hinted is not None and hinted > self.max_wait:
            raise RemoteError(
                f"the server asks to wait {hinted:.0f} s before retrying (HTTP "
                f"{response.status_code if response is not None else '?'}), more than the "
                f"{self.max_wait:.0f} s label-bridge waits",
                where=where,
                hint="the server is overloaded or rate-limiting; retry later",
            )
        wait = hinted if hinted is not None else self.backoff * (2**attempt)
        return min(max(wait, 0.0), self.max_wait)


def retry_after_seconds(response: httpx.Response) -> float | None:
    """The server's `Retry-After` header in seconds (delta-seconds or an HTTP date); None
    when absent or not a finite, non-negative time."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        seconds = None
    if seconds is None:
        try:
            moment = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        try:
            return max(moment.timestamp() - time.time(), 0.0)
        except (OverflowError, ValueError, OSError):
            return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


# ---------------------------------------------------------------------- URLs, tokens


def describe_request(method: str, url: httpx.URL | str) -> str:
    """`METHOD /path?query` for error messages (no host, no credentials)."""
    url = httpx.URL(str(url))
    query = f"?{url.query.decode()}" if url.query else ""
    return f"{method} {url.path}{query}"


def check_header_token(value: str, *, name: str = "the token") -> None:
    """Refuse a token an HTTP header cannot carry: anything but visible ASCII (a line
    break, a space, a non-ASCII letter). The message says which kind and where, never
    the token."""
    for position, char in enumerate(value, start=1):
        if "!" <= char <= "~":
            continue
        if char in "\r\n":
            kind = "a line break"
        elif char.isspace():
            kind = "a space or tab"
        elif not char.isascii():
            kind = "a non-ASCII character"
        else:
            kind = "a control character"
        raise ConfigError(
            f"{name} contains {kind} (character {position} of {len(value)}), which an "
            "HTTP header cannot carry",
            hint="copy the token again, without quotes, spaces or line breaks",
        )


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    default = {"http": 80, "https": 443}.get(url.scheme)
    return url.scheme, url.host, url.port or default


def same_origin(a: httpx.URL, b: httpx.URL) -> bool:
    """Scheme, host and port equal; an upgrade from http to https on the same host with
    default ports counts as the same origin (as httpx treats it for credentials)."""
    if _origin(a) == _origin(b):
        return True
    return (
        a.scheme == "http"
        and b.scheme == "https"
        and a.host == b.host
        and a.port in (None, 80)
        and b.port in (None, 443)
    )


# -------------------------------------------------------------------------- deadline


class _Deadline(threading.local):
    """The monotonic time the current thread's request must be done by (or None)."""

    at: float | None = None

    def remaining(self, timeout: float | None) -> float | None:
        if self.at is None:
            return timeout
        left = self.at - time.monotonic()
        if left <= 0:
            raise httpcore.ReadTimeout("the request's overall deadline passed")
        return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A socket stream whose every read and write waits no longer than the deadline."""

    def __init__(self, stream: httpcore.NetworkStream, deadline: _Deadline):
        self._stream = stream
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, self._deadline.remaining(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, self._deadline.remaining(timeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None):  # type: ignore[no-untyped-def]
        stream = self._stream.start_tls(
            ssl_context, server_hostname, self._deadline.remaining(timeout)
        )
        return _DeadlineStream(stream, self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's network backend with the per-thread deadline applied to every socket
    operation, so that a server dripping header or body bytes cannot outlast it."""

    def __init__(self, backend: httpcore.NetworkBackend, deadline: _Deadline):
        self._backend = backend
        self._deadline = deadline

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):  # type: ignore[no-untyped-def]
        stream = self._backend.connect_tcp(
            host, port, self._deadline.remaining(timeout), local_address, socket_options
        )
        return _DeadlineStream(stream, self._deadline)

    def connect_unix_socket(self, path, timeout=None, socket_options=None):  # type: ignore[no-untyped-def]
        stream = self._backend.connect_unix_socket(
            path, self._deadline.remaining(timeout), socket_options
        )
        return _DeadlineStream(stream, self._deadline)

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


@functools.lru_cache(maxsize=1)
def _ssl_context() -> ssl.SSLContext:
    """httpx's default verifying context, built once per process (loading the CA bundle
    takes about 0.1 s; a context is safe to share between connections and threads)."""
    return httpx.create_ssl_context()


def _deadline_transport(deadline: _Deadline) -> httpx.BaseTransport:
    """httpx's own transport with the deadline backend under its connection pool (httpx
    has no public hook for the backend; without the attribute the deadline is still
    checked between body chunks)."""
    transport = httpx.HTTPTransport(verify=_ssl_context())
    pool = getattr(transport, "_pool", None)
    if pool is not None and isinstance(
        getattr(pool, "_network_backend", None), httpcore.NetworkBackend
    ):
        pool._network_backend = _DeadlineBackend(pool._network_backend, deadline)
    return transport


# ---------------------------------------------------------------------------- client


class BodyBrokeOff(RemoteError):
    """The connection broke while an answer's body was being read (an idempotent request
    may be sent again)."""


_SEND_KEYS = ("params", "json", "content", "data", "files", "headers")


class HttpClient:
    """A connector's HTTP session with the shared retry, error, limit and secrecy policy."""

    def __init__(
        self,
        base_url: str,
        *,
        tool: str,
        token: SecretStr | None = None,
        auth_scheme: str = "Bearer",
        auth_hint: str | None = None,
        token_name: str = "the token",
        headers: dict[str, str] | None = None,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        max_concurrency: int = 4,
        transport: httpx.BaseTransport | None = None,
        limits: HttpLimits | None = None,
    ):
        self.tool = tool
        self.base_url = base_url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self.auth_hint = auth_hint
        self.limits = limits or HttpLimits()
        self._token = token
        self._secrets: list[str] = []
        self._semaphore = threading.BoundedSemaphore(max_concurrency)
        self._deadline = _Deadline()
        all_headers = {"Accept": "application/json", **(headers or {})}
        if token is not None:
            value = token.get_secret_value()
            check_header_token(value, name=token_name)
            self.add_secret(value)
            all_headers["Authorization"] = f"{auth_scheme} {value}"
        self._client = httpx.Client(
            base_url=self.base_url,
            headers=all_headers,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            follow_redirects=False,
            transport=transport or _deadline_transport(self._deadline),
        )

    # -- secrecy -----------------------------------------------------------------------

    def add_secret(self, value: str | None) -> None:
        """Hide `value` (a token, a minted access token) from every message from now on."""
        if value and value not in self._secrets:
            self._secrets.append(value)
            secrets.register(value)

    def redact(self, text: str) -> str:
        """`text` with every credential (this client's and the process's) replaced by ***
        in each form it can be printed in."""
        return secrets.redact(text, self._secrets)

    def redact_error(self, error: BridgeError) -> BridgeError:
        """`error` with its message, location and hint redacted (in place)."""
        error.message = self.redact(error.message)
        error.args = (error.message,)
        error.where = self.redact(error.where) if error.where else error.where
        error.hint = self.redact(error.hint) if error.hint else error.hint
        return error

    @contextlib.contextmanager
    def redacted_errors(self) -> Iterator[None]:
        """Redact every `BridgeError` that passes through."""
        try:
            yield
        except BridgeError as error:
            raise self.redact_error(error) from None

    # -- deadline ----------------------------------------------------------------------

    @contextlib.contextmanager
    def _deadline_at(self, at: float | None) -> Iterator[None]:
        previous, self._deadline.at = self._deadline.at, at
        try:
            yield
        finally:
            self._deadline.at = previous

    def _passed(self, at: float | None) -> bool:
        return at is not None and time.monotonic() >= at

    def _deadline_error(self, seconds: float, where: str) -> RemoteError:
        return RemoteError(
            f"{self.tool} did not answer completely within {seconds:g} s",
            where=where,
            hint="the server or the network is too slow or stalled; retry later, or raise "
            "the limit with -O http_deadline=SECONDS (http_download_deadline for exports)",
        )

    # -- sending -----------------------------------------------------------------------

    def open(
        self,
        method: str,
        url: str,
        *,
        allow_redirects: bool = True,
        deadline: float | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send one request (no retries) and return the open, streamed response after
        following redirects under the policy; the caller reads it with `read_body` or
        `iter_body` (or closes it). `deadline` (seconds, default `limits.deadline`) runs
        from now over the whole exchange. A transport failure is an `httpx` error."""
        seconds = self.limits.deadline if deadline is None else deadline
        at = time.monotonic() + seconds
        with self._deadline_at(at):
            response = self._send_following(method.upper(), url, allow_redirects, kwargs)
        response.extensions = {**response.extensions, "bridge_deadline": (at, seconds)}
        return response

    def _send_following(
        self, method: str, url: str, allow_redirects: bool, kwargs: dict[str, Any]
    ) -> httpx.Response:
        unknown = set(kwargs) - {*_SEND_KEYS, "auth"}
        if unknown:
            raise TypeError(f"unexpected arguments {sorted(unknown)}")
        auth = kwargs.get("auth", httpx.USE_CLIENT_DEFAULT)
        request = self._client.build_request(
            method, url, **{key: kwargs[key] for key in _SEND_KEYS if key in kwargs}
        )
        first = request
        seen = {str(request.url)}
        for _hop in range(MAX_REDIRECTS + 1):
            response = self._client.send(request, stream=True, auth=auth)
            if not response.has_redirect_location:
                return response
            target = response.next_request
            response.close()
            where = self.redact(describe_request(method, first.url))
            if target is None:  # pragma: no cover - httpx always sets it
                raise RemoteError(f"{self.tool} sent a redirect without a target", where=where)
            self._check_redirect(first, target, response.status_code, allow_redirects, where)
            if str(target.url) in seen:
                raise RemoteError(
                    f"{self.tool} redirects in a loop (HTTP {response.status_code} back to "
                    "an address already visited)",
                    where=where,
                    hint="check the URL (http or https, a path prefix) and the server's proxy",
                )
            seen.add(str(target.url))
            if not same_origin(first.url, target.url):
                auth = None  # never hand our credentials to another origin
            request = target
        raise RemoteError(
            f"{self.tool} redirected more than {MAX_REDIRECTS} times",
            where=self.redact(describe_request(method, first.url)),
            hint="check the URL (http or https, a path prefix) and the server's proxy",
        )

    def _check_redirect(
        self,
        first: httpx.Request,
        target: httpx.Request,
        status: int,
        allow_redirects: bool,
        where: str,
    ) -> None:
        """Refuse a redirect the policy forbids (before anything is sent there)."""
        if not allow_redirects:
            raise RemoteError(
                f"{self.tool} answered with a redirect (HTTP {status}) where none is "
                "followed; the request carries a credential",
                where=where,
                hint="use the server's final address (http or https, path prefix) in the URL",
            )
        if first.method not in BODYLESS_METHODS and not same_origin(first.url, target.url):
            raise RemoteError(
                f"{self.tool} redirected a {first.method} request to another origin "
                f"({target.url.scheme}://{target.url.host}, HTTP {status}); its body is not "
                "sent there",
                where=where,
                hint="use the server's final address (http or https, host, port) in the URL",
            )

    # -- reading bodies ----------------------------------------------------------------

    def iter_body(
        self, response: httpx.Response, *, limit: int, where: str, chunk_size: int = CHUNK_BYTES
    ) -> Iterator[bytes]:
        """The decoded body of an open response in chunks, refused (`RemoteError`) past
        `limit` bytes (checked on the declared length first, then while streaming, so a
        gzip bomb stops at the cap) or past the response's deadline. Closes it."""
        at, seconds = response.extensions.get("bridge_deadline", (None, 0.0))
        try:
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > limit:
                raise self._too_large(limit, where)
            received = 0
            with self._deadline_at(at):
                for chunk in response.iter_bytes(chunk_size):
                    received += len(chunk)
                    if received > limit:
                        raise self._too_large(limit, where)
                    if self._passed(at):
                        raise self._deadline_error(seconds, where)
                    yield chunk
        except httpx.TransportError as error:
            if self._passed(at):
                raise self._deadline_error(seconds, where) from None
            raise BodyBrokeOff(
                f"the answer from {self.tool} broke off: {self._describe(error)}",
                where=where,
                hint="check the connection and retry",
            ) from None
        except httpx.DecodingError:
            raise RemoteError(
                f"{self.tool} sent a body that does not decompress as its Content-Encoding says",
                where=where,
            ) from None
        finally:
            response.close()

    def read_body(
        self, response: httpx.Response, *, where: str, limit: int | None = None
    ) -> httpx.Response:
        """Read an open response's body into it (capped, under its deadline); return it."""
        cap = self.limits.max_bytes if limit is None else limit
        body = b"".join(self.iter_body(response, limit=cap, where=where))
        response._content = body  # what httpx's own `read()` stores
        return response

    def _too_large(self, limit: int, where: str) -> RemoteError:
        return RemoteError(
            f"the answer from {self.tool} is larger than {limit:,} bytes; not read",
            where=where,
            hint="if it is genuine, raise the limit with -O http_max_bytes=BYTES "
            "(http_max_download_bytes for exports)",
        )

    def _read_error_body(self, response: httpx.Response, where: str) -> httpx.Response:
        """At most `ERROR_BODY_BYTES` of an error answer (enough to explain it)."""
        kept = bytearray()
        with contextlib.suppress(RemoteError):
            for chunk in self.iter_body(response, limit=1 << 62, where=where, chunk_size=16384):
                kept += chunk
                if len(kept) >= ERROR_BODY_BYTES:
                    break
        response.close()
        response._content = bytes(kept[:ERROR_BODY_BYTES])
        return response

    def _describe(self, error: Exception) -> str:
        return self.redact(str(error)) or type(error).__name__

    # -- requests ----------------------------------------------------------------------

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Send a request with retries; return the response (body read) or raise a
        `BridgeError`. `idempotent=` overrides the method's default; `allow_redirects=False`
        follows no redirect; `deadline=` overrides the per-request deadline (seconds)."""
        method = method.upper()
        idempotent = kwargs.pop("idempotent", method in IDEMPOTENT_METHODS)
        allow_redirects = kwargs.pop("allow_redirects", True)
        deadline = kwargs.pop("deadline", None)
        seconds = self.limits.deadline if deadline is None else deadline
        where = self._where(method, url, kwargs.get("params"))
        last = self.retry.attempts - 1
        for attempt in range(self.retry.attempts):
            started = time.monotonic()
            try:
                with self._semaphore:
                    response = self.open(
                        method, url, allow_redirects=allow_redirects, deadline=seconds, **kwargs
                    )
                    status = response.status_code
                    retriable = status in RETRY_STATUSES and (
                        idempotent or status in SAFE_TO_RETRY_ANY_METHOD
                    )
                    if (retriable and attempt < last) or status >= 400:
                        self._read_error_body(response, where)
                    else:
                        self.read_body(response, where=where)
            except httpx.TransportError as error:
                if time.monotonic() - started >= seconds:
                    raise self._deadline_error(seconds, where) from None
                retriable = idempotent or isinstance(error, httpx.ConnectError)
                if attempt < last and retriable:
                    self.retry.sleep(self.retry.wait_for(attempt, None, where))
                    continue
                raise RemoteError(
                    f"{self.tool} could not be reached: {self._describe(error)}",
                    where=where,
                    hint="check the URL and that the server is running",
                ) from None
            except BodyBrokeOff as error:
                if idempotent and attempt < last:
                    self.retry.sleep(self.retry.wait_for(attempt, None, where))
                    continue
                raise self.redact_error(error) from None
            except BridgeError as error:
                raise self.redact_error(error) from None
            if retriable and attempt < last:
                self.retry.sleep(self.retry.wait_for(attempt, response, where))
                continue
            if status >= 400:
                raise self.error_for(response, where)
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _where(self, method: str, url: str, params: Any = None) -> str:
        request = self._client.build_request(method, url, params=params)
        return self.redact(describe_request(method, request.url))

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
        self, url: str, handle: BinaryIO, *, chunk_size: int = CHUNK_BYTES, **kwargs: Any
    ) -> None:
        """GET `url` and write its body into `handle` (a seekable binary file) chunk by
        chunk, never holding it in memory, under `limits.download_deadline` and
        `limits.max_download_bytes`. A broken connection or a 429/5xx starts the download
        again from the beginning, under the same retry policy as `request`."""
        where = self._where("GET", url, kwargs.get("params"))
        seconds = self.limits.download_deadline
        last = self.retry.attempts - 1
        for attempt in range(self.retry.attempts):
            handle.seek(0)
            handle.truncate()
            retry_response: httpx.Response | None = None
            started = time.monotonic()
            try:
                with self._semaphore:
                    response = self.open("GET", url, deadline=seconds, **kwargs)
                    if response.status_code in RETRY_STATUSES and attempt < last:
                        retry_response = self._read_error_body(response, where)
                    elif response.status_code >= 400:
                        raise self.error_for(self._read_error_body(response, where), where)
                    else:
                        limit = self.limits.max_download_bytes
                        for chunk in self.iter_body(
                            response, limit=limit, where=where, chunk_size=chunk_size
                        ):
                            handle.write(chunk)
                        return
            except httpx.TransportError as error:
                if time.monotonic() - started >= seconds:
                    raise self._deadline_error(seconds, where) from None
                if attempt == last:
                    raise RemoteError(
                        f"the download from {self.tool} broke off: {type(error).__name__}",
                        where=where,
                        hint="check the connection and retry",
                    ) from None
            except BodyBrokeOff as error:
                if attempt == last:
                    raise self.redact_error(error) from None
            except BridgeError as error:
                raise self.redact_error(error) from None
            self.retry.sleep(self.retry.wait_for(attempt, retry_response, where))

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


# ------------------------------------------------------------------------ JSON bodies


def json_or_none(response: httpx.Response) -> Any:
    """The JSON body of `response`, or None when it is not JSON (or nested deeper than
    the parser can go)."""
    try:
        return response.json()
    except (ValueError, RecursionError):
        return None


def decode_json(response: httpx.Response, where: str) -> Any:
    """The JSON body of `response`, or a `FormatError` naming the request."""
    try:
        return response.json()
    except RecursionError:
        raise FormatError(
            "malformed response: JSON nested too deeply to read",
            where=where,
            hint="the server or a proxy in front of it returned something unexpected",
        ) from None
    except ValueError:
        snippet = secrets.redact(response.text[:120].replace("\n", " "))
        raise FormatError(
            f"malformed response: not JSON (HTTP {response.status_code}, body starts {snippet!r})",
            where=where,
            hint="the server or a proxy in front of it returned something unexpected; retry later",
        ) from None


def response_detail(response: httpx.Response, limit: int = 300) -> str:
    """A short human-readable reason from an error response body."""
    body = json_or_none(response)
    if body is None:
        return response.text[:limit].strip() or response.reason_phrase
    if isinstance(body, dict):
        for key in ("detail", "message", "error", "errors"):
            if key in body:
                return _short(body[key], limit)
    return _short(body, limit)


def _short(value: Any, limit: int) -> str:
    if isinstance(value, str):
        return value[:limit]
    try:
        return json.dumps(value)[:limit]
    except (ValueError, RecursionError):
        return type(value).__name__


# ------------------------------------------------------------- checked JSON shapes


def expect_object(value: Any, where: str, what: str = "answer") -> dict[str, Any]:
    """`value` if it is a JSON object, else a `FormatError` naming `what` and `where`."""
    if not isinstance(value, dict):
        raise FormatError(
            f"malformed {what}: expected a JSON object, got {_json_type(value)}", where=where
        )
    return value


def expect_list(value: Any, where: str, what: str = "answer") -> list[Any]:
    """`value` if it is a JSON array, else a `FormatError`."""
    if not isinstance(value, list):
        raise FormatError(
            f"malformed {what}: expected a JSON array, got {_json_type(value)}", where=where
        )
    return value


def expect_field(
    obj: Any,
    key: str,
    kind: type | tuple[type, ...],
    where: str,
    *,
    optional: bool = False,
    what: str = "answer",
) -> Any:
    """`obj[key]` checked to be of `kind` (bool is not an int); None when `optional` and
    missing or null; otherwise a `FormatError` naming the field."""
    value = expect_object(obj, where, what).get(key)
    if value is None and optional:
        return None
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        raise FormatError(f"malformed {what}: {key!r} is {_json_type(value)}", where=where)
    return value


def _json_type(value: Any) -> str:
    names = {
        dict: "an object",
        list: "an array",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        type(None): "null or missing",
    }
    return names.get(type(value), type(value).__name__)


# ------------------------------------------------------------------------ pagination


def iter_next_pages(
    client: HttpClient,
    url: str,
    *,
    params: dict[str, Any] | None = None,
    results_key: str = "results",
) -> Iterator[Any]:
    """Yield every element of a `{"count", "next", "results"}` paginated collection,
    following `next` links until one is null; a `next` link seen before (the server
    would send us round in circles) is a `RemoteError`."""
    next_url: str | None = url
    next_params = params
    seen: set[str] = set()
    while next_url:
        page = client.json("GET", next_url, params=next_params)
        where = describe_request("GET", next_url)
        if not isinstance(page, dict) or not isinstance(page.get(results_key), list):
            raise FormatError(
                f"malformed page: expected an object with a {results_key!r} list", where=where
            )
        yield from page[results_key]
        following = page.get("next")
        if following is not None and not isinstance(following, str):
            raise FormatError(f"malformed page: 'next' is {_json_type(following)}", where=where)
        if following:
            key = _page_key(following)
            if key in seen or key == _page_key(next_url, next_params):
                raise RemoteError(
                    f"{client.tool} sent a 'next' page link that was already read; stopped "
                    "instead of reading the same pages forever",
                    where=where,
                    hint="the server's pagination is broken; check its version or retry later",
                )
            seen.add(key)
        next_url, next_params = following, None


def _page_key(url: str, params: dict[str, Any] | None = None) -> str:
    """A page's address without scheme and host (servers behind proxies vary them)."""
    parsed = httpx.URL(url)
    if params:
        parsed = parsed.copy_merge_params(params)
    query = parsed.query.decode()
    return f"{parsed.path}?{'&'.join(sorted(query.split('&')))}"
