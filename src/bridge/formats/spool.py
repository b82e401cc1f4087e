"""Spooling an item stream, for writers that need the final ontology before their first item.

Readers may discover labels while streaming (`Dataset.project` is final only once the items
are through). A writer whose output starts with the whole ontology (a label config, a
project to create) says so with `Capabilities.needs_final_ontology`; `bridge.api` then
hands it `with_final_ontology(dataset)`: the stream is written to a temporary unified-JSONL
body (reader records where the stream offers them, see `ItemRecords`), after which the
project is final, and the items are read back from that file one at a time. Memory stays
flat whatever the item count; the file is gone once the stream is closed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import IO, Any

import orjson

from bridge.formats import Dataset, ItemRecords
from bridge.formats.jsonl import record_line
from bridge.io import spool_beside
from bridge.schema import Item


def with_final_ontology(dataset: Dataset, beside: str | os.PathLike[str] | None = None) -> Dataset:
    """`dataset` with its project final: unless it already is (`dataset.ontology_final`),
    its items are spooled to a temporary file (`bridge.io.spool_beside`: on the file
    system of the output `beside`, else in the system's temporary directory) and streamed
    back from it."""
    if dataset.ontology_final:
        return dataset
    spool = spool_beside(beside)
    try:
        items = dataset.items
        entries = items.records() if isinstance(items, ItemRecords) else items
        write = spool.write
        for entry in entries:
            write(record_line(entry))
        spool.flush()
    except BaseException:
        spool.close()
        raise
    return Dataset(
        project=dataset.project,
        items=ItemRecords(lambda validate: _read_back(spool, validate)),
        origin=dataset.origin,
        meta=dataset.meta,
        ontology_final=True,
    )


def _read_back(spool: IO[bytes], validate: bool) -> Iterator[Item | dict[str, Any]]:
    """The spooled items (validated `Item`s, or records), closing the spool at the end."""
    with spool:
        spool.seek(0)
        for line in spool:
            if validate:
                yield Item.model_validate_json(line)
                continue
            try:
                yield orjson.loads(line)
            except orjson.JSONDecodeError:  # an integer beyond 64 bits: pydantic reads it
                yield Item.model_validate_json(line)
