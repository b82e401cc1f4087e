"""A fake Labelbox for the API tests: one respx route for `POST /graphql` (and `/_gql`) that
answers by GraphQL operation name, plus canned bodies shaped like Labelbox's real answers
(field lists from the labelbox 7.17.0 SDK queries). No test here; helpers only."""

from __future__ import annotations

import email.parser
import email.policy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import respx
from bridge_labelbox.api import LabelboxApi
from pydantic import SecretStr

from bridge.http import RetryPolicy

ENDPOINT = "https://api.labelbox.test/graphql"
EXPERIMENTAL = "https://api.labelbox.test/_gql"
API_KEY = "lb-secret-key-0123456789"
FIXTURES = Path(__file__).parent.parent / "fixtures" / "labelbox_api"
TS = "2024-01-01T00:00:00.000Z"
PROJECT_ID = "cls1so9z80075075j1mle13w0"


class RecordingSleep:
    """An injected sleep that records the waits instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def make_api(sleep: RecordingSleep, attempts: int = 4) -> LabelboxApi:
    retry = RetryPolicy(attempts=attempts, backoff=0.5, sleep=sleep)
    return LabelboxApi(SecretStr(API_KEY), endpoint=ENDPOINT, retry=retry, sleep=sleep)


@dataclass
class Call:
    """One GraphQL request the fake received."""

    operation: str
    query: str
    variables: dict[str, Any]
    request: httpx.Request
    files: dict[str, bytes] = field(default_factory=dict)
    """Multipart only: every part by name (operations, map, the file)."""


def operation_of(query: str) -> str:
    head = query.split("(", 1)[0].split("{", 1)[0].split()
    return head[1]


def parse_multipart(request: httpx.Request) -> dict[str, bytes]:
    raw = (
        b"Content-Type: " + request.headers["content-type"].encode() + b"\r\n\r\n" + request.content
    )
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)
    return {
        part.get_param("name", header="content-disposition"): part.get_payload(decode=True)
        for part in message.iter_parts()
    }


Answer = Callable[[Call], Any]


class FakeLabelbox:
    """Answers GraphQL by operation name. An answer is a dict (sent as `{"data": ...}`),
    an `httpx.Response`, or a list of those (consumed in order, the last one repeats)."""

    def __init__(self, router: respx.Router):
        self.calls: list[Call] = []
        self.answers: dict[str, Any] = {}
        for url in (ENDPOINT, EXPERIMENTAL):
            router.post(url).mock(side_effect=self._respond)

    def on(self, operation: str, *answers: Any) -> None:
        self.answers[operation] = list(answers)

    def ops(self) -> list[str]:
        return [call.operation for call in self.calls]

    def called(self, operation: str) -> list[Call]:
        return [call for call in self.calls if call.operation == operation]

    def _respond(self, request: httpx.Request) -> httpx.Response:
        if request.headers["content-type"].startswith("multipart/"):
            parts = parse_multipart(request)
            payload = json.loads(parts["operations"])
        else:
            parts, payload = {}, json.loads(request.content)
        call = Call(
            operation_of(payload["query"]), payload["query"], payload["variables"], request, parts
        )
        self.calls.append(call)
        queue = self.answers.get(call.operation)
        if not queue:
            raise AssertionError(f"unexpected operation {call.operation}")
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        if callable(answer):
            answer = answer(call)
        if isinstance(answer, httpx.Response):
            return answer
        return httpx.Response(200, json={"data": answer})


def graphql_error(code: str, message: str, status: int = 200) -> httpx.Response:
    """Labelbox's error envelope: `{"errors": [{"message", "locations", "path",
    "extensions": {"code", "exception"}}], "data": null}`."""
    error = {
        "message": message,
        "locations": [{"line": 1, "column": 40}],
        "path": ["project"],
        "extensions": {"code": code, "exception": {"message": message}},
    }
    return httpx.Response(status, json={"errors": [error], "data": None})


# --------------------------------------------------------------------- canned bodies


def project(project_id: str = PROJECT_ID, name: str = "roof-wear-highres") -> dict[str, Any]:
    """`project{...}` with every field GetProjectPyApi selects."""
    return {
        "autoAuditNumberOfLabels": 1,
        "autoAuditPercentage": 1.0,
        "createdAt": TS,
        "dataRowCount": 102,
        "description": "roof wear",
        "editorTaskType": None,
        "isBenchmarkEnabled": False,
        "isConsensusEnabled": False,
        "lastActivityTime": TS,
        "allowedMediaType": "IMAGE",
        "modelSetupComplete": None,
        "name": name,
        "setupComplete": TS,
        "id": project_id,
        "updatedAt": TS,
        "uploadType": None,
    }


def task(
    status: str, task_id: str = "task-1", *, errors: Any = None, kind: str = "export-data-rows"
) -> dict[str, Any]:
    """`user.createdTasks[0]` as GetUserCreatedTasksPyApi selects it."""
    return {
        "user": {
            "createdTasks": [
                {
                    "completionPercentage": 1.0 if status != "IN_PROGRESS" else 0.4,
                    "createdAt": TS,
                    "errors": errors,
                    "metadata": None,
                    "name": "Export",
                    "result": None,
                    "status": status,
                    "type": kind,
                    "id": task_id,
                    "updatedAt": TS,
                }
            ]
        }
    }


def user() -> dict[str, Any]:
    return {"user": {"id": "user-1"}}


def export_page(start: int, end: int, line_start: int, line_end: int, url: str) -> dict[str, Any]:
    return {
        "task": {
            "exportFileFromOffset": {
                "offsets": {"start": start, "end": end},
                "lines": {"start": line_start, "end": line_end},
                "file": url,
            }
        }
    }


def import_record(
    mode_field: str, state: str, *, name: str = "push-1", error_url: str | None = None
) -> dict[str, Any]:
    """An annotation import as createLabelImport / labelImport select it."""
    return {
        mode_field: {
            "errorFileUrl": error_url,
            "inputFileUrl": "https://storage.test/imports/in.ndjson",
            "name": name,
            "progress": "100%" if state != "RUNNING" else "10%",
            "state": state,
            "statusFileUrl": "https://storage.test/imports/status.ndjson",
            "id": "import-1",
            "project": {"id": PROJECT_ID},
        }
    }


def ontology_normalized() -> dict[str, Any]:
    return json.loads((FIXTURES / "ontology_normalized.json").read_text())


def export_lines() -> list[bytes]:
    """The real export (102 data rows), one bytes line each with its newline."""
    return (
        (FIXTURES / "export_v2_image_classification.ndjson").read_bytes().splitlines(keepends=True)
    )
