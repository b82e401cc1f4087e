"""Labelbox *tasks*: server-side background jobs (exports, data row upserts) polled until
they leave IN_PROGRESS for COMPLETE or FAILED."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx

from bridge.errors import BridgeError, NotFoundError, RemoteError
from bridge_labelbox import graphql as gql
from bridge_labelbox.client import LabelboxClient

ERROR_FILE_BYTES = 1 << 20
"""A failed task's error file is read for its message only: at most this much."""


def user_id(client: LabelboxClient) -> str:
    """The id of the user the API key belongs to (asked once, then remembered)."""
    if client._user_id is None:
        data = client.execute(gql.GET_USER)
        user_id = gql.dig(data, "user", "id", where="query GetUserPyApi", expect=(str, int))
        client._user_id = str(user_id)
    return client._user_id


def get_task(client: LabelboxClient, task_id: str) -> dict[str, Any]:
    """A background task (its status, errors, result) as created by this key's user."""
    data = client.execute(gql.GET_USER_TASK, {"taskId": task_id, "userId": user_id(client)})
    where = f"task {task_id}"
    tasks = gql.dig(data, "user", "createdTasks", where=where, expect=list, optional=True)
    if not tasks:
        raise NotFoundError(f"Labelbox has no task {task_id}", where=where)
    return gql.expect_object(tasks[0], where)


def wait_for_task(client: LabelboxClient, task_id: str) -> dict[str, Any]:
    """Poll the task until it leaves IN_PROGRESS; FAILED raises with its message."""
    task = client._poll(
        lambda: get_task(client, task_id),
        lambda task: task.get("status") != "IN_PROGRESS",
        f"Labelbox task {task_id}",
    )
    if task.get("status") != "COMPLETE":
        raise RemoteError(
            f"Labelbox task {task.get('status', 'ended')}: {task_failure(client, task)}",
            where=f"task {task_id}",
        )
    return task


def task_failure(client: LabelboxClient, task: dict[str, Any]) -> str:
    """The reason a task failed: its `errors` text (JSON or a link to JSON)."""
    raw = task.get("errors") or task.get("result") or ""
    if isinstance(raw, str) and raw.startswith(("https://", "http://")):
        try:
            raw = client._read_signed(raw, limit=ERROR_FILE_BYTES).decode("utf-8", "replace")
        except (httpx.HTTPError, BridgeError):
            return f"see {urlsplit(raw).netloc} (error file could not be read)"
    return gql.summarize_error_text(raw) or "no error message"
