"""Labelbox *batches*: sets of data rows queued into a project for labeling."""

from __future__ import annotations

import hashlib
from typing import Any

from bridge_labelbox import graphql as gql
from bridge_labelbox.client import LabelboxClient

SYNC_BATCH_LIMIT = 1_000
"""createBatchV2 is synchronous up to 1,000 rows; larger pushes are split into batches."""


def wait_data_rows_processed(client: LabelboxClient, global_keys: list[str]) -> None:
    """Block until Labelbox has processed the data rows (needed before batching)."""
    client._poll(
        lambda: client.execute(gql.DATA_ROWS_PROCESSED, {"globalKeys": global_keys}),
        lambda data: bool(
            gql.dig(
                data,
                "queryAllDataRowsHaveBeenProcessed",
                "allDataRowsHaveBeenProcessed",
                where="data row processing",
                expect=bool,
                optional=True,
            )
        ),
        "data row processing",
    )


def create_batch(
    client: LabelboxClient, project_id: str, name: str, global_keys: list[str], *, priority: int = 5
) -> dict[str, Any]:
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
    data = client.execute(gql.CREATE_BATCH, variables, mutation=True, experimental=True)
    return gql.dig(data, "project", "createBatchV2", where=f"project {project_id}")


def add_to_project(
    client, project_id: str, global_keys: list[str], *, prefix: str = "label-bridge"
) -> list[dict]:
    """Batch the data rows into the project, idempotently: each batch is named after a
    hash of its keys, and a batch that already exists (RESOURCE_CONFLICT) is kept."""
    wait_data_rows_processed(client, global_keys)
    outcomes = []
    for start in range(0, len(global_keys), SYNC_BATCH_LIMIT):
        chunk = global_keys[start : start + SYNC_BATCH_LIMIT]
        name = f"{prefix}-{keys_digest(chunk)}"
        try:
            result = create_batch(client, project_id, name, chunk)
        except gql.LabelboxConflict:
            result = {"batch": None, "failedDataRowIds": [], "existing": True}
        outcomes.append({"name": name, "rows": len(chunk), **result})
    return outcomes


def keys_digest(keys: list[str]) -> str:
    """A short stable name for a set of global keys (order-independent)."""
    digest = hashlib.sha1("\n".join(sorted(keys)).encode(), usedforsecurity=False)
    return digest.hexdigest()[:12]
