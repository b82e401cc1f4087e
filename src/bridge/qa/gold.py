"""Scores against gold: precision, recall and F1 of every annotation set compared with a
reference set on the same item.

Terms:

* The **gold** set of an item is the first set the gold selector picks (a `bridge.select`
  spec: "gold", "annotator=X", "source=NAME"...); every other set the `sets` selector picks
  is **scored** against it. Items with no gold set are counted (`items_without_gold`) and
  skipped; when several sets are gold, the first is the reference and the others are
  neither reference nor scored (`items_with_several_gold`).
* **Regions.** At each IoU threshold, per class: a **TP** is a scored region matched with a
  gold region of the same class (matching within each class, as COCOeval matches within
  each category), an **FP** a scored region left unmatched, an **FN** a gold region left
  unmatched. Matching is frame by frame (`bridge.qa.regions`) and optimal by default
  (`assignment="greedy"` gives COCOeval's score-order rule). A region with no label is of
  class `UNLABELED`.
* **Confusion matrix** (rows: gold class, columns: scored class) from label-blind matching
  at the threshold: a matched pair adds to (gold label, scored label), so a region drawn
  in the right place with the wrong label is off the diagonal; an unmatched gold region adds
  to (gold label, `BACKGROUND`), an unmatched scored region to (`BACKGROUND`, its label).
* **Precision** TP / (TP + FP), **recall** TP / (TP + FN), **F1** 2·TP / (2·TP + FP + FN);
  each is 0.0 when its denominator is 0 (scikit-learn's `zero_division=0`). **Micro**
  scores pool the counts of every class; **macro** scores are the unweighted means of the
  per-class scores over the classes seen in gold or in the scored sets.
* **Item-level classifications** (`AnnotationSet.classifications`) are scored per question:
  for an item whose gold set answers the question, each answer value the scored set shares
  with gold is a TP of that value, each other value it gives an FP, each gold value it
  misses an FN (for single-answer questions this is scikit-learn's multi-class P/R/F1).
  Questions gold does not answer on an item are not scored there.
* **Text spans** are scored as `bridge.qa.spans` defines (exact or overlap matching,
  label-aware, optionally trimmed with the item's text): `GoldScores.spans`.
* Results are kept **per annotator** (`bridge.qa.regions.annotator_key`) and **per source**
  (the workspace source name when the caller gives one, else the set's source tool, else
  "unknown"). Only counters are held, never regions: a dataset is read once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from bridge.qa.errors import QAError
from bridge.qa.matching import (
    MATCHABLE_KINDS,
    Assignment,
    Size,
    assign,
    kind_of,
    same_label_only,
    score_order,
    similarity_matrix,
)
from bridge.qa.regions import annotator_key, by_frame, media_size
from bridge.schema import AnnotationSet, Classification, Item, Region
from bridge.select import SetSelector, SourceName, select_sets

BACKGROUND = "<background>"
"""The confusion matrix's row and column for regions left unmatched."""
UNLABELED = "<unlabeled>"
"""The class of a region with no label."""


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else 0.0


@dataclass
class ClassCounts:
    """True positives, false positives and false negatives of one class."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return _ratio(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> float:
        return _ratio(self.tp, self.tp + self.fn)

    @property
    def f1(self) -> float:
        return _ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn)

    @property
    def support(self) -> int:
        """Gold instances of the class (TP + FN)."""
        return self.tp + self.fn


@dataclass(frozen=True)
class Scores:
    """Precision, recall and F1."""

    precision: float
    recall: float
    f1: float


@dataclass
class ClassTable:
    """Per-class counts, with their micro and macro scores."""

    classes: dict[str, ClassCounts] = field(default_factory=dict)

    def count(self, label: str) -> ClassCounts:
        return self.classes.setdefault(label, ClassCounts())

    @property
    def total(self) -> ClassCounts:
        return ClassCounts(
            tp=sum(c.tp for c in self.classes.values()),
            fp=sum(c.fp for c in self.classes.values()),
            fn=sum(c.fn for c in self.classes.values()),
        )

    @property
    def micro(self) -> Scores:
        total = self.total
        return Scores(total.precision, total.recall, total.f1)

    @property
    def macro(self) -> Scores:
        """Means over the classes seen (0.0 each when no class was seen)."""
        seen = [c for c in self.classes.values() if c.tp or c.fp or c.fn]
        count = len(seen)
        return Scores(
            _ratio(sum(c.precision for c in seen), count),
            _ratio(sum(c.recall for c in seen), count),
            _ratio(sum(c.f1 for c in seen), count),
        )


def add_answers(table: ClassTable, gold: Iterable[str], scored: Iterable[str]) -> None:
    """Count one question on one item: `gold` and `scored` are the answer values."""
    gold_values, scored_values = set(gold), set(scored)
    for value in gold_values & scored_values:
        table.count(value).tp += 1
    for value in scored_values - gold_values:
        table.count(value).fp += 1
    for value in gold_values - scored_values:
        table.count(value).fn += 1


def answers_by_question(classifications: Sequence[Classification]) -> dict[str, list[str]]:
    """Each question's answer values (as text) in a set's item-level classifications."""
    result: dict[str, list[str]] = {}
    for classification in classifications:
        result.setdefault(classification.name, []).extend(
            str(answer.value) for answer in classification.answers
        )
    return result


@dataclass(frozen=True)
class RegionOutcome:
    """What one scored list of regions got against one gold list, at each threshold:
    ("tp"|"fp"|"fn", class) counts and confusion cells (gold label, scored label)."""

    verdicts: dict[float, Counter[tuple[str, str]]]
    confusion: dict[float, Counter[tuple[str, str]]]


def score_regions(
    gold: Sequence[Region],
    scored: Sequence[Region],
    thresholds: Sequence[float],
    *,
    size: Size | None = None,
    assignment: Assignment = "optimal",
    sigmas: Mapping[str, float] | None = None,
) -> RegionOutcome:
    """Score the regions of one item (one frame) against gold (see the module's terms)."""
    labels_gold = [r.label or UNLABELED for r in gold]
    labels_scored = [r.label or UNLABELED for r in scored]
    scores = similarity_matrix(
        [r.shape for r in gold], [r.shape for r in scored], size=size, sigmas=sigmas
    )
    aware_scores = same_label_only(scores, labels_gold, labels_scored)
    order = score_order(scored) if assignment == "greedy" else None
    verdicts: dict[float, Counter[tuple[str, str]]] = {}
    confusions: dict[float, Counter[tuple[str, str]]] = {}
    for threshold in thresholds:
        verdict: Counter[tuple[str, str]] = Counter()
        aware = assign(aware_scores, threshold, assignment=assignment, order_b=order)
        for pair in aware.pairs:
            verdict["tp", labels_gold[pair.index_a]] += 1
        for i in aware.unmatched_a:
            verdict["fn", labels_gold[i]] += 1
        for j in aware.unmatched_b:
            verdict["fp", labels_scored[j]] += 1
        confusion: Counter[tuple[str, str]] = Counter()
        blind = assign(scores, threshold, assignment=assignment, order_b=order)
        for pair in blind.pairs:
            confusion[labels_gold[pair.index_a], labels_scored[pair.index_b]] += 1
        for i in blind.unmatched_a:
            confusion[labels_gold[i], BACKGROUND] += 1
        for j in blind.unmatched_b:
            confusion[BACKGROUND, labels_scored[j]] += 1
        verdicts[threshold] = verdict
        confusions[threshold] = confusion
    return RegionOutcome(verdicts, confusions)


@dataclass
class RegionGold:
    """Region counts of one scored group against gold, at each IoU threshold."""

    thresholds: tuple[float, ...]
    tables: dict[float, ClassTable] = field(default_factory=dict)
    confusion: dict[float, Counter[tuple[str, str]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for threshold in self.thresholds:
            self.tables.setdefault(threshold, ClassTable())
            self.confusion.setdefault(threshold, Counter())

    def add(self, outcome: RegionOutcome) -> None:
        """Add one item's (one frame's) outcome, computed at this object's thresholds."""
        for threshold in self.thresholds:
            table = self.tables[threshold]
            for (verdict, label), count in outcome.verdicts[threshold].items():
                counts = table.count(label)
                setattr(counts, verdict, getattr(counts, verdict) + count)
            self.confusion[threshold].update(outcome.confusion[threshold])

    def table(self, threshold: float | None = None) -> ClassTable:
        """The per-class table at `threshold` (the first threshold by default)."""
        return self.tables[self._threshold(threshold)]

    def confusion_matrix(self, threshold: float | None = None) -> tuple[list[str], list[list[int]]]:
        """(labels, matrix) at `threshold`: rows gold, columns scored, in the order of
        `labels` (sorted class names, then `BACKGROUND` last)."""
        cells = self.confusion[self._threshold(threshold)]
        names = sorted({name for pair in cells for name in pair} - {BACKGROUND})
        labels = [*names, BACKGROUND]
        matrix = [[cells.get((row, column), 0) for column in labels] for row in labels]
        return labels, matrix

    def _threshold(self, threshold: float | None) -> float:
        if threshold is None:
            return self.thresholds[0]
        if threshold not in self.tables:
            raise QAError(
                f"no counts at IoU threshold {threshold}",
                hint=f"thresholds computed: {', '.join(map(str, self.thresholds))}",
            )
        return threshold


@dataclass
class GoldScores:
    """Everything one scored group (an annotator or a source) got against gold."""

    regions: RegionGold
    classifications: dict[str, ClassTable] = field(default_factory=dict)
    spans: ClassTable = field(default_factory=ClassTable)
    items: int = 0


@dataclass
class GoldEvaluation:
    """Scores against gold over a stream of items (see the module's terms).

    `gold` selects the reference set, `sets` the sets to score (the gold set itself is
    never scored); `thresholds` are the IoU thresholds. Feed items with `add_item`; read
    `per_annotator` and `per_source`."""

    gold: str | SetSelector = "gold"
    sets: str | SetSelector = "all"
    thresholds: Sequence[float] = (0.5,)
    assignment: Assignment = "optimal"
    sigmas: Mapping[str, float] | None = None
    source_name: SourceName | None = None
    span_mode: Literal["exact", "overlap"] = "exact"
    trim_spans: bool = False
    per_annotator: dict[str, GoldScores] = field(default_factory=dict)
    per_source: dict[str, GoldScores] = field(default_factory=dict)
    items: int = 0
    items_without_gold: int = 0
    items_with_several_gold: int = 0

    def __post_init__(self) -> None:
        self.gold = SetSelector.parse(self.gold)
        self.sets = SetSelector.parse(self.sets)
        self.thresholds = tuple(float(t) for t in self.thresholds)
        if not self.thresholds:
            raise QAError("no IoU threshold given", hint="give at least one, e.g. 0.5")
        for threshold in self.thresholds:
            if not 0.0 <= threshold <= 1.0:
                raise QAError(
                    f"IoU threshold {threshold} is not between 0 and 1",
                    hint="use thresholds such as 0.5 or 0.75",
                )

    def source_key(self, aset: AnnotationSet) -> str:
        if self.source_name is not None:
            name = self.source_name(aset)
            if name:
                return name
        return aset.source.tool if aset.source is not None else "unknown"

    def _group(self, groups: dict[str, GoldScores], key: str) -> GoldScores:
        if key not in groups:
            groups[key] = GoldScores(regions=RegionGold(tuple(self.thresholds)))
        return groups[key]

    def add_item(self, item: Item) -> None:
        """Score the item's sets against its gold set."""
        self.items += 1
        golds = select_sets(item, self.gold, source_name=self.source_name)
        if not golds:
            self.items_without_gold += 1
            return
        if len(golds) > 1:
            self.items_with_several_gold += 1
        reference = golds[0]
        gold_ids = {id(s) for s in golds}
        scored_sets = [
            s
            for s in select_sets(item, self.sets, source_name=self.source_name)
            if id(s) not in gold_ids
        ]
        size = media_size(item)
        gold_frames = by_frame(r for r in reference.regions if kind_of(r.shape) in MATCHABLE_KINDS)
        gold_answers = answers_by_question(reference.classifications)
        from bridge.qa.spans import add_span_counts, item_texts, span_set

        texts = item_texts(item) if self.trim_spans else None
        gold_spans = span_set(reference.regions, trim_with=texts).spans
        for aset in scored_sets:
            targets = (
                self._group(self.per_annotator, annotator_key(aset)),
                self._group(self.per_source, self.source_key(aset)),
            )
            frames = by_frame(r for r in aset.regions if kind_of(r.shape) in MATCHABLE_KINDS)
            answers = answers_by_question(aset.classifications)
            spans = span_set(aset.regions, trim_with=texts).spans
            outcomes = [
                score_regions(
                    gold_frames.get(frame, []),
                    frames.get(frame, []),
                    self.thresholds,
                    size=size,
                    assignment=self.assignment,
                    sigmas=self.sigmas,
                )
                for frame in set(gold_frames) | set(frames)
            ]
            for target in targets:
                target.items += 1
                for outcome in outcomes:
                    target.regions.add(outcome)
                if gold_spans or spans:
                    add_span_counts(target.spans, gold_spans, spans, self.span_mode)
                for question, values in gold_answers.items():
                    table = target.classifications.setdefault(question, ClassTable())
                    add_answers(table, values, answers.get(question, []))


def evaluate_against_gold(items: Iterable[Item], **options: object) -> GoldEvaluation:
    """`GoldEvaluation(**options)` fed with `items`, read once."""
    evaluation = GoldEvaluation(**options)  # type: ignore[arg-type]
    for item in items:
        evaluation.add_item(item)
    return evaluation
