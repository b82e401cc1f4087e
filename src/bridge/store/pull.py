"""Pulling a dataset into the workspace: `pull(engine, dataset, source, rule)`.

The stream is read in batches (`BATCH_SIZE` items); each batch is one write transaction
(SQLite `BEGIN IMMEDIATE`, PostgreSQL with a transaction-level advisory lock), so two
processes pulling into one workspace interleave batch by batch and never see each other's
half-written state. Memory holds one batch, whatever the dataset's size.

For each item, its *match value* (`MatchRule`) finds the workspace item:

* none yet: a new workspace item (created), owned by this source (its media and data are
  the ones stored);
* one that another source brought: this source's sets join it (matched);
* one this source brought before: compared by content hash (updated / unchanged).

Annotation sets are recognised within (item, source) by their id in the source; each is
compared by `content_hash`. Unchanged rows are not written. What this source held before
and the stream no longer has is marked deleted (a tombstone, `Workspace.deleted`) and
counted as disappeared; a workspace item disappears when no source holds it any more.
The same source cannot be pulled by two processes at once (a lock named after it).
A pull that fails midway (a bad record, a lost connection) keeps the batches it wrote
and records no disappearance: pulling again completes it.

Items the rule gives no value for are recorded as the loss `unmatched` (and skipped);
a second item of the same source with a match value already seen in this pull as the
loss `duplicate-match` (skipped): the rule does not tell them apart.
"""

from __future__ import annotations

import gc
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from itertools import islice
from typing import Any

import orjson
from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Integer,
    MetaData,
    Table,
    bindparam,
    func,
    select,
    text,
)

from bridge.api import counted
from bridge.errors import ConfigError
from bridge.formats import Dataset
from bridge.schema import Item, Project
from bridge.store import models
from bridge.store.hashing import content_hash
from bridge.store.locking import advisory_key, hold
from bridge.store.types import MatchRule, PullResult, SourceSpec, strip_credentials

BATCH_SIZE = 1000
PULL_LOCK = advisory_key("workspace-pull")
SOURCE_LOCK_TIMEOUT = 3600.0

_temp = MetaData()
seen_items = Table(
    "bridge_seen_items", _temp, Column("id", Integer, primary_key=True), prefixes=["TEMPORARY"]
)
seen_sets = Table(
    "bridge_seen_sets", _temp, Column("id", Integer, primary_key=True), prefixes=["TEMPORARY"]
)


def dumps(data: Any) -> str:
    return orjson.dumps(data).decode()


def batched(items: Iterable[Item], size: int) -> Iterator[list[Item]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def update_by_id(
    conn: Connection,
    table: Table,
    rows: list[dict[str, Any]],
    columns: tuple[str, ...],
    **constants: Any,
) -> None:
    """UPDATE `table` row by row (one executemany): each row dict holds its `b_id` and the
    new values of `columns`; `constants` are set to the same value on every row."""
    values: dict[str, Any] = {name: bindparam(name) for name in columns}
    conn.execute(
        table.update().where(table.c.id == bindparam("b_id")).values(**values, **constants),
        rows,
    )


def insert_many(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """INSERT `rows` (dicts with the same keys) in one DB-API executemany: the statement
    is compiled once and the rows go to the driver as they are (SQLAlchemy's per-row
    parameter processing is most of a bulk insert's cost; the values here are plain
    str/int/float/bool that need no processing)."""
    if not rows:
        return
    compiled = table.insert().compile(dialect=conn.dialect, column_keys=list(rows[0]))
    if compiled.positional:
        order = compiled.positiontup or []
        params: list[Any] = [tuple(row[key] for key in order) for row in rows]
    else:
        params = rows
    conn.exec_driver_sql(str(compiled), params)


@contextmanager
def old_objects_frozen() -> Iterator[None]:
    """Hide every object that exists now (modules, SQLAlchemy's and pydantic's state) from
    the cyclic garbage collector while the block runs (`gc.freeze`): a pull allocates
    millions of short-lived objects, and each full collection would otherwise walk that
    whole heap again (a third of a pull's CPU time). Nothing is freed later than it would
    be: `gc.unfreeze` hands them back at the end. Left alone when the process has frozen
    objects of its own (e.g. a pre-fork server)."""
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _lock_batch(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PULL_LOCK})


def _source_row(conn: Connection, spec: SourceSpec, rule: MatchRule) -> int:
    table = models.sources
    row = conn.execute(select(table).where(table.c.name == spec.name)).first()
    values = {
        "tool": spec.tool,
        "instance": strip_credentials(spec.instance),
        "project": spec.project,
        "location": strip_credentials(spec.location),
    }
    if row is None:
        inserted = conn.execute(
            table.insert().returning(table.c.id),
            {**values, "name": spec.name, "match_rule": str(rule), "pulls": 0, "counts": "{}"},
        )
        return int(inserted.scalar_one())
    if row.match_rule != str(rule):
        raise ConfigError(
            f"source {spec.name!r} was pulled with --match {row.match_rule}, not {rule}",
            hint=f"pull it again with --match {row.match_rule}, or under another --name",
        )
    conn.execute(table.update().where(table.c.id == row.id).values(**values))
    return int(row.id)


class _Puller:
    def __init__(self, conn: Connection, source_id: int, rule: MatchRule, result: PullResult):
        self.conn = conn
        self.source_id = source_id
        self.rule = rule
        self.result = result

    def batch(self, batch: list[Item]) -> None:
        conn, sid, result = self.conn, self.source_id, self.result
        now = time.time()
        entries: list[tuple[Item, str]] = []
        in_batch: set[str] = set()
        for item in batch:
            value = self.rule.value(item)
            if value is None:
                result.losses.record(
                    "unmatched",
                    f"items the match rule {self.rule} gives no value for (not pulled)",
                    where=f"item {item.key}",
                )
                continue
            if value in in_batch:
                self._duplicate(item, value)
                continue
            in_batch.add(value)
            entries.append((item, value))
        if not entries:
            return
        it, its, st = models.items, models.item_sources, models.sets
        existing: dict[str, Any] = {
            row.match: row
            for row in conn.execute(
                select(it.c.id, it.c.match, it.c.owner_id, it.c.deleted).where(
                    it.c.match.in_([value for _, value in entries])
                )
            )
        }
        rows = [row.id for row in existing.values()]
        mine = {
            row.item_row: row
            for row in conn.execute(
                select(its.c.item_row, its.c.hash, its.c.deleted).where(
                    its.c.source_id == sid, its.c.item_row.in_(rows)
                )
            )
        }
        seen_before = set(
            conn.execute(select(seen_items.c.id).where(seen_items.c.id.in_(rows))).scalars()
        )
        old_sets: dict[int, dict[str, Any]] = {}
        for row in conn.execute(
            select(
                st.c.id, st.c.item_row, st.c.source_key, st.c.hash, st.c.deleted, st.c.position
            ).where(st.c.source_id == sid, st.c.item_row.in_(rows))
        ):
            old_sets.setdefault(row.item_row, {})[row.source_key] = row

        new_items: list[dict[str, Any]] = []
        new_links: list[dict[str, Any]] = []  # item_sources rows to insert
        item_updates: list[dict[str, Any]] = []
        link_updates: list[dict[str, Any]] = []
        pending: list[tuple[Item, str, int | None]] = []  # (item, match, row or None if new)
        for item, value in entries:
            data = item.model_dump(mode="json", exclude_defaults=True, exclude={"annotation_sets"})
            digest = content_hash(data)
            known = existing.get(value)
            if known is None:
                new_items.append(
                    {
                        "item_id": uuid.uuid4().hex,
                        "match": value,
                        "key": item.key,
                        "owner_id": sid,
                        "json": dumps(data),
                        "hash": digest,
                        "deleted": False,
                        "updated_at": now,
                    }
                )
                pending.append((item, value, None))
                result.created["items"] += 1
                continue
            if known.id in seen_before:
                self._duplicate(item, value)
                continue
            pending.append((item, value, known.id))
            held = mine.get(known.id)
            if held is None:
                new_links.append(
                    {
                        "item_row": known.id,
                        "source_id": sid,
                        "key": item.key,
                        "hash": digest,
                        "deleted": False,
                    }
                )
                if known.deleted:
                    item_updates.append(self._item_update(known.id, item, data, digest, now))
                    result.created["items"] += 1
                else:
                    result.matched["items"] += 1
            elif held.deleted or held.hash != digest:
                link_updates.append({"b_row": known.id, "key": item.key, "hash": digest})
                if known.deleted or known.owner_id == sid:
                    item_updates.append(self._item_update(known.id, item, data, digest, now))
                (result.created if held.deleted else result.updated)["items"] += 1
            else:
                result.unchanged["items"] += 1

        if new_items:
            # plain executemany (RETURNING would go row by row on SQLite), then the ids
            insert_many(conn, it, new_items)
            ids = {
                row.match: row.id
                for row in conn.execute(
                    select(it.c.id, it.c.match).where(
                        it.c.match.in_([row["match"] for row in new_items])
                    )
                )
            }
            new_links.extend(
                {
                    "item_row": ids[row["match"]],
                    "source_id": sid,
                    "key": row["key"],
                    "hash": row["hash"],
                    "deleted": False,
                }
                for row in new_items
            )
        else:
            ids = {}
        if new_links:
            insert_many(conn, its, new_links)
        if item_updates:
            update_by_id(
                conn, it, item_updates, ("key", "json", "hash", "owner_id", "deleted", "updated_at")
            )
        if link_updates:
            conn.execute(
                its.update()
                .where(its.c.item_row == bindparam("b_row"), its.c.source_id == sid)
                .values(key=bindparam("key"), hash=bindparam("hash"), deleted=False),
                link_updates,
            )
        seen_rows = [row if row is not None else ids[value] for _, value, row in pending]
        insert_many(conn, seen_items, [{"id": row} for row in seen_rows])
        self._sets(pending, seen_rows, old_sets, now)

    def _item_update(
        self, row_id: int, item: Item, data: dict[str, Any], digest: str, now: float
    ) -> dict[str, Any]:
        """The parameters of the `items` row update that makes this source its owner
        with `item`'s content (`data`, its hash `digest`), not deleted."""
        return {
            "b_id": row_id,
            "key": item.key,
            "json": dumps(data),
            "hash": digest,
            "owner_id": self.source_id,
            "deleted": False,
            "updated_at": now,
        }

    def _duplicate(self, item: Item, value: str) -> None:
        self.result.losses.record(
            "duplicate-match",
            f"items of this source with a match value already pulled (rule {self.rule}; "
            "only the first is kept)",
            where=f"item {item.key} ({value})",
        )

    def _sets(
        self,
        pending: list[tuple[Item, str, int | None]],
        seen_rows: list[int],
        old_sets: dict[int, dict[str, Any]],
        now: float,
    ) -> None:
        conn, sid, result, st = self.conn, self.source_id, self.result, models.sets
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        moves: list[dict[str, Any]] = []
        seen: list[dict[str, int]] = []
        for (item, _value, _row), row_id in zip(pending, seen_rows, strict=True):
            before = old_sets.get(row_id, {})
            keys: set[str] = set()
            for position, aset in enumerate(item.annotation_sets):
                key = aset.id
                number = 1
                while key in keys:
                    number += 1
                    key = f"{aset.id}#{number}"
                keys.add(key)
                data = aset.model_dump(mode="json", exclude_defaults=True)
                digest = content_hash(data)
                old = before.get(key)
                if old is None:
                    inserts.append(
                        {
                            "set_id": uuid.uuid4().hex,
                            "item_row": row_id,
                            "source_id": sid,
                            "source_key": key,
                            "position": position,
                            "json": dumps(data),
                            "hash": digest,
                            "deleted": False,
                            "updated_at": now,
                        }
                    )
                    result.created["annotation_sets"] += 1
                    continue
                seen.append({"id": old.id})
                if old.deleted or old.hash != digest:
                    updates.append(
                        {
                            "b_id": old.id,
                            "position": position,
                            "json": dumps(data),
                            "hash": digest,
                            "updated_at": now,
                        }
                    )
                    (result.created if old.deleted else result.updated)["annotation_sets"] += 1
                else:
                    result.unchanged["annotation_sets"] += 1
                    if old.position != position:
                        moves.append({"b_id": old.id, "position": position})
        if inserts:
            insert_many(conn, st, inserts)
            new_ids = conn.execute(
                select(st.c.id).where(st.c.set_id.in_([row["set_id"] for row in inserts]))
            ).scalars()
            seen.extend({"id": row_id} for row_id in new_ids)
        if updates:
            update_by_id(
                conn, st, updates, ("position", "json", "hash", "updated_at"), deleted=False
            )
        if moves:
            update_by_id(conn, st, moves, ("position",))
        if seen:
            insert_many(conn, seen_sets, seen)

    def finish(self, project: Project) -> None:
        """Tombstones for what this source no longer holds; the source's project; counts."""
        conn, sid, result, now = self.conn, self.source_id, self.result, time.time()
        it, its, st = models.items, models.item_sources, models.sets
        gone_sets = conn.execute(
            st.update()
            .where(
                st.c.source_id == sid,
                st.c.deleted.is_(False),
                st.c.id.not_in(select(seen_sets.c.id)),
            )
            .values(deleted=True, updated_at=now)
        )
        result.disappeared["annotation_sets"] += gone_sets.rowcount
        gone_items = conn.execute(
            its.update()
            .where(
                its.c.source_id == sid,
                its.c.deleted.is_(False),
                its.c.item_row.not_in(select(seen_items.c.id)),
            )
            .values(deleted=True)
        )
        result.disappeared["items"] += gone_items.rowcount
        if gone_items.rowcount:
            held = select(its.c.item_row).where(its.c.deleted.is_(False))
            conn.execute(
                it.update()
                .where(it.c.deleted.is_(False), it.c.id.not_in(held))
                .values(deleted=True, updated_at=now)
            )
        self._project(project, now)
        counts = {
            "items": conn.execute(
                select(func.count()).where(its.c.source_id == sid, its.c.deleted.is_(False))
            ).scalar_one(),
            "annotation_sets": conn.execute(
                select(func.count()).where(st.c.source_id == sid, st.c.deleted.is_(False))
            ).scalar_one(),
            "disappeared_items": conn.execute(
                select(func.count()).where(its.c.source_id == sid, its.c.deleted.is_(True))
            ).scalar_one(),
            "disappeared_annotation_sets": conn.execute(
                select(func.count()).where(st.c.source_id == sid, st.c.deleted.is_(True))
            ).scalar_one(),
            "labels": len(project.ontology.labels),
        }
        conn.execute(
            models.sources.update()
            .where(models.sources.c.id == sid)
            .values(last_pull=now, pulls=models.sources.c.pulls + 1, counts=dumps(counts))
        )

    def _project(self, project: Project, now: float) -> None:
        conn, sid, result, table = self.conn, self.source_id, self.result, models.projects
        data = project.model_dump(mode="json", exclude_defaults=True)
        digest = content_hash(data)
        old = conn.execute(
            select(table.c.json, table.c.hash).where(table.c.source_id == sid)
        ).first()
        before: dict[str, str] = {}
        if old is not None:
            old_project = Project.model_validate(orjson.loads(old.json))
            before = {label.name: content_hash(label) for label in old_project.ontology.labels}
        after = {label.name: content_hash(label) for label in project.ontology.labels}
        for name, label_hash in after.items():
            if name not in before:
                result.created["labels"] += 1
            elif before[name] != label_hash:
                result.updated["labels"] += 1
            else:
                result.unchanged["labels"] += 1
        result.disappeared["labels"] += len(set(before) - set(after))
        if old is None:
            conn.execute(
                table.insert().values(source_id=sid, json=dumps(data), hash=digest, updated_at=now)
            )
        elif old.hash != digest:
            conn.execute(
                table.update()
                .where(table.c.source_id == sid)
                .values(json=dumps(data), hash=digest, updated_at=now)
            )


def pull(
    engine: Engine,
    dataset: Dataset,
    source: SourceSpec,
    match: MatchRule | str | None = None,
    *,
    on_item: Callable[[int], None] | None = None,
    batch_size: int = BATCH_SIZE,
) -> PullResult:
    """Pull `dataset` into the workspace as `source` (see the module docstring). With
    `match` None, a source pulled before keeps its rule; a new one is matched by key."""
    started = time.monotonic()
    with (
        hold(engine, f"source|{source.name}", SOURCE_LOCK_TIMEOUT),
        engine.connect() as conn,
        old_objects_frozen(),
    ):
        conn = conn.execution_options(bridge_write=True)
        with conn.begin():
            _lock_batch(conn)
            if match is None:
                table = models.sources
                match = conn.execute(
                    select(table.c.match_rule).where(table.c.name == source.name)
                ).scalar()
            rule = MatchRule.parse(match)
            result = PullResult(source=source.name, match=str(rule))
            source_id = _source_row(conn, source, rule)
            for table in (seen_items, seen_sets):
                table.create(conn, checkfirst=True)
                conn.execute(table.delete())
        puller = _Puller(conn, source_id, rule, result)
        items: Iterable[Item] = dataset.items
        if on_item is not None:
            items = counted(items, on_item)
        for batch in batched(items, batch_size):
            with conn.begin():
                _lock_batch(conn)
                puller.batch(batch)
        with conn.begin():
            _lock_batch(conn)
            puller.finish(dataset.project)
        with conn.begin():
            for table in (seen_items, seen_sets):
                table.drop(conn, checkfirst=True)
    result.seconds = time.monotonic() - started
    return result
