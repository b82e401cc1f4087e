"""Export v2 over the API: create the task, poll it, stream its result file pages."""

from __future__ import annotations

import json

import httpx
import pytest

from bridge.errors import FormatError, RemoteError

from .test_lb_api_fakes import (
    API_KEY,
    PROJECT_ID,
    FakeLabelbox,
    export_lines,
    export_page,
    make_api,
    task,
    user,
)

STORAGE = "https://storage.googleapis.test/lb-exports"


def serve_in_pages(fake: FakeLabelbox, router, body: bytes, cuts: list[int]) -> list[str]:
    """Serve `body` as consecutive signed-URL pages cut at byte offsets `cuts` (not on line
    boundaries); return the page URLs."""
    bounds = [0, *cuts, len(body)]
    answers, urls = [], []
    for index, (start, stop) in enumerate(zip(bounds, bounds[1:], strict=False)):
        url = f"{STORAGE}/task-1/part-{index}.ndjson?X-Goog-Signature=abc{index}"
        router.get(url).respond(200, content=body[start:stop])
        answers.append(export_page(start, stop - 1, index, index, url))
        urls.append(url)
    by_offset = {
        str(page["task"]["exportFileFromOffset"]["offsets"]["start"]): page for page in answers
    }
    fake.on("GetExportFileFromOffsetPyApi", lambda call: by_offset[call.variables["offset"]])
    fake.on(
        "GetExportMetadataHeaderPyApi",
        {
            "task": {
                "exportMetadataHeader": {"totalSize": len(body), "totalLines": body.count(b"\n")}
            }
        },
    )
    return urls


def start_export(fake: FakeLabelbox, *statuses: str) -> None:
    fake.on(
        "exportDataRowsInProjectPyApi",
        {"exportDataRowsInProject": {"taskId": "task-1", "isStreamable": True}},
    )
    fake.on("GetUserPyApi", user())
    fake.on("GetUserCreatedTasksPyApi", *[task(status) for status in statuses])


def test_lb_export_streams_three_pages_split_mid_line(fake, router, sleep):
    lines = export_lines()
    body = b"".join(lines)
    cuts = [len(b"".join(lines[:30])) + 17, len(b"".join(lines[:71])) + 500]
    urls = serve_in_pages(fake, router, body, cuts)
    start_export(fake, "IN_PROGRESS", "IN_PROGRESS", "COMPLETE")

    rows = list(make_api(sleep).export_project(PROJECT_ID))

    assert rows == [json.loads(line) for line in lines]
    assert len(rows) == 102
    assert sleep.waits == [2.0, 2.0]  # two polls found it still running
    offsets = [call.variables["offset"] for call in fake.called("GetExportFileFromOffsetPyApi")]
    assert offsets == ["0", str(cuts[0]), str(cuts[1])]  # UInt64 travels as a string
    downloads = [call.request for call in router.calls if call.request.method == "GET"]
    assert [str(request.url) for request in downloads] == urls
    assert all("authorization" not in request.headers for request in downloads)


def test_lb_export_request_bodies(fake, router, sleep):
    serve_in_pages(fake, router, export_lines()[0], [])
    start_export(fake, "COMPLETE")
    list(make_api(sleep).export_project(PROJECT_ID))

    (create,) = fake.called("exportDataRowsInProjectPyApi")
    assert create.query.startswith(
        "mutation exportDataRowsInProjectPyApi($input: ExportDataRowsInProjectInput!)"
    )
    assert "exportDataRowsInProject(input: $input){taskId isStreamable}" in create.query
    given = create.variables["input"]
    assert given["filters"] == {
        "projectId": PROJECT_ID,
        "searchQuery": {"scope": None, "query": []},
    }
    assert given["isStreamableReady"] is True and given["streamable"] is True
    params = given["params"]
    assert params["includeLabelDetails"] is True and params["includeDataRowDetails"] is True
    assert params["includeProjectDetails"] is True and params["includeInterpolatedFrames"] is False
    assert all(
        isinstance(value, bool) for key, value in params.items() if key != "mediaTypeOverride"
    )

    (poll,) = fake.called("GetUserCreatedTasksPyApi")
    assert poll.variables == {"taskId": "task-1", "userId": "user-1"}
    assert "createdTasks(where: {id: $taskId} skip: 0 first: 1)" in poll.query
    (header,) = fake.called("GetExportMetadataHeaderPyApi")
    assert header.variables == {"where": {"id": "task-1"}, "streamType": "RESULT"}
    assert "exportMetadataHeader(streamType: $streamType){totalSize totalLines}" in header.query


def test_lb_export_yields_before_fetching_later_pages(fake, router, sleep):
    lines = export_lines()
    body = b"".join(lines)
    serve_in_pages(fake, router, body, [len(b"".join(lines[:10])), len(b"".join(lines[:50]))])
    start_export(fake, "COMPLETE")
    rows = make_api(sleep).export_project(PROJECT_ID)

    first = next(rows)

    assert first["data_row"]["id"] == json.loads(lines[0])["data_row"]["id"]
    assert len(fake.called("GetExportFileFromOffsetPyApi")) == 1  # later pages not yet asked
    assert len(list(rows)) == 101


def test_lb_export_failed_task_raises_its_message(fake, sleep):
    fake.on(
        "exportDataRowsInProjectPyApi",
        {"exportDataRowsInProject": {"taskId": "task-1", "isStreamable": True}},
    )
    fake.on("GetUserPyApi", user())
    failure = json.dumps({"error": "Export failed: project has too many data rows for one export"})
    fake.on("GetUserCreatedTasksPyApi", task("IN_PROGRESS"), task("FAILED", errors=failure))

    with pytest.raises(RemoteError) as caught:
        list(make_api(sleep).export_project(PROJECT_ID))

    assert "FAILED" in caught.value.message
    assert "too many data rows for one export" in caught.value.message
    assert caught.value.where == "task task-1"
    assert fake.called("GetExportFileFromOffsetPyApi") == []


def test_lb_export_failed_task_with_plain_text_error(fake, sleep):
    start_export(fake, "FAILED")
    fake.on("GetUserCreatedTasksPyApi", task("FAILED", errors="Internal error while exporting"))
    with pytest.raises(RemoteError, match="Internal error while exporting"):
        list(make_api(sleep).export_project(PROJECT_ID))


def test_lb_export_expired_signed_url_is_requested_again(fake, router, sleep):
    lines = export_lines()[:6]
    body = b"".join(lines)
    cut = len(b"".join(lines[:3]))
    expired = f"{STORAGE}/task-1/part-1.ndjson?X-Goog-Expires=old"
    fresh = f"{STORAGE}/task-1/part-1.ndjson?X-Goog-Expires=new"
    first = f"{STORAGE}/task-1/part-0.ndjson?sig=0"
    router.get(first).respond(200, content=body[:cut])
    router.get(expired).respond(
        400, text="<?xml version='1.0'?><Error><Code>ExpiredToken</Code></Error>"
    )
    router.get(fresh).respond(200, content=body[cut:])
    second_page = [
        export_page(cut, len(body) - 1, 3, 5, expired),
        export_page(cut, len(body) - 1, 3, 5, fresh),
    ]
    fake.on(
        "GetExportMetadataHeaderPyApi",
        {"task": {"exportMetadataHeader": {"totalSize": len(body), "totalLines": 6}}},
    )
    fake.on(
        "GetExportFileFromOffsetPyApi",
        lambda call: (
            export_page(0, cut - 1, 0, 2, first)
            if call.variables["offset"] == "0"
            else second_page.pop(0)
        ),
    )

    rows = list(make_api(sleep).export_rows("task-1"))

    assert [row["data_row"]["id"] for row in rows] == [
        json.loads(line)["data_row"]["id"] for line in lines
    ]
    offsets = [call.variables["offset"] for call in fake.called("GetExportFileFromOffsetPyApi")]
    assert offsets == ["0", str(cut), str(cut)]  # the expired offset was asked again, once


def test_lb_export_url_refused_twice_is_remote_error(fake, router, sleep):
    body = export_lines()[0]
    url = f"{STORAGE}/task-1/part-0.ndjson?sig=old"
    router.get(url).respond(403, text="AccessDenied")
    fake.on(
        "GetExportMetadataHeaderPyApi",
        {"task": {"exportMetadataHeader": {"totalSize": len(body), "totalLines": 1}}},
    )
    fake.on("GetExportFileFromOffsetPyApi", export_page(0, len(body) - 1, 0, 0, url))

    with pytest.raises(RemoteError) as caught:
        list(make_api(sleep).export_rows("task-1"))

    assert "refused twice" in caught.value.message
    assert "sig=old" not in str(caught.value)
    assert len(fake.called("GetExportFileFromOffsetPyApi")) == 2


def test_lb_export_storage_5xx_is_retried(fake, router, sleep):
    body = export_lines()[0]
    url = f"{STORAGE}/task-1/part-0.ndjson?sig=1"
    router.get(url).mock(side_effect=[httpx.Response(503), httpx.Response(200, content=body)])
    fake.on(
        "GetExportMetadataHeaderPyApi",
        {"task": {"exportMetadataHeader": {"totalSize": len(body), "totalLines": 1}}},
    )
    fake.on("GetExportFileFromOffsetPyApi", export_page(0, len(body) - 1, 0, 0, url))

    assert len(list(make_api(sleep).export_rows("task-1"))) == 1
    assert sleep.waits == [0.5]


def test_lb_export_short_download_is_remote_error(fake, router, sleep):
    body = export_lines()[0]
    url = f"{STORAGE}/task-1/part-0.ndjson?sig=1"
    router.get(url).respond(200, content=body[:-40])
    fake.on(
        "GetExportMetadataHeaderPyApi",
        {"task": {"exportMetadataHeader": {"totalSize": len(body), "totalLines": 1}}},
    )
    fake.on("GetExportFileFromOffsetPyApi", export_page(0, len(body) - 1, 0, 0, url))

    with pytest.raises(RemoteError, match="announced"):
        list(make_api(sleep).export_rows("task-1"))


def test_lb_export_malformed_line_names_its_number(fake, router, sleep):
    lines = export_lines()[:3]
    lines[1] = b'{"data_row": {"id": "x"\n'
    body = b"".join(lines)
    serve_in_pages(fake, router, body, [])
    with pytest.raises(FormatError) as caught:
        list(make_api(sleep).export_rows("task-1"))
    assert caught.value.where == "export task task-1, line 2"


def test_lb_export_without_result_stream_yields_nothing(fake, sleep):
    fake.on("GetExportMetadataHeaderPyApi", {"task": {"exportMetadataHeader": None}})
    assert list(make_api(sleep).export_rows("task-1")) == []


def test_lb_export_poll_timeout_is_remote_error(fake, sleep):
    start_export(fake, "IN_PROGRESS")
    api = make_api(sleep)
    api.poll_timeout = 6.0
    with pytest.raises(RemoteError, match="still running"):
        list(api.export_project(PROJECT_ID))
    assert sleep.waits == [2.0, 2.0, 2.0]


def test_lb_mask_urls_get_the_key_only_on_labelbox_hosts(router, sleep):
    api_mask = "https://api.labelbox.test/api/v1/projects/p/annotations/f/index/1/mask"
    signed_mask = "https://storage.googleapis.test/masks/f.png?X-Goog-Signature=1"
    router.get(api_mask).respond(200, content=b"\x89PNG-api")
    router.get(signed_mask).respond(200, content=b"\x89PNG-signed")
    api = make_api(sleep)

    assert api.fetch_mask(api_mask) == b"\x89PNG-api"
    assert api.fetch_mask(signed_mask) == b"\x89PNG-signed"

    first, second = (call.request for call in router.calls)
    assert first.headers["authorization"] == f"Bearer {API_KEY}"
    assert "authorization" not in second.headers


def test_lb_mask_key_never_goes_over_plain_http_or_to_lookalike_hosts(router, sleep):
    api = make_api(sleep)
    for url in (
        "http://api.labelbox.com/api/v1/masks/1",
        "https://labelbox.com.evil.test/m",
        "https://api.labelbox.test:8443/api/v1/masks/1",
    ):
        router.get(url).respond(200, content=b"png")
        assert api.fetch_mask(url) == b"png"
        assert "authorization" not in router.calls[-1].request.headers
    router.get("https://app.labelbox.com/api/v1/masks/2").respond(200, content=b"png")
    api.fetch_mask("https://app.labelbox.com/api/v1/masks/2")
    assert router.calls[-1].request.headers["authorization"] == f"Bearer {API_KEY}"
