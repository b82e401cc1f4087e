"""Labelbox's GraphQL API over `bridge.http`: moves JSON, knows nothing of the unified schema.

`LabelboxApi` sends every operation as `POST <endpoint>` with `Authorization: Bearer <key>`
and turns GraphQL `errors[].extensions.code` into `BridgeError`s (see `graphql.py`).
Long jobs (exports, data row upserts, imports) are polled with an injectable `sleep`, so
tests never wait. Result files live behind *signed URLs* (time-limited storage links that
carry their own credentials): they are downloaded without our API key, streamed line by
line, and re-requested once when the link has expired.

`LabelboxApi` is the transport (`client.LabelboxClient`: one HTTP client, one retry policy,
one `poll_timeout`) with one method per operation. Each operation is a function of the
client in the module of its job:

* `client.py`      transport: POST, GraphQL errors, rate limiting, polling
* `signed_urls.py` downloads from signed storage links (never with the API key)
* `projects.py`    projects and their ontology
* `tasks.py`       background tasks (status, failure reason)
* `export.py`      export task and the streaming of its result pages
* `masks.py`       exported mask PNGs
* `datarows.py`    datasets, global key lookups, data row upserts
* `batches.py`     queueing data rows into a project
* `imports.py`     label / MAL imports and their refused rows
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import IO, Any

from bridge_labelbox import batches, datarows, export, imports, masks, projects, tasks
from bridge_labelbox.batches import SYNC_BATCH_LIMIT, keys_digest
from bridge_labelbox.client import DEFAULT_ENDPOINT, GraphQLHttpClient, LabelboxClient
from bridge_labelbox.datarows import (
    GLOBAL_KEY_LOOKUP_CHUNK,
    RESULT_PAGE_SIZE,
    UPLOAD_CHUNK_BYTES,
    DataRowsOutcome,
    json_chunks,
)
from bridge_labelbox.export import ExportParams, parse_export_line, split_lines
from bridge_labelbox.graphql import ImportRowError
from bridge_labelbox.imports import ImportOutcome
from bridge_labelbox.signed_urls import EXPIRED_URL_STATUSES, ExpiredUrl, signed_url_where

__all__ = [
    "DEFAULT_ENDPOINT",
    "EXPIRED_URL_STATUSES",
    "GLOBAL_KEY_LOOKUP_CHUNK",
    "RESULT_PAGE_SIZE",
    "SYNC_BATCH_LIMIT",
    "UPLOAD_CHUNK_BYTES",
    "DataRowsOutcome",
    "ExpiredUrl",
    "ExportParams",
    "GraphQLHttpClient",
    "ImportOutcome",
    "LabelboxApi",
    "LabelboxClient",
    "json_chunks",
    "keys_digest",
    "parse_export_line",
    "signed_url_where",
    "split_lines",
]


class LabelboxApi(LabelboxClient):
    """The Labelbox GraphQL operations label-bridge needs, on one transport.

    Built like `LabelboxClient` (api key, `endpoint`, `retry`, `sleep`, `poll_interval`,
    `poll_timeout`, `transport`, `timeout`, `limits`); each method hands the client to
    the function doing that operation."""

    # -- projects -----------------------------------------------------------------------

    def list_projects(self) -> Iterator[dict[str, Any]]:
        return projects.list_projects(self)

    def get_project(self, project_id: str) -> dict[str, Any]:
        return projects.get_project(self, project_id)

    def project_ontology(self, project_id: str) -> dict[str, Any]:
        return projects.project_ontology(self, project_id)

    # -- background tasks ---------------------------------------------------------------

    def user_id(self) -> str:
        return tasks.user_id(self)

    def get_task(self, task_id: str) -> dict[str, Any]:
        return tasks.get_task(self, task_id)

    def wait_for_task(self, task_id: str) -> dict[str, Any]:
        return tasks.wait_for_task(self, task_id)

    def task_failure(self, task: dict[str, Any]) -> str:
        return tasks.task_failure(self, task)

    # -- exports ------------------------------------------------------------------------

    def create_export(
        self, project_id: str, params: ExportParams | None = None, *, task_name: str | None = None
    ) -> str:
        return export.create_export(self, project_id, params, task_name=task_name)

    def export_project(self, project_id: str, params: ExportParams | None = None) -> Iterator[dict]:
        return export.export_project(self, project_id, params)

    def export_rows(self, task_id: str, stream_type: str = "RESULT") -> Iterator[dict]:
        return export.export_rows(self, task_id, stream_type)

    def export_lines(self, task_id: str, stream_type: str = "RESULT") -> Iterator[bytes]:
        return export.export_lines(self, task_id, stream_type)

    def export_header(self, task_id: str, stream_type: str) -> dict[str, Any] | None:
        return export.export_header(self, task_id, stream_type)

    def export_page(self, task_id: str, stream_type: str, offset: int) -> dict[str, Any]:
        return export.export_page(self, task_id, stream_type, offset)

    def fetch_mask(self, url: str) -> bytes:
        return masks.fetch_mask(self, url)

    # -- data rows ----------------------------------------------------------------------

    def find_dataset(self, name: str) -> dict[str, Any] | None:
        return datarows.find_dataset(self, name)

    def create_dataset(self, name: str) -> dict[str, Any]:
        return datarows.create_dataset(self, name)

    def data_row_ids(self, global_keys: list[str]) -> dict[str, str]:
        return datarows.data_row_ids(self, global_keys)

    def upload_file(self, content: bytes, file_name: str, content_type: str) -> str:
        return datarows.upload_file(self, content, file_name, content_type)

    def upsert_data_rows(self, dataset_id: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
        return datarows.upsert_data_rows(self, dataset_id, rows)

    def data_row_import_results(self, task_id: str, *, failed: bool) -> Iterator[dict[str, Any]]:
        return datarows.data_row_import_results(self, task_id, failed=failed)

    def ensure_data_rows(self, dataset_id: str, rows: list[dict[str, Any]]) -> DataRowsOutcome:
        return datarows.ensure_data_rows(self, dataset_id, rows)

    # -- batches ------------------------------------------------------------------------

    def wait_data_rows_processed(self, global_keys: list[str]) -> None:
        batches.wait_data_rows_processed(self, global_keys)

    def create_batch(
        self, project_id: str, name: str, global_keys: list[str], *, priority: int = 5
    ) -> dict[str, Any]:
        return batches.create_batch(self, project_id, name, global_keys, priority=priority)

    def add_to_project(
        self, project_id: str, global_keys: list[str], *, prefix: str = "label-bridge"
    ) -> list[dict]:
        return batches.add_to_project(self, project_id, global_keys, prefix=prefix)

    # -- imports ------------------------------------------------------------------------

    def start_import(
        self, project_id: str, name: str, ndjson: IO[bytes], size: int, *, mode: str = "label"
    ) -> dict[str, Any]:
        return imports.start_import(self, project_id, name, ndjson, size, mode=mode)

    def get_import(self, project_id: str, name: str, mode: str = "label") -> dict[str, Any]:
        return imports.get_import(self, project_id, name, mode)

    def wait_for_import(
        self, project_id: str, record: dict[str, Any], mode: str = "label"
    ) -> dict[str, Any]:
        return imports.wait_for_import(self, project_id, record, mode)

    def import_row_errors(self, url: str, sent: dict[str, dict]) -> list[ImportRowError]:
        return imports.import_row_errors(self, url, sent)

    def run_import(
        self, project_id: str, name: str, rows: Iterable[dict[str, Any]], *, mode: str = "label"
    ) -> ImportOutcome:
        return imports.run_import(self, project_id, name, rows, mode=mode)
