"""Labelbox project exports (export v2): start the export task, then stream its result.

A finished export is one NDJSON text (one exported data row a line) that Labelbox serves
as *pages*: byte ranges, each behind its own signed URL, found with
`exportFileFromOffset`. Pages are downloaded in order and joined back into lines.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from bridge.errors import FormatError, RemoteError
from bridge_labelbox import graphql as gql
from bridge_labelbox import tasks
from bridge_labelbox.client import LabelboxClient
from bridge_labelbox.signed_urls import ExpiredUrl, checked_bytes, signed_url_where


@dataclass
class ExportParams:
    """What an export includes (the SDK's `params` of `project.export`)."""

    label_details: bool = True
    data_row_details: bool = True
    project_details: bool = True
    performance_details: bool = False
    metadata_fields: bool = False
    attachments: bool = False
    embeddings: bool = False
    interpolated_frames: bool = False
    media_type_override: str | None = None

    def as_input(self) -> dict[str, Any]:
        return {
            "mediaTypeOverride": self.media_type_override,
            "includeAttachments": self.attachments,
            "includeEmbeddings": self.embeddings,
            "includeMetadata": self.metadata_fields,
            "includeDataRowDetails": self.data_row_details,
            "includeProjectDetails": self.project_details,
            "includePerformanceDetails": self.performance_details,
            "includeLabelDetails": self.label_details,
            "includeInterpolatedFrames": self.interpolated_frames,
        }


def create_export(
    client: LabelboxClient,
    project_id: str,
    params: ExportParams | None = None,
    *,
    task_name: str | None = None,
) -> str:
    """Start a streamable export of the project's data rows; return the task id."""
    variables = {
        "input": {
            "taskName": task_name,
            "isStreamableReady": True,
            "filters": {"projectId": project_id, "searchQuery": {"scope": None, "query": []}},
            "params": (params or ExportParams()).as_input(),
            "streamable": True,
        }
    }
    data = client.execute(gql.EXPORT_PROJECT, variables, mutation=True)
    where = f"project {project_id}"
    return str(gql.dig(data, "exportDataRowsInProject", "taskId", where=where, expect=(str, int)))


def export_project(
    client: LabelboxClient, project_id: str, params: ExportParams | None = None
) -> Iterator[dict]:
    """Export the project and yield each exported data row (a dict) as it streams."""
    task_id = create_export(client, project_id, params)
    tasks.wait_for_task(client, task_id)
    yield from export_rows(client, task_id)


def export_rows(
    client: LabelboxClient, task_id: str, stream_type: str = "RESULT"
) -> Iterator[dict]:
    """The finished export's NDJSON lines, parsed; a bad line is a `FormatError`."""
    for number, line in enumerate(export_lines(client, task_id, stream_type), start=1):
        yield parse_export_line(line, f"export task {task_id}, line {number}")


def export_lines(
    client: LabelboxClient, task_id: str, stream_type: str = "RESULT"
) -> Iterator[bytes]:
    """The raw lines of a finished export stream, file page by file page.

    Pages are byte ranges of one NDJSON text (a line may span two pages), so pieces
    are joined before splitting; nothing holds more than one page chunk and one line."""
    return split_lines(_export_chunks(client, task_id, stream_type))


def _export_chunks(client: LabelboxClient, task_id: str, stream_type: str) -> Iterator[bytes]:
    """The bytes of every page of the stream, in order, as they download."""
    where = f"export task {task_id}"
    header = export_header(client, task_id, stream_type) or {}
    total = gql.expect_int(header.get("totalSize") or 0, "totalSize", where)
    offset = 0
    while offset < total:
        page, chunks = _open_page(client, task_id, stream_type, offset)
        yield from chunks
        offset = gql.expect_int(page["offsets"].get("end"), "offsets.end", where) + 1


def export_header(client: LabelboxClient, task_id: str, stream_type: str) -> dict[str, Any] | None:
    """The stream's `totalSize` (bytes) and `totalLines`, or None if it has none."""
    variables = {"where": {"id": task_id}, "streamType": stream_type}
    data = client.execute(gql.EXPORT_METADATA_HEADER, variables)
    where = f"export task {task_id}"
    return gql.dig(data, "task", "exportMetadataHeader", where=where, optional=True)


def export_page(
    client: LabelboxClient, task_id: str, stream_type: str, offset: int
) -> dict[str, Any]:
    """Where the stream continues at byte `offset`: `{offsets, lines, file}`."""
    variables = {"where": {"id": task_id}, "streamType": stream_type, "offset": str(offset)}
    data = client.execute(gql.EXPORT_FILE_FROM_OFFSET, variables)
    page = gql.dig(
        data, "task", "exportFileFromOffset", where=f"export task {task_id}", optional=True
    )
    where = f"export task {task_id}"
    if (
        not page
        or not isinstance(page.get("file"), str)
        or not isinstance(page.get("offsets"), dict)
    ):
        raise FormatError(f"export has no {stream_type} file at offset {offset}", where=where)
    start = gql.expect_int(page["offsets"].get("start"), "offsets.start", where)
    end = gql.expect_int(page["offsets"].get("end"), "offsets.end", where)
    if start != offset or end < start:
        raise RemoteError(
            f"Labelbox answered the export page at byte {offset} with bytes {start}..{end}; "
            "stopped instead of reading pages that do not advance",
            where=where,
            hint="the export stream is broken on the server; rerun the export",
        )
    return page


def _open_page(client: LabelboxClient, task_id: str, stream_type: str, offset: int):
    """The page at `offset` and an iterator of its bytes; an expired signed URL is
    re-requested once."""
    page = export_page(client, task_id, stream_type, offset)
    try:
        return page, _download(client, page)
    except ExpiredUrl:
        page = export_page(client, task_id, stream_type, offset)
    try:
        return page, _download(client, page)
    except ExpiredUrl as expired:
        raise RemoteError(
            f"the export file link was refused twice ({expired})",
            where=f"export task {task_id}, offset {offset}",
            hint="the signed URLs expire; rerun the export",
        ) from None


def _download(client: LabelboxClient, page: dict[str, Any]) -> Iterator[bytes]:
    """Open the page's signed URL (`ExpiredUrl` if storage refuses it) and return an
    iterator over its bytes, checked against the announced length."""
    where = signed_url_where(page["file"])
    offsets = page["offsets"]
    end = gql.expect_int(offsets.get("end"), "offsets.end", where)
    expected = end - gql.expect_int(offsets.get("start"), "offsets.start", where) + 1
    response = client._open_signed(page["file"])
    return checked_bytes(client.storage, response, expected, where)


def split_lines(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The non-blank lines of the text the `chunks` make up once joined (a line may span
    chunks); only one chunk and one partial line are held at a time."""
    carry = b""
    for chunk in chunks:
        cut = chunk.rfind(b"\n")
        if cut < 0:
            carry += chunk
            continue
        lines = (carry + chunk[:cut]).split(b"\n")
        carry = chunk[cut + 1 :]
        yield from (line for line in lines if line.strip())
    if carry.strip():
        yield carry


def parse_export_line(line: bytes, where: str) -> dict[str, Any]:
    """One exported data row; malformed JSON or a non-object is a `FormatError`."""
    try:
        row = orjson.loads(line)
    except orjson.JSONDecodeError as error:
        raise FormatError(f"malformed NDJSON: {error}", where=where) from None
    if not isinstance(row, dict):
        raise FormatError("a line is not a JSON object", where=where)
    return row
