"""Span agreement: how far two annotators marked the same stretches of text.

Terms:

* A **text span** is a region whose shape is a `Span` with both offsets, inside one part
  of the item (`container`; a span that crosses parts, or has no offsets, e.g. rich-text
  spans kept as XPath, cannot be placed and is counted in `SpanSet.skipped`).
* **Trimming** (`trim=True`) moves a span's start forward and its end back past whitespace
  and punctuation (Unicode categories Z*, P* and the ASCII control whitespace), so
  "world!" and " world" both become "world". It needs the text: the item's `media.text`
  for spans with no container, `texts[container]` for the others; a span whose text is
  not given is an error (`QAError`). A span made only of such characters trims to empty.
* **Exact** matching pairs spans with the same part, start and end. **Overlap** matching
  pairs spans of one part that share at least one character, one to one, maximising the
  sum of their character IoU (shared / covered characters) with an optimal assignment;
  `min_overlap` raises the IoU a pair needs. An empty span matches nothing.
* **Label-aware** matching (the default) pairs only spans of the same label.
* **Span P/R/F1** of B against A: a matched pair is a TP of A's label, an unmatched span of
  A an FN of its label, of B an FP of its label (`bridge.qa.gold.ClassTable` counts, with
  its micro and macro scores). With A the gold this is seqeval's entity-level
  precision/recall/F1 in exact mode; between two annotators F1 is symmetric while precision
  and recall swap when A and B do.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Literal

import numpy as np

from bridge.qa.errors import QAError
from bridge.qa.gold import ClassTable
from bridge.qa.matching import FloatArray, Matching, assign
from bridge.qa.regions import annotator_key
from bridge.schema import AnnotationSet, Item, Region, Span
from bridge.select import SetSelector, SourceName, select_sets

SpanMode = Literal["exact", "overlap"]


@dataclass(frozen=True)
class TextSpan:
    """Characters `start` (inclusive) to `end` (exclusive) of part `container` (None: the
    item's text), with a label and the id of the region it came from."""

    start: int
    end: int
    label: str | None = None
    container: str | None = None
    id: str | None = None

    @property
    def length(self) -> int:
        return max(0, self.end - self.start)


@dataclass(frozen=True)
class SpanSet:
    """The placeable spans of one annotation set, and how many spans could not be placed."""

    spans: tuple[TextSpan, ...]
    skipped: int = 0


def is_boundary_junk(character: str) -> bool:
    """Whitespace or punctuation: what trimming removes at a span's ends."""
    return character.isspace() or unicodedata.category(character)[0] in "PZ"


def trim(span: TextSpan, text: str) -> TextSpan:
    """`span` without whitespace and punctuation at its ends (see the module's terms)."""
    start, end = span.start, min(span.end, len(text))
    while start < end and is_boundary_junk(text[start]):
        start += 1
    while end > start and is_boundary_junk(text[end - 1]):
        end -= 1
    return TextSpan(start, end, span.label, span.container, span.id)


def span_set(
    regions: Iterable[Region],
    *,
    trim_with: Mapping[str | None, str] | None = None,
) -> SpanSet:
    """The text spans of `regions`, trimmed with the texts of `trim_with` (keyed by
    container, None for the item's text) when given."""
    spans: list[TextSpan] = []
    skipped = 0
    for region in regions:
        shape = region.shape
        if not isinstance(shape, Span):
            continue
        crosses = shape.end_container is not None and shape.end_container != shape.container
        if shape.start is None or shape.end is None or crosses:
            skipped += 1
            continue
        span = TextSpan(shape.start, shape.end, region.label, shape.container, region.id)
        if trim_with is not None:
            text = trim_with.get(shape.container)
            if text is None:
                part = "the item's text" if shape.container is None else f"part {shape.container!r}"
                raise QAError(
                    f"cannot trim span {region.id}: {part} is not known",
                    hint="trimming needs the text the offsets index; turn trimming off or "
                    "give the texts",
                )
            span = trim(span, text)
        spans.append(span)
    return SpanSet(tuple(spans), skipped)


def span_overlaps(spans_a: Sequence[TextSpan], spans_b: Sequence[TextSpan]) -> FloatArray:
    """Character IoU of every span of A with every span of B (0 across parts and for
    empty spans)."""
    result = np.zeros((len(spans_a), len(spans_b)))
    for i, a in enumerate(spans_a):
        for j, b in enumerate(spans_b):
            if a.container != b.container or not a.length or not b.length:
                continue
            shared = min(a.end, b.end) - max(a.start, b.start)
            if shared > 0:
                result[i, j] = shared / (a.length + b.length - shared)
    return result


def match_spans(
    spans_a: Sequence[TextSpan],
    spans_b: Sequence[TextSpan],
    mode: SpanMode = "exact",
    *,
    label_aware: bool = True,
    min_overlap: float = 0.0,
) -> Matching:
    """Match two lists of spans one to one (see the module's terms)."""
    scores: FloatArray
    if mode == "exact":
        scores = np.array(
            [
                [
                    float(
                        a.length > 0
                        and (a.container, a.start, a.end) == (b.container, b.start, b.end)
                    )
                    for b in spans_b
                ]
                for a in spans_a
            ]
        ).reshape(len(spans_a), len(spans_b))
        threshold = 1.0
    elif mode == "overlap":
        scores = span_overlaps(spans_a, spans_b)
        threshold = min_overlap
    else:
        raise QAError(f"unknown span matching mode {mode!r}", hint='use "exact" or "overlap"')
    if label_aware and spans_a and spans_b:
        same = np.equal.outer(
            np.array([a.label for a in spans_a], dtype=object),
            np.array([b.label for b in spans_b], dtype=object),
        )
        scores = np.where(same, scores, 0.0)
    return assign(scores, threshold)


def add_span_counts(
    table: ClassTable,
    spans_a: Sequence[TextSpan],
    spans_b: Sequence[TextSpan],
    mode: SpanMode = "exact",
    *,
    label_aware: bool = True,
    min_overlap: float = 0.0,
) -> Matching:
    """Count B's spans against A's into `table` (TP/FN under A's labels, FP under B's)."""
    matching = match_spans(spans_a, spans_b, mode, label_aware=label_aware, min_overlap=min_overlap)
    for pair in matching.pairs:
        table.count(spans_a[pair.index_a].label or "").tp += 1
    for i in matching.unmatched_a:
        table.count(spans_a[i].label or "").fn += 1
    for j in matching.unmatched_b:
        table.count(spans_b[j].label or "").fp += 1
    return matching


def span_scores(
    spans_a: Sequence[TextSpan],
    spans_b: Sequence[TextSpan],
    mode: SpanMode = "exact",
    *,
    label_aware: bool = True,
    min_overlap: float = 0.0,
) -> ClassTable:
    """Span P/R/F1 of B against A, per label with micro and macro scores."""
    table = ClassTable()
    add_span_counts(table, spans_a, spans_b, mode, label_aware=label_aware, min_overlap=min_overlap)
    return table


def item_texts(item: Item) -> dict[str | None, str]:
    """The texts spans of `item` index: its `media.text` under None."""
    return {None: item.media.text} if item.media.text is not None else {}


@dataclass
class SpanAgreementAccumulator:
    """Span P/R/F1 of every annotator pair over a stream of items (per-pair counters
    only): on each item every two selected sets are compared, A being the one whose
    annotator key sorts first."""

    sets: str | SetSelector = "all"
    mode: SpanMode = "exact"
    trim: bool = False
    label_aware: bool = True
    min_overlap: float = 0.0
    source_name: SourceName | None = None
    texts: Mapping[str, Mapping[str | None, str]] | None = None
    """Per item key, texts of parts (containers) for trimming, beside the item's text."""
    totals: dict[tuple[str, str], ClassTable] = field(default_factory=dict)
    skipped: int = 0

    def add_item(self, item: Item) -> None:
        chosen = select_sets(item, self.sets, source_name=self.source_name)
        keyed = sorted(((annotator_key(s), s) for s in chosen), key=lambda pair: pair[0])
        texts: dict[str | None, str] | None = None
        if self.trim:
            texts = item_texts(item)
            if self.texts is not None:
                texts.update(self.texts.get(item.key, {}))
        spans = {id(s): self._spans(s, texts) for _, s in keyed}
        for (key_a, set_a), (key_b, set_b) in combinations(keyed, 2):
            table = self.totals.setdefault((key_a, key_b), ClassTable())
            add_span_counts(
                table,
                spans[id(set_a)],
                spans[id(set_b)],
                self.mode,
                label_aware=self.label_aware,
                min_overlap=self.min_overlap,
            )

    def _spans(
        self, aset: AnnotationSet, texts: Mapping[str | None, str] | None
    ) -> tuple[TextSpan, ...]:
        result = span_set(aset.regions, trim_with=texts)
        self.skipped += result.skipped
        return result.spans
