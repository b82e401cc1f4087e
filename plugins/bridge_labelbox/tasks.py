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


class TaskOperations(LabelboxClient):
    """Reading and waiting for the background tasks this key's user created."""

    def user_id(self) -> str:
        """The id of the user the API key belongs to (asked once, then remembered)."""
        if self._user_id is None:
            data = self.execute(gql.GET_USER)
            user_id = gql.dig(data, "user", "id", where="query GetUserPyApi", expect=(str, int))
            self._user_id = str(user_id)
        return self._user_id

    def get_task(self, task_id: str) -> dict[str, Any]:
        """A background task (its status, errors, result) as created by this key's user."""
        data = self.execute(gql.GET_USER_TASK, {"taskId": task_id, "userId": self.user_id()})
        where = f"task {task_id}"
        tasks = gql.dig(data, "user", "createdTasks", where=where, expect=list, optional=True)
        if not tasks:
            raise NotFoundError(f"Labelbox has no task {task_id}", where=where)
        return gql.expect_object(tasks[0], where)

    def wait_for_task(self, task_id: str) -> dict[str, Any]:
        """Poll the task until it leaves IN_PROGRESS; FAILED raises with its message."""
        task = self._poll(
            lambda: self.get_task(task_id),
            lambda task: task.get("status") != "IN_PROGRESS",
            f"Labelbox task {task_id}",
        )
        if task.get("status") != "COMPLETE":
            raise RemoteError(
                f"Labelbox task {task.get('status', 'ended')}: {self.task_failure(task)}",
                where=f"task {task_id}",
            )
        return task

    def task_failure(self, task: dict[str, Any]) -> str:
        """The reason a task failed: its `errors` text (JSON or a link to JSON)."""
        raw = task.get("errors") or task.get("result") or ""
        if isinstance(raw, str) and raw.startswith(("https://", "http://")):
            try:
                raw = self._read_signed(raw, limit=ERROR_FILE_BYTES).decode("utf-8", "replace")
            except (httpx.HTTPError, BridgeError):
                return f"see {urlsplit(raw).netloc} (error file could not be read)"
        return gql.summarize_error_text(raw) or "no error message"
