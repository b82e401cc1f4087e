"""`bridge status`: per source and target, what the workspace holds, the last sync, and
what a push would send now.

"What a push would send now" is the plan computed from the recorded links alone, with the
options of the target's last push (`--sets`, `--as`, `--source`): no server is asked, so a
change made on the target since then is not seen (the push's own scan sees it).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from bridge.losses import LossReport
from bridge.schema import Project
from bridge.sync.engine import Push, PushOptions, WorkspaceLike
from bridge.sync.target import ItemPush, RemoteRecord, SetPush, SyncTarget, TargetRef


class LinksOnly(SyncTarget):
    """A stand-in target that only plans: no scan (links are trusted), no sending."""

    def __init__(self, ref: TargetRef):
        self.ref = ref

    def scan_complete(self) -> bool:
        return False

    def ensure_project(self, project: Project, losses: LossReport, remote_id: str | None) -> str:
        raise NotImplementedError

    def scan(self) -> Iterator[RemoteRecord]:
        return iter(())

    def create_items(self, batch: list[ItemPush], losses: LossReport) -> list[RemoteRecord]:
        raise NotImplementedError

    def create_sets(self, batch: list[SetPush], losses: LossReport) -> list[RemoteRecord]:
        raise NotImplementedError

    def update_sets(self, batch: list[SetPush], losses: LossReport) -> list[RemoteRecord]:
        raise NotImplementedError

    def delete(self, records: list[RemoteRecord]) -> None:
        raise NotImplementedError


def when(epoch: float | None) -> str | None:
    """An epoch time as ISO 8601 UTC (seconds), None for none."""
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


def last_options(summary: dict[str, Any] | None) -> PushOptions:
    """The push options a sync summary recorded (defaults when it recorded none)."""
    recorded = (summary or {}).get("options") or {}
    return PushOptions(
        sets=str(recorded.get("sets", "all")),
        as_predictions=bool(recorded.get("as_predictions", False)),
        sources=recorded.get("sources"),
        dry_run=True,
    )


def pending(ws: WorkspaceLike, ref: TargetRef, summary: dict[str, Any] | None) -> dict[str, Any]:
    """The plan counts a push to `ref` with its last options would have now (links only)."""
    push = Push(ws, LinksOnly(ref), last_options(summary))
    plan, _, _ = push.plan(ws.project())
    return plan.as_dict()


def target_name(ref: TargetRef) -> str:
    if ref.tool == "file":
        return str(ref.project)
    return f"{ref.tool} {ref.instance} project {ref.project or '(created by the push)'}"


def workspace_status(ws: Any) -> dict[str, Any]:
    """`bridge status --json`: `{"workspace", "items", "annotation_sets", "sources": [...],
    "targets": [{"name", "tool", "instance", "project", "last_sync", "links", "last",
    "pending"}]}`."""
    summary = ws.summary()
    sources = []
    for src in summary.get("sources", []):
        entry = dict(src)
        for key in ("last_pull", "pulled_at", "created_at"):
            if isinstance(entry.get(key), int | float):
                entry[key] = when(entry[key])
        sources.append(entry)
    targets = []
    for tgt in summary.get("targets", []):
        ref = TargetRef(tgt["tool"], tgt["instance"], tgt.get("project"))
        last = tgt.get("last_summary") or {}
        targets.append(
            {
                "name": target_name(ref),
                "tool": ref.tool,
                "instance": ref.instance,
                "project": ref.project,
                "last_sync": when(tgt.get("last_sync")),
                "links": tgt.get("links", {}),
                "last": {"applied": last.get("applied"), "options": last.get("options")},
                "pending": pending(ws, ref, last),
            }
        )
    return {
        "workspace": summary.get("workspace"),
        "items": summary.get("items"),
        "annotation_sets": summary.get("annotation_sets"),
        "disappeared_items": summary.get("disappeared_items"),
        "disappeared_annotation_sets": summary.get("disappeared_annotation_sets"),
        "sources": sources,
        "targets": targets,
    }
