"""CVAT's REST API over `bridge.http.HttpClient`: moves JSON, knows no unified schema.

Vendor terms:

* **task**: a set of media (images, or one video) with labels; split into **jobs**, each a
  frame range given to one **assignee** and moving through a **stage** (annotation,
  validation, acceptance) with a **state** (new, in progress, completed, rejected).
* **project**: a group of tasks sharing labels.
* **labels** carry **attributes** (`spec_id`s); skeleton labels carry **sublabels**.
* **request** (`rq_id`): a background job on the server (data upload, export); polled at
  `/api/requests/{rq_id}` until its status is `finished` or `failed`.
* Collections are paginated: `{"count", "next", "previous", "results"}`; we follow `next`.

Auth is a personal access token sent as `Authorization: Bearer <token>`; the organization
context is the `X-Organization: <slug>` header.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
from pydantic import SecretStr

from bridge.errors import FormatError, RemoteError
from bridge.http import (
    HttpClient,
    HttpLimits,
    RetryPolicy,
    check_header_token,
    expect_field,
    expect_object,
    iter_next_pages,
)

AUTH_HINT = (
    "set CVAT_ACCESS_TOKEN to a personal access token (CVAT: user menu > Profile > "
    "Security > Personal access tokens) and CVAT_ORG to the organization slug if the "
    "task belongs to an organization"
)
ANNOTATION_ACTIONS = frozenset({"create", "update", "delete"})
REQUEST_DONE = "finished"
REQUEST_FAILED = "failed"
REQUEST_PENDING = frozenset({"queued", "started"})


class SameOrigin:
    """The HTTP client, with `next` links rebased onto our own server.

    CVAT builds `next` from the request it received; behind a proxy that terminates TLS it
    may say `http://` or an internal host name. Following it as is would send the token
    over plain http or to another host, so only its path and query are kept."""

    def __init__(self, http: HttpClient):
        self.http = http
        self.tool = http.tool

    def json(self, method: str, url: str, **kwargs: Any) -> Any:
        parsed = httpx.URL(url)
        if parsed.is_absolute_url:
            query = f"?{parsed.query.decode()}" if parsed.query else ""
            url = f"{parsed.path}{query}"
        return self.http.json(method, url, **kwargs)


class CvatApi:
    """The CVAT REST calls label-bridge makes. `page_size` bounds each list request;
    `sleep` is what `wait_for_request` waits with (tests inject a fake)."""

    def __init__(
        self,
        base_url: str,
        *,
        token: SecretStr | None = None,
        organization: str | None = None,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        page_size: int = 100,
        sleep: Callable[[float], None] = time.sleep,
        limits: HttpLimits | None = None,
    ):
        if organization:
            check_header_token(organization, name="CVAT_ORG")
        headers = {"X-Organization": organization} if organization else {}
        self.http = HttpClient(
            base_url,
            tool="cvat",
            token=token,
            auth_scheme="Bearer",
            auth_hint=AUTH_HINT,
            token_name="CVAT_ACCESS_TOKEN",
            headers=headers,
            retry=retry,
            transport=transport,
            limits=limits,
        )
        self.page_size = page_size
        self.sleep = sleep

    # -- reading --------------------------------------------------------------------

    def about(self) -> dict[str, Any]:
        """`GET /api/server/about`: server name and version."""
        return self._object("GET", "/api/server/about")

    def _list(self, path: str, **filters: Any) -> Iterator[dict[str, Any]]:
        params = {key: value for key, value in filters.items() if value is not None}
        params["page_size"] = self.page_size
        for element in iter_next_pages(SameOrigin(self.http), path, params=params):
            if not isinstance(element, dict):
                raise FormatError(
                    f"malformed page: expected objects in 'results', got {type(element).__name__}",
                    where=f"GET {path}",
                )
            yield element

    def list_projects(self) -> Iterator[dict[str, Any]]:
        """Every project visible to us (`GET /api/projects`)."""
        return self._list("/api/projects")

    def find_projects(self, search: str) -> Iterator[dict[str, Any]]:
        """Projects whose name (or owner, assignee...) contains `search`
        (`GET /api/projects?search=`)."""
        return self._list("/api/projects", search=search)

    def list_tasks(self, project_id: int | None = None) -> Iterator[dict[str, Any]]:
        """Every task, or those of one project (`GET /api/tasks?project_id=`)."""
        return self._list("/api/tasks", project_id=project_id)

    def get_project(self, project_id: int) -> dict[str, Any]:
        return self._identified("GET", f"/api/projects/{project_id}", project_id)

    def get_task(self, task_id: int) -> dict[str, Any]:
        return self._identified("GET", f"/api/tasks/{task_id}", task_id)

    def list_labels(
        self, *, task_id: int | None = None, project_id: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """A task's or project's labels with their attributes and skeleton sublabels."""
        if (task_id is None) == (project_id is None):
            raise ValueError("give exactly one of task_id or project_id")
        return self._list("/api/labels", task_id=task_id, project_id=project_id)

    def list_jobs(self, task_id: int) -> Iterator[dict[str, Any]]:
        """A task's jobs with assignee, stage, state and frame range."""
        return self._list("/api/jobs", task_id=task_id)

    def get_job_annotations(self, job_id: int) -> dict[str, Any]:
        """A job's `{"version", "tags", "shapes", "tracks"}` (the three lists checked: an
        answer without them is not an empty job)."""
        path = f"/api/jobs/{job_id}/annotations/"
        answer = self._object("GET", path)
        for key in ("shapes", "tags", "tracks"):
            expect_field(answer, key, list, f"GET {path}", what="job annotations")
        return answer

    def get_task_meta(self, task_id: int) -> dict[str, Any]:
        """Frame names and sizes (`frames`, checked to be a list), start/stop frame and
        frame filter of a task."""
        path = f"/api/tasks/{task_id}/data/meta"
        meta = self._object("GET", path)
        expect_field(meta, "frames", list, f"GET {path}", what="task data meta")
        return meta

    def list_issues(self, job_id: int) -> Iterator[dict[str, Any]]:
        """A job's issues (`GET /api/issues?job_id=`, IssueRead: frame, position, owner,
        resolved, created_date; `comments` is only a count and a link)."""
        return self._list("/api/issues", job_id=job_id)

    def list_comments(self, job_id: int) -> Iterator[dict[str, Any]]:
        """The comments on all of a job's issues (`GET /api/comments?job_id=`,
        CommentRead: issue, owner, message, created_date)."""
        return self._list("/api/comments", job_id=job_id)

    def get_job_meta(self, job_id: int) -> dict[str, Any]:
        """A job's data meta; `included_frames` lists the task data frames of a job made
        of chosen frames (a ground-truth job), None for a job over a frame range."""
        return self._object("GET", f"/api/jobs/{job_id}/data/meta")

    # -- writing --------------------------------------------------------------------

    def create_project(self, body: dict[str, Any]) -> dict[str, Any]:
        """`POST /api/projects` with a ProjectWriteRequest (name, labels)."""
        return self._identified("POST", "/api/projects", None, json=body)

    def update_project(self, project_id: int, body: dict[str, Any]) -> dict[str, Any]:
        """`PATCH /api/projects/{id}` with a PatchedProjectWriteRequest (e.g. `labels` to
        add or extend)."""
        return self._object("PATCH", f"/api/projects/{project_id}", json=body, idempotent=True)

    def create_task(self, body: dict[str, Any]) -> dict[str, Any]:
        """`POST /api/tasks` with a TaskWriteRequest (name, labels or project_id)."""
        return self._identified("POST", "/api/tasks", None, json=body)

    def update_task(self, task_id: int, body: dict[str, Any]) -> dict[str, Any]:
        """`PATCH /api/tasks/{id}` with a PatchedTaskWriteRequest (e.g. `name`)."""
        return self._object("PATCH", f"/api/tasks/{task_id}", json=body, idempotent=True)

    def delete_task(self, task_id: int) -> None:
        """`DELETE /api/tasks/{id}` (its jobs, data and annotations go with it)."""
        self.http.request("DELETE", f"/api/tasks/{task_id}")

    def attach_data(self, task_id: int, body: dict[str, Any]) -> str:
        """`POST /api/tasks/{id}/data/` with a DataRequest (e.g. `remote_files`); returns
        the `rq_id` of the server's background request."""
        answer = self._object("POST", f"/api/tasks/{task_id}/data/", json=body)
        rq_id = answer.get("rq_id")
        if not isinstance(rq_id, str) or not rq_id:
            raise FormatError(
                "malformed response: no 'rq_id' in the data upload answer",
                where=f"POST /api/tasks/{task_id}/data/",
            )
        return rq_id

    def get_request(self, rq_id: str) -> dict[str, Any]:
        return self._object("GET", f"/api/requests/{rq_id}")

    def wait_for_request(
        self, rq_id: str, *, poll_interval: float = 2.0, timeout: float = 3600.0
    ) -> dict[str, Any]:
        """Poll `/api/requests/{rq_id}` until it is finished; `failed` raises a
        `RemoteError` carrying the server's message."""
        waited = 0.0
        while True:
            request = self.get_request(rq_id)
            status = request.get("status")
            if status == REQUEST_DONE:
                return request
            if status == REQUEST_FAILED:
                message = request.get("message") or "no message"
                raise RemoteError(
                    f"cvat request {rq_id} failed: {self.http.redact(str(message))}",
                    where=f"GET /api/requests/{rq_id}",
                    hint="check the data URLs are reachable from the CVAT server",
                )
            if status not in REQUEST_PENDING:
                raise FormatError(
                    f"malformed response: unknown request status {status!r}",
                    where=f"GET /api/requests/{rq_id}",
                )
            if waited >= timeout:
                raise RemoteError(
                    f"cvat request {rq_id} still {status} after {timeout:.0f} s",
                    where=f"GET /api/requests/{rq_id}",
                    hint="the server is busy; check the task in CVAT and retry later",
                )
            self.sleep(poll_interval)
            waited += poll_interval

    def put_job_annotations(self, job_id: int, body: dict[str, Any]) -> dict[str, Any]:
        """Replace all of a job's annotations (LabeledDataRequest)."""
        return self._object("PUT", f"/api/jobs/{job_id}/annotations/", json=body)

    def patch_job_annotations(
        self, job_id: int, action: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        """Create, update or delete some of a job's annotations (PatchedLabeledDataRequest)."""
        if action not in ANNOTATION_ACTIONS:
            raise ValueError(f"action must be one of {sorted(ANNOTATION_ACTIONS)}")
        return self._object(
            "PATCH",
            f"/api/jobs/{job_id}/annotations/",
            params={"action": action},
            json=body,
            idempotent=action != "create",
        )

    def update_job(self, job_id: int, body: dict[str, Any]) -> dict[str, Any]:
        """`PATCH /api/jobs/{id}` with a PatchedJobWriteRequest (assignee, stage, state)."""
        return self._object("PATCH", f"/api/jobs/{job_id}", json=body, idempotent=True)

    def find_users(self, search: str) -> Iterator[dict[str, Any]]:
        """Users whose username, name or email contains `search` (`GET /api/users`)."""
        return self._list("/api/users", search=search)

    # -- plumbing -------------------------------------------------------------------

    def _object(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        answer = self.http.json(method, path, **kwargs)
        return expect_object(answer, f"{method} {path}", "response")

    def _identified(
        self, method: str, path: str, expected: int | None, **kwargs: Any
    ) -> dict[str, Any]:
        """An answer that is one CVAT object: a JSON object whose integer `id` is the one
        asked for (when one was)."""
        where = f"{method} {path}"
        answer = self._object(method, path, **kwargs)
        found = expect_field(answer, "id", int, where, what="response")
        if expected is not None and found != expected:
            raise FormatError(
                f"malformed response: asked for id {expected}, got {found}", where=where
            )
        return answer

    def close(self) -> None:
        self.http.close()
