"""The workspace read as a source, like any file or live project.

* The **"workspace" file format** sniffs a SQLite workspace (the SQLite header and the
  workspace's `bridge_meta` table) and reads it; it never writes. So `bridge convert
  bridge.db out.json`, `bridge inspect bridge.db`, `bridge qa bridge.db` and `bridge export
  bridge.db coco -o DIR` work on the workspace.
* The **`postgresql://` connector** reads a PostgreSQL workspace the same way (a live
  source, read only: writing to it is a `ConfigError` pointing to `bridge pull` and
  `bridge push`).

What is read: `Dataset(project=<the merged project of every source>, items=<the workspace's
items, streamed>, ontology_final=True)`; items and sets that disappeared from their source
are left out. Option `sources` (`-O sources=a,b`, or a list) keeps only the items those
workspace sources hold, with only their annotation sets.

Opening never creates, upgrades or writes anything (`open_workspace(read_only=True)`): a
SQLite file is opened `mode=ro`, so its bytes stay as they were; a schema newer than this
label-bridge reads is the usual `WorkspaceError`.

Each annotation set records the workspace source it was pulled from in its
`extra["workspace_source"]` (`bridge.select.WORKSPACE_SOURCE`), which `--sets source=NAME`
reads and which survives writing to unified JSONL. SQLAlchemy is imported only when a
workspace is actually read.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, get_args

from bridge.errors import ConfigError
from bridge.formats import Capabilities, Connector, Dataset, FileFormat
from bridge.hookspecs import hookimpl
from bridge.losses import LossReport
from bridge.schema import Item, MediaKind, RegionKind
from bridge.select import WORKSPACE_SOURCE

FORMAT_NAME = "workspace"
SQLITE_HEADER = b"SQLite format 3\x00"
META_TABLE = "bridge_meta"
ALL_REGIONS: list[RegionKind] = list(get_args(RegionKind))
ALL_MEDIA: list[MediaKind] = list(get_args(MediaKind))
CAPABILITIES = Capabilities(
    media=ALL_MEDIA, regions=ALL_REGIONS, tracks=True, relations=True, write=False
)


def source_names(value: Any) -> list[str] | None:
    """The `sources` option as a list of workspace source names (None: every source)."""
    if value is None:
        return None
    if isinstance(value, str):
        names = [name.strip() for name in value.split(",") if name.strip()]
    elif isinstance(value, list | tuple) and all(isinstance(name, str) for name in value):
        names = [name.strip() for name in value if name.strip()]
    else:
        raise ConfigError(
            f"option sources={value!r} is not a list of source names",
            hint="e.g. -O sources=vendor-a,vendor-b (see `bridge workspace` for the names)",
        )
    if not names:
        raise ConfigError("option sources is empty", hint="name at least one workspace source")
    return names


def is_workspace_file(path: Path, head: bytes) -> bool:
    """True for a SQLite database holding the workspace's meta table (read `mode=ro`)."""
    if not head.startswith(SQLITE_HEADER) or not path.is_file():
        return False
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return False
    try:
        row = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (META_TABLE,)
        ).fetchone()
        return row is not None
    except sqlite3.DatabaseError:
        return False
    finally:
        conn.close()


def read_workspace(location: str, sources: Any = None) -> Dataset:
    """The workspace at `location` (a path or a `postgresql://` URL) as a `Dataset`
    (see the module)."""
    from bridge.store.workspace import open_workspace

    names = source_names(sources)
    workspace = open_workspace(location, read_only=True)
    try:
        project = workspace.project()
        workspace.sources_named(names)  # an unknown name fails here, before streaming
    except BaseException:
        workspace.close()
        raise

    def items() -> Iterator[Item]:
        try:
            for stored in workspace.iter_items(names):
                for aset, kept in zip(stored.item.annotation_sets, stored.sets, strict=True):
                    aset.extra[WORKSPACE_SOURCE] = kept.source
                yield stored.item
        finally:
            workspace.close()

    return Dataset(
        project=project,
        items=items(),
        origin=workspace.location,
        meta={"format": FORMAT_NAME, "workspace_sources": names},
        ontology_final=True,
    )


class WorkspaceFile(FileFormat):
    name = FORMAT_NAME
    description = (
        "a label-bridge workspace (SQLite), read only: every source's items and annotation "
        "sets (-O sources=a,b for some)"
    )
    capabilities = CAPABILITIES

    def sniff(self, path: Path, head: bytes) -> bool:
        return is_workspace_file(path, head)

    def read(self, path: Path, losses: LossReport, **options: Any) -> Dataset:
        with path.open("rb") as handle:
            head = handle.read(len(SQLITE_HEADER))
        if not is_workspace_file(path, head):
            raise ConfigError(
                "not a label-bridge workspace (no SQLite database with a bridge_meta table)",
                where=str(path),
                hint="create one with `bridge pull SOURCE --workspace PATH`, or name another "
                "format with --from",
            )
        return read_workspace(str(path), options.get("sources"))


class PostgresWorkspace(Connector):
    """A workspace kept in PostgreSQL, read as a live source (`postgresql://...`)."""

    name = "postgresql"
    description = "a label-bridge workspace in PostgreSQL, read only (-O sources=a,b for some)"
    capabilities = Capabilities(**{**CAPABILITIES.model_dump(), "live": True})

    def __init__(self, url: str):
        self.url = url

    @classmethod
    def from_url(cls, url: str, **options: Any) -> PostgresWorkspace:
        return cls(url)

    def read(self, losses: LossReport, **options: Any) -> Dataset:
        return read_workspace(self.url, options.get("sources"))

    def write(self, dataset: Dataset, losses: LossReport, **options: Any) -> dict[str, Any]:
        raise ConfigError(
            "a postgresql:// workspace is a source here: it is read, never written",
            hint="to bring data into the workspace use `bridge pull SOURCE --workspace URL`; "
            "to send the workspace's data to a labeling tool use `bridge push`",
        )


@hookimpl
def register_formats(register: Callable[[FileFormat], Any]) -> None:
    register(WorkspaceFile())


@hookimpl
def register_connectors(register: Callable[[type[Connector]], Any]) -> None:
    register(PostgresWorkspace)
