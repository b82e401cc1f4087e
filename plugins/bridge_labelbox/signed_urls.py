"""Downloads from *signed URLs*: time-limited storage links that carry their own credentials.

Labelbox puts export pages, import error files and some masks behind such links. They are
fetched with a plain `httpx.Client` that never sends our API key; the query string (the
signature) is kept out of every error message.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx

from bridge.errors import RemoteError
from bridge.http import RETRY_STATUSES, HttpClient, RetryPolicy, response_detail

EXPIRED_URL_STATUSES = frozenset({400, 403})
"""What cloud storage answers for an expired or revoked signed URL."""


class ExpiredUrl(Exception):
    """Internal signal: storage refused a signed URL (expired); ask for a fresh one."""


def signed_url_where(url: str) -> str:
    """`GET host/path` for a signed URL: its query string (the signature) is left out."""
    parts = urlsplit(url)
    return f"GET {parts.netloc}{parts.path}"


def open_signed(storage: HttpClient, retry: RetryPolicy, url: str) -> httpx.Response:
    """GET a signed URL without the API key, as an open streamed response (read it with
    `storage.iter_body`, which closes it); 5xx and connection errors are retried, 400/403
    raise `ExpiredUrl`. `storage` is an `HttpClient` without a token: its redirect,
    deadline and size policy apply."""
    where = signed_url_where(url)
    for attempt in range(retry.attempts):
        last = attempt == retry.attempts - 1
        try:
            response = storage.open("GET", url, deadline=storage.limits.download_deadline)
        except httpx.TransportError as error:
            if last:
                raise RemoteError(
                    f"storage could not be reached: {type(error).__name__}", where=where
                ) from None
            retry.sleep(retry.wait_for(attempt, None, where))
            continue
        status = response.status_code
        if status < 300:
            return response
        storage.read_body(response, where=where, limit=64 * 1024)
        if status in EXPIRED_URL_STATUSES:
            raise ExpiredUrl(f"HTTP {status}")
        if status in RETRY_STATUSES and not last:
            retry.sleep(retry.wait_for(attempt, response, where))
            continue
        raise RemoteError(
            f"storage answered HTTP {status}: {storage.redact(response_detail(response))}",
            where=where,
        )
    raise AssertionError("unreachable")  # pragma: no cover


def read_signed(
    storage: HttpClient, retry: RetryPolicy, url: str, *, limit: int | None = None
) -> bytes:
    """The whole body behind a signed URL (at most `limit` bytes, default the client's
    `max_bytes`); a refused link is a `RemoteError`."""
    try:
        response = open_signed(storage, retry, url)
    except ExpiredUrl as expired:
        raise RemoteError(
            f"the file link was refused ({expired})", where=signed_url_where(url)
        ) from None
    return storage.read_body(response, where=signed_url_where(url), limit=limit).content


def checked_bytes(
    storage: HttpClient, response: httpx.Response, expected: int, where: str
) -> Iterator[bytes]:
    """The body of an open streamed response, checked to be `expected` bytes long (a
    longer body is refused as soon as it passes that length)."""
    received = 0
    for chunk in storage.iter_body(response, limit=max(expected, 0), where=where):
        received += len(chunk)
        yield chunk
    if received != expected:
        raise RemoteError(
            f"export file is {received} bytes, Labelbox announced {expected}",
            where=where,
            hint="the download was cut short; rerun the export",
        )
