"""Inter-annotator agreement and scores against gold, from the metrics of `bridge.qa`.

Not wired yet: the region matching and the kappa/alpha metrics are built in parallel
(`bridge.qa.matching`, `bridge.qa.kappa`, `bridge.qa.alpha`); until they are merged the
report says `available: false` for agreement, gold scores, the IoU histogram, the
disagreement ranking and the gallery.
"""

from __future__ import annotations

from typing import Any

from bridge.qa.workflows.defects import Differ
from bridge.qa.workflows.items import ItemView
from bridge.qa.workflows.scorecards import Who

MISSING = "the bridge.qa metrics (matching, kappa, alpha) are not in this build yet"


class Agreement:
    """The agreement accumulator; `add` returns the item's disagreement (0..1) or None."""

    available = False

    def __init__(self, iou_threshold: float = 0.5):
        self.iou_threshold = iou_threshold

    def add(self, view: ItemView) -> float | None:
        return None

    def differ(self) -> Differ | None:
        return None

    def by_annotator(self) -> dict[Who, dict[str, Any]]:
        return {}

    def gold_by_annotator(self) -> dict[Who, dict[str, Any]]:
        return {}

    def result(self) -> dict[str, Any]:
        return {"available": False, "reason": MISSING}

    def gold_result(self) -> dict[str, Any]:
        return {"available": False, "reason": MISSING}
