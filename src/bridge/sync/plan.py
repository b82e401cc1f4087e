"""The sync planner: a pure function from (what the workspace wants on a target, what was
last synced, what the target holds now) to a `Plan`. No I/O; `bridge.sync.engine` feeds it
and applies the plan.

Terms:

* **desired**: the elements a push should leave on the target (`DesiredItem` with its
  selected `DesiredSet`s, and the project), each with its content hash.
* **link** (`LinkState`): what the last sync recorded for an element on this target: the
  remote id, the content hash sent (`hash`) and the target's fingerprint of the remote object
  right after (`remote`).
* **remote** (`RemoteRecord` by element id): what the scan at the start of this push found.
  `remote=None` means the target cannot scan (then links are trusted as they are);
  `complete=False` that only some objects were looked at (the others' links are trusted).
  A link marked `dropped` (a set the target cannot hold, reported as a loss when sent) has
  no remote object and needs none.
* **gone**: element ids the workspace holds tombstones for (they disappeared from their
  source); their remote objects are *delete* candidates, sent only with `delete=True`.

Per element, with `h` the desired hash, `L` the link, `R` the remote record:

| state | action |
|---|---|
| no `L`, no `R` | create |
| no `L`, `R` found by its key (a run died after creating it) | *adopt*: record the link from `R`, then as below with `L.hash = R.sent_hash` |
| `L`, scan complete and no `R` (deleted on the target) | create again |
| `h == L.hash`, target unchanged or changed | unchanged (edits made on the target are kept) |
| `h != L.hash`, target unchanged | update |
| `h != L.hash`, target changed (`R.hash != L.remote`) | conflict: `prefer="source"` update, `"target"` keep the target's (the link takes `h`), `"skip"` nothing |

A link without a hash (adopted from an object the target could not stamp with one) counts as
changed on the source side, so it is updated once: an extra update, never a duplicate.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from bridge.sync.target import KINDS, PROJECT_ELEMENT, Kind, RemoteRecord

Prefer = Literal["source", "target", "skip"]
PREFER_CHOICES: tuple[Prefer, ...] = ("source", "target", "skip")


@dataclass(frozen=True)
class DesiredSet:
    set_id: str
    hash: str


@dataclass(frozen=True)
class DesiredItem:
    item_id: str
    hash: str
    sets: tuple[DesiredSet, ...] = ()


@dataclass(frozen=True)
class LinkState:
    """A recorded link (the planner's view of `bridge.store.Link`)."""

    element_id: str
    remote_id: str
    hash: str | None
    remote: str | None = None
    parent: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass
class Plan:
    """What a push will do. Element ids per operation and kind; `adopt` are links to record
    without sending anything (objects found by the scan), `settle` links whose hash moves to
    the source's without sending (conflicts resolved in favour of the target)."""

    create_items: list[str] = field(default_factory=list)
    inline_sets: dict[str, list[str]] = field(default_factory=dict)
    """item id -> the set ids created together with it."""
    create_sets: list[tuple[str, str]] = field(default_factory=list)
    """(set id, item id) for sets on items that exist remotely."""
    update_items: list[str] = field(default_factory=list)
    update_sets: list[tuple[str, str]] = field(default_factory=list)
    delete: dict[Kind, list[LinkState]] = field(default_factory=lambda: {k: [] for k in KINDS})
    unchanged: dict[Kind, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    adopt: dict[Kind, list[LinkState]] = field(default_factory=lambda: {k: [] for k in KINDS})
    settle: dict[Kind, list[LinkState]] = field(default_factory=lambda: {k: [] for k in KINDS})
    project: Literal["create", "update", "unchanged"] = "unchanged"
    hashes: dict[str, str] = field(default_factory=dict)
    """element id -> desired hash, for every element an action sends."""
    remote_ids: dict[str, str] = field(default_factory=dict)
    """element id -> remote id, for items and sets that exist remotely."""

    def counts(self) -> dict[str, dict[str, int]]:
        """`{"create": {kind: n}, "update": ..., "delete": ..., "unchanged": ...}`."""
        inline = sum(len(ids) for ids in self.inline_sets.values())
        return {
            "create": {
                "project": int(self.project == "create"),
                "item": len(self.create_items),
                "annotation_set": inline + len(self.create_sets),
            },
            "update": {
                "project": int(self.project == "update"),
                "item": len(self.update_items),
                "annotation_set": len(self.update_sets),
            },
            "delete": {kind: len(self.delete[kind]) for kind in KINDS},
            "unchanged": {kind: self.unchanged[kind] for kind in KINDS},
        }

    def as_dict(self) -> dict[str, Any]:
        """The plan as `bridge push --json` prints it."""
        counts: dict[str, Any] = dict(self.counts())
        counts["conflicts"] = list(self.conflicts)
        counts["adopted"] = {kind: len(self.adopt[kind]) for kind in KINDS}
        return counts

    @property
    def sends_nothing(self) -> bool:
        counts = self.counts()
        return not any(counts[op][kind] for op in ("create", "update") for kind in KINDS)

    def total_actions(self) -> int:
        counts = self.counts()
        return sum(counts[op][kind] for op in ("create", "update", "delete") for kind in KINDS)


def _remote_changed(link: LinkState, record: RemoteRecord | None) -> bool:
    return (
        record is not None
        and record.hash is not None
        and link.remote is not None
        and record.hash != link.remote
    )


class Planner:
    """Builds one `Plan`; `decide_item` is fed item by item (streamed), `finish` adds the
    deletions. `links` and `remote` map kind -> element id -> state."""

    def __init__(
        self,
        links: dict[Kind, dict[str, LinkState]],
        remote: dict[Kind, dict[str, RemoteRecord]] | None,
        *,
        prefer: Prefer = "skip",
        complete: bool = True,
    ):
        if prefer not in PREFER_CHOICES:
            raise ValueError(f"prefer must be one of {PREFER_CHOICES}, not {prefer!r}")
        self.links = links
        self.remote = remote
        self.prefer = prefer
        self.complete = complete and remote is not None
        self.plan = Plan()
        self.seen: dict[Kind, set[str]] = {kind: set() for kind in KINDS}

    def _state(self, kind: Kind, element_id: str) -> tuple[LinkState | None, RemoteRecord | None]:
        link = self.links.get(kind, {}).get(element_id)
        record = None if self.remote is None else self.remote.get(kind, {}).get(element_id)
        if link is None and record is not None:
            link = LinkState(
                element_id,
                record.remote_id,
                record.sent_hash,
                record.hash,
                record.parent,
                dict(record.extra),
            )
            self.plan.adopt[kind].append(link)
        held = kind == "project" or bool(link is not None and link.extra.get("dropped"))
        if link is not None and self.complete and record is None and not held:
            return None, None  # gone from the target: create it again
        return link, record

    def _decide(
        self, kind: Kind, element_id: str, wanted: str, where: dict[str, Any]
    ) -> Literal["create", "update", "unchanged"]:
        """create / update / unchanged for one element (conflicts resolved by `prefer`)."""
        self.seen[kind].add(element_id)
        link, record = self._state(kind, element_id)
        if link is None:
            self.plan.hashes[element_id] = wanted
            return "create"
        self.plan.remote_ids[element_id] = record.remote_id if record else link.remote_id
        source_changed = link.hash != wanted
        if not source_changed:
            self.plan.unchanged[kind] += 1
            return "unchanged"
        if _remote_changed(link, record):
            self.plan.conflicts.append(
                {"kind": kind, "id": element_id, **where, "resolution": self.prefer}
            )
            if self.prefer == "target":
                assert record is not None
                settled = LinkState(
                    element_id, link.remote_id, wanted, record.hash, link.parent, link.extra
                )
                self.plan.settle[kind].append(settled)
                self.plan.unchanged[kind] += 1
                return "unchanged"
            if self.prefer == "skip":
                return "unchanged"
        self.plan.hashes[element_id] = wanted
        return "update"

    def decide_item(self, item: DesiredItem) -> None:
        action = self._decide("item", item.item_id, item.hash, {})
        if action == "create":
            self.plan.create_items.append(item.item_id)
            inline = self.plan.inline_sets.setdefault(item.item_id, [])
            for aset in item.sets:
                self.seen["annotation_set"].add(aset.set_id)
                stale = self.links.get("annotation_set", {}).get(aset.set_id)
                if stale is not None:  # its item is re-created: the old set went with it
                    self.links["annotation_set"].pop(aset.set_id)
                inline.append(aset.set_id)
                self.plan.hashes[aset.set_id] = aset.hash
            return
        if action == "update":
            self.plan.update_items.append(item.item_id)
        for aset in item.sets:
            where = {"item": item.item_id}
            set_action = self._decide("annotation_set", aset.set_id, aset.hash, where)
            if set_action == "create":
                self.plan.create_sets.append((aset.set_id, item.item_id))
            elif set_action == "update":
                self.plan.update_sets.append((aset.set_id, item.item_id))

    def decide_project(self, wanted: str) -> None:
        self.plan.project = self._decide("project", PROJECT_ELEMENT, wanted, {})

    def finish(self, gone: dict[Kind, set[str]]) -> Plan:
        """Add deletions: linked elements that disappeared from their source and were not
        desired again. Sets of an item that is deleted go with it (not listed twice)."""
        doomed_items = {
            element_id
            for element_id in gone.get("item", set())
            if element_id in self.links.get("item", {}) and element_id not in self.seen["item"]
        }
        for element_id in sorted(doomed_items):
            self.plan.delete["item"].append(self.links["item"][element_id])
        doomed_tasks = {self.links["item"][element_id].remote_id for element_id in doomed_items}
        for element_id in sorted(gone.get("annotation_set", set())):
            link = self.links.get("annotation_set", {}).get(element_id)
            if link is None or element_id in self.seen["annotation_set"]:
                continue
            if link.parent is not None and link.parent in doomed_tasks:
                continue  # deleted with its item
            self.plan.delete["annotation_set"].append(link)
        return self.plan


def plan_push(
    project_hash: str | None,
    desired: Iterable[DesiredItem],
    links: dict[Kind, dict[str, LinkState]],
    remote: dict[Kind, dict[str, RemoteRecord]] | None,
    gone: dict[Kind, set[str]] | None = None,
    *,
    prefer: Prefer = "skip",
    complete: bool = True,
) -> Plan:
    """The plan for one push (see the module docstring for the rules)."""
    planner = Planner(links, remote, prefer=prefer, complete=complete)
    if project_hash is not None:
        planner.decide_project(project_hash)
    for item in desired:
        planner.decide_item(item)
    return planner.finish(gone or {})
