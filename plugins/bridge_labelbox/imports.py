"""Labelbox annotation imports: a *label import* (ground truth) or a *MAL import*
(model-assisted labeling: pre-annotations labelers review), uploaded as one NDJSON file and
polled until FINISHED or FAILED; the annotations it refused are read from its error file."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import IO, Any

from bridge.errors import NotFoundError, RemoteError
from bridge.io import dump_json
from bridge_labelbox import graphql as gql
from bridge_labelbox.client import LabelboxClient


@dataclass
class ImportOutcome:
    """A finished import: its record (id, name, state, file URLs) and refused rows."""

    record: dict[str, Any]
    row_errors: list[gql.ImportRowError] = field(default_factory=list)
    rows: int = 0


def start_import(
    client: LabelboxClient,
    project_id: str,
    name: str,
    ndjson: IO[bytes],
    size: int,
    *,
    mode: str = "label",
) -> dict[str, Any]:
    """Upload an NDJSON annotation file as a label import (`mode="label"`, ground
    truth) or a model-assisted labeling import (`mode="mal"`)."""
    if mode not in gql.IMPORT_KINDS:
        raise ValueError(f"unknown import mode {mode!r}")
    file_name = f"{project_id}__{name}.ndjson"
    variables = {"file": None, "contentLength": size, "projectId": project_id, "name": name}
    query = gql.create_import_mutation(mode)
    data = client.execute_multipart(query, variables, file_name, ndjson, "application/x-ndjson")
    record = gql.dig(data, gql.IMPORT_KINDS[mode][0], where=f"import {name!r}")
    gql.dig(record, "id", where=f"import {name!r}", expect=(str, int))
    return {**record, "name": name}


def get_import(
    client: LabelboxClient, project_id: str, name: str, mode: str = "label"
) -> dict[str, Any]:
    """The import's current record (state, file URLs) by project and import name."""
    data = client.execute(gql.get_import_query(mode), {"projectId": project_id, "name": name})
    where = f"project {project_id}"
    record = gql.dig(data, gql.IMPORT_KINDS[mode][1], where=where, optional=True)
    if not record:
        raise NotFoundError(f"Labelbox has no import {name!r}", where=where)
    return {**record, "name": name}


def wait_for_import(
    client, project_id: str, record: dict[str, Any], mode: str = "label"
) -> dict[str, Any]:
    """Poll the import until it leaves RUNNING; FAILED raises with its error file."""
    name = record["name"]
    if record.get("state") == "RUNNING":
        record = client._poll(
            lambda: get_import(client, project_id, name, mode),
            lambda current: current.get("state") != "RUNNING",
            f"Labelbox import {name!r}",
        )
    if record.get("state") == "FAILED":
        detail = ""
        if isinstance(record.get("errorFileUrl"), str):
            errors = import_row_errors(client, record["errorFileUrl"], {})
            detail = ": " + "; ".join(error.describe() for error in errors[:5])
        raise RemoteError(f"Labelbox import {name!r} FAILED{detail}", where=f"project {project_id}")
    return record


def import_row_errors(
    client: LabelboxClient, url: str, sent: dict[str, dict]
) -> list[gql.ImportRowError]:
    """The refused rows listed in an import's error (or status) file. `sent` maps each
    uploaded annotation's uuid to the `dataRow` it named, to fill in the global key."""
    return gql.parse_error_file(client._read_signed(url), sent)


def run_import(
    client: LabelboxClient,
    project_id: str,
    name: str,
    rows: Iterable[dict[str, Any]],
    *,
    mode: str = "label",
) -> ImportOutcome:
    """Spool `rows` to NDJSON (in a temporary file past 16 MB), upload, wait, and
    collect row-level errors with the data row each belongs to."""
    sent: dict[str, dict] = {}
    with tempfile.SpooledTemporaryFile(max_size=16_000_000) as spool:
        count = 0
        for row in rows:
            if row.get("uuid"):
                sent[row["uuid"]] = row.get("dataRow") or {}
            spool.write(dump_json(row, where=f"import row {count + 1}") + b"\n")
            count += 1
        size = spool.tell()
        spool.seek(0)
        record = start_import(client, project_id, name, spool, size, mode=mode)
    record = wait_for_import(client, project_id, record, mode)
    outcome = ImportOutcome(record, rows=count)
    if isinstance(record.get("errorFileUrl"), str):
        outcome.row_errors = import_row_errors(client, record["errorFileUrl"], sent)
    return outcome
