"""Labelbox's GraphQL API over `bridge.http`: moves JSON, knows nothing of the unified schema.

`LabelboxApi` sends every operation as `POST <endpoint>` with `Authorization: Bearer <key>`
and turns GraphQL `errors[].extensions.code` into `BridgeError`s (see `graphql.py`).
Long jobs (exports, data row upserts, imports) are polled with an injectable `sleep`, so
tests never wait. Result files live behind *signed URLs* (time-limited storage links that
carry their own credentials): they are downloaded without our API key, streamed line by
line, and re-requested once when the link has expired.

The operations live in one module per job; `LabelboxApi` puts them together on one object
(one HTTP client, one retry policy, one `poll_timeout`):

* `client.py`      transport: POST, GraphQL errors, rate limiting, polling
* `signed_urls.py` downloads from signed storage links (never with the API key)
* `projects.py`    projects and their ontology
* `tasks.py`       background tasks (status, failure reason)
* `export.py`      export task and the streaming of its result pages
* `masks.py`       exported mask PNGs
* `datarows.py`    datasets, global key lookups, data row upserts
* `batches.py`     queueing data rows into a project
* `imports.py`     label / MAL imports and their refused rows

Every public name of those modules that callers use is importable from here.
"""

from __future__ import annotations

from bridge_labelbox.batches import SYNC_BATCH_LIMIT, BatchOperations, keys_digest
from bridge_labelbox.client import DEFAULT_ENDPOINT, GraphQLHttpClient, LabelboxClient
from bridge_labelbox.datarows import (
    GLOBAL_KEY_LOOKUP_CHUNK,
    RESULT_PAGE_SIZE,
    UPLOAD_CHUNK_BYTES,
    DataRowOperations,
    DataRowsOutcome,
    json_chunks,
)
from bridge_labelbox.export import ExportOperations, ExportParams, parse_export_line, split_lines
from bridge_labelbox.imports import ImportOperations, ImportOutcome
from bridge_labelbox.masks import MaskDownloads
from bridge_labelbox.projects import ProjectOperations
from bridge_labelbox.signed_urls import EXPIRED_URL_STATUSES, ExpiredUrl, signed_url_where
from bridge_labelbox.tasks import TaskOperations

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


class LabelboxApi(
    ProjectOperations,
    ExportOperations,
    MaskDownloads,
    DataRowOperations,
    BatchOperations,
    ImportOperations,
    TaskOperations,
):
    """The Labelbox GraphQL operations label-bridge needs.

    Built like `LabelboxClient` (api key, `endpoint`, `retry`, `sleep`, `poll_interval`,
    `poll_timeout`, `transport`, `timeout`); each base class adds one group of operations
    and all of them share this object's HTTP clients and polling settings."""
