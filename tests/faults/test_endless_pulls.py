"""Pulls that would never end, and what a killed pull leaves behind: a repeated page, a
repeated `next` link, an export offset that does not advance each stop with a
`RemoteError`; a Label Studio pull interrupted while its snapshot is being prepared
deletes the snapshot. The fakes give up after a bounded number of requests, so a
regression fails instead of hanging."""

from __future__ import annotations

import io
import struct
import zlib

import httpx
import pytest
import respx
from pydantic import SecretStr

from bridge.errors import FormatError, RemoteError
from bridge.http import RetryPolicy
from tests.support.fake_server import FakeServer

MAX_REQUESTS = 40


class Bounded:
    """Wraps an app: after `MAX_REQUESTS` requests it answers 599, so an endless pull ends
    (with a message this test can tell from the one it expects)."""

    def __init__(self, app):
        self.app = app
        self.count = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.count += 1
        if self.count > MAX_REQUESTS:
            return httpx.Response(599, json={"detail": "the client never stopped"})
        return self.app(request)


def no_retry() -> RetryPolicy:
    return RetryPolicy(attempts=1, sleep=lambda seconds: None)


# ---------------------------------------------------------------------- Label Studio


def test_ls_task_pages_that_never_reach_the_total_stop_on_the_repeated_page():
    from bridge_labelstudio.api import LabelStudioApi

    def same_page(request: httpx.Request) -> httpx.Response:  # ignores ?page=
        return httpx.Response(
            200, json={"tasks": [{"id": 1, "data": {}}, {"id": 2, "data": {}}], "total": 1000}
        )

    app = Bounded(same_page)
    with (
        FakeServer(app) as server,
        LabelStudioApi(server.url, SecretStr("k" * 20), retry=no_retry()) as api,
    ):
        pulled = []
        with pytest.raises(RemoteError) as caught:
            pulled.extend(api.iter_tasks(3, page_size=2))
    assert "same tasks as an earlier page" in caught.value.message
    assert caught.value.where == "GET /api/tasks?project=3&page_size=2&fields=all&page=2"
    assert [task["id"] for task in pulled] == [1, 2]
    assert app.count == 2


def test_ls_pull_interrupted_while_the_snapshot_is_prepared_deletes_it():
    """Ctrl-C (or SIGTERM, which the CLI turns into the same KeyboardInterrupt) while
    waiting for the server's export: the snapshot it started is deleted on the way out."""
    from bridge_labelstudio.api import LabelStudioApi

    deleted = []

    def app(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(201, json={"id": 41, "status": "in_progress"})
        if request.method == "DELETE":
            deleted.append(request.url.path)
            return httpx.Response(204)
        return httpx.Response(200, json={"id": 41, "status": "in_progress"})

    def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt

    retry = RetryPolicy(attempts=1, sleep=interrupted)
    with (
        FakeServer(Bounded(app)) as server,
        LabelStudioApi(server.url, SecretStr("k" * 20), retry=retry) as api,
        pytest.raises(KeyboardInterrupt),
    ):
        list(api.export_tasks(3))
    assert deleted == ["/api/projects/3/exports/41"]


def test_ls_snapshot_answer_of_the_wrong_type_is_a_format_error_and_nothing_is_left():
    from bridge_labelstudio.api import LabelStudioApi

    with respx.mock(base_url="http://ls.test") as mock:
        mock.post("/api/projects/3/exports/").respond(201, json=[{"id": 8}])
        api = LabelStudioApi("http://ls.test", SecretStr("k" * 20), retry=no_retry())
        with pytest.raises(FormatError) as caught:
            list(api.export_tasks(3))
    assert "expected a JSON object, got an array" in caught.value.message


# ------------------------------------------------------------------------------ CVAT


def test_cvat_next_link_that_repeats_stops_with_a_remote_error():
    from bridge_cvat.api import CvatApi

    def pages(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params.get("page", "1"))
        following = f"http://cvat.internal/api/projects?page={2 if page == 1 else 1}"
        return httpx.Response(200, json={"count": 99, "next": following, "results": [{"id": page}]})

    app = Bounded(pages)
    with FakeServer(app) as server:
        api = CvatApi(server.url, token=SecretStr("t" * 20), retry=no_retry())
        seen = []
        with pytest.raises(RemoteError) as caught:
            seen.extend(project["id"] for project in api.list_projects())
    assert "already read" in caught.value.message
    assert seen == [1, 2, 1]  # page 1 was first asked without ?page=1; the loop shows by then
    assert app.count == 3


# -------------------------------------------------------------------------- Labelbox


def test_lb_export_offset_that_does_not_advance_stops_with_a_remote_error(fake, router, sleep):
    from tests.labelbox.test_lb_api_fakes import export_page, make_api, task, user

    body = b'{"data_row": {"id": "a"}}\n' * 4
    url = "https://storage.googleapis.test/lb/part.ndjson?sig=1"
    router.get(url).respond(200, content=body[:10])
    fake.on(
        "exportDataRowsInProjectPyApi",
        {"exportDataRowsInProject": {"taskId": "task-1", "isStreamable": True}},
    )
    fake.on("GetUserPyApi", user())
    fake.on("GetUserCreatedTasksPyApi", task("COMPLETE"))
    fake.on(
        "GetExportMetadataHeaderPyApi",
        {"task": {"exportMetadataHeader": {"totalSize": len(body), "totalLines": 4}}},
    )
    asked = []

    def first_page_again(call):
        asked.append(call.variables["offset"])
        assert len(asked) < MAX_REQUESTS, "the client never stopped"
        return export_page(0, 9, 0, 0, url)  # whatever offset was asked for

    fake.on("GetExportFileFromOffsetPyApi", first_page_again)
    api = make_api(sleep)
    with pytest.raises(RemoteError) as caught:
        list(api.export_lines("task-1"))
    assert "do not advance" in caught.value.message
    assert asked == ["0", "10"]


def test_lb_project_list_that_repeats_a_page_stops(fake, sleep):
    from tests.labelbox.test_lb_api_fakes import make_api, project

    full_page = {"projects": [project(project_id=f"p{n}") for n in range(100)]}
    calls = []

    def same_page(call):
        calls.append(call)
        assert len(calls) < MAX_REQUESTS, "the client never stopped"
        return full_page

    fake.on("GetProjectsPyApi", same_page)
    with pytest.raises(RemoteError, match="same page of projects"):
        list(make_api(sleep).list_projects())
    assert len(calls) == 2


def png_header(width: int, height: int) -> bytes:
    """A PNG signature and IHDR chunk declaring `width` x `height` (8-bit gray); the
    image data never comes (the size alone must be refused)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr
    return b"\x89PNG\r\n\x1a\n" + chunk + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))


def test_lb_mask_png_declaring_a_huge_image_is_refused_before_decoding(router, sleep):
    from tests.labelbox.test_lb_api_fakes import make_api

    url = "https://storage.googleapis.test/masks/bomb.png?X-Goog-Signature=s"
    router.get(url).respond(200, content=png_header(100_000, 100_000) + b"\0" * 64)
    with pytest.raises(FormatError) as caught:
        make_api(sleep).fetch_mask(url)
    assert "100000x100000" in caught.value.message
    assert "X-Goog-Signature" not in str(caught.value)


def test_lb_mask_png_of_a_normal_size_is_passed_on(router, sleep):
    from PIL import Image

    from tests.labelbox.test_lb_api_fakes import make_api

    buffer = io.BytesIO()
    Image.new("L", (4, 3)).save(buffer, format="PNG")
    url = "https://storage.googleapis.test/masks/ok.png?X-Goog-Signature=s"
    router.get(url).respond(200, content=buffer.getvalue())
    assert make_api(sleep).fetch_mask(url) == buffer.getvalue()
