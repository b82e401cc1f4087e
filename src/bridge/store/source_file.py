"""Skipping the re-pull of an unchanged source file.

A pull of a file records the file's *identity* with the source: its size, `mtime_ns`,
the SHA-256 of its bytes and a *recipe* (how it was read: format, reader options, match
rule, label map). When the next pull of the same source finds the same size, bytes and
recipe, nothing is parsed: the source is reported unchanged from the counts of the last
pull. Hashing reads the file once (~0.5 s for 300 MB), far cheaper than parsing it; the
mtime is recorded for information only (a touched but identical file is still skipped).

The identity is stored in `bridge_meta` under `source-file|<source id>` (no schema
change), together with the source's pull number it belongs to: any other pull of that
source in between (a live one, another file under the same name) makes it stale.
Live sources (URLs) and directories always pull.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, select

from bridge.store import models
from bridge.store.engine import writing
from bridge.store.types import MatchRule, PullResult

CHUNK = 1 << 20


@dataclass(frozen=True)
class FileIdentity:
    """What identifies one state of a source file (and how it was read)."""

    size: int
    mtime_ns: int
    sha256: str
    recipe: str
    """SHA-256 of the recipe's JSON (reader options may hold secrets: never stored)."""


def identify(path: str | Path, recipe: Any) -> FileIdentity | None:
    """The identity of the regular file `path` read with `recipe` (any JSON-able value),
    or None when `path` is not a regular file (a URL, a directory)."""
    file = Path(path)
    try:
        if not file.is_file():
            return None
    except OSError:
        return None
    digest = hashlib.sha256()
    with file.open("rb") as handle:
        before = file.stat()
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return FileIdentity(
        size=before.st_size,
        mtime_ns=before.st_mtime_ns,
        sha256=digest.hexdigest(),
        recipe=hashlib.sha256(
            orjson.dumps(recipe, option=orjson.OPT_SORT_KEYS, default=str)
        ).hexdigest(),
    )


def _key(source_id: int) -> str:
    return f"source-file|{source_id}"


def _source(engine: Engine, name: str) -> Any:
    table = models.sources
    with engine.connect() as conn:
        return conn.execute(
            select(table.c.id, table.c.pulls, table.c.counts, table.c.match_rule).where(
                table.c.name == name
            )
        ).first()


def pulls_of(engine: Engine, name: str) -> int:
    """How many pulls the source `name` has had (0 when it has none yet)."""
    row = _source(engine, name)
    return 0 if row is None else int(row.pulls)


def unchanged_pull(
    engine: Engine, name: str, identity: FileIdentity | None, match: str | None = None
) -> PullResult | None:
    """A `PullResult` reporting everything unchanged when the source `name`'s last pull
    was of a file with `identity` (same size, bytes and recipe) and `match` (None: the
    source's rule) is its rule; None when it must be pulled."""
    if identity is None:
        return None
    row = _source(engine, name)
    if row is None or (match is not None and str(MatchRule.parse(match)) != row.match_rule):
        return None
    with engine.connect() as conn:
        stored = conn.execute(
            select(models.meta.c.value).where(models.meta.c.key == _key(int(row.id)))
        ).scalar()
    if stored is None:
        return None
    recorded = orjson.loads(stored)
    if (
        recorded.get("pulls") != row.pulls
        or recorded.get("size") != identity.size
        or recorded.get("sha256") != identity.sha256
        or recorded.get("recipe") != identity.recipe
    ):
        return None
    counts = orjson.loads(row.counts or "{}")
    result = PullResult(source=name, match=str(row.match_rule))
    for kind in ("items", "annotation_sets", "labels"):
        result.unchanged[kind] = int(counts.get(kind, 0))
    return result


def record(engine: Engine, name: str, identity: FileIdentity | None, pulls_before: int) -> None:
    """Record `identity` as what the pull that followed `pulls_before` pulls of the
    source `name` read (nothing when another pull came in between)."""
    if identity is None:
        return
    table, meta = models.sources, models.meta
    with writing(engine) as conn:
        row = conn.execute(select(table.c.id, table.c.pulls).where(table.c.name == name)).first()
        if row is None or int(row.pulls) != pulls_before + 1:
            return
        key = _key(int(row.id))
        value = orjson.dumps({**asdict(identity), "pulls": int(row.pulls)}).decode()
        conn.execute(meta.delete().where(meta.c.key == key))
        conn.execute(meta.insert().values(key=key, value=value))
