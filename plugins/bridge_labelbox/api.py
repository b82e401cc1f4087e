"""Labelbox's GraphQL API over `bridge.http`: moves JSON, knows nothing of the unified schema.

`LabelboxApi` sends every operation as `POST <endpoint>` with `Authorization: Bearer <key>`
and turns GraphQL `errors[].extensions.code` into `BridgeError`s (see `graphql.py`).
Long jobs (exports, data row upserts, imports) are polled with an injectable `sleep`, so
tests never wait. Result files live behind *signed URLs* (time-limited storage links that
carry their own credentials): they are downloaded without our API key, streamed line by
line, and re-requested once when the link has expired.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any
from urllib.parse import urlsplit

import httpx
import orjson
from pydantic import SecretStr

from bridge.errors import FormatError, NotFoundError, RemoteError
from bridge.http import RETRY_STATUSES, HttpClient, RetryPolicy, describe_request, response_detail
from bridge_labelbox import graphql as gql

DEFAULT_ENDPOINT = "https://api.labelbox.com/graphql"
UPLOAD_CHUNK_BYTES = 10_000_000
RESULT_PAGE_SIZE = 5_000
GLOBAL_KEY_LOOKUP_CHUNK = 10_000
SYNC_BATCH_LIMIT = 1_000
"""createBatchV2 is synchronous up to 1,000 rows; larger pushes are split into batches."""
EXPIRED_URL_STATUSES = frozenset({400, 403})
"""What cloud storage answers for an expired or revoked signed URL."""


# ------------------------------------------------------------------------ data classes


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


@dataclass
class DataRowsOutcome:
    """Global key -> data row id for every requested row, and which were new."""

    ids: dict[str, str] = field(default_factory=dict)
    created: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)


@dataclass
class ImportOutcome:
    """A finished import: its record (id, name, state, file URLs) and refused rows."""

    record: dict[str, Any]
    row_errors: list[gql.ImportRowError] = field(default_factory=list)
    rows: int = 0


# ---------------------------------------------------------------------------- transport


class GraphQLHttpClient(HttpClient):
    """An `HttpClient` that reads GraphQL `errors` out of HTTP 4xx bodies too."""

    def error_for(self, response: httpx.Response, where: str):
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and body.get("errors") and response.status_code < 500:
            errors = gql.error_list(body["errors"])
            if {gql.error_code(error) for error in errors} - {None}:
                return gql.error_for_graphql(errors, where)
        return super().error_for(response, where)


class ExpiredUrl(Exception):
    """Internal signal: storage refused a signed URL (expired); ask for a fresh one."""


class LabelboxApi:
    """The Labelbox GraphQL operations label-bridge needs."""

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
            timeout=timeout,
            retry=retry,
            transport=transport,
        )
        self.storage = httpx.Client(timeout=timeout, follow_redirects=True, transport=transport)
        self._user_id: str | None = None

    def close(self) -> None:
        self.http.close()
        self.storage.close()

    # -- GraphQL ------------------------------------------------------------------------

    @property
    def experimental_endpoint(self) -> str:
        """Where the SDK sends experimental operations (`/_gql` instead of `/graphql`)."""
        return self.endpoint.replace("/graphql", "/_gql")

    def execute(self, query: str, variables: dict | None = None, *, mutation: bool = False,
                experimental: bool = False) -> dict[str, Any]:  # fmt: skip
        """Run one operation and return its `data`. Queries are retried on 5xx; mutations
        only when the server cannot have acted (429). GraphQL-level rate limiting is
        retried with the same backoff."""
        url = self.experimental_endpoint if experimental else self.endpoint
        payload = {"query": query, "variables": variables or {}}
        return self._post(url, query, mutation, json=payload)

    def execute_multipart(self, query: str, variables: dict, file_name: str,
                          content: bytes | IO[bytes], content_type: str) -> dict[str, Any]:  # fmt: skip
        """Run a mutation with one file, as a GraphQL multipart request (the SDK's shape:
        parts `operations`, `map` = {file_name: ["variables.file"]}, then the file)."""
        operations = json.dumps({"variables": variables, "query": query})
        form = {"operations": operations, "map": json.dumps({file_name: ["variables.file"]})}
        files = {file_name: (file_name, content, content_type)}
        return self._post(self.endpoint, query, True, data=form, files=files)

    def _post(self, url: str, query: str, mutation: bool, **send: Any) -> dict[str, Any]:
        where = f"{describe_request('POST', url)} ({gql.operation_name(query)})"
        retry = self.http.retry
        for attempt in range(retry.attempts):
            response = self.http.request("POST", url, idempotent=not mutation, **send)
            body = self._decode(response, where)
            if gql.is_rate_limited(body) and attempt < retry.attempts - 1:
                retry.sleep(retry.wait_for(attempt, response))
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

    # -- projects -----------------------------------------------------------------------

    def list_projects(self) -> Iterator[dict[str, Any]]:
        """Every project visible to the key (pages of 100 until a short page)."""
        skip = 0
        while True:
            data = self.execute(gql.list_projects_query(skip), {"deleted": False})
            page = gql.dig(data, "projects", where="projects", expect=list, optional=True) or []
            yield from (gql.expect_object(project, "projects") for project in page)
            if len(page) < gql.PAGE_SIZE:
                return
            skip += gql.PAGE_SIZE

    def get_project(self, project_id: str) -> dict[str, Any]:
        """The project's fields; `NotFoundError` if it does not exist."""
        data = self.execute(gql.GET_PROJECT, {"projectId": project_id})
        project = gql.dig(data, "project", where=f"project {project_id}", optional=True)
        if not project:
            raise NotFoundError(
                f"Labelbox has no project {project_id}", where=f"project {project_id}"
            )
        return project

    def project_ontology(self, project_id: str) -> dict[str, Any]:
        """The project's ontology as Labelbox's "normalized" JSON (`tools`, `classifications`)."""
        data = self.execute(gql.GET_PROJECT_ONTOLOGY, {"projectId": project_id})
        where = f"project {project_id}"
        if not gql.dig(data, "project", where=where, optional=True):
            raise NotFoundError(f"Labelbox has no project {project_id}", where=where)
        ontology = gql.dig(data, "project", "ontology", where=where, optional=True) or {}
        normalized = (
            gql.dig(ontology, "normalized", where=where, expect=(dict, str), optional=True) or {}
        )
        if isinstance(normalized, str):
            try:
                normalized = json.loads(normalized)
            except ValueError:
                raise FormatError(
                    "ontology `normalized` is not JSON", where=f"project {project_id}"
                ) from None
        if not isinstance(normalized, dict):
            raise FormatError(
                "ontology `normalized` is not an object", where=f"project {project_id}"
            )
        return normalized

    # -- tasks --------------------------------------------------------------------------

    def user_id(self) -> str:
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
                raw = self.storage.get(raw).text
            except httpx.HTTPError:
                return f"see {urlsplit(raw).netloc} (error file could not be read)"
        return gql.summarize_error_text(raw) or "no error message"

    # -- export -------------------------------------------------------------------------

    def create_export(self, project_id: str, params: ExportParams | None = None, *,
                      task_name: str | None = None) -> str:  # fmt: skip
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
        data = self.execute(gql.EXPORT_PROJECT, variables, mutation=True)
        where = f"project {project_id}"
        return str(
            gql.dig(data, "exportDataRowsInProject", "taskId", where=where, expect=(str, int))
        )

    def export_project(self, project_id: str, params: ExportParams | None = None) -> Iterator[dict]:
        """Export the project and yield each exported data row (a dict) as it streams."""
        task_id = self.create_export(project_id, params)
        self.wait_for_task(task_id)
        yield from self.export_rows(task_id)

    def export_rows(self, task_id: str, stream_type: str = "RESULT") -> Iterator[dict]:
        """The finished export's NDJSON lines, parsed; a bad line is a `FormatError`."""
        for number, line in enumerate(self.export_lines(task_id, stream_type), start=1):
            yield parse_export_line(line, f"export task {task_id}, line {number}")

    def export_lines(self, task_id: str, stream_type: str = "RESULT") -> Iterator[bytes]:
        """The raw lines of a finished export stream, file page by file page.

        Pages are byte ranges of one NDJSON text (a line may span two pages), so pieces
        are joined before splitting; nothing holds more than one page chunk and one line."""
        return split_lines(self._export_chunks(task_id, stream_type))

    def _export_chunks(self, task_id: str, stream_type: str) -> Iterator[bytes]:
        """The bytes of every page of the stream, in order, as they download."""
        where = f"export task {task_id}"
        header = self.export_header(task_id, stream_type) or {}
        total = gql.expect_int(header.get("totalSize") or 0, "totalSize", where)
        offset = 0
        while offset < total:
            page, chunks = self._open_page(task_id, stream_type, offset)
            yield from chunks
            offset = gql.expect_int(page["offsets"].get("end"), "offsets.end", where) + 1

    def export_header(self, task_id: str, stream_type: str) -> dict[str, Any] | None:
        variables = {"where": {"id": task_id}, "streamType": stream_type}
        data = self.execute(gql.EXPORT_METADATA_HEADER, variables)
        where = f"export task {task_id}"
        return gql.dig(data, "task", "exportMetadataHeader", where=where, optional=True)

    def export_page(self, task_id: str, stream_type: str, offset: int) -> dict[str, Any]:
        """Where the stream continues at byte `offset`: `{offsets, lines, file}`."""
        variables = {"where": {"id": task_id}, "streamType": stream_type, "offset": str(offset)}
        data = self.execute(gql.EXPORT_FILE_FROM_OFFSET, variables)
        page = gql.dig(
            data, "task", "exportFileFromOffset", where=f"export task {task_id}", optional=True
        )
        if (
            not page
            or not isinstance(page.get("file"), str)
            or not isinstance(page.get("offsets"), dict)
        ):
            raise FormatError(
                f"export has no {stream_type} file at offset {offset}",
                where=f"export task {task_id}",
            )
        return page

    def _open_page(self, task_id: str, stream_type: str, offset: int):
        """The page at `offset` and an iterator of its bytes; an expired signed URL is
        re-requested once."""
        page = self.export_page(task_id, stream_type, offset)
        try:
            return page, self._download(page)
        except ExpiredUrl:
            page = self.export_page(task_id, stream_type, offset)
        try:
            return page, self._download(page)
        except ExpiredUrl as expired:
            raise RemoteError(
                f"the export file link was refused twice ({expired})",
                where=f"export task {task_id}, offset {offset}",
                hint="the signed URLs expire; rerun the export",
            ) from None

    def _download(self, page: dict[str, Any]) -> Iterator[bytes]:
        """Open the page's signed URL (`ExpiredUrl` if storage refuses it) and return an
        iterator over its bytes, checked against the announced length."""
        where = signed_url_where(page["file"])
        offsets = page["offsets"]
        end = gql.expect_int(offsets.get("end"), "offsets.end", where)
        expected = end - gql.expect_int(offsets.get("start"), "offsets.start", where) + 1
        response = self._open_signed(page["file"])
        return _checked_bytes(response, expected, where)

    def _open_signed(self, url: str) -> httpx.Response:
        """GET a signed URL without the API key, as an open streamed response (the caller
        closes it); 5xx and connection errors are retried, 400/403 raise `ExpiredUrl`."""
        retry = self.http.retry
        where = signed_url_where(url)
        for attempt in range(retry.attempts):
            last = attempt == retry.attempts - 1
            try:
                response = self.storage.send(self.storage.build_request("GET", url), stream=True)
            except httpx.TransportError as error:
                if last:
                    raise RemoteError(
                        f"storage could not be reached: {error}", where=where
                    ) from None
                retry.sleep(retry.wait_for(attempt, None))
                continue
            status = response.status_code
            if status < 300:
                return response
            response.read()
            response.close()
            if status in EXPIRED_URL_STATUSES:
                raise ExpiredUrl(f"HTTP {status}")
            if status in RETRY_STATUSES and not last:
                retry.sleep(retry.wait_for(attempt, response))
                continue
            raise RemoteError(
                f"storage answered HTTP {status}: {response_detail(response)}", where=where
            )
        raise AssertionError("unreachable")  # pragma: no cover

    def _read_signed(self, url: str) -> bytes:
        try:
            response = self._open_signed(url)
        except ExpiredUrl as expired:
            raise RemoteError(
                f"the file link was refused ({expired})", where=signed_url_where(url)
            ) from None
        try:
            return response.read()
        except httpx.TransportError as error:
            raise RemoteError(f"download failed: {error}", where=signed_url_where(url)) from None
        finally:
            response.close()

    # -- masks --------------------------------------------------------------------------

    def fetch_mask(self, url: str) -> bytes:
        """The PNG behind an exported mask URL. Labelbox API URLs get the API key; any
        other host (a signed storage link) is fetched without it, so the key never leaks."""
        if self._is_labelbox_host(url):
            return self.http.get(url, headers={"Accept": "image/png,*/*"}).content
        return self._read_signed(url)

    def _is_labelbox_host(self, url: str) -> bool:
        """True for the endpoint's own origin, or https on a labelbox.com host."""
        target, own = urlsplit(url), urlsplit(self.endpoint)
        host = (target.hostname or "").lower()
        if (target.scheme, target.netloc.lower()) == (own.scheme, own.netloc.lower()):
            return True
        return target.scheme == "https" and (
            host == "labelbox.com" or host.endswith(".labelbox.com")
        )

    # -- datasets and data rows -----------------------------------------------------------

    def find_dataset(self, name: str) -> dict[str, Any] | None:
        """The first (not deleted) dataset called `name`, or None."""
        data = self.execute(gql.GET_DATASETS_BY_NAME, {"name": name, "deleted": False})
        datasets = gql.dig(data, "datasets", where=f"dataset {name!r}", expect=list, optional=True)
        return gql.expect_object(datasets[0], f"dataset {name!r}") if datasets else None

    def create_dataset(self, name: str) -> dict[str, Any]:
        data = self.execute(gql.CREATE_DATASET, {"name": name}, mutation=True)
        dataset = gql.dig(data, "createDataset", where=f"dataset {name!r}")
        gql.dig(dataset, "id", where=f"dataset {name!r}", expect=(str, int))
        return dataset

    def data_row_ids(self, global_keys: list[str]) -> dict[str, str]:
        """Global key -> data row id for the keys that exist (a polled lookup job)."""
        found: dict[str, str] = {}
        for start in range(0, len(global_keys), GLOBAL_KEY_LOOKUP_CHUNK):
            chunk = global_keys[start : start + GLOBAL_KEY_LOOKUP_CHUNK]
            found.update(self._lookup_global_keys(chunk))
        return found

    def _lookup_global_keys(self, keys: list[str]) -> dict[str, str]:
        job = self.execute(gql.GLOBAL_KEYS_JOB, {"globalKeys": keys})
        job_id = gql.dig(
            job, "dataRowsForGlobalKeys", "jobId", where="global key lookup", expect=(str, int)
        )
        where = f"global key lookup job {job_id}"
        result = self._poll(
            lambda: gql.dig(
                self.execute(gql.GLOBAL_KEYS_RESULT, {"jobId": job_id}),
                "dataRowsForGlobalKeysResult",
                where=where,
            ),  # fmt: skip
            lambda result: result.get("jobStatus") != "IN_PROGRESS",
            "the global key lookup",
        )
        if result.get("jobStatus") != "COMPLETE":
            raise RemoteError(f"global key lookup {result.get('jobStatus')}", where=where)
        fetched = (
            gql.dig(result, "data", "fetchedDataRows", where=where, expect=list, optional=True)
            or []
        )
        # fetchedDataRows is in input order, with an empty id where a key was not found
        return {
            key: str(row["id"])
            for key, row in zip(keys, fetched, strict=False)
            if isinstance(row, dict) and isinstance(row.get("id"), str | int) and row["id"] != ""
        }

    def upload_file(self, content: bytes, file_name: str, content_type: str) -> str:
        """Upload bytes to Labelbox's storage; return their URL (mutation `uploadFile`)."""
        variables = {"file": None, "contentLength": len(content), "sign": False}
        data = self.execute_multipart(gql.UPLOAD_FILE, variables, "1", content, content_type)
        return gql.dig(data, "uploadFile", "url", where=f"upload {file_name}", expect=str)

    def upsert_data_rows(self, dataset_id: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
        """Create `rows` (`row_data`, `global_key`, optional `external_id`, `media_type`) in
        the dataset, the SDK's way: JSON chunk files, a manifest, `upsertDataRows`."""
        specs = [
            {"id": {"type": "AUTO", "value": ""}, "payload": {**row, "dataset_id": dataset_id}}
            for row in rows
        ]
        chunk_urls = [
            self.upload_file(chunk, "json_import.json", "application/json")
            for chunk in json_chunks(specs, UPLOAD_CHUNK_BYTES)
        ]
        manifest = {"source": "SDK", "item_count": len(specs), "chunk_uris": chunk_urls}
        manifest_url = self.upload_file(
            json.dumps(manifest).encode(), "manifest.json", "application/json"
        )
        data = self.execute(gql.UPSERT_DATA_ROWS, {"manifestUri": manifest_url}, mutation=True)
        task = gql.dig(data, "upsertDataRows", where=f"dataset {dataset_id}")
        gql.dig(task, "id", where=f"dataset {dataset_id}", expect=(str, int))
        return task

    def data_row_import_results(self, task_id: str, *, failed: bool) -> Iterator[dict[str, Any]]:
        """Rows an upsert task created (`failed=False`) or refused (`failed=True`)."""
        query = gql.FAILED_DATA_ROW_IMPORTS if failed else gql.SUCCESSFUL_DATA_ROW_IMPORTS
        field_name = "failedDataRowImports" if failed else "successesfulDataRowImports"
        items_key = "results" if failed else "nodes"
        cursor = None
        while True:
            variables = {"taskId": task_id, "first": RESULT_PAGE_SIZE, "from": cursor}
            where = f"task {task_id}"
            page = gql.dig(self.execute(query, variables), field_name, where=where)
            items = gql.dig(page, items_key, where=where, expect=list, optional=True) or []
            yield from (gql.expect_object(item, where) for item in items)
            cursor = page.get("after")
            if not cursor or not items:
                return

    def ensure_data_rows(self, dataset_id: str, rows: list[dict[str, Any]]) -> DataRowsOutcome:
        """Make sure a data row exists for each row's `global_key`: existing keys are reused
        (never duplicated), missing ones are created in the dataset. A key created by
        someone else meanwhile (Labelbox: "Duplicate global key") is looked up again."""
        keys = [row["global_key"] for row in rows]
        outcome = DataRowsOutcome(ids=self.data_row_ids(keys))
        outcome.reused = [key for key in keys if key in outcome.ids]
        missing = [row for row in rows if row["global_key"] not in outcome.ids]
        if not missing:
            return outcome
        task = self.upsert_data_rows(dataset_id, missing)
        self.wait_for_task(str(task["id"]))
        for created in self.data_row_import_results(str(task["id"]), failed=False):
            key = gql.dig(created, "globalKey", where=f"task {task['id']}", expect=str)
            outcome.ids[key] = str(
                gql.dig(created, "id", where=f"task {task['id']}", expect=(str, int))
            )
            outcome.created.append(key)
        refused = list(self.data_row_import_results(str(task["id"]), failed=True))
        self._settle_refused_rows(refused, outcome, task_id=str(task["id"]))
        return outcome

    def _settle_refused_rows(
        self, refused: list[dict], outcome: DataRowsOutcome, *, task_id: str
    ) -> None:
        duplicates = [gql.failure_key(item) for item in refused if gql.is_duplicate_key(item)]
        if duplicates:
            again = self.data_row_ids([key for key in duplicates if key])
            outcome.ids.update(again)
            outcome.reused.extend(again)
        problems = [
            f"{gql.failure_key(item)}: {item.get('message')}"
            for item in refused
            if gql.failure_key(item) not in outcome.ids
        ]
        if problems:
            more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
            raise RemoteError(
                f"Labelbox refused {len(problems)} data row(s): {'; '.join(problems[:5])}{more}",
                where=f"task {task_id}",
                hint="check the row_data URLs and global keys of these items",
            )

    # -- batches ------------------------------------------------------------------------

    def wait_data_rows_processed(self, global_keys: list[str]) -> None:
        """Block until Labelbox has processed the data rows (needed before batching)."""
        self._poll(
            lambda: self.execute(gql.DATA_ROWS_PROCESSED, {"globalKeys": global_keys}),
            lambda data: bool(
                gql.dig(
                    data,
                    "queryAllDataRowsHaveBeenProcessed",
                    "allDataRowsHaveBeenProcessed",
                    where="data row processing",
                    expect=bool,
                    optional=True,
                )  # fmt: skip
            ),
            "data row processing",
        )

    def create_batch(self, project_id: str, name: str, global_keys: list[str], *,
                     priority: int = 5) -> dict[str, Any]:  # fmt: skip
        """Queue the data rows into the project as one batch (at most 1,000 rows).
        Returns `{"batch": {...}, "failedDataRowIds": [...]}`."""
        variables = {
            "projectId": project_id,
            "batchInput": {
                "name": name,
                "dataRowIds": [],
                "globalKeys": global_keys,
                "priority": priority,
                "consensusSettings": None,
            },
        }
        data = self.execute(gql.CREATE_BATCH, variables, mutation=True, experimental=True)
        return gql.dig(data, "project", "createBatchV2", where=f"project {project_id}")

    def add_to_project(
        self, project_id: str, global_keys: list[str], *, prefix: str = "label-bridge"
    ) -> list[dict]:
        """Batch the data rows into the project, idempotently: each batch is named after a
        hash of its keys, and a batch that already exists (RESOURCE_CONFLICT) is kept."""
        self.wait_data_rows_processed(global_keys)
        outcomes = []
        for start in range(0, len(global_keys), SYNC_BATCH_LIMIT):
            chunk = global_keys[start : start + SYNC_BATCH_LIMIT]
            name = f"{prefix}-{keys_digest(chunk)}"
            try:
                result = self.create_batch(project_id, name, chunk)
            except gql.LabelboxConflict:
                result = {"batch": None, "failedDataRowIds": [], "existing": True}
            outcomes.append({"name": name, "rows": len(chunk), **result})
        return outcomes

    # -- annotation imports -------------------------------------------------------------

    def start_import(self, project_id: str, name: str, ndjson: IO[bytes], size: int, *,
                     mode: str = "label") -> dict[str, Any]:  # fmt: skip
        """Upload an NDJSON annotation file as a label import (`mode="label"`, ground
        truth) or a model-assisted labeling import (`mode="mal"`)."""
        if mode not in gql.IMPORT_KINDS:
            raise ValueError(f"unknown import mode {mode!r}")
        file_name = f"{project_id}__{name}.ndjson"
        variables = {"file": None, "contentLength": size, "projectId": project_id, "name": name}
        query = gql.create_import_mutation(mode)
        data = self.execute_multipart(query, variables, file_name, ndjson, "application/x-ndjson")
        record = gql.dig(data, gql.IMPORT_KINDS[mode][0], where=f"import {name!r}")
        gql.dig(record, "id", where=f"import {name!r}", expect=(str, int))
        return {**record, "name": name}

    def get_import(self, project_id: str, name: str, mode: str = "label") -> dict[str, Any]:
        data = self.execute(gql.get_import_query(mode), {"projectId": project_id, "name": name})
        where = f"project {project_id}"
        record = gql.dig(data, gql.IMPORT_KINDS[mode][1], where=where, optional=True)
        if not record:
            raise NotFoundError(f"Labelbox has no import {name!r}", where=where)
        return {**record, "name": name}

    def wait_for_import(
        self, project_id: str, record: dict[str, Any], mode: str = "label"
    ) -> dict[str, Any]:
        """Poll the import until it leaves RUNNING; FAILED raises with its error file."""
        name = record["name"]
        if record.get("state") == "RUNNING":
            record = self._poll(
                lambda: self.get_import(project_id, name, mode),
                lambda current: current.get("state") != "RUNNING",
                f"Labelbox import {name!r}",
            )
        if record.get("state") == "FAILED":
            detail = ""
            if isinstance(record.get("errorFileUrl"), str):
                errors = self.import_row_errors(record["errorFileUrl"], {})
                detail = ": " + "; ".join(error.describe() for error in errors[:5])
            raise RemoteError(
                f"Labelbox import {name!r} FAILED{detail}", where=f"project {project_id}"
            )
        return record

    def import_row_errors(self, url: str, sent: dict[str, dict]) -> list[gql.ImportRowError]:
        """The refused rows listed in an import's error (or status) file. `sent` maps each
        uploaded annotation's uuid to the `dataRow` it named, to fill in the global key."""
        return gql.parse_error_file(self._read_signed(url), sent)

    def run_import(self, project_id: str, name: str, rows: Iterable[dict[str, Any]], *,
                   mode: str = "label") -> ImportOutcome:  # fmt: skip
        """Spool `rows` to NDJSON (in a temporary file past 16 MB), upload, wait, and
        collect row-level errors with the data row each belongs to."""
        sent: dict[str, dict] = {}
        with tempfile.SpooledTemporaryFile(max_size=16_000_000) as spool:
            count = 0
            for row in rows:
                if row.get("uuid"):
                    sent[row["uuid"]] = row.get("dataRow") or {}
                spool.write(orjson.dumps(row) + b"\n")
                count += 1
            size = spool.tell()
            spool.seek(0)
            record = self.start_import(project_id, name, spool, size, mode=mode)
        record = self.wait_for_import(project_id, record, mode)
        outcome = ImportOutcome(record, rows=count)
        if isinstance(record.get("errorFileUrl"), str):
            outcome.row_errors = self.import_row_errors(record["errorFileUrl"], sent)
        return outcome


# ----------------------------------------------------------------------------- helpers


def _checked_bytes(response: httpx.Response, expected: int, where: str) -> Iterator[bytes]:
    """The body of an open streamed response, checked to be `expected` bytes long."""
    received = 0
    try:
        for chunk in response.iter_bytes():
            received += len(chunk)
            yield chunk
    except httpx.TransportError as error:
        raise RemoteError(f"download failed: {error}", where=where) from None
    finally:
        response.close()
    if received != expected:
        raise RemoteError(
            f"export file is {received} bytes, Labelbox announced {expected}",
            where=where,
            hint="the download was cut short; rerun the export",
        )


def signed_url_where(url: str) -> str:
    """`GET host/path` for a signed URL: its query string (the signature) is left out."""
    parts = urlsplit(url)
    return f"GET {parts.netloc}{parts.path}"


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


def json_chunks(items: list[dict], max_bytes: int) -> Iterator[bytes]:
    """`items` as JSON arrays of at most `max_bytes` each (one oversized item alone)."""
    chunk: list[bytes] = []
    size = 2
    for item in items:
        encoded = orjson.dumps(item)
        if chunk and size + len(encoded) + 1 > max_bytes:
            yield b"[" + b",".join(chunk) + b"]"
            chunk, size = [], 2
        chunk.append(encoded)
        size += len(encoded) + 1
    if chunk:
        yield b"[" + b",".join(chunk) + b"]"


def keys_digest(keys: list[str]) -> str:
    """A short stable name for a set of global keys (order-independent)."""
    digest = hashlib.sha1("\n".join(sorted(keys)).encode(), usedforsecurity=False)
    return digest.hexdigest()[:12]
