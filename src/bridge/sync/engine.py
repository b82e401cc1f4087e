"""The push engine: scan the target, plan, apply in batches, record links.

`push(ws, target, options)` is what `bridge push` and `bridge migrate` run:

1. take the target's lock in the workspace (two processes never push to one target at once);
2. read the links recorded for the target and the elements the workspace wants there
   (items, and the annotation sets `--sets` selects, with their content hashes);
3. scan the target once for objects carrying our reconciliation keys (an object found but
   not linked was created by a run that died before recording it: it is *adopted*). When
   the target's counters match the links, only the objects of elements changed on the
   source side are fetched; when they differ only by objects made after the newest linked
   one, only those are listed (`scan_recent`); else the whole target is scanned. Before a
   full scan the target is told the keys and links the push may touch (`prepare_scan`: a
   target that looks objects up by key scans those); a target whose scan carries no
   fingerprints (`fetch_fingerprints`) is then asked to `fetch` the elements changed on the
   source side since the last push, and only those, so edits made on the target become
   conflicts;
4. plan (`bridge.sync.plan`); with `dry_run` stop here;
5. apply: the project, then items with their sets (one create call per batch), sets on
   existing items, updates, and with `delete` the deletions; the links of every batch are
   recorded right after the target answers, in one workspace transaction per batch.

A file target (`FileTarget`) is written whole when anything changed (see
`bridge.sync.filetarget`).

Test hook: `BRIDGE_TEST_CRASH_AFTER=N` kills the process with SIGKILL right after the N-th
batch call to the target has returned and *before* its links are recorded: exactly the
window the scan must repair.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import signal
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

from bridge.losses import LossReport
from bridge.schema import AnnotationSet, Item, Project
from bridge.select import SetSelector, select_sets
from bridge.sync.desired import desired_all
from bridge.sync.filetarget import FileTarget
from bridge.sync.plan import (
    DesiredItem,
    DesiredSet,
    LinkState,
    Plan,
    Prefer,
    plan_push,
)
from bridge.sync.target import (
    KINDS,
    PROJECT_ELEMENT,
    ItemPush,
    Kind,
    RemoteRecord,
    SetPush,
    SyncTarget,
    TargetRef,
)

CRASH_ENV = "BRIDGE_TEST_CRASH_AFTER"


class StoredSetLike(Protocol):
    set_id: str
    source: str
    hash: str
    deleted: bool


class StoredItemLike(Protocol):
    item_id: str
    item: Item
    sets: list[Any]
    hash: str


class LinkLike(Protocol):
    element_id: str
    kind: str
    remote_id: str
    hash: str | None
    extra: dict[str, Any]


class WorkspaceLike(Protocol):
    """The part of `bridge.store.Workspace` a push uses (see the workspace contract)."""

    def project(self) -> Project: ...
    def iter_items(self, sources: list[str] | None = None) -> Iterator[Any]: ...
    def deleted(self, kind: str) -> Iterator[str]: ...
    def links(self, target: Any, kind: str) -> dict[str, Any]: ...
    def record_links(self, target: Any, kind: str, links: list[Any]) -> None: ...
    def forget_links(self, target: Any, kind: str, element_ids: list[str]) -> None: ...
    def lock(self, target: Any) -> AbstractContextManager[Any]: ...
    def record_sync(self, target: Any, summary: dict[str, Any]) -> None: ...
    @property
    def workspace_id(self) -> str: ...


@dataclass
class PushOptions:
    """What `bridge push` was asked: `sets` (a `--sets` selector), `prefer` (conflicts),
    `delete` (propagate deletions), `dry_run` (plan only), `as_predictions` (send the sets
    as pre-annotations), `sources` (only items of these workspace sources)."""

    sets: str = "all"
    prefer: Prefer = "skip"
    delete: bool = False
    dry_run: bool = False
    as_predictions: bool = False
    sources: list[str] | None = None
    full_scan: bool = False


QUICK_FETCH_LIMIT = 200
"""At most this many changed elements are looked up one by one when the target's counters
match the links; more and the full scan is cheaper."""


@dataclass
class PushResult:
    """A push's plan, what was applied (`{"create": {kind: n}, ...}`) and its losses."""

    target: TargetRef
    plan: Plan
    applied: dict[str, dict[str, int]]
    losses: LossReport
    project: str | None = None
    written: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": {
                "tool": self.target.tool,
                "instance": self.target.instance,
                "project": self.target.project,
                "remote_project": self.project,
            },
            "plan": self.plan.as_dict(),
            "applied": self.applied,
            "losses": self.losses.as_dict(),
        }


def _zero() -> dict[str, dict[str, int]]:
    return {op: dict.fromkeys(KINDS, 0) for op in ("create", "update", "delete", "adopt")}


def content_hash(obj: Any) -> str:
    """THE content hash (`bridge.store.hashing.content_hash`)."""
    from bridge.store.hashing import content_hash as store_hash

    result: str = store_hash(obj)
    return result


def prediction_hash(set_hash: str) -> str:
    """The hash of a set sent as a pre-annotation (differs from the same set sent as an
    annotation, so switching `--as` updates the target)."""
    return hashlib.sha256(f"{set_hash}|prediction".encode()).hexdigest()


@dataclass
class Selected:
    """One workspace item as a push sees it: the item with the selected sets only, and
    their element ids and hashes (same order)."""

    item_id: str
    item: Item
    hash: str
    set_ids: list[str]
    set_hashes: list[str]

    def desired(self) -> DesiredItem:
        sets = tuple(DesiredSet(i, h) for i, h in zip(self.set_ids, self.set_hashes, strict=True))
        return DesiredItem(self.item_id, self.hash, sets)


def _source_name(stored_of: dict[int, Any]) -> Callable[[AnnotationSet], str | None]:
    def source_name(aset: AnnotationSet) -> str | None:
        stored = stored_of.get(id(aset))
        return None if stored is None else str(stored.source)

    return source_name


def selected_items(ws: WorkspaceLike, options: PushOptions) -> Iterator[Selected]:
    """The workspace's items with the sets `options.sets` selects (deleted sets left out)."""
    selector = SetSelector.parse(options.sets)
    for stored in ws.iter_items(options.sources):
        item: Item = stored.item
        live = [
            (a, s) for a, s in zip(item.annotation_sets, stored.sets, strict=True) if not s.deleted
        ]
        stored_of = {id(a): s for a, s in live}
        bare = item.model_copy(update={"annotation_sets": [a for a, _ in live]})
        chosen = select_sets(bare, selector, source_name=_source_name(stored_of))
        hashes = [stored_of[id(a)].hash for a in chosen]
        if options.as_predictions:
            hashes = [prediction_hash(h) for h in hashes]
        item_hash = stored.hash or content_hash(item.model_copy(update={"annotation_sets": []}))
        yield Selected(
            stored.item_id,
            item.model_copy(update={"annotation_sets": chosen}),
            item_hash,
            [stored_of[id(a)].set_id for a in chosen],
            hashes,
        )


def _link_state(link: LinkLike) -> LinkState:
    extra = dict(link.extra or {})
    return LinkState(
        link.element_id, link.remote_id, link.hash, extra.get("remote"), extra.get("parent"), extra
    )


def _new_link(
    element_id: str, kind: Kind, remote_id: str, hash: str | None, extra: dict[str, Any]
) -> Any:
    from bridge.store import Link

    return Link(element_id=element_id, kind=kind, remote_id=remote_id, hash=hash, extra=extra)


def _link_from_state(kind: Kind, state: LinkState) -> Any:
    extra = {**state.extra, "remote": state.remote, "parent": state.parent}
    return _new_link(state.element_id, kind, state.remote_id, state.hash, extra)


class _Crash:
    """`BRIDGE_TEST_CRASH_AFTER=N`: SIGKILL after the N-th target batch call (tests only)."""

    def __init__(self) -> None:
        raw = os.environ.get(CRASH_ENV, "")
        self.after = int(raw) if raw.isdigit() else None
        self.calls = 0

    def tick(self) -> None:
        self.calls += 1
        if self.after is not None and self.calls >= self.after:
            os.kill(os.getpid(), signal.SIGKILL)


def _changed(
    desired: list[DesiredItem], links: dict[Kind, dict[str, LinkState]], limit: int | None = None
) -> list[RemoteRecord] | None:
    """Records (keyed by element id) of the linked elements whose desired hash differs from
    the link's; None when more than `limit` changed (see `Push._records`)."""
    changed: list[RemoteRecord] = []
    for item in desired:
        link = links["item"].get(item.item_id)
        if link is not None and link.hash != item.hash:
            changed.append(RemoteRecord("item", item.item_id, link.remote_id))
        for aset in item.sets:
            set_link = links["annotation_set"].get(aset.set_id)
            if set_link is not None and set_link.hash != aset.hash:
                changed.append(
                    RemoteRecord(
                        "annotation_set",
                        aset.set_id,
                        set_link.remote_id,
                        set_link.parent,
                        extra=dict(set_link.extra),
                    )
                )
        if limit is not None and len(changed) > limit:
            return None
    return changed


class Push:
    """One push of the workspace to one target (see the module docstring)."""

    def __init__(
        self,
        ws: WorkspaceLike,
        target: SyncTarget,
        options: PushOptions,
        progress: Callable[[int, int], None] | None = None,
    ):
        self.ws = ws
        self.target = target
        self.options = options
        self.progress = progress
        self.losses = LossReport()
        self.applied = _zero()
        self.crash = _Crash()
        self.done = 0
        self.total = 0

    # -- planning ----------------------------------------------------------------------

    def links(self) -> dict[Kind, dict[str, LinkState]]:
        ref = self.target.ref
        return {
            kind: {k: _link_state(v) for k, v in self.ws.links(ref, kind).items()} for kind in KINDS
        }

    def scan(
        self, desired: list[DesiredItem], links: dict[Kind, dict[str, LinkState]]
    ) -> tuple[dict[Kind, dict[str, RemoteRecord]] | None, bool]:
        """The target's records by element id (keys mapped back), None if it cannot scan,
        and whether they are complete (a full scan) or only the changed elements' (the
        target's counters matched the links)."""
        if not self.target.scan_complete():
            return None, False
        keys: dict[Kind, dict[str, str]] = {kind: {} for kind in KINDS}
        remote_key = self.target.remote_key
        for item in desired:
            keys["item"][remote_key("item", item.item_id)] = item.item_id
            for aset in item.sets:
                keys["annotation_set"][remote_key("annotation_set", aset.set_id)] = aset.set_id
        for kind in ("item", "annotation_set"):
            for element_id in links[kind]:
                keys[kind][remote_key(kind, element_id)] = element_id
        found: dict[Kind, dict[str, RemoteRecord]] = {kind: {} for kind in KINDS}
        project = links["project"].get(PROJECT_ELEMENT)
        if project is not None:
            found["project"][PROJECT_ELEMENT] = RemoteRecord(
                "project", PROJECT_ELEMENT, project.remote_id, hash=project.remote
            )
        records, complete = self._records(desired, links), True
        if records is None:
            self.target.prepare_scan(keys, {kind: dict(links[kind]) for kind in KINDS})
            records = self.target.scan()
        else:
            complete = False
        for record in records:
            known = keys[record.kind].get(record.key)
            if known is None:
                continue  # another workspace's object, or one of an element we no longer hold
            record.key = known
            found[record.kind].setdefault(known, record)
        if complete and self.target.fetch_fingerprints:
            self._fingerprints(desired, links, keys, found)
        return found, complete

    def _fingerprints(
        self,
        desired: list[DesiredItem],
        links: dict[Kind, dict[str, LinkState]],
        keys: dict[Kind, dict[str, str]],
        found: dict[Kind, dict[str, RemoteRecord]],
    ) -> None:
        """After a full scan that lists objects without their fingerprints
        (`SyncTarget.fetch_fingerprints`): `fetch` the objects of the elements changed on
        the source side, and only those, so the planner sees edits made on the target."""
        wanted = [
            record
            for record in _changed(desired, links) or []
            if (have := found[record.kind].get(record.key)) is not None and have.hash is None
        ]
        if not wanted:
            return
        for record in self.target.fetch(wanted):
            known = keys[record.kind].get(record.key)
            have = found[record.kind].get(known) if known is not None else None
            if have is not None and record.hash is not None:
                have.hash = record.hash

    def _records(
        self, desired: list[DesiredItem], links: dict[Kind, dict[str, LinkState]]
    ) -> Iterator[RemoteRecord] | None:
        """The changed elements' records when the target's counters match the links (no
        object was made or lost behind our back); None when a full scan is needed."""
        if self.options.full_scan or not any(links[kind] for kind in KINDS):
            return None
        linked = {kind: dict(links[kind]) for kind in KINDS}
        recent: list[RemoteRecord] = []
        if not self.target.matches_links(linked):
            found = self.target.scan_recent(linked)
            if found is None:
                return None
            recent = found
        changed = _changed(desired, links, QUICK_FETCH_LIMIT)
        if changed is None:
            return None
        fetched = self.target.fetch(changed) if changed else iter(())
        return itertools.chain(recent, fetched)

    def _desired(self) -> list[DesiredItem]:
        """Ids and hashes of what the push wants: straight from the workspace's rows when
        every set goes, else through the items (the selector reads the sets)."""
        if SetSelector.parse(self.options.sets).terms == (("all", ""),):
            transform = prediction_hash if self.options.as_predictions else None
            fast = desired_all(self.ws, self.options.sources, transform)
            if fast is not None:
                return fast
        return [selected.desired() for selected in selected_items(self.ws, self.options)]

    def plan(self, project: Project) -> tuple[Plan, str, dict[Kind, dict[str, LinkState]]]:
        links = self.links()
        project_link = links["project"].get(PROJECT_ELEMENT)
        if project_link is not None:
            self.target.use_project(project_link.remote_id)
        desired = self._desired()
        remote, complete = self.scan(desired, links)
        project_hash = content_hash(project)
        gone: dict[Kind, set[str]] = {
            kind: set(self.ws.deleted(kind)) for kind in ("item", "annotation_set")
        }
        plan = plan_push(
            project_hash,
            desired,
            links,
            remote,
            gone,
            prefer=self.options.prefer,
            complete=complete,
        )
        return plan, project_hash, links

    # -- applying ----------------------------------------------------------------------

    def run(self) -> PushResult:
        with self.ws.lock(self.target.ref):
            project = self.ws.project()
            if project.media_kind is None:
                first = next(iter(self.ws.iter_items(self.options.sources)), None)
                if first is not None:
                    project = project.model_copy(update={"media_kind": first.item.media.kind})
            plan, project_hash, links = self.plan(project)
            result = PushResult(self.target.ref, plan, self.applied, self.losses)
            if self.options.dry_run:
                items = self._planned_items(plan)
                self.target.preview(project, items, self.losses, self.options.as_predictions)
                return result
            self.target.workspace_id = self.ws.workspace_id
            remote_project = links["project"].get(PROJECT_ELEMENT)
            if isinstance(self.target, FileTarget):
                self._write_whole(self.target, plan, project, project_hash)
            else:
                self._apply(plan, project, project_hash, remote_project)
            result.project = self.project_id
            self.ws.record_sync(self.target.ref, self._summary(plan))
            return result

    def _summary(self, plan: Plan) -> dict[str, Any]:
        options = {
            "sets": self.options.sets,
            "as_predictions": self.options.as_predictions,
            "sources": self.options.sources,
            "prefer": self.options.prefer,
            "delete": self.options.delete,
        }
        return {
            "plan": plan.as_dict(),
            "applied": self.applied,
            "losses": self.losses.as_dict(),
            "options": options,
            "remote_project": self.project_id,
        }

    project_id: str | None = None

    def _advance(self, n: int) -> None:
        self.done += n
        if self.progress is not None:
            self.progress(self.done, self.total)

    def _record(self, kind: Kind, records: list[RemoteRecord], plan: Plan) -> None:
        links = [
            _new_link(
                r.key,
                kind,
                r.remote_id,
                plan.hashes.get(r.key),
                {"remote": r.hash, "parent": r.parent, **r.extra},
            )
            for r in records
            if r.kind == kind
        ]
        if links:
            self.ws.record_links(self.target.ref, kind, links)

    def _apply(
        self, plan: Plan, project: Project, project_hash: str, project_link: LinkState | None
    ) -> None:
        ref = self.target.ref
        self.total = plan.total_actions() - (
            0 if self.options.delete else sum(len(v) for v in plan.delete.values())
        )
        self.project_id = self.target.ensure_project(
            project, self.losses, project_link.remote_id if project_link else None
        )
        if plan.project != "unchanged" or project_link is None:
            link = _new_link(PROJECT_ELEMENT, "project", self.project_id, project_hash, {})
            self.ws.record_links(ref, "project", [link])
            self.applied[plan.project if plan.project != "unchanged" else "create"]["project"] += 1
        for kind in KINDS:
            if plan.adopt[kind]:
                self.ws.record_links(
                    ref, kind, [_link_from_state(kind, s) for s in plan.adopt[kind]]
                )
                self.applied["adopt"][kind] += len(plan.adopt[kind])
            if plan.settle[kind]:
                self.ws.record_links(
                    ref, kind, [_link_from_state(kind, s) for s in plan.settle[kind]]
                )
        self.target.begin(self.total)
        if not plan.sends_nothing:
            self._send(plan)
        if self.options.delete:
            self._delete(plan)

    def _send(self, plan: Plan) -> None:
        create_items = set(plan.create_items)
        update_items = set(plan.update_items)
        create_sets: dict[str, list[str]] = {}
        for set_id, item_id in plan.create_sets:
            create_sets.setdefault(item_id, []).append(set_id)
        update_sets: dict[str, list[str]] = {}
        for set_id, item_id in plan.update_sets:
            update_sets.setdefault(item_id, []).append(set_id)
        size = max(1, self.target.batch_size)
        new_items: list[ItemPush] = []
        changed_items: list[ItemPush] = []
        new_sets: list[SetPush] = []
        changed_sets: list[SetPush] = []
        for chosen in selected_items(self.ws, self.options):
            item_id = chosen.item_id
            pushes = self._set_pushes(chosen)
            if item_id in create_items:
                inline = set(plan.inline_sets.get(item_id, []))
                sets = [p for p in pushes if p.set_id in inline]
                item = chosen.item.model_copy(update={"annotation_sets": [p.aset for p in sets]})
                new_items.append(ItemPush(item_id, item, chosen.hash, sets))
            else:
                parent = plan.remote_ids.get(item_id)
                if item_id in update_items:
                    bare = chosen.item.model_copy(update={"annotation_sets": []})
                    changed_items.append(ItemPush(item_id, bare, chosen.hash, remote_id=parent))
                for push in pushes:
                    push.parent = parent
                    if push.set_id in create_sets.get(item_id, ()):
                        new_sets.append(push)
                    elif push.set_id in update_sets.get(item_id, ()):
                        push.remote_id = plan.remote_ids.get(push.set_id)
                        changed_sets.append(push)
            if len(new_items) >= size:
                self._create_items(new_items, plan)
            if len(changed_items) >= size:
                self._update_items(changed_items, plan)
            if len(new_sets) >= size:
                self._sets(new_sets, plan, create=True)
            if len(changed_sets) >= size:
                self._sets(changed_sets, plan, create=False)
        self._create_items(new_items, plan)
        self._update_items(changed_items, plan)
        self._sets(new_sets, plan, create=True)
        self._sets(changed_sets, plan, create=False)

    def _planned_items(self, plan: Plan) -> Iterator[Item]:
        """The items a plan sends, each with the sets it sends (for a dry run's losses)."""
        sets = set(plan.hashes)
        for chosen in selected_items(self.ws, self.options):
            sending = [
                aset
                for aset, set_id in zip(chosen.item.annotation_sets, chosen.set_ids, strict=True)
                if set_id in sets
            ]
            if chosen.item_id in sets or sending:
                yield chosen.item.model_copy(update={"annotation_sets": sending})

    def _set_pushes(self, chosen: Selected) -> list[SetPush]:
        pushes = []
        for aset, set_id, set_hash in zip(
            chosen.item.annotation_sets, chosen.set_ids, chosen.set_hashes, strict=True
        ):
            one: AnnotationSet = aset
            item = chosen.item.model_copy(update={"annotation_sets": [one]})
            pushes.append(
                SetPush(
                    set_id,
                    chosen.item_id,
                    one,
                    set_hash,
                    item,
                    as_prediction=self.options.as_predictions,
                )
            )
        return pushes

    def _create_items(self, batch: list[ItemPush], plan: Plan) -> None:
        if not batch:
            return
        records = self.target.create_items(batch, self.losses)
        self.crash.tick()
        self._record("item", records, plan)
        self._record("annotation_set", records, plan)
        sets = sum(len(p.sets) for p in batch)
        self.applied["create"]["item"] += len(batch)
        self.applied["create"]["annotation_set"] += sets
        self._advance(len(batch) + sets)
        batch.clear()

    def _update_items(self, batch: list[ItemPush], plan: Plan) -> None:
        if not batch:
            return
        records = self.target.update_items(batch, self.losses)
        self.crash.tick()
        self._record("item", records, plan)
        self.applied["update"]["item"] += len(batch)
        self._advance(len(batch))
        batch.clear()

    def _sets(self, batch: list[SetPush], plan: Plan, *, create: bool) -> None:
        if not batch:
            return
        call = self.target.create_sets if create else self.target.update_sets
        records = call(batch, self.losses)
        self.crash.tick()
        self._record("annotation_set", records, plan)
        self.applied["create" if create else "update"]["annotation_set"] += len(batch)
        self._advance(len(batch))
        batch.clear()

    def _delete(self, plan: Plan) -> None:
        ref = self.target.ref
        order: tuple[Kind, ...] = ("annotation_set", "item")
        for kind in order:
            states = plan.delete[kind]
            if not states:
                continue
            records = [
                RemoteRecord(kind, s.element_id, s.remote_id, s.parent, extra=dict(s.extra))
                for s in states
            ]
            self.target.delete(records)
            self.ws.forget_links(ref, kind, [s.element_id for s in states])
            if kind == "item":  # their sets went with them
                parents = {s.remote_id for s in states}
                orphans = [
                    element_id
                    for element_id, link in self.ws.links(ref, "annotation_set").items()
                    if (link.extra or {}).get("parent") in parents
                ]
                self.ws.forget_links(ref, "annotation_set", orphans)
            self.applied["delete"][kind] += len(states)
            self._advance(len(states))

    def _write_whole(
        self, target: FileTarget, plan: Plan, project: Project, project_hash: str
    ) -> None:
        """A file target: rewrite it when anything changed, then link every element."""
        changed = not plan.sends_nothing or any(plan.delete[k] for k in KINDS)
        if not changed:
            return
        ref = self.target.ref
        recorded: list[Selected] = []

        def items() -> Iterator[Item]:
            for chosen in selected_items(self.ws, self.options):
                recorded.append(chosen)
                yield chosen.item

        target.write_all(project, items(), self.losses)
        self.crash.tick()
        self.ws.record_links(
            ref,
            "project",
            [_new_link(PROJECT_ELEMENT, "project", str(ref.project), project_hash, {})],
        )
        for start in range(0, len(recorded), 1000):
            chunk = recorded[start : start + 1000]
            self.ws.record_links(
                ref, "item", [_new_link(c.item_id, "item", c.item.key, c.hash, {}) for c in chunk]
            )
            set_links = [
                _new_link(set_id, "annotation_set", set_id, set_hash, {"parent": c.item.key})
                for c in chunk
                for set_id, set_hash in zip(c.set_ids, c.set_hashes, strict=True)
            ]
            if set_links:
                self.ws.record_links(ref, "annotation_set", set_links)
        gone = {k: [s.element_id for s in plan.delete[k]] for k in ("item", "annotation_set")}
        for kind, ids in gone.items():
            if ids:
                self.ws.forget_links(ref, kind, ids)
        counts = plan.counts()
        for op in ("create", "update", "delete"):
            for kind in KINDS:
                self.applied[op][kind] = counts[op][kind]
        self.project_id = str(ref.project)


def push(
    ws: WorkspaceLike,
    target: SyncTarget,
    options: PushOptions | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> PushResult:
    """Plan and (unless `dry_run`) apply one push; see the module docstring."""
    return Push(ws, target, options or PushOptions(), progress).run()
