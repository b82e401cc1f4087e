"""Per-annotator scorecards: one row per annotator and source tool.

A row holds the annotator's *volume* (human sets, items, regions and tracks), *speed* (the
median `lead_time` of their sets that record one, in seconds; None without any), their
*defect rate* (`defects`), their *agreement with others* (the mean of their pairwise
agreements, `agreement`) and their scores *against gold* (precision, recall, F1). The lead
times are kept as 8-byte floats per set (the one part that grows with the data: 0.8 MB
per 100k sets); everything else is counters.
"""

from __future__ import annotations

import statistics
from array import array
from dataclasses import dataclass, field
from typing import Any

from bridge.qa.workflows.items import ItemView

Who = tuple[str, str]
"""(annotator name, tool)."""


@dataclass
class Volume:
    sets: int = 0
    items: int = 0
    regions: int = 0
    tracks: int = 0
    lead_times: array[float] = field(default_factory=lambda: array("d"))


class Scorecards:
    """The volume and speed accumulator; `result` joins the other accumulators' rows."""

    def __init__(self) -> None:
        self.rows: dict[Who, Volume] = {}

    def add(self, view: ItemView) -> None:
        seen: set[Who] = set()
        for sub in view.human:
            who = (sub.who, sub.tool)
            volume = self.rows.setdefault(who, Volume())
            volume.sets += 1
            if who not in seen:
                volume.items += 1
                seen.add(who)
            volume.regions += len(sub.aset.regions)
            volume.tracks += len(sub.aset.tracks)
            if sub.aset.lead_time is not None:
                volume.lead_times.append(sub.aset.lead_time)

    def result(
        self,
        defects: dict[Who, dict[str, Any]],
        agreement: dict[Who, dict[str, Any]] | None = None,
        gold: dict[Who, dict[str, Any]] | None = None,
    ) -> list[dict[str, Any]]:
        rows = []
        for (name, tool), volume in sorted(self.rows.items()):
            defect = defects.get((name, tool), {})
            rows.append(
                {
                    "annotator": name,
                    "tool": tool,
                    "sets": volume.sets,
                    "items": volume.items,
                    "regions": volume.regions,
                    "tracks": volume.tracks,
                    "lead_time_median": (
                        statistics.median(volume.lead_times) if volume.lead_times else None
                    ),
                    "lead_time_count": len(volume.lead_times),
                    "reviewed": defect.get("reviewed", 0),
                    "defective": defect.get("defective", 0),
                    "defect_rate": defect.get("defect_rate"),
                    "agreement": (agreement or {}).get((name, tool), {}).get("agreement"),
                    "agreement_pairs": (agreement or {}).get((name, tool), {}).get("pairs", 0),
                    "gold_precision": (gold or {}).get((name, tool), {}).get("precision"),
                    "gold_recall": (gold or {}).get((name, tool), {}).get("recall"),
                    "gold_f1": (gold or {}).get((name, tool), {}).get("f1"),
                }
            )
        return rows
