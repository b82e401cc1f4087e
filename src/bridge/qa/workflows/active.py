"""What to label next (active learning): items ranked by how unsure the model is, or by how
much the people (or vendors) who labeled them disagree.

**Uncertainty** comes from the item's prediction sets, each measure in [0, 1]:

* `low_score` = 1 - the lowest confidence: of a prediction set (`score`), of its regions
  and tracks (`score`);
* `margin` = 1 - (p1 - p2), p1 and p2 the two highest per-class probabilities, and
  `entropy` = H(p) / ln(K), the entropy of the per-class probabilities over K classes made
  0..1, wherever per-class probabilities are recorded: a `scores` object
  (`{"class": probability, ...}`) in the `extra` of a prediction set, a region, a track or
  a classification (the unified model has no field for them; a JSONL file or a reader can
  put them there);
* the item's `uncertainty` is the largest of these (None without predictions).

**Disagreement** is 1 - the item's agreement between its human sets (`agreement`: regions
matched by IoU, item-level answers compared), None with fewer than two human sets.

The item's *priority* is the uncertainty, the disagreement, or (`by="both"`, the default)
the larger of the two. Only the `top` items with the highest priority are kept (a bounded
heap, the earlier item first on a tie), with the items themselves, so the queue can be
written as a unified JSONL subset.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field
from typing import Any, Literal

from bridge.qa.workflows.items import ItemView
from bridge.schema import Item

RankBy = Literal["uncertainty", "disagreement", "both"]
RANK_BY: tuple[RankBy, ...] = ("uncertainty", "disagreement", "both")


def class_probabilities(extra: dict[str, Any]) -> list[float] | None:
    """The per-class probabilities recorded in `extra["scores"]`, or None."""
    scores = extra.get("scores")
    if not isinstance(scores, dict) or len(scores) < 2:
        return None
    values = [
        float(v) for v in scores.values() if isinstance(v, int | float) and not isinstance(v, bool)
    ]
    if len(values) != len(scores) or any(not math.isfinite(v) or v < 0 for v in values):
        return None
    return values


def margin_uncertainty(probabilities: list[float]) -> float:
    top = sorted(probabilities, reverse=True)
    return min(1.0, max(0.0, 1.0 - (top[0] - top[1])))


def entropy_uncertainty(probabilities: list[float]) -> float:
    total = sum(probabilities)
    if total <= 0:
        return 0.0
    entropy = -sum((p / total) * math.log(p / total) for p in probabilities if p > 0)
    return min(1.0, entropy / math.log(len(probabilities)))


@dataclass
class Uncertainty:
    low_score: float | None = None
    margin: float | None = None
    entropy: float | None = None

    def take(self, name: str, value: float) -> None:
        current = getattr(self, name)
        setattr(self, name, value if current is None else max(current, value))

    @property
    def value(self) -> float | None:
        found = [v for v in (self.low_score, self.margin, self.entropy) if v is not None]
        return max(found) if found else None


def uncertainty(view: ItemView) -> Uncertainty:
    """The item's uncertainty measures (see the module docstring)."""
    found = Uncertainty()
    for sub in view.predictions:
        aset = sub.aset
        extras = [aset.extra]
        scores = [aset.score]
        for region in aset.regions:
            scores.append(region.score)
            extras.append(region.extra)
            extras += [c.extra for c in region.classifications]
        for track in aset.tracks:
            scores.append(track.score)
            extras.append(track.extra)
        extras += [c.extra for c in aset.classifications]
        for score in scores:
            if score is not None:
                found.take("low_score", min(1.0, max(0.0, 1.0 - score)))
        for extra in extras:
            probabilities = class_probabilities(extra)
            if probabilities is not None:
                found.take("margin", margin_uncertainty(probabilities))
                found.take("entropy", entropy_uncertainty(probabilities))
    return found


@dataclass(order=True)
class _Entry:
    priority: float
    order: int  # negative sequence: the earlier item wins a tie
    key: str = field(compare=False)
    row: dict[str, Any] = field(compare=False)
    item: Item | None = field(compare=False)


class ActiveLearning:
    """The ranking accumulator (see the module docstring)."""

    def __init__(self, top: int = 100, by: RankBy = "both", keep_items: bool = False):
        self.top = top
        self.by = by
        self.keep_items = keep_items
        self.ranked_items = 0
        self._heap: list[_Entry] = []
        self._seq = 0

    def add(self, view: ItemView, disagreement: float | None) -> None:
        self._seq += 1
        measures = uncertainty(view)
        unsure = measures.value
        candidates = {
            "uncertainty": [unsure],
            "disagreement": [disagreement],
            "both": [unsure, disagreement],
        }[self.by]
        present = [value for value in candidates if value is not None]
        if not present:
            return
        self.ranked_items += 1
        if self.top <= 0:
            return
        entry = _Entry(max(present), -self._seq, view.key, {}, None)
        if len(self._heap) >= self.top and entry <= self._heap[0]:
            return
        entry.row = {
            "item": view.key,
            "priority": entry.priority,
            "uncertainty": unsure,
            "disagreement": disagreement,
            "low_score": measures.low_score,
            "margin": measures.margin,
            "entropy": measures.entropy,
        }
        entry.item = view.item if self.keep_items else None
        if len(self._heap) < self.top:
            heapq.heappush(self._heap, entry)
        else:
            heapq.heapreplace(self._heap, entry)

    def ranked(self) -> list[_Entry]:
        return sorted(self._heap, reverse=True)

    def items(self) -> list[Item]:
        return [entry.item for entry in self.ranked() if entry.item is not None]

    def result(self) -> dict[str, Any]:
        rows = [{"rank": rank, **entry.row} for rank, entry in enumerate(self.ranked(), 1)]
        return {"by": self.by, "top": self.top, "ranked_items": self.ranked_items, "queue": rows}
