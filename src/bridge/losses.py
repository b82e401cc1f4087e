"""The loss report: what a conversion dropped or approximated, how often, and where.

Nothing is dropped silently. A reader or writer that cannot carry something into its target
(text spans into CVAT, tracks into COCO, an annotator identity the server will not set)
calls `LossReport.record` with a short stable `code`, a human message, and the location of
one example. The report aggregates by code and keeps a few example locations for each.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["dropped", "approximated", "unmapped"]
"""`dropped`: the data is gone from the target. `approximated`: it is there but changed
(a rotated box made axis-aligned, a track flattened to shapes). `unmapped`: it rides in an
`extra` field the target tool will not interpret."""

MAX_EXAMPLES = 5

SIZE_UNKNOWN = "size-unknown"
"""The code a reader records when it keeps shapes in percent because the media's pixel
size is unknown; `bridge.api` withdraws it when `media_size` converts those shapes."""


@dataclass
class Loss:
    """One kind of loss: its code, severity, message, how many times, and a few places."""

    code: str
    severity: Severity
    message: str
    count: int = 0
    examples: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "count": self.count,
            "examples": list(self.examples),
        }


class LossReport:
    """Collects losses during one conversion, sync or push."""

    def __init__(self) -> None:
        self._losses: dict[str, Loss] = {}

    def record(
        self,
        code: str,
        message: str,
        *,
        where: str | None = None,
        severity: Severity = "dropped",
        count: int = 1,
    ) -> None:
        """Count `count` occurrences of loss `code`; keep `where` as an example location."""
        loss = self._losses.get(code)
        if loss is None:
            loss = self._losses[code] = Loss(code, severity, message)
        loss.count += count
        if where is not None and where not in loss.examples and len(loss.examples) < MAX_EXAMPLES:
            loss.examples.append(where)  # distinct places: one item may lose many shapes

    def merge(self, other: LossReport) -> None:
        """Add every loss of `other` into this report."""
        for loss in other:
            mine = self._losses.setdefault(loss.code, Loss(loss.code, loss.severity, loss.message))
            mine.count += loss.count
            room = MAX_EXAMPLES - len(mine.examples)
            mine.examples.extend(loss.examples[:room])

    def __iter__(self) -> Iterator[Loss]:
        return iter(sorted(self._losses.values(), key=lambda loss: loss.code))

    def __len__(self) -> int:
        return len(self._losses)

    def __bool__(self) -> bool:
        return bool(self._losses)

    def __contains__(self, code: str) -> bool:
        return code in self._losses

    def __getitem__(self, code: str) -> Loss:
        return self._losses[code]

    def forget(self, code: str) -> None:
        """Withdraw every record of `code` (a later step made good what it reported)."""
        self._losses.pop(code, None)

    def count(self, code: str) -> int:
        """How many times `code` was recorded (0 if never)."""
        loss = self._losses.get(code)
        return loss.count if loss else 0

    def as_dict(self) -> list[dict[str, Any]]:
        return [loss.as_dict() for loss in self]
