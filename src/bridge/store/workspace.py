"""`Workspace`: the one object the pull, push and sync code talk to.

A workspace holds what every source gave (projects, items, annotation sets, each with a
content hash and a tombstone flag) and, per target, the *links*: which remote object
each workspace element is there, with the hash last sent or seen. `open_workspace`
opens (creating or upgrading) one; see `bridge.store.engine` for where it lives.

Elements have stable ids (uuid4 hex): `item_id` for items, `set_id` for annotation sets
and `PROJECT_ID` for the workspace's one merged project. Those are the `element_id`s of
links and tombstones.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from types import TracebackType
from typing import Any

import orjson
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite

from bridge.errors import ConfigError
from bridge.formats import Dataset
from bridge.schema import (
    ClassificationSpec,
    Item,
    LabelClass,
    OptionSpec,
    Project,
    RelationType,
)
from bridge.store import models
from bridge.store.engine import (
    WORKSPACE_ID_KEY,
    display,
    open_engine,
    open_engine_read_only,
    resolve_location,
    writing,
)
from bridge.store.locking import hold
from bridge.store.pull import BATCH_SIZE, dumps, pull
from bridge.store.types import (
    KINDS,
    Link,
    MatchRule,
    PullResult,
    SourceSpec,
    StoredItem,
    StoredSet,
    TargetRef,
)

PROJECT_ID = "project"
"""The element id of the workspace's merged project (links of kind "project")."""
LOCK_TIMEOUT = 30.0
ITER_BATCH = 500
DELETE_CHUNK = 500


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ConfigError(f"unknown element kind {kind!r}", hint=f"use one of {', '.join(KINDS)}")


def _target(target: TargetRef | str) -> str:
    return target if isinstance(target, str) else target.key


class Workspace:
    """An open workspace (a context manager; `close()` releases its connections)."""

    def __init__(self, engine: Engine, location: str):
        self.engine = engine
        self.location = display(location)
        """Where the workspace is, fit to print (no password)."""
        self._workspace_id: str | None = None

    # ------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def dialect(self) -> str:
        """ "sqlite" or "postgresql"."""
        return str(self.engine.dialect.name)

    @property
    def workspace_id(self) -> str:
        """The workspace's stable identity (`bridge_meta.workspace_id`, a uuid4 hex written
        when the workspace was created): the same for the workspace's whole life, whatever
        is pulled into it. A workspace made before the key existed gets one on first use
        (insert-if-absent, so two processes agree on one)."""
        if self._workspace_id is None:
            meta = models.meta
            query = select(meta.c.value).where(meta.c.key == WORKSPACE_ID_KEY)
            with self.engine.connect() as conn:
                found = conn.execute(query).scalar()
            if found is None:
                insert = (postgresql.insert if self.dialect == "postgresql" else sqlite.insert)(
                    meta
                )
                with writing(self.engine) as conn:
                    conn.execute(
                        insert.values(
                            key=WORKSPACE_ID_KEY, value=uuid.uuid4().hex
                        ).on_conflict_do_nothing(index_elements=[meta.c.key])
                    )
                    found = conn.execute(query).scalar()
            self._workspace_id = str(found)
        return self._workspace_id

    # ----------------------------------------------------------------------- pull
    def pull(
        self,
        dataset: Dataset,
        source: SourceSpec,
        match: MatchRule | str | None = None,
        *,
        on_item: Callable[[int], None] | None = None,
        batch_size: int = BATCH_SIZE,
    ) -> PullResult:
        """Pull `dataset` in as `source` (see `bridge.store.pull`); `on_item(n)` is called
        after the n-th item has been read (for a progress display)."""
        return pull(self.engine, dataset, source, match, on_item=on_item, batch_size=batch_size)

    def _source_ids(self, names: Sequence[str] | None) -> dict[int, str]:
        table = models.sources
        with self.engine.connect() as conn:
            rows = conn.execute(select(table.c.id, table.c.name).order_by(table.c.id)).all()
        found = {int(row.id): str(row.name) for row in rows}
        if names is None:
            return found
        unknown = set(names) - set(found.values())
        if unknown:
            raise ConfigError(
                f"no source named {', '.join(sorted(unknown))} in the workspace",
                hint="the sources are: " + (", ".join(found.values()) or "(none yet: bridge pull)"),
            )
        return {sid: name for sid, name in found.items() if name in names}

    def sources_named(self, names: Sequence[str] | None) -> list[str]:
        """The names of the workspace sources `names` (all when None); an unknown name is
        a `ConfigError` listing the known ones."""
        return list(self._source_ids(names).values())

    def sources(self) -> list[dict[str, Any]]:
        """Every source: name, tool, instance, project, location, match rule, last pull
        (epoch seconds), number of pulls and counts."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(models.sources).order_by(models.sources.c.id)).all()
        return [
            {
                "name": row.name,
                "tool": row.tool,
                "instance": row.instance,
                "project": row.project,
                "location": row.location,
                "match": row.match_rule,
                "last_pull": row.last_pull,
                "pulls": row.pulls,
                "counts": orjson.loads(row.counts),
            }
            for row in rows
        ]

    def project(self) -> Project:
        """The merged project of every source, in the order they were first pulled: the
        first source's name and media kind; labels, classifications and relation types
        united by name (a label's kinds and attributes, a question's options, united too)."""
        table = models.projects
        with self.engine.connect() as conn:
            rows = conn.execute(select(table.c.json).order_by(table.c.source_id)).scalars().all()
        projects = [Project.model_validate(orjson.loads(row)) for row in rows]
        return merge_projects(projects)

    def iter_items(
        self, sources: list[str] | None = None, *, include_deleted: bool = False
    ) -> Iterator[StoredItem]:
        """Every workspace item, in the order they were created, streamed batch by batch,
        with the annotation sets of `sources` (all when None) ordered by source then
        position. With `sources`, only items one of them holds. Disappeared items and
        sets are left out unless `include_deleted`."""
        names = self._source_ids(sources)
        it, its, st = models.items, models.item_sources, models.sets
        last = 0
        while True:
            with self.engine.connect() as conn:
                query = (
                    select(it.c.id, it.c.item_id, it.c.match, it.c.json, it.c.hash)
                    .where(it.c.id > last)
                    .order_by(it.c.id)
                    .limit(ITER_BATCH)
                )
                if not include_deleted:
                    query = query.where(it.c.deleted.is_(False))
                if sources is not None:
                    held = select(its.c.item_row).where(its.c.source_id.in_(list(names)))
                    if not include_deleted:
                        held = held.where(its.c.deleted.is_(False))
                    query = query.where(it.c.id.in_(held))
                rows = conn.execute(query).all()
                if not rows:
                    return
                ids = [row.id for row in rows]
                set_query = (
                    select(
                        st.c.item_row,
                        st.c.set_id,
                        st.c.source_id,
                        st.c.json,
                        st.c.hash,
                        st.c.deleted,
                    )
                    .where(st.c.item_row.in_(ids), st.c.source_id.in_(list(names)))
                    .order_by(st.c.item_row, st.c.source_id, st.c.position)
                )
                if not include_deleted:
                    set_query = set_query.where(st.c.deleted.is_(False))
                sets_of: dict[int, list[Any]] = {}
                for set_row in conn.execute(set_query):
                    sets_of.setdefault(set_row.item_row, []).append(set_row)
                holders: dict[int, list[str]] = {}
                holder_query = (
                    select(its.c.item_row, its.c.source_id)
                    .where(its.c.item_row.in_(ids), its.c.deleted.is_(False))
                    .order_by(its.c.item_row, its.c.source_id)
                )
                for holder in conn.execute(holder_query):
                    if holder.source_id in names:
                        holders.setdefault(holder.item_row, []).append(names[holder.source_id])
            for row in rows:
                data = orjson.loads(row.json)
                item_sets = sets_of.get(row.id, [])
                data["annotation_sets"] = [orjson.loads(s.json) for s in item_sets]
                yield StoredItem(
                    item_id=row.item_id,
                    item=Item.model_validate(data),
                    sets=[
                        StoredSet(s.set_id, names[s.source_id], s.hash, bool(s.deleted))
                        for s in item_sets
                    ],
                    match=row.match,
                    hash=row.hash,
                    sources=holders.get(row.id, []),
                )
            last = ids[-1]

    def deleted(self, kind: str) -> Iterator[str]:
        """Element ids of `kind` that disappeared from their source(s): items no source
        holds any more, annotation sets gone from the source that gave them."""
        _check_kind(kind)
        if kind == "project":
            return
        table = models.items if kind == "item" else models.sets
        id_column = table.c.item_id if kind == "item" else table.c.set_id
        last = 0
        while True:
            with self.engine.connect() as conn:
                rows = conn.execute(
                    select(table.c.id, id_column)
                    .where(table.c.deleted.is_(True), table.c.id > last)
                    .order_by(table.c.id)
                    .limit(ITER_BATCH * 10)
                ).all()
            if not rows:
                return
            for row in rows:
                yield str(row[1])
            last = rows[-1][0]

    def counts(self) -> dict[str, int]:
        """How many items and annotation sets the workspace holds (and tombstones)."""
        it, st = models.items, models.sets
        with self.engine.connect() as conn:

            def count(table: Any, deleted: bool) -> int:
                return int(
                    conn.execute(
                        select(func.count()).select_from(table).where(table.c.deleted.is_(deleted))
                    ).scalar_one()
                )

            return {
                "items": count(it, False),
                "annotation_sets": count(st, False),
                "disappeared_items": count(it, True),
                "disappeared_annotation_sets": count(st, True),
            }

    # ----------------------------------------------------------------------- links
    def links(self, target: TargetRef | str, kind: str) -> dict[str, Link]:
        """Every link of `kind` on `target`: element id -> `Link`."""
        _check_kind(kind)
        table = models.links
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(table.c.element_id, table.c.remote_id, table.c.hash, table.c.extra).where(
                    table.c.target == _target(target), table.c.kind == kind
                )
            )
            return {
                row.element_id: Link(
                    row.element_id, kind, row.remote_id, row.hash, orjson.loads(row.extra)
                )
                for row in rows
            }

    def record_links(self, target: TargetRef | str, kind: str, links: list[Link]) -> None:
        """Record (insert or replace) `links` of `kind` on `target`, in one transaction."""
        _check_kind(kind)
        if not links:
            return
        table = models.links
        now = time.time()
        key = _target(target)
        latest: dict[str, Link] = {link.element_id: link for link in links}  # last one wins
        rows = [
            {
                "target": key,
                "kind": kind,
                "element_id": link.element_id,
                "remote_id": str(link.remote_id),
                "hash": link.hash,
                "extra": dumps(link.extra),
                "updated_at": now,
            }
            for link in latest.values()
        ]
        insert = (postgresql.insert if self.dialect == "postgresql" else sqlite.insert)(table)
        upsert = insert.on_conflict_do_update(
            index_elements=[table.c.target, table.c.kind, table.c.element_id],
            set_={
                "remote_id": insert.excluded.remote_id,
                "hash": insert.excluded.hash,
                "extra": insert.excluded.extra,
                "updated_at": insert.excluded.updated_at,
            },
        )
        with writing(self.engine) as conn:
            conn.execute(upsert, rows)

    def forget_links(self, target: TargetRef | str, kind: str, element_ids: list[str]) -> None:
        """Remove the links of `element_ids` (of `kind`) on `target`, in one transaction."""
        _check_kind(kind)
        table = models.links
        key = _target(target)
        with writing(self.engine) as conn:
            for start in range(0, len(element_ids), DELETE_CHUNK):
                chunk = element_ids[start : start + DELETE_CHUNK]
                conn.execute(
                    delete(table).where(
                        table.c.target == key, table.c.kind == kind, table.c.element_id.in_(chunk)
                    )
                )

    def lock(
        self, target: TargetRef | str, timeout: float = LOCK_TIMEOUT
    ) -> AbstractContextManager[None]:
        """A cross-process lock on `target`: a second holder waits up to `timeout`
        seconds, then `WorkspaceBusy` names the holder (`bridge.store.locking`)."""
        return hold(self.engine, f"target|{_target(target)}", timeout)

    # ----------------------------------------------------------------------- syncs
    def record_sync(self, target: TargetRef, summary: dict[str, Any]) -> None:
        """Remember that a push/sync to `target` finished, with its `summary`."""
        with writing(self.engine) as conn:
            conn.execute(
                models.syncs.insert().values(
                    target=target.key,
                    tool=target.tool,
                    instance=target.instance,
                    project=target.project,
                    at=time.time(),
                    summary=dumps(summary),
                )
            )

    def syncs(self, target: TargetRef | None = None) -> list[dict[str, Any]]:
        """Recorded syncs (of `target`, or all), oldest first: tool, instance, project,
        `at` (epoch seconds) and the summary."""
        table = models.syncs
        query = select(table).order_by(table.c.id)
        if target is not None:
            query = query.where(table.c.target == target.key)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            {
                "tool": row.tool,
                "instance": row.instance,
                "project": row.project,
                "at": row.at,
                "summary": orjson.loads(row.summary),
            }
            for row in rows
        ]

    def summary(self) -> dict[str, Any]:
        """What the workspace holds: location, counts, sources (with their last pull and
        counts) and targets (last sync, links per kind)."""
        table, syncs = models.links, models.syncs
        # each target's last sync only (not every summary ever recorded), targets in the
        # order of their first sync
        per_target = (
            select(
                syncs.c.target,
                func.min(syncs.c.id).label("first"),
                func.max(syncs.c.id).label("last"),
            )
            .group_by(syncs.c.target)
            .subquery()
        )
        with self.engine.connect() as conn:
            link_counts = conn.execute(
                select(table.c.target, table.c.kind, func.count())
                .group_by(table.c.target, table.c.kind)
                .order_by(table.c.target)
            ).all()
            meta = {
                str(row.key): str(row.value)
                for row in conn.execute(select(models.meta.c.key, models.meta.c.value))
            }
            last_syncs = conn.execute(
                select(syncs)
                .join(per_target, syncs.c.id == per_target.c.last)
                .order_by(per_target.c.first)
            ).all()
        targets: dict[str, dict[str, Any]] = {}
        for sync in last_syncs:
            ref = TargetRef(sync.tool, sync.instance, sync.project)
            targets[ref.key] = {
                "tool": ref.tool,
                "instance": ref.instance,
                "project": ref.project,
                "last_sync": sync.at,
                "last_summary": orjson.loads(sync.summary),
                "links": {},
            }
        for key, kind, count in link_counts:
            tool, instance, project = (key.split("|", 2) + ["", ""])[:3]
            entry = targets.setdefault(
                key,
                {
                    "tool": tool,
                    "instance": instance,
                    "project": project or None,
                    "last_sync": None,
                    "last_summary": None,
                    "links": {},
                },
            )
            entry["links"][kind] = count
        return {
            "workspace": self.location,
            "schema_version": int(meta.get("schema_version", models.SCHEMA_VERSION)),
            "created_by": meta.get("created_by"),
            **self.counts(),
            "sources": self.sources(),
            "targets": list(targets.values()),
        }


def _merge_options(mine: list[OptionSpec], theirs: list[OptionSpec]) -> None:
    known = {option.value for option in mine}
    mine.extend(option for option in theirs if option.value not in known)


def _merge_questions(mine: list[ClassificationSpec], theirs: list[ClassificationSpec]) -> None:
    by_name = {spec.name: spec for spec in mine}
    for spec in theirs:
        if spec.name in by_name:
            _merge_options(by_name[spec.name].options, spec.options)
        else:
            copy = spec.model_copy(deep=True)
            mine.append(copy)
            by_name[spec.name] = copy


def merge_projects(projects: list[Project]) -> Project:
    """One project uniting `projects` (see `Workspace.project`)."""
    if not projects:
        return Project(name="workspace")
    merged = projects[0].model_copy(deep=True)
    labels: dict[str, LabelClass] = {label.name: label for label in merged.ontology.labels}
    relations: dict[str, RelationType] = {rel.name: rel for rel in merged.ontology.relations}
    for other in projects[1:]:
        if merged.media_kind is None:
            merged.media_kind = other.media_kind
        for label in other.ontology.labels:
            if label.name not in labels:
                copy = label.model_copy(deep=True)
                merged.ontology.labels.append(copy)
                labels[label.name] = copy
                continue
            mine = labels[label.name]
            mine.kinds.extend(kind for kind in label.kinds if kind not in mine.kinds)
            _merge_questions(mine.attributes, label.attributes)
        _merge_questions(merged.ontology.classifications, other.ontology.classifications)
        for rel in other.ontology.relations:
            if rel.name not in relations:
                relations[rel.name] = rel.model_copy(deep=True)
                merged.ontology.relations.append(relations[rel.name])
    return merged


def open_workspace(location: str | Path | None = None, *, read_only: bool = False) -> Workspace:
    """Open the workspace at `location` (None: `$BRIDGE_WORKSPACE` or ./bridge.db; a
    `postgresql://` URL; a path: SQLite), creating or upgrading its schema. A file that
    is not a workspace, a newer schema, an unreachable server: `WorkspaceError`.
    `read_only`: open an existing, current workspace for reading only (nothing created,
    upgraded or written; `bridge.store.engine.open_engine_read_only`)."""
    where = resolve_location(location)
    if read_only:
        return Workspace(open_engine_read_only(where), where)
    return Workspace(open_engine(where), where)
