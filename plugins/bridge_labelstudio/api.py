"""Label Studio's REST API over `bridge.http`. Moves JSON; knows nothing of the unified schema.

Label Studio terms used here:

* **project**: a labeling project with one *label config* (XML naming the object tags such
  as `<Image>` and the control tags such as `<RectangleLabels>`).
* **task**: one thing to label, `{"data": {...}, "meta": {...}}`; `data` holds the fields
  the label config reads (`$image`, `$text`).
* **annotation**: one person's work on a task: a `result` list of regions plus
  `completed_by` (a user id), `lead_time`, `was_cancelled` (skipped), `ground_truth`.
* **prediction**: a model's pre-annotation: `result`, `model_version`, `score`.
* **legacy token**: a static API key sent as `Authorization: Token <key>`.
* **personal access token (PAT)**: a JWT *refresh* token; it is exchanged at
  `POST /api/token/refresh/` for an *access* token (valid 300 s) sent as
  `Authorization: Bearer <access>`.
* **export snapshot**: a server-side export (`/api/projects/{id}/exports/`) downloaded as one
  JSON list of tasks; unlike the synchronous export it can carry full prediction objects.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
from pydantic import SecretStr

from bridge.errors import AuthError, BridgeError, FormatError, NotFoundError, RemoteError
from bridge.http import (
    HttpClient,
    HttpLimits,
    RetryPolicy,
    check_header_token,
    decode_json,
    describe_request,
    expect_field,
    expect_object,
    json_or_none,
)
from bridge_labelstudio.export_json import iter_task_array

TOOL = "Label Studio"
AUTH_HINT = (
    "set LABEL_STUDIO_API_KEY to a valid legacy token or personal access token "
    "(Label Studio: Account & Settings > Personal Access Token)"
)
LEGACY_DISABLED_HINT = (
    "this server has legacy tokens turned off: use a personal access token instead, or let "
    "an admin enable legacy tokens (Organization > API Tokens Settings)"
)
DEFAULT_PAGE_SIZE = 100
ACCESS_TOKEN_MARGIN = 30.0  # refresh this many seconds before the access token expires
SNAPSHOT_POLL_SECONDS = 1.0
SNAPSHOT_TIMEOUT_SECONDS = 600.0
TOKEN_NAME = "LABEL_STUDIO_API_KEY"


# ---------------------------------------------------------------------------- tokens


def _jwt_payload(token: str) -> dict[str, Any] | None:
    """The decoded payload of a JWT, or None if `token` is not one (signature unchecked)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    body = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        payload = json.loads(base64.urlsafe_b64decode(body))
    except (binascii.Error, ValueError):
        return None
    return payload if isinstance(payload, dict) else None


def is_personal_access_token(token: str) -> bool:
    """True if `token` is a JWT (a Label Studio personal access token), False for a legacy
    key. The label-studio-sdk tells the two apart the same way."""
    return _jwt_payload(token) is not None


def jwt_expiry(token: str) -> float | None:
    """The `exp` claim of a JWT (seconds since the epoch), or None."""
    payload = _jwt_payload(token) or {}
    exp = payload.get("exp")
    return float(exp) if isinstance(exp, int | float) else None


class AccessTokenAuth(httpx.Auth):
    """Bearer auth from a personal access token: mints an access token when there is none
    or it is about to expire (by its `exp` claim, on the injected `clock`), and once more
    when the server answers 401 to a token we thought valid."""

    def __init__(self, mint: Callable[[], str], clock: Callable[[], float] = time.time):
        self._mint = mint  # returns a header-safe token, already registered as a secret
        self._clock = clock
        self._lock = threading.Lock()
        self._access: str | None = None
        self._expires_at = 0.0

    def current(self, *, force: bool = False) -> str:
        """A valid access token, minting a new one when needed (thread-safe)."""
        with self._lock:
            stale = self._clock() >= self._expires_at - ACCESS_TOKEN_MARGIN
            if force or self._access is None or stale:
                self._access = self._mint()
                self._expires_at = jwt_expiry(self._access) or (self._clock() + 300.0)
            return self._access

    def auth_flow(self, request: httpx.Request):
        sent = self.current()
        request.headers["Authorization"] = f"Bearer {sent}"
        response = yield request
        if response.status_code == 401:
            with self._lock:
                already_renewed = self._access != sent
            fresh = self.current(force=not already_renewed)
            request.headers["Authorization"] = f"Bearer {fresh}"
            yield request


class LabelStudioHttp(HttpClient):
    """`HttpClient` whose error messages add Label Studio's `validation_errors` (a 400 on
    import says which field of which task is wrong there, not in `detail`)."""

    def error_for(self, response: httpx.Response, where: str) -> BridgeError:
        error = super().error_for(response, where)
        body = json_or_none(response)
        problems = body.get("validation_errors") if isinstance(body, dict) else None
        if problems:
            shown = problems if isinstance(problems, str) else json.dumps(problems)
            error.message = self.redact(f"{error.message}: {shown[:500]}")
            error.args = (error.message,)
        return error


# ------------------------------------------------------------------------------- API


class LabelStudioApi:
    """The Label Studio calls label-bridge needs, with one retry/error/secrecy policy.

    `token` is a legacy key or a personal access token (detected by shape). `retry` and
    `transport` are injectable so tests neither sleep nor open sockets; `clock` drives
    access-token expiry.
    """

    def __init__(
        self,
        base_url: str,
        token: SecretStr,
        *,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 120.0,
        max_concurrency: int = 4,
        clock: Callable[[], float] = time.time,
        limits: HttpLimits | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        self._secret = token
        self._auth: AccessTokenAuth | None = None
        check_header_token(token.get_secret_value(), name=TOKEN_NAME)
        pat = is_personal_access_token(token.get_secret_value())
        self.http = LabelStudioHttp(
            self.base_url,
            tool=TOOL,
            token=None if pat else token,
            auth_scheme="Token",
            auth_hint=AUTH_HINT,
            token_name=TOKEN_NAME,
            timeout=timeout,
            retry=retry,
            max_concurrency=max_concurrency,
            transport=transport,
            limits=limits,
        )
        self.http.add_secret(token.get_secret_value())
        if pat:
            self._auth = AccessTokenAuth(self._mint_access_token, clock)

    # -- plumbing ----------------------------------------------------------------------

    def _kwargs(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        if self._auth is not None:
            kwargs.setdefault("auth", self._auth)
        return kwargs

    def _redact(self, text: str) -> str:
        return self.http.redact(text)

    @contextlib.contextmanager
    def _redacted_errors(self) -> Iterator[None]:
        """Never let a token (the personal access token, a minted access token) leak
        through an error message."""
        try:
            yield
        except BridgeError as error:
            self.http.redact_error(error)
            if isinstance(error, AuthError) and "legacy token" in error.message:
                error.hint = LEGACY_DISABLED_HINT
            raise

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One authenticated request (retries and error mapping by `HttpClient`)."""
        with self._redacted_errors():
            return self.http.request(method, path, **self._kwargs(kwargs))

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """One authenticated request whose body must be JSON."""
        response = self.request(method, path, **kwargs)
        return decode_json(response, self._where(method, response.request.url))

    def _where(self, method: str, url: httpx.URL | str) -> str:
        return self._redact(describe_request(method.upper(), url))

    def _mint_access_token(self) -> str:
        """Exchange the personal access token for a short-lived access token. The request
        carries the token in its body, so it follows no redirect at all."""
        path = "/api/token/refresh/"
        where = f"POST {path}"
        body = {"refresh": self._secret.get_secret_value()}
        # no `auth`: this call authenticates with the refresh token in its body
        response = self.request("POST", path, json=body, auth=None, allow_redirects=False)
        data = decode_json(response, where)
        access = expect_field(data, "access", str, where, what="token refresh")
        self.http.add_secret(access)  # hidden before anything can print it
        if not access:
            raise FormatError("malformed token refresh: the 'access' token is empty", where=where)
        try:
            check_header_token(access, name="the access token Label Studio minted")
        except BridgeError as error:
            raise RemoteError(
                error.message, where=where, hint="the server's answer is broken"
            ) from None
        return access

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> LabelStudioApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- who and what ------------------------------------------------------------------

    def whoami(self) -> dict[str, Any]:
        """The user the token belongs to (`id`, `email`, ...)."""
        return self._object("GET", "/api/current-user/whoami")

    def version(self) -> dict[str, Any]:
        """Server version info (`release`, `edition`); needs no auth."""
        return self._object("GET", "/api/version")

    def _object(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """One request whose answer must be a JSON object."""
        return expect_object(self.json(method, path, **kwargs), f"{method} {path}")

    def list_users(self) -> list[dict[str, Any]]:
        """Every user of the organization (`id`, `email`, `first_name`, ...)."""
        body = self.json("GET", "/api/users/")
        if isinstance(body, dict) and isinstance(body.get("results"), list):
            body = body["results"]
        if not isinstance(body, list) or not all(isinstance(user, dict) for user in body):
            raise FormatError(
                "malformed user list: expected a JSON list of objects", where="GET /api/users/"
            )
        return body

    # -- projects ----------------------------------------------------------------------

    def list_projects(self, page_size: int = DEFAULT_PAGE_SIZE) -> Iterator[dict[str, Any]]:
        """Every project visible to the user (`id`, `title`, `label_config`, ...)."""
        yield from self._pages("/api/projects/", {"page_size": page_size}, "results")

    def get_project(self, project_id: int | str) -> dict[str, Any]:
        """One project; `NotFoundError` if it does not exist."""
        try:
            return self._object("GET", f"/api/projects/{project_id}/")
        except NotFoundError as error:
            error.hint = "check the project id in the URL (`bridge inspect labelstudio://HOST:PORT` lists them)"
            raise

    def create_project(self, title: str, label_config: str, **fields: Any) -> dict[str, Any]:
        """Create a project from a label config; returns it (with its new `id`)."""
        body = {"title": title, "label_config": label_config, **fields}
        project = self._object("POST", "/api/projects/", json=body)
        expect_field(project, "id", int, "POST /api/projects/", what="new project")
        return project

    def delete_project(self, project_id: int | str) -> None:
        self.request("DELETE", f"/api/projects/{project_id}/")

    # -- pulling tasks -----------------------------------------------------------------

    def iter_tasks(
        self, project_id: int | str, page_size: int = DEFAULT_PAGE_SIZE
    ) -> Iterator[dict[str, Any]]:
        """Every task of a project with full `annotations`, `predictions` and `drafts`,
        page by page (`GET /api/tasks?fields=all`; page+1 until the server's `total` is
        reached, a page is empty, or it answers 404)."""
        params = {"project": project_id, "page_size": page_size, "fields": "all"}
        yield from self._pages("/api/tasks", params, "tasks")

    def iter_tasks_after(
        self, project_id: int | str, task_id: int, page_size: int = DEFAULT_PAGE_SIZE
    ) -> Iterator[dict[str, Any]]:
        """The project's tasks whose id is greater than `task_id` (a Data Manager filter),
        with full annotations and predictions: what was created after a known task."""
        rule = {"filter": "filter:tasks:id", "operator": "greater", "type": "Number"}
        query = {"filters": {"conjunction": "and", "items": [{**rule, "value": task_id}]}}
        params = {
            "project": project_id,
            "page_size": page_size,
            "fields": "all",
            "query": json.dumps(query),
        }
        yield from self._pages("/api/tasks", params, "tasks")

    def _pages(self, path: str, params: dict[str, Any], key: str) -> Iterator[dict[str, Any]]:
        """Label Studio's page-number pagination; `next` links are not followed (they name
        the host as the server sees it, which is wrong behind a proxy). A page the server
        already sent (it ignores `page`, or its `total` is never reached) is a
        `RemoteError`, not an endless pull."""
        seen, page = 0, 1
        pages_seen: set[tuple[Any, ...]] = set()
        while True:
            query = {**params, "page": page}
            try:
                response = self.request("GET", path, params=query)
            except NotFoundError:
                if page == 1:
                    raise
                return  # "Invalid page." past the end
            where = self._where("GET", response.request.url)
            body = decode_json(response, where)
            rows = body.get(key) if isinstance(body, dict) else None
            if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
                raise FormatError(
                    f"malformed page: expected an object with a {key!r} list of objects",
                    where=where,
                )
            signature = page_signature(rows)
            if rows and signature in pages_seen:
                raise RemoteError(
                    f"{TOOL} sent page {page} with the same {key} as an earlier page; stopped "
                    "instead of reading the same pages forever",
                    where=where,
                    hint="the server's pagination is broken (it may ignore `page`); retry, or "
                    "use -O pull=export",
                )
            pages_seen.add(signature)
            yield from rows
            seen += len(rows)
            total = body.get("total", body.get("count"))
            if (
                not rows
                or (isinstance(total, int) and seen >= total)
                or body.get("next", 1) is None
            ):
                return
            page += 1

    def export_tasks(self, project_id: int | str) -> Iterator[dict[str, Any]]:
        """Every task of a project through an export snapshot with full prediction objects,
        downloaded to a temporary file and parsed as a stream; the snapshot is deleted
        afterwards."""
        created: list[int | str] = []
        try:
            snapshot = self.create_export_snapshot(project_id, created=created)
            path = self.download_export(project_id, snapshot["id"])
        finally:
            # also on KeyboardInterrupt (Ctrl-C, SIGTERM as the CLI maps it): the server
            # keeps every snapshot until someone deletes it
            for export_id in created:
                self._delete_snapshot(project_id, export_id)
        try:
            yield from iter_json_array(path, where=f"export of project {project_id}")
        finally:
            os.unlink(path)

    def create_export_snapshot(
        self, project_id: int | str, *, created: list[int | str] | None = None
    ) -> dict[str, Any]:
        """Create an export snapshot of all tasks (predictions as full objects) and wait
        until the server says it is `completed`. The new snapshot's id is appended to
        `created` as soon as the server names it, so a caller can delete it whatever
        happens next."""
        path = f"/api/projects/{project_id}/exports/"
        body = {
            "title": "label-bridge pull",
            "serialization_options": {"predictions": {"only_id": False}},
        }
        snapshot = self._snapshot("POST", path, json=body)
        if created is not None:
            created.append(snapshot["id"])
        waited = 0.0
        while snapshot.get("status") not in ("completed", None):
            if snapshot.get("status") == "failed":
                raise RemoteError("the export snapshot failed on the server", where=f"POST {path}")
            if waited > SNAPSHOT_TIMEOUT_SECONDS:
                raise RemoteError(
                    "the export snapshot did not complete in time", where=f"POST {path}"
                )
            self.http.retry.sleep(SNAPSHOT_POLL_SECONDS)
            waited += SNAPSHOT_POLL_SECONDS
            snapshot = self._snapshot("GET", f"{path}{snapshot['id']}")
        return snapshot

    def _snapshot(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """An export snapshot answer: an object with an integer or string `id`."""
        where = f"{method} {path}"
        snapshot = expect_object(self.json(method, path, **kwargs), where, "export snapshot")
        expect_field(snapshot, "id", (int, str), where, what="export snapshot")
        return snapshot

    def download_export(self, project_id: int | str, export_id: int | str) -> str:
        """Stream a snapshot's JSON to a temporary file; return its path (caller deletes)."""
        url = f"/api/projects/{project_id}/exports/{export_id}/download"
        return self._stream_to_file(url, {"exportType": "JSON"})

    def export_sync(self, project_id: int | str) -> Iterator[dict[str, Any]]:
        """Every task through the synchronous export (`download_all_tasks=true`). Its
        predictions are ids only, so `export_tasks` or `iter_tasks` is used for pulls."""
        url = f"/api/projects/{project_id}/export"
        path = self._stream_to_file(url, {"exportType": "JSON", "download_all_tasks": "true"})
        try:
            yield from iter_json_array(path, where=f"export of project {project_id}")
        finally:
            os.unlink(path)

    def _stream_to_file(self, url: str, params: dict[str, Any]) -> str:
        """GET `url` into a temporary file chunk by chunk (a broken connection or a 429/5xx
        starts the download again, under the shared retry policy); return its path."""
        fd, name = tempfile.mkstemp(prefix="ls-export-", suffix=".json")
        try:
            with os.fdopen(fd, "w+b") as handle, self._redacted_errors():
                self.http.download(url, handle, params=params, **self._kwargs({}))
        except BaseException:
            os.unlink(name)
            raise
        return name

    def _delete_snapshot(self, project_id: int | str, export_id: int | str) -> None:
        # clean-up only: the pull itself has succeeded or already failed (a failed delete
        # must not hide why); a short deadline, as a user may be waiting on Ctrl-C
        with contextlib.suppress(BridgeError):
            self.request(
                "DELETE",
                f"/api/projects/{project_id}/exports/{export_id}",
                deadline=min(self.http.limits.deadline, 30.0),
            )

    # -- pushing -----------------------------------------------------------------------

    def import_tasks(self, project_id: int | str, tasks: list[dict[str, Any]]) -> dict[str, Any]:
        """Import one batch of tasks (with inline `annotations` and `predictions`) in one
        request; the answer holds `task_ids` in the order of `tasks`."""
        path = f"/api/projects/{project_id}/import"
        # the query goes in the path so that error messages name it
        body = self.json("POST", f"{path}?return_task_ids=true", json=tasks)
        ids = body.get("task_ids") if isinstance(body, dict) else None
        if not isinstance(ids, list) or len(ids) != len(tasks):
            raise FormatError(
                f"malformed import answer: expected {len(tasks)} task_ids",
                where=f"POST {path}",
                hint="is this the Community edition? Enterprise imports run in the background",
            )
        return body

    def create_annotation(self, task_id: int | str, annotation: dict[str, Any]) -> dict[str, Any]:
        """Create one annotation on a task (`result`, `lead_time`, `was_cancelled`, ...)."""
        return self.json("POST", f"/api/tasks/{task_id}/annotations/", json=annotation)

    def create_prediction(self, prediction: dict[str, Any]) -> dict[str, Any]:
        """Create one prediction (`task`, `result`, `model_version`, `score`)."""
        return self.json("POST", "/api/predictions/", json=prediction)

    def import_predictions(
        self, project_id: int | str, predictions: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """Create many predictions in one request; each names its `task` id."""
        path = f"/api/projects/{project_id}/import/predictions"
        return self.json("POST", path, json=predictions)


def page_signature(rows: list[dict[str, Any]]) -> tuple[Any, ...]:
    """What tells one page from another: its tasks' ids (the whole rows when some have
    none)."""
    ids = tuple(row.get("id") for row in rows)
    if all(isinstance(one, int | str) for one in ids):
        return ids
    return (json.dumps(rows, sort_keys=True, default=str),)


def iter_json_array(path: str, *, where: str) -> Iterator[dict[str, Any]]:
    """The objects of the JSON array in the file at `path`, parsed as a stream by the
    plugin's one export parser (`export_json`): anything but an array of objects
    (`{}`, `null`, two arrays) is a `FormatError` at `where`."""
    for _, row in iter_task_array(path, label=where):
        yield row
