"""Defect rate: the share of reviewed annotation sets that review rejected or changed.

Only human sets count (not gold, predictions or consensus). A set's *verdict* comes from
what its source recorded, in the unified fields every reader fills:

* `status` "rejected" (a rejected Labelbox workflow status, a CVAT job in state rejected)
  or a review with status "rejected" (Label Studio `accepted: false`, a Labelbox review
  or workflow-history Reject/Rework, an open CVAT issue): **defective, rejected**;
* a review with status "fixed" (the reviewer corrected it, a resolved CVAT issue):
  **defective, changed**;
* `status` "accepted" (a CVAT job accepted in the acceptance stage, a Labelbox workflow
  "Done") or an accepting review: **reviewed, no defect**;
* `status` "in_review": **pending** (not counted); anything else: **unreviewed** (not
  counted).

A submission compared with its *accepted version* also gets a verdict. The accepted version
of set S is another set A of the same item that is accepted (`bridge.select.is_accepted`)
while S is not, with the same set id or the same annotator: typically the same work
exported before and after review, given as two sources. When a region matcher is
available (`bridge.qa`'s region matching, see `agreement`), S's regions are matched to A's
and every difference is counted: regions *added* (in A only), *removed* (in S only),
*relabeled* (matched, other label) and *moved* (matched with IoU below the threshold);
S is defective, *changed*, if there is any. The pair counts once (A is not counted again).

`defect_rate = defective / reviewed`, None when nothing was reviewed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bridge.qa.workflows.items import ItemView, SetView
from bridge.schema import AnnotationSet, Item
from bridge.select import is_accepted


@dataclass
class RegionDiff:
    """How an accepted version differs from the submission it came from."""

    added: int = 0
    removed: int = 0
    relabeled: int = 0
    moved: int = 0

    @property
    def changes(self) -> int:
        return self.added + self.removed + self.relabeled + self.moved


Differ = Callable[[Item, AnnotationSet, AnnotationSet, float], RegionDiff]
"""`differ(item, submission, accepted, iou_threshold)`: the regions' differences."""


@dataclass
class Tally:
    """Verdict counts for one group of sets (all, one tool, one annotator)."""

    sets: int = 0
    reviewed: int = 0
    defective: int = 0
    rejected: int = 0
    changed: int = 0
    pending: int = 0

    @property
    def rate(self) -> float | None:
        return self.defective / self.reviewed if self.reviewed else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "sets": self.sets,
            "reviewed": self.reviewed,
            "defective": self.defective,
            "rejected": self.rejected,
            "changed": self.changed,
            "pending": self.pending,
            "defect_rate": self.rate,
        }


def verdict(aset: AnnotationSet) -> str | None:
    """ "rejected", "changed", "ok", "pending" or None (unreviewed), from status and reviews."""
    statuses = [review.status for review in aset.reviews]
    if aset.status == "rejected" or "rejected" in statuses:
        return "rejected"
    if "fixed" in statuses:
        return "changed"
    if is_accepted(aset):
        return "ok"
    if aset.status == "in_review":
        return "pending"
    return None


@dataclass
class Defects:
    """The defect accumulator (see the module docstring)."""

    differ: Differ | None = None
    iou_threshold: float = 0.5
    total: Tally = field(default_factory=Tally)
    by_tool: dict[str, Tally] = field(default_factory=dict)
    by_annotator: dict[tuple[str, str], Tally] = field(default_factory=dict)
    diff: RegionDiff = field(default_factory=RegionDiff)
    compared: int = 0
    statuses: Counter[str] = field(default_factory=Counter)

    def add(self, view: ItemView) -> None:
        pairs = self._accepted_versions(view) if len(view.human) > 1 else {}
        consumed = {id(accepted.aset) for accepted in pairs.values()}
        for sub in view.human:
            if id(sub.aset) in consumed:
                continue
            self.statuses[sub.aset.status or "none"] += 1
            outcome = verdict(sub.aset)
            accepted = pairs.get(id(sub.aset))
            if accepted is not None and self.differ is not None and outcome != "rejected":
                found = self.differ(view.item, sub.aset, accepted.aset, self.iou_threshold)
                self.compared += 1
                for name in ("added", "removed", "relabeled", "moved"):
                    setattr(self.diff, name, getattr(self.diff, name) + getattr(found, name))
                outcome = "changed" if found.changes else (outcome or "ok")
            self._count(sub, outcome)

    def _accepted_versions(self, view: ItemView) -> dict[int, SetView]:
        accepted = [v for v in view.human if is_accepted(v.aset)]
        pairs: dict[int, SetView] = {}
        for sub in view.human:
            if is_accepted(sub.aset):
                continue
            for candidate in accepted:
                if candidate.id == sub.id or (
                    sub.who == candidate.who and sub.aset.annotator is not None
                ):
                    pairs[id(sub.aset)] = candidate
                    break
        return pairs

    def _count(self, sub: SetView, outcome: str | None) -> None:
        tallies = (
            self.total,
            self.by_tool.setdefault(sub.tool, Tally()),
            self.by_annotator.setdefault((sub.who, sub.tool), Tally()),
        )
        for tally in tallies:
            tally.sets += 1
            if outcome == "pending":
                tally.pending += 1
            elif outcome is not None:
                tally.reviewed += 1
                if outcome in ("rejected", "changed"):
                    tally.defective += 1
                    if outcome == "rejected":
                        tally.rejected += 1
                    else:
                        tally.changed += 1

    def result(self) -> dict[str, Any]:
        return {
            **self.total.as_dict(),
            "statuses": dict(sorted(self.statuses.items())),
            "by_tool": {tool: tally.as_dict() for tool, tally in sorted(self.by_tool.items())},
            "diff": {
                "available": self.differ is not None,
                "iou_threshold": self.iou_threshold,
                "compared": self.compared,
                "added": self.diff.added,
                "removed": self.diff.removed,
                "relabeled": self.diff.relabeled,
                "moved": self.diff.moved,
            },
        }
