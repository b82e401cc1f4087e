"""Labelbox datasets and *data rows* (one asset each, keyed organization-wide by its
*global key*): finding and creating datasets, looking keys up, creating missing rows."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from bridge.errors import RemoteError
from bridge.io import dump_json
from bridge_labelbox import graphql as gql
from bridge_labelbox import tasks
from bridge_labelbox.client import LabelboxClient

UPLOAD_CHUNK_BYTES = 10_000_000
RESULT_PAGE_SIZE = 5_000
GLOBAL_KEY_LOOKUP_CHUNK = 10_000


@dataclass
class DataRowsOutcome:
    """Global key -> data row id for every requested row, and which were new."""

    ids: dict[str, str] = field(default_factory=dict)
    created: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)


def find_dataset(client: LabelboxClient, name: str) -> dict[str, Any] | None:
    """The first (not deleted) dataset called `name`, or None."""
    data = client.execute(gql.GET_DATASETS_BY_NAME, {"name": name, "deleted": False})
    datasets = gql.dig(data, "datasets", where=f"dataset {name!r}", expect=list, optional=True)
    return gql.expect_object(datasets[0], f"dataset {name!r}") if datasets else None


def create_dataset(client: LabelboxClient, name: str) -> dict[str, Any]:
    """A new dataset called `name` (its fields, with `id`)."""
    data = client.execute(gql.CREATE_DATASET, {"name": name}, mutation=True)
    dataset = gql.dig(data, "createDataset", where=f"dataset {name!r}")
    gql.dig(dataset, "id", where=f"dataset {name!r}", expect=(str, int))
    return dataset


def data_row_ids(client: LabelboxClient, global_keys: list[str]) -> dict[str, str]:
    """Global key -> data row id for the keys that exist (a polled lookup job)."""
    found: dict[str, str] = {}
    for start in range(0, len(global_keys), GLOBAL_KEY_LOOKUP_CHUNK):
        chunk = global_keys[start : start + GLOBAL_KEY_LOOKUP_CHUNK]
        found.update(_lookup_global_keys(client, chunk))
    return found


def _lookup_global_keys(client: LabelboxClient, keys: list[str]) -> dict[str, str]:
    """One lookup job for up to `GLOBAL_KEY_LOOKUP_CHUNK` keys, polled to its end."""
    job = client.execute(gql.GLOBAL_KEYS_JOB, {"globalKeys": keys})
    job_id = gql.dig(
        job, "dataRowsForGlobalKeys", "jobId", where="global key lookup", expect=(str, int)
    )
    where = f"global key lookup job {job_id}"
    result = client._poll(
        lambda: gql.dig(
            client.execute(gql.GLOBAL_KEYS_RESULT, {"jobId": job_id}),
            "dataRowsForGlobalKeysResult",
            where=where,
        ),
        lambda result: result.get("jobStatus") != "IN_PROGRESS",
        "the global key lookup",
    )
    if result.get("jobStatus") != "COMPLETE":
        raise RemoteError(f"global key lookup {result.get('jobStatus')}", where=where)
    return _found_ids(keys, result, where)


def upload_file(client: LabelboxClient, content: bytes, file_name: str, content_type: str) -> str:
    """Upload bytes to Labelbox's storage; return their URL (mutation `uploadFile`)."""
    variables = {"file": None, "contentLength": len(content), "sign": False}
    data = client.execute_multipart(gql.UPLOAD_FILE, variables, "1", content, content_type)
    return gql.dig(data, "uploadFile", "url", where=f"upload {file_name}", expect=str)


def upsert_data_rows(
    client: LabelboxClient, dataset_id: str, rows: list[dict[str, Any]]
) -> dict[str, Any]:
    """Create `rows` (`row_data`, `global_key`, optional `external_id`, `media_type`) in
    the dataset, the SDK's way: JSON chunk files, a manifest, `upsertDataRows`."""
    specs = [
        {"id": {"type": "AUTO", "value": ""}, "payload": {**row, "dataset_id": dataset_id}}
        for row in rows
    ]
    chunk_urls = [
        upload_file(client, chunk, "json_import.json", "application/json")
        for chunk in json_chunks(specs, UPLOAD_CHUNK_BYTES)
    ]
    manifest = {"source": "SDK", "item_count": len(specs), "chunk_uris": chunk_urls}
    manifest_url = upload_file(
        client, json.dumps(manifest).encode(), "manifest.json", "application/json"
    )
    data = client.execute(gql.UPSERT_DATA_ROWS, {"manifestUri": manifest_url}, mutation=True)
    task = gql.dig(data, "upsertDataRows", where=f"dataset {dataset_id}")
    gql.dig(task, "id", where=f"dataset {dataset_id}", expect=(str, int))
    return task


def data_row_import_results(
    client: LabelboxClient, task_id: str, *, failed: bool
) -> Iterator[dict[str, Any]]:
    """Rows an upsert task created (`failed=False`) or refused (`failed=True`)."""
    query = gql.FAILED_DATA_ROW_IMPORTS if failed else gql.SUCCESSFUL_DATA_ROW_IMPORTS
    field_name = "failedDataRowImports" if failed else "successesfulDataRowImports"
    items_key = "results" if failed else "nodes"
    cursor = None
    cursors: set[str] = set()
    while True:
        variables = {"taskId": task_id, "first": RESULT_PAGE_SIZE, "from": cursor}
        where = f"task {task_id}"
        page = gql.dig(client.execute(query, variables), field_name, where=where)
        items = gql.dig(page, items_key, where=where, expect=list, optional=True) or []
        yield from (gql.expect_object(item, where) for item in items)
        cursor = page.get("after")
        if not cursor or not items:
            return
        if not isinstance(cursor, str) or cursor in cursors:
            raise RemoteError(
                f"Labelbox sent a page cursor {'already used' if cursor in cursors else 'that is not text'}; "
                "stopped instead of reading the same rows forever",
                where=where,
            )
        cursors.add(cursor)


def ensure_data_rows(
    client: LabelboxClient, dataset_id: str, rows: list[dict[str, Any]]
) -> DataRowsOutcome:
    """Make sure a data row exists for each row's `global_key`: existing keys are reused
    (never duplicated), missing ones are created in the dataset. A key created by
    someone else meanwhile (Labelbox: "Duplicate global key") is looked up again."""
    keys = [row["global_key"] for row in rows]
    outcome = DataRowsOutcome(ids=data_row_ids(client, keys))
    outcome.reused = [key for key in keys if key in outcome.ids]
    missing = [row for row in rows if row["global_key"] not in outcome.ids]
    if not missing:
        return outcome
    task = upsert_data_rows(client, dataset_id, missing)
    tasks.wait_for_task(client, str(task["id"]))
    for created in data_row_import_results(client, str(task["id"]), failed=False):
        key = gql.dig(created, "globalKey", where=f"task {task['id']}", expect=str)
        outcome.ids[key] = str(
            gql.dig(created, "id", where=f"task {task['id']}", expect=(str, int))
        )
        outcome.created.append(key)
    refused = list(data_row_import_results(client, str(task["id"]), failed=True))
    _settle_refused_rows(client, refused, outcome, task_id=str(task["id"]))
    return outcome


def _settle_refused_rows(
    client, refused: list[dict], outcome: DataRowsOutcome, *, task_id: str
) -> None:
    """Adopt refused rows whose key now exists (a duplicate); raise for the rest."""
    duplicates = [gql.failure_key(item) for item in refused if gql.is_duplicate_key(item)]
    if duplicates:
        again = data_row_ids(client, [key for key in duplicates if key])
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


def _found_ids(keys: list[str], result: dict[str, Any], where: str) -> dict[str, str]:
    """Global key -> data row id from a finished lookup job's result. `fetchedDataRows` is
    in input order, with an empty id where a key was not found."""
    fetched = (
        gql.dig(result, "data", "fetchedDataRows", where=where, expect=list, optional=True) or []
    )
    return {
        key: str(row["id"])
        for key, row in zip(keys, fetched, strict=False)
        if isinstance(row, dict) and isinstance(row.get("id"), str | int) and row["id"] != ""
    }


def json_chunks(items: list[dict], max_bytes: int) -> Iterator[bytes]:
    """`items` as JSON arrays of at most `max_bytes` each (one oversized item alone)."""
    chunk: list[bytes] = []
    size = 2
    for item in items:
        encoded = dump_json(item, where="a data row to create")
        if chunk and size + len(encoded) + 1 > max_bytes:
            yield b"[" + b",".join(chunk) + b"]"
            chunk, size = [], 2
        chunk.append(encoded)
        size += len(encoded) + 1
    if chunk:
        yield b"[" + b",".join(chunk) + b"]"
