"""Every pull and push flow of the three connectors, run in-process through the Python API
(`bridge.api.transfer`, what `bridge convert` calls) against a `FakeServer`.

A `Flow` builds a fresh fake tool (its own state) for each run and returns what the run
produced, to be compared with a run without faults: the JSONL a pull wrote, or the summary
a push returned together with what the fake tool received. No helper here is a test."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import respx

from bridge.api import transfer
from bridge.http import RetryPolicy
from tests.support.fake_server import FakeServer

FIXTURES = Path(__file__).parent.parent / "fixtures"
LS_TOKEN = "ls-legacy-token-0123456789abcdef"
CVAT_TOKEN = "cvat-pat-0123456789abcdef"
LB_KEY = "lb-secret-key-0123456789"
SECRETS = (LS_TOKEN, CVAT_TOKEN, LB_KEY)
LIMITS = {
    "http_deadline": 1.5,
    "http_download_deadline": 1.5,
    "http_max_bytes": 4_000_000,
    "http_max_download_bytes": 4_000_000,
}
"""Short deadlines and small caps: a fault must end a run in seconds."""


def no_sleep(seconds: float) -> None:
    assert seconds <= 60


@dataclass
class Flow:
    """One pull or push: `app(server_url)` builds a fresh fake tool as `(handler, state)`,
    `run(server, tmp, state)` performs the flow against it and returns its result
    (comparable between runs)."""

    name: str
    app: Callable[[str], tuple[Callable[[httpx.Request], httpx.Response], Any]]
    run: Callable[[FakeServer, Path, Any], Any]
    virtual_origin: str | None = None


def options() -> dict[str, Any]:
    return {
        "retry": RetryPolicy(attempts=3, backoff=0.0, sleep=no_sleep),
        "sleep": no_sleep,
        **LIMITS,
    }


# ----------------------------------------------------------------------- Label Studio

LS_EXPORT = json.loads((FIXTURES / "labelstudio" / "real_image_boxes.json").read_text())
LS_CONFIG = (FIXTURES / "labelstudio" / "configs" / "image_boxes.xml").read_text()


class FakeLabelStudio:
    """Project 1 (the real image-boxes export), its users, export snapshots, the task list
    in pages of one, project creation and imports (recorded in `imported`)."""

    def __init__(self) -> None:
        self.snapshots: dict[int, str] = {}
        self.deleted: list[int] = []
        self.imported: list[Any] = []
        self.projects = {
            1: {"id": 1, "title": "boxes", "label_config": LS_CONFIG, "task_number": len(LS_EXPORT)}
        }

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path, method, params = request.url.path, request.method, request.url.params
        if request.headers.get("Authorization") != f"Token {LS_TOKEN}":
            return httpx.Response(401, json={"detail": "Invalid token."})
        if (m := re.fullmatch(r"/api/projects/(\d+)/", path)) and method == "GET":
            project = self.projects.get(int(m[1]))
            return httpx.Response(200 if project else 404, json=project or {"detail": "Not found."})
        if path == "/api/users/":
            return httpx.Response(
                200,
                json=[
                    {"id": 1, "email": "ann@example.org", "first_name": "Ann", "last_name": "Lee"}
                ],
            )
        if path == "/api/projects/1/exports/" and method == "POST":
            number = len(self.snapshots) + 5
            self.snapshots[number] = "completed"
            return httpx.Response(201, json={"id": number, "status": "in_progress"})
        if m := re.fullmatch(r"/api/projects/1/exports/(\d+)", path):
            if method == "DELETE":
                self.deleted.append(int(m[1]))
                return httpx.Response(204)
            return httpx.Response(200, json={"id": int(m[1]), "status": self.snapshots[int(m[1])]})
        if re.fullmatch(r"/api/projects/1/exports/\d+/download", path):
            return httpx.Response(200, json=LS_EXPORT)
        if path == "/api/tasks":
            page = int(params["page"])
            if page > len(LS_EXPORT):
                return httpx.Response(404, json={"detail": "Invalid page."})
            return httpx.Response(
                200, json={"tasks": [LS_EXPORT[page - 1]], "total": len(LS_EXPORT)}
            )
        if path == "/api/projects/" and method == "POST":
            body = json.loads(request.content)
            self.projects[2] = {
                "id": 2,
                "title": body["title"],
                "label_config": body["label_config"],
            }
            return httpx.Response(201, json=self.projects[2])
        if (m := re.fullmatch(r"/api/projects/(\d+)/import", path)) and method == "POST":
            tasks = json.loads(request.content)
            self.imported.append(tasks)
            start = 100 * len(self.imported)
            return httpx.Response(
                201,
                json={
                    "task_count": len(tasks),
                    "task_ids": list(range(start, start + len(tasks))),
                    "annotation_count": sum(len(t.get("annotations", [])) for t in tasks),
                    "prediction_count": sum(len(t.get("predictions", [])) for t in tasks),
                },
            )
        return httpx.Response(404, json={"detail": "Not found."})


def ls_pull(how: str) -> Callable[[FakeServer, Path, Any], Any]:
    def run(server: FakeServer, tmp: Path, app: FakeLabelStudio) -> Any:
        out = tmp / "out.jsonl"
        transfer(f"labelstudio://{server.host}/projects/1", out, pull=how, page_size=1, **options())
        return out.read_text()

    return run


def ls_push(project: str) -> Callable[[FakeServer, Path, Any], Any]:
    def run(server: FakeServer, tmp: Path, app: FakeLabelStudio) -> Any:
        source = tmp / "in.json"
        source.write_text(json.dumps(LS_EXPORT))
        written = transfer(
            source, f"labelstudio://{server.host}/projects/{project}", batch_size=1, **options()
        ).written
        return written, app.imported

    return run


# ------------------------------------------------------------------------------ CVAT

CVAT_HOST = "https://cvat.example.com"


def cvat_app(server_url: str) -> tuple[Any, Any]:
    from tests.cvat.test_cvat_api_pull import install_server
    from tests.cvat.test_cvat_api_push import install_new_task

    router = respx.Router(assert_all_called=False)
    install_server(router)
    install_new_task(router, 77, "request_finished.json")
    return router.handler, router


def cvat_pull(server: FakeServer, tmp: Path, app: Any) -> Any:
    out = tmp / "out.jsonl"
    transfer(f"cvat+http://{server.host}/projects/7", out, **options())
    return out.read_text()


def cvat_push(target: str) -> Callable[[FakeServer, Path, Any], Any]:
    def run(server: FakeServer, tmp: Path, app: Any) -> Any:
        pulled = tmp / "task42.jsonl"
        # the source is pulled without faults: the fault is meant for the push
        faults, server.faults = server.faults, []
        transfer(f"cvat+http://{server.host}/tasks/42", pulled, **options())
        server.faults = faults
        server.requests.clear()  # fault numbers count the push's requests
        server.answered.clear()
        written = transfer(
            pulled,
            f"cvat+http://{server.host}/tasks/{target}",
            media_base_url="https://data.example.com",
            name="traffic",
            **options(),
        ).written
        sent = [json.loads(r.content) for r in server.answered if r.method in ("PUT", "POST")]
        return written, sent

    return run


# --------------------------------------------------------------------------- Labelbox


LB_ORIGIN = "https://api.labelbox.test"


def lb_pull_app(server_url: str) -> tuple[Any, Any]:
    from tests.labelbox.test_lb_api_fakes import FakeLabelbox, export_lines

    router = respx.Router(assert_all_called=False)
    fake = FakeLabelbox(router)
    body = b"".join(export_lines()[:5])
    from tests.labelbox.test_lb_api_connector import serve_project

    serve_project(fake, router, body)
    # the signed export pages live on the fake server too (a storage host of its own)
    half = len(body) // 2
    from tests.labelbox.test_lb_api_fakes import export_page

    fake.on(
        "GetExportFileFromOffsetPyApi",
        lambda call: (
            export_page(0, half - 1, 0, 0, f"{server_url}/lb-exports/p0?sig=0")
            if call.variables["offset"] == "0"
            else export_page(half, len(body) - 1, 1, 1, f"{server_url}/lb-exports/p1?sig=1")
        ),
    )
    router.get(f"{LB_ORIGIN}/lb-exports/p0").respond(200, content=body[:half])
    router.get(f"{LB_ORIGIN}/lb-exports/p1").respond(200, content=body[half:])
    return router.handler, fake


def lb_pull(server: FakeServer, tmp: Path, app: Any) -> Any:
    out = tmp / "out.jsonl"
    transfer(
        "labelbox://projects/cls1so9z80075075j1mle13w0",
        out,
        endpoint=f"{server.url}/graphql",
        **options(),
    )
    return out.read_text()


def lb_push_app(server_url: str) -> tuple[Any, Any]:
    from tests.labelbox.test_lb_api_connector import serve_push
    from tests.labelbox.test_lb_api_fakes import FakeLabelbox

    router = respx.Router(assert_all_called=False)
    fake = FakeLabelbox(router)
    serve_push(fake, router, {}, "createLabelImportByFilePyApi", "createLabelImport")
    return router.handler, fake


def lb_push(server: FakeServer, tmp: Path, app: Any) -> Any:
    from tests.labelbox.test_lb_api_fakes import export_lines

    source = tmp / "in.ndjson"
    source.write_bytes(b"".join(export_lines()[:3]))
    written = transfer(
        source,
        "labelbox://projects/cls1so9z80075075j1mle13w0",
        endpoint=f"{server.url}/graphql",
        import_name="push-1",
        **options(),
    ).written
    fake = app
    sent = [
        call.variables for call in fake.calls if call.operation != "createLabelImportByFilePyApi"
    ]
    return written, sent


def ls_app(server_url: str) -> tuple[Any, Any]:
    fake = FakeLabelStudio()
    return fake, fake


FLOWS = [
    Flow("labelstudio pull (export snapshot)", ls_app, ls_pull("export")),
    Flow("labelstudio pull (task pages)", ls_app, ls_pull("pages")),
    Flow("labelstudio push (new project)", ls_app, ls_push("new")),
    Flow("labelstudio push (existing project)", ls_app, ls_push("1")),
    Flow("cvat pull", cvat_app, cvat_pull, virtual_origin=CVAT_HOST),
    Flow("cvat push (new task)", cvat_app, cvat_push("new"), virtual_origin=CVAT_HOST),
    Flow("cvat push (existing task)", cvat_app, cvat_push("42"), virtual_origin=CVAT_HOST),
    Flow("labelbox pull", lb_pull_app, lb_pull, virtual_origin=LB_ORIGIN),
    Flow("labelbox push", lb_push_app, lb_push, virtual_origin=LB_ORIGIN),
]
