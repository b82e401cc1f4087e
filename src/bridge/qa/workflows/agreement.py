"""Inter-annotator agreement, from the metrics of `bridge.qa` (scores against gold are in
`gold_scores`).

Per item, every two human sets (a *pair*, named by the two annotator names in order) are
compared:

* **Regions**: matched one to one by `bridge.qa.regions.region_agreement` (IoU or OKS,
  optimal assignment, label-blind, at the run's IoU threshold; frame by frame). Each
  matched pair's IoU goes into the IoU histogram (20 bins of
  0.05), each pair of labels into the pair's region-label table.
* **Text spans**: matched exactly (same part, start and end; label-blind) by
  `bridge.qa.spans.match_spans`; they count like regions (same-label matches agree) and
  their label pairs go into the same label table.
* **Tracks**: matched one to one by their mean per-frame IoU over CVAT-style interpolation
  (`bridge.qa.tracks.track_agreement`, label-blind, at the IoU threshold), counted like
  regions; identity switches and MOTA/MOTP (B against A) per pair.
* **Item-level answers**: for each question both sets answer, their first answers are
  compared (equal or not) and counted in the pair's table for that question.
* The pair's **agreement** on the item is (2 · same-label matched regions, spans and tracks
  + 2 · equal answers) / (regions, spans and tracks of A and of B + 2 · questions both
  answered): 1 when
  both marked the same things with the same labels, 0 when nothing agrees; an item where
  neither marked anything adds nothing. Summed over items it is the pair's pooled
  agreement; over every pair, `overall` (the `iaa` gate).
* The item's **disagreement** is 1 - the pooled agreement of its pairs (0 when they have
  nothing to compare), None with fewer than two human sets.
* **Kappa**: per pair and question, Cohen's kappa of the answers (`bridge.qa.kappa`); a
  pair's kappa is the mean over its questions, or, when the items have no item-level
  answers, the kappa of its matched regions' labels. `kappa` is the mean over the pairs
  whose kappa is defined (kappa is undefined when both gave one answer throughout).
* **Alpha**: Krippendorff's alpha (nominal, `bridge.qa.alpha`) of the item-level answers
  of every human set, per question (coincidences summed item by item); `alpha` is the mean
  over the questions where it is defined.
* A per-annotator (and tool) `agreement` is their pooled agreement over all their pairs.

**Submission vs accepted version** (`differ`, used by `defects`): the regions are matched
label-blind at any overlap; unmatched accepted regions are *added*, unmatched submitted
ones *removed*, matches with another label *relabeled*, matches with IoU under the
threshold *moved*; text spans are matched exactly (an edited span is one removed and one
added); a changed item-level answer counts as relabeled.

A pair whose shapes cannot be compared (`QAError`: a pixel shape against a percent shape
on media of unknown size) is skipped and counted in `skipped`.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

from bridge.qa.errors import QAError
from bridge.qa.gold import (
    UNLABELED,
    answers_by_question,
)
from bridge.qa.regions import media_size, region_agreement
from bridge.qa.spans import TextSpan, match_spans, span_set
from bridge.qa.tracks import MotCounts, track_agreement
from bridge.qa.workflows.defects import Differ, RegionDiff
from bridge.qa.workflows.items import ItemView, SetView
from bridge.qa.workflows.scorecards import Who
from bridge.schema import AnnotationSet, Item, Span

BINS = 20
ANY_OVERLAP = 1e-9


def first_answers(aset: AnnotationSet) -> dict[str, str]:
    """Each question's first answer value (as text) among the set's item-level answers."""
    return {
        name: values[0]
        for name, values in answers_by_question(aset.classifications).items()
        if values
    }


def text_spans(aset: AnnotationSet) -> tuple[TextSpan, ...]:
    """The set's text spans that can be placed (`bridge.qa.spans.span_set`, untrimmed)."""
    if not any(type(region.shape) is Span for region in aset.regions):
        return ()
    return span_set(aset.regions).spans


@dataclass
class PairTotals:
    """One annotator pair over the items both labeled."""

    items: int = 0
    agree: float = 0.0
    units: float = 0.0
    regions_matched: int = 0
    regions_a: int = 0
    regions_b: int = 0
    same_label: int = 0
    iou_sum: float = 0.0
    spans_matched: int = 0
    spans_a: int = 0
    spans_b: int = 0
    spans_same_label: int = 0
    tracks: MotCounts | None = None
    tracks_matched: int = 0
    tracks_a: int = 0
    tracks_b: int = 0
    tracks_same_label: int = 0
    region_labels: Counter[tuple[str, str]] = field(default_factory=Counter)
    answers: dict[str, Counter[tuple[str, str]]] = field(default_factory=dict)

    @property
    def agreement(self) -> float | None:
        return self.agree / self.units if self.units else None


def kappa_of(table: Counter[tuple[str, str]]) -> float | None:
    """Cohen's kappa of a table of (value a, value b) counts; None when undefined."""
    from bridge.qa.kappa import kappa_from_table

    values = sorted({v for pair in table for v in pair})
    if not values:
        return None
    index = {v: i for i, v in enumerate(values)}
    matrix = [[0] * len(values) for _ in values]
    for (a, b), n in table.items():
        matrix[index[a]][index[b]] += n
    try:
        return kappa_from_table(matrix)
    except QAError:  # one and the same answer throughout: kappa is 0/0
        return None


def alpha_of(coincidences: dict[tuple[str, str], float]) -> float | None:
    """Nominal Krippendorff's alpha of summed coincidences; None when undefined."""
    from bridge.qa.alpha import alpha_from_coincidences

    values = sorted({v for pair in coincidences for v in pair})
    if len(values) < 2:
        return None
    index = {v: i for i, v in enumerate(values)}
    matrix = [[0.0] * len(values) for _ in values]
    for (a, b), weight in coincidences.items():
        matrix[index[a]][index[b]] += weight
    try:
        return alpha_from_coincidences(matrix, "nominal")
    except QAError:
        return None


def _mean(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


class Agreement:
    """The agreement accumulator; `add` returns the item's disagreement."""

    available = True

    def __init__(self, iou_threshold: float = 0.5):
        self.iou_threshold = iou_threshold
        self.pairs: dict[tuple[str, str], PairTotals] = {}
        self.people: dict[Who, list[float]] = {}
        self.histogram = [0] * BINS
        self.coincidences: dict[str, dict[tuple[str, str], float]] = {}
        self.skipped = 0
        self.skip_reason: str | None = None

    # -- agreement -----------------------------------------------------------------

    def add(self, view: ItemView) -> float | None:
        humans = sorted(view.human, key=lambda sub: (sub.who, sub.id))
        if len(humans) < 2:
            return None
        self._alpha(humans)
        size = media_size(view.item)
        agree = units = 0.0
        for a, b in combinations(humans, 2):
            result = self._pair(a, b, size, view.item.media.frame_count)
            if result is None:
                continue
            agree += result[0]
            units += result[1]
        return 1.0 - agree / units if units else 0.0

    def _pair(
        self, a: SetView, b: SetView, size: tuple[int, int] | None, frames: int | None
    ) -> tuple[float, float] | None:
        try:
            regions = region_agreement(a.aset, b.aset, size=size, iou_threshold=self.iou_threshold)
        except QAError as error:
            self.skipped += 1
            self.skip_reason = self.skip_reason or error.message
            return None
        totals = self.pairs.setdefault((a.who, b.who), PairTotals())
        totals.items += 1
        same = sum(1 for p in regions.pairs if p.same_label)
        totals.regions_matched += len(regions.pairs)
        totals.regions_a += regions.n_a
        totals.regions_b += regions.n_b
        totals.same_label += same
        for p in regions.pairs:
            totals.iou_sum += p.iou
            self.histogram[min(BINS - 1, max(0, math.floor(p.iou * BINS)))] += 1
            totals.region_labels[p.label_a or UNLABELED, p.label_b or UNLABELED] += 1
        same_spans, n_spans = self._pair_spans(a.aset, b.aset, totals)
        try:
            same_tracks, n_tracks = self._pair_tracks(a.aset, b.aset, totals, size, frames)
        except QAError as error:
            self.skipped += 1
            self.skip_reason = self.skip_reason or error.message
            same_tracks = n_tracks = 0
        answers_a, answers_b = first_answers(a.aset), first_answers(b.aset)
        shared = sorted(set(answers_a) & set(answers_b))
        equal = 0
        for question in shared:
            totals.answers.setdefault(question, Counter())[
                answers_a[question], answers_b[question]
            ] += 1
            equal += answers_a[question] == answers_b[question]
        agree = 2.0 * (same + same_spans + same_tracks + equal)
        units = float(regions.n_a + regions.n_b + n_spans + n_tracks + 2 * len(shared))
        totals.agree += agree
        totals.units += units
        for sub in (a, b):
            person = self.people.setdefault((sub.who, sub.tool), [0.0, 0.0, 0.0])
            person[0] += agree
            person[1] += units
            person[2] += 1
        return agree, units

    def _pair_tracks(
        self,
        a: AnnotationSet,
        b: AnnotationSet,
        totals: PairTotals,
        size: tuple[int, int] | None,
        frames: int | None,
    ) -> tuple[int, int]:
        """Match the two sets' tracks (`bridge.qa.tracks`, label-blind, at the IoU
        threshold); return (same-label matches, tracks on both sides)."""
        if not a.tracks and not b.tracks:
            return 0, 0
        found = track_agreement(
            a.tracks, b.tracks, frame_count=frames, iou_threshold=self.iou_threshold, size=size
        )
        labels_a = {track.id: track.label for track in a.tracks}
        labels_b = {track.id: track.label for track in b.tracks}
        same = 0
        for id_a, id_b, _ in found.pairs:
            label_a, label_b = labels_a[id_a] or UNLABELED, labels_b[id_b] or UNLABELED
            totals.region_labels[label_a, label_b] += 1
            same += label_a == label_b
        totals.tracks_matched += len(found.pairs)
        totals.tracks_a += len(a.tracks)
        totals.tracks_b += len(b.tracks)
        totals.tracks_same_label += same
        if totals.tracks is None:
            totals.tracks = MotCounts()
        totals.tracks.add(found.mot)
        return same, len(a.tracks) + len(b.tracks)

    def _pair_spans(
        self, a: AnnotationSet, b: AnnotationSet, totals: PairTotals
    ) -> tuple[int, int]:
        """Match the two sets' text spans exactly (label-blind); return (same-label matches,
        spans on both sides)."""
        spans_a, spans_b = text_spans(a), text_spans(b)
        if not spans_a and not spans_b:
            return 0, 0
        matching = match_spans(spans_a, spans_b, "exact", label_aware=False)
        same = 0
        for pair in matching.pairs:
            label_a = spans_a[pair.index_a].label or UNLABELED
            label_b = spans_b[pair.index_b].label or UNLABELED
            totals.region_labels[label_a, label_b] += 1
            same += label_a == label_b
        totals.spans_matched += len(matching.pairs)
        totals.spans_a += len(spans_a)
        totals.spans_b += len(spans_b)
        totals.spans_same_label += same
        return same, len(spans_a) + len(spans_b)

    def _alpha(self, humans: list[SetView]) -> None:
        by_question: dict[str, Counter[str]] = {}
        for sub in humans:
            for question, value in first_answers(sub.aset).items():
                by_question.setdefault(question, Counter())[value] += 1
        for question, counts in by_question.items():
            m = sum(counts.values())
            if m < 2:
                continue
            table = self.coincidences.setdefault(question, {})
            for c, n_c in counts.items():
                for k, n_k in counts.items():
                    pairs = n_c * (n_c - 1) if c == k else n_c * n_k
                    if pairs:
                        table[c, k] = table.get((c, k), 0.0) + pairs / (m - 1)

    # -- submission vs accepted ------------------------------------------------------

    def differ(self) -> Differ | None:
        threshold = self.iou_threshold

        def diff(
            item: Item, submitted: AnnotationSet, accepted: AnnotationSet, _: float
        ) -> RegionDiff:
            found = region_agreement(
                submitted, accepted, size=media_size(item), iou_threshold=ANY_OVERLAP
            )
            changes = RegionDiff(added=len(found.unmatched_b), removed=len(found.unmatched_a))
            for pair in found.pairs:
                if not pair.same_label:
                    changes.relabeled += 1
                elif pair.iou < threshold:
                    changes.moved += 1
            spans_before, spans_after = text_spans(submitted), text_spans(accepted)
            if spans_before or spans_after:
                moved = match_spans(spans_before, spans_after, "exact", label_aware=False)
                changes.removed += len(moved.unmatched_a)
                changes.added += len(moved.unmatched_b)
                changes.relabeled += sum(
                    1
                    for p in moved.pairs
                    if spans_before[p.index_a].label != spans_after[p.index_b].label
                )
            before, after = first_answers(submitted), first_answers(accepted)
            changes.relabeled += sum(
                1 for q in set(before) | set(after) if before.get(q) != after.get(q)
            )
            return changes

        return diff

    # -- results -------------------------------------------------------------------------

    def by_annotator(self) -> dict[Who, dict[str, Any]]:
        return {
            who: {"agreement": agree / units if units else None, "pairs": int(n)}
            for who, (agree, units, n) in self.people.items()
        }

    def _pair_kappa(self, totals: PairTotals) -> float | None:
        if totals.answers:
            return _mean([kappa_of(table) for table in totals.answers.values()])
        return kappa_of(totals.region_labels)

    def result(self) -> dict[str, Any]:
        names = sorted({name for pair in self.pairs for name in pair})
        pairs = []
        agree = units = 0.0
        matched = n_a = n_b = same = 0
        spans = {"a": 0, "b": 0, "matched": 0, "same_label": 0}
        tracks = {"a": 0, "b": 0, "matched": 0, "same_label": 0, "id_switches": 0}
        iou_sum = 0.0
        kappas: list[float | None] = []
        for (a, b), totals in sorted(self.pairs.items()):
            agree += totals.agree
            units += totals.units
            matched += totals.regions_matched
            n_a += totals.regions_a
            n_b += totals.regions_b
            same += totals.same_label
            iou_sum += totals.iou_sum
            kappas.append(self._pair_kappa(totals))
            spans["a"] += totals.spans_a
            spans["b"] += totals.spans_b
            spans["matched"] += totals.spans_matched
            spans["same_label"] += totals.spans_same_label
            tracks["a"] += totals.tracks_a
            tracks["b"] += totals.tracks_b
            tracks["matched"] += totals.tracks_matched
            tracks["same_label"] += totals.tracks_same_label
            tracks["id_switches"] += totals.tracks.id_switches if totals.tracks else 0
            pair_matched = totals.regions_matched
            pairs.append(
                {
                    "a": a,
                    "b": b,
                    "items": totals.items,
                    "agreement": totals.agreement,
                    "kappa": kappas[-1],
                    "questions": {
                        question: {
                            "compared": sum(table.values()),
                            "agreement": sum(n for (x, y), n in table.items() if x == y)
                            / sum(table.values()),
                            "kappa": kappa_of(table),
                        }
                        for question, table in sorted(totals.answers.items())
                    },
                    "spans": {
                        "a": totals.spans_a,
                        "b": totals.spans_b,
                        "matched": totals.spans_matched,
                        "same_label": totals.spans_same_label,
                    },
                    "tracks": {
                        "a": totals.tracks_a,
                        "b": totals.tracks_b,
                        "matched": totals.tracks_matched,
                        "same_label": totals.tracks_same_label,
                        "id_switches": totals.tracks.id_switches if totals.tracks else 0,
                        "mota": totals.tracks.mota if totals.tracks else None,
                        "motp": totals.tracks.motp if totals.tracks else None,
                    },
                    "regions": {
                        "a": totals.regions_a,
                        "b": totals.regions_b,
                        "matched": pair_matched,
                        "same_label": totals.same_label,
                        "agreement": (
                            2.0 * pair_matched / (totals.regions_a + totals.regions_b)
                            if totals.regions_a + totals.regions_b
                            else None
                        ),
                        "mean_iou": totals.iou_sum / pair_matched if pair_matched else None,
                        "label_agreement": (
                            totals.same_label / pair_matched if pair_matched else None
                        ),
                    },
                }
            )
        alphas = {
            question: alpha_of(table) for question, table in sorted(self.coincidences.items())
        }
        return {
            "available": True,
            "iou_threshold": self.iou_threshold,
            "annotators": names,
            "overall": agree / units if units else None,
            "kappa": _mean(kappas),
            "alpha": _mean(list(alphas.values())),
            "alpha_by_question": alphas,
            "regions": {
                "matched": matched,
                "a": n_a,
                "b": n_b,
                "same_label": same,
                "agreement": 2.0 * matched / (n_a + n_b) if n_a + n_b else None,
                "mean_iou": iou_sum / matched if matched else None,
                "label_agreement": same / matched if matched else None,
            },
            "spans": {
                **spans,
                "agreement": (
                    2.0 * spans["same_label"] / (spans["a"] + spans["b"])
                    if spans["a"] + spans["b"]
                    else None
                ),
            },
            "tracks": {
                **tracks,
                "agreement": (
                    2.0 * tracks["same_label"] / (tracks["a"] + tracks["b"])
                    if tracks["a"] + tracks["b"]
                    else None
                ),
            },
            "iou_histogram": {
                "edges": [round(i / BINS, 4) for i in range(BINS + 1)],
                "counts": list(self.histogram),
            },
            "pairs": pairs,
            "skipped": self.skipped,
            "skip_reason": self.skip_reason,
        }
