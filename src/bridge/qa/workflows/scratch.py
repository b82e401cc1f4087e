"""A temporary SQLite database for what a QA pass must remember about every item without
holding it in memory: the items of several sources waiting to be joined by key, the
fingerprints of items for the duplicate check, the units of the review sample, and the
items written into subset files at the end.

The database lives in a temporary directory removed on `close()` (a context manager);
it grows on disk, not in memory (SQLite's page cache is capped at a few MB).
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from bridge.schema import Item

BATCH = 2000
"""Rows buffered in memory before an insert (one transaction per batch)."""


class Scratch:
    """The run's temporary SQLite database with a buffered `insert` per table."""

    def __init__(self) -> None:
        self._directory = Path(tempfile.mkdtemp(prefix="bridge-qa-"))
        self.db = sqlite3.connect(self._directory / "scratch.db", isolation_level=None)
        self.db.execute("PRAGMA journal_mode=OFF")
        self.db.execute("PRAGMA synchronous=OFF")
        self.db.execute("PRAGMA cache_size=-8000")  # 8 MB
        self.db.execute("PRAGMA temp_store=FILE")
        self._pending: dict[str, tuple[str, list[tuple[Any, ...]]]] = {}

    def table(self, name: str, columns: str, *, index: str | None = None) -> None:
        """Create table `name` (`columns` as in CREATE TABLE), with an index on `index`."""
        self.db.execute(f"CREATE TABLE IF NOT EXISTS {name} ({columns})")
        if index:
            self.db.execute(f"CREATE INDEX IF NOT EXISTS {name}_idx ON {name} ({index})")
        width = len(columns.split(","))
        self._pending[name] = (f"INSERT INTO {name} VALUES ({','.join('?' * width)})", [])

    def insert(self, name: str, row: tuple[Any, ...]) -> None:
        statement, rows = self._pending[name]
        rows.append(row)
        if len(rows) >= BATCH:
            self._flush(name)

    def _flush(self, name: str) -> None:
        statement, rows = self._pending[name]
        if rows:
            self.db.execute("BEGIN")
            self.db.executemany(statement, rows)
            self.db.execute("COMMIT")
            rows.clear()

    def query(self, sql: str, parameters: Iterable[Any] = ()) -> Iterator[tuple[Any, ...]]:
        """Rows of `sql`, after every buffered insert has been written."""
        for name in self._pending:
            self._flush(name)
        yield from self.db.execute(sql, tuple(parameters))

    def close(self) -> None:
        self.db.close()
        shutil.rmtree(self._directory, ignore_errors=True)

    def __enter__(self) -> Scratch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def item_blob(item: Item) -> bytes:
    return item.model_dump_json(exclude_defaults=True).encode()


def blob_item(blob: bytes) -> Item:
    return Item.model_validate_json(blob)
