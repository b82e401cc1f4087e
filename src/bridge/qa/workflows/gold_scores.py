"""Scores against gold: each human set of an item with a gold set, scored against the
item's first gold set with the metrics of `bridge.qa`.

Regions are scored by
`bridge.qa.gold.score_regions` (TP: matched with the same class at the IoU threshold,
FP: a scored region left over, FN: a gold region missed), text spans by
`bridge.qa.spans.add_span_counts` (exact, label-aware: seqeval's entity-level counts),
item-level answers by
`bridge.qa.gold.add_answers` (classes named `question=value`). `micro` pools every class's
counts, `macro` averages the classes' scores. The confusion matrix (rows gold, columns
annotators) holds the label-blind matches of regions and spans, unmatched ones against
`<background>`, and for single answers the pair (gold value, given value) as
`question=value` classes.

A set whose shapes cannot be compared with gold (`QAError`: a pixel shape against a
percent shape on media of unknown size) is skipped and counted in `skipped`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bridge.qa.errors import QAError
from bridge.qa.gold import (
    BACKGROUND,
    UNLABELED,
    ClassCounts,
    ClassTable,
    RegionGold,
    add_answers,
    answers_by_question,
    score_regions,
)
from bridge.qa.regions import by_frame, matchable_regions, media_size
from bridge.qa.spans import TextSpan, add_span_counts, match_spans
from bridge.qa.workflows.agreement import text_spans
from bridge.qa.workflows.items import ItemView
from bridge.qa.workflows.scorecards import Who


def _scores(counts: ClassCounts) -> dict[str, Any]:
    return {
        "precision": counts.precision,
        "recall": counts.recall,
        "f1": counts.f1,
        "tp": counts.tp,
        "fp": counts.fp,
        "fn": counts.fn,
    }


@dataclass
class GoldGroup:
    """Scores against gold of one group of sets (everyone, or one annotator and tool)."""

    threshold: float
    regions: RegionGold = field(init=False)
    answers: ClassTable = field(default_factory=ClassTable)
    spans: ClassTable = field(default_factory=ClassTable)
    sets: int = 0

    def __post_init__(self) -> None:
        self.regions = RegionGold((self.threshold,))

    def combined(self) -> ClassTable:
        """Regions, spans and answers in one table (a class in several is summed)."""
        table = ClassTable()
        for part in (self.regions.table(), self.spans, self.answers):
            for name, counts in part.classes.items():
                total = table.count(name)
                total.tp += counts.tp
                total.fp += counts.fp
                total.fn += counts.fn
        return table


class GoldScoring:
    """The gold accumulator (see the module docstring)."""

    def __init__(self, iou_threshold: float = 0.5):
        self.iou_threshold = iou_threshold
        self.gold_all = GoldGroup(iou_threshold)
        self.gold_groups: dict[Who, GoldGroup] = {}
        self.confusion: Counter[tuple[str, str]] = Counter()
        self.items_with_gold = 0
        self.skipped = 0
        self.skip_reason: str | None = None

    def add(self, view: ItemView) -> None:
        if not view.gold:
            return
        reference = view.gold[0].aset
        scored = view.human
        if not scored:
            return
        self.items_with_gold += 1
        size = media_size(view.item)
        gold_frames = by_frame(matchable_regions(reference))
        gold_answers = answers_by_question(reference.classifications)
        gold_spans = text_spans(reference)
        for sub in scored:
            frames = by_frame(matchable_regions(sub.aset))
            try:
                outcomes = [
                    score_regions(
                        gold_frames.get(frame, []),
                        frames.get(frame, []),
                        (self.iou_threshold,),
                        size=size,
                    )
                    for frame in set(gold_frames) | set(frames)
                ]
            except QAError as error:
                self.skipped += 1
                self.skip_reason = self.skip_reason or error.message
                continue
            answers = answers_by_question(sub.aset.classifications)
            spans = text_spans(sub.aset)
            group = self.gold_groups.setdefault((sub.who, sub.tool), GoldGroup(self.iou_threshold))
            for target in (self.gold_all, group):
                target.sets += 1
                if gold_spans or spans:
                    add_span_counts(target.spans, gold_spans, spans, "exact")
                for outcome in outcomes:
                    target.regions.add(outcome)
                for question, values in gold_answers.items():
                    given = answers.get(question, [])
                    add_answers(
                        target.answers,
                        [f"{question}={v}" for v in values],
                        [f"{question}={v}" for v in given],
                    )
            for outcome in outcomes:
                self.confusion.update(outcome.confusion[self.iou_threshold])
            if gold_spans or spans:
                self._span_confusion(gold_spans, spans)
            for question, values in gold_answers.items():
                given = answers.get(question, [])
                if len(values) == 1 and len(given) <= 1:
                    shown = f"{question}={given[0]}" if given else BACKGROUND
                    self.confusion[f"{question}={values[0]}", shown] += 1

    def _span_confusion(self, gold: Sequence[TextSpan], given: Sequence[TextSpan]) -> None:
        blind = match_spans(gold, given, "exact", label_aware=False)
        for pair in blind.pairs:
            self.confusion[
                gold[pair.index_a].label or UNLABELED, given[pair.index_b].label or UNLABELED
            ] += 1
        for i in blind.unmatched_a:
            self.confusion[gold[i].label or UNLABELED, BACKGROUND] += 1
        for j in blind.unmatched_b:
            self.confusion[BACKGROUND, given[j].label or UNLABELED] += 1

    def by_annotator(self) -> dict[Who, dict[str, Any]]:
        rows = {}
        for who, group in self.gold_groups.items():
            micro = group.combined().total
            rows[who] = {"precision": micro.precision, "recall": micro.recall, "f1": micro.f1}
        return rows

    def result(self) -> dict[str, Any]:
        if not self.gold_all.sets:
            return {
                "available": False,
                "reason": "no item has both a gold set and a human set",
                "iou_threshold": self.iou_threshold,
            }
        table = self.gold_all.combined()
        macro = table.macro
        names = sorted({name for pair in self.confusion for name in pair} - {BACKGROUND})
        labels = [*names, BACKGROUND]
        return {
            "available": True,
            "iou_threshold": self.iou_threshold,
            "items": self.items_with_gold,
            "sets_scored": self.gold_all.sets,
            "skipped": self.skipped,
            "micro": _scores(table.total),
            "macro": {"precision": macro.precision, "recall": macro.recall, "f1": macro.f1},
            "classes": {name: _scores(counts) for name, counts in sorted(table.classes.items())},
            "confusion": {
                "labels": labels,
                "matrix": [[self.confusion.get((r, c), 0) for c in labels] for r in labels],
            },
            "by_annotator": [
                {
                    "annotator": who,
                    "tool": tool,
                    "sets": group.sets,
                    **_scores(group.combined().total),
                }
                for (who, tool), group in sorted(self.gold_groups.items())
            ],
        }
