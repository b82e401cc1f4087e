"""The Labelbox GraphQL client every operation class builds on: sending, errors, polling.

`LabelboxClient` sends every operation as `POST <endpoint>` with `Authorization: Bearer <key>`
and turns GraphQL `errors[].extensions.code` into `BridgeError`s (see `graphql.py`). Long
jobs are polled with an injectable `sleep`, so tests never wait. Signed URLs (time-limited
storage links that carry their own credentials) are read with a second HTTP client that
never sends the API key (see `signed_urls.py`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import IO, Any

import httpx
import orjson
from pydantic import SecretStr

from bridge.errors import FormatError, RemoteError
from bridge.http import HttpClient, HttpLimits, RetryPolicy, describe_request, json_or_none
from bridge.limits import DEFAULT_MAX_PIXELS
from bridge_labelbox import graphql as gql
from bridge_labelbox import signed_urls

DEFAULT_ENDPOINT = "https://api.labelbox.com/graphql"


class GraphQLHttpClient(HttpClient):
    """An `HttpClient` that reads GraphQL `errors` out of HTTP 4xx bodies too."""

    def error_for(self, response: httpx.Response, where: str):
        body = json_or_none(response)
        if isinstance(body, dict) and body.get("errors") and response.status_code < 500:
            errors = gql.error_list(body["errors"])
            if {gql.error_code(error) for error in errors} - {None}:
                return self.redact_error(gql.error_for_graphql(errors, where))
        return super().error_for(response, where)


class LabelboxClient:
    """GraphQL transport, signed-URL downloads and polling shared by all operations."""

    def __init__(
        self,
        api_key: SecretStr,
        *,
        endpoint: str = DEFAULT_ENDPOINT,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] | None = None,
        poll_interval: float = 2.0,
        poll_timeout: float = 7200.0,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 60.0,
        limits: HttpLimits | None = None,
    ):
        self.endpoint = endpoint.rstrip("/")
        self.sleep = sleep or time.sleep
        retry = retry or RetryPolicy(sleep=self.sleep)
        self.poll_interval = poll_interval
        self.poll_timeout = poll_timeout
        self.http = GraphQLHttpClient(
            self.endpoint,
            tool="Labelbox",
            token=api_key,
            auth_hint=gql.AUTH_HINT,
            token_name="LABELBOX_API_KEY",
            timeout=timeout,
            retry=retry,
            transport=transport,
            limits=limits,
        )
        # signed links carry their own credentials: this client has no token at all
        self.storage = HttpClient(
            "",
            tool="Labelbox storage",
            headers={"Accept": "*/*"},
            timeout=timeout,
            retry=retry,
            transport=transport,
            limits=limits,
        )
        self._user_id: str | None = None
        self.max_pixels = DEFAULT_MAX_PIXELS
        """The pixel budget a mask PNG's declared size must fit (`-O max_pixels=`)."""

    def close(self) -> None:
        self.http.close()
        self.storage.close()

    # -- GraphQL ------------------------------------------------------------------------

    @property
    def experimental_endpoint(self) -> str:
        """Where the SDK sends experimental operations (`/_gql` instead of `/graphql`)."""
        return self.endpoint.replace("/graphql", "/_gql")

    def execute(
        self,
        query: str,
        variables: dict | None = None,
        *,
        mutation: bool = False,
        experimental: bool = False,
    ) -> dict[str, Any]:
        """Run one operation and return its `data`. Queries are retried on 5xx; mutations
        only when the server cannot have acted (429). GraphQL-level rate limiting is
        retried with the same backoff."""
        url = self.experimental_endpoint if experimental else self.endpoint
        payload = {"query": query, "variables": variables or {}}
        with self.http.redacted_errors():
            return self._post(url, query, mutation, json=payload)

    def execute_multipart(
        self,
        query: str,
        variables: dict,
        file_name: str,
        content: bytes | IO[bytes],
        content_type: str,
    ) -> dict[str, Any]:
        """Run a mutation with one file, as a GraphQL multipart request (the SDK's shape:
        parts `operations`, `map` = {file_name: ["variables.file"]}, then the file)."""
        operations = json.dumps({"variables": variables, "query": query})
        form = {"operations": operations, "map": json.dumps({file_name: ["variables.file"]})}
        files = {file_name: (file_name, content, content_type)}
        with self.http.redacted_errors():
            # an upload may be large: it gets the download deadline, not a request's
            return self._post(
                self.endpoint,
                query,
                True,
                data=form,
                files=files,
                deadline=self.http.limits.download_deadline,
            )

    def _post(self, url: str, query: str, mutation: bool, **send: Any) -> dict[str, Any]:
        where = f"{describe_request('POST', url)} ({gql.operation_name(query)})"
        retry = self.http.retry
        for attempt in range(retry.attempts):
            response = self.http.request("POST", url, idempotent=not mutation, **send)
            body = self._decode(response, where)
            if gql.is_rate_limited(body) and attempt < retry.attempts - 1:
                retry.sleep(retry.wait_for(attempt, response, where))
                continue
            return self._data(body, where)
        raise RemoteError(  # pragma: no cover - the loop returns or raises
            "Labelbox kept rate-limiting", where=where
        )

    def _decode(self, response: httpx.Response, where: str) -> Any:
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError:
            snippet = response.text[:120].replace("\n", " ")
            raise FormatError(
                f"Labelbox answered something that is not JSON: {snippet!r}", where=where
            ) from None

    def _data(self, body: Any, where: str) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise FormatError("Labelbox answered JSON that is not an object", where=where)
        if gql.is_rate_limited(body):
            raise RemoteError(
                "Labelbox kept rate-limiting the requests",
                where=where,
                hint="wait a minute and retry, or push fewer rows at a time",
            )
        if body.get("errors"):
            raise gql.error_for_graphql(gql.error_list(body["errors"]), where)
        data = body.get("data")
        if not isinstance(data, dict):
            raise FormatError("Labelbox answered without a `data` object", where=where)
        return data

    # -- signed URLs ----------------------------------------------------------------------

    def _open_signed(self, url: str) -> httpx.Response:
        """GET a signed URL without the API key, as an open streamed response (the caller
        closes it); 5xx and connection errors are retried, 400/403 raise `ExpiredUrl`."""
        return signed_urls.open_signed(self.storage, self.http.retry, url)

    def _read_signed(self, url: str, *, limit: int | None = None) -> bytes:
        """The whole body behind a signed URL (a refused link is a `RemoteError`)."""
        return signed_urls.read_signed(self.storage, self.http.retry, url, limit=limit)

    # -- polling --------------------------------------------------------------------------

    def _poll(self, fetch: Callable[[], Any], done: Callable[[Any], bool], what: str) -> Any:
        """Call `fetch` until `done(result)`, sleeping `poll_interval` between calls."""
        waited = 0.0
        while True:
            result = fetch()
            if done(result):
                return result
            if waited >= self.poll_timeout:
                raise RemoteError(
                    f"{what} is still running after {waited:.0f} s",
                    hint="it continues on Labelbox; retry later",
                )
            self.sleep(self.poll_interval)
            waited += self.poll_interval
