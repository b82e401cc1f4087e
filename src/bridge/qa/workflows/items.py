"""The view of one item that every QA accumulator reads.

* An *origin* is the source (a file name or a live URL as given on the command line) an
  annotation set was read from; several sources are joined by item key, so one item may
  hold sets from several origins.
* A set's *tool* is the labeling tool it came from (`SourceRef.tool`), else the format its
  source was read as, else its origin.
* A set's *annotator name* (`who`) is the annotator's email, else name, else id; a
  prediction's is `model:<model_version>` (or `model`); a set without an annotator is
  `(unknown)`.
* The item's *reference* set is what the item "really" is for counting classes and telling
  duplicates apart: its gold set if it has one, else its newest accepted set, else its
  newest human (or consensus) set (`bridge.select`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from bridge.schema import AnnotationSet, Item
from bridge.select import SetSelector, is_accepted, is_gold, newest, select_sets

UNKNOWN = "(unknown)"
NO_CLASS = "(none)"


def annotator_name(aset: AnnotationSet) -> str:
    """Who made `aset`, as the report names them (see the module docstring)."""
    if aset.kind == "prediction":
        return f"model:{aset.model_version}" if aset.model_version else "model"
    person = aset.annotator
    if person is None:
        return UNKNOWN
    return person.email or person.name or person.id or UNKNOWN


@dataclass(frozen=True)
class SetView:
    """One annotation set with where it came from and who made it."""

    aset: AnnotationSet
    origin: str
    tool: str
    who: str

    @property
    def id(self) -> str:
        return self.aset.id


@dataclass
class ItemView:
    """One item with its sets sorted into human, gold and prediction sets. The gold sets
    are those `gold` names by identity (`id()` of the set), else `bridge.select.is_gold`."""

    item: Item
    sets: list[SetView]
    gold_ids: set[int] | None = None
    human: list[SetView] = field(default_factory=list)
    gold: list[SetView] = field(default_factory=list)
    predictions: list[SetView] = field(default_factory=list)
    _reference: tuple[SetView | None] | None = None

    def __post_init__(self) -> None:
        for view in self.sets:
            chosen = (
                id(view.aset) in self.gold_ids if self.gold_ids is not None else is_gold(view.aset)
            )
            if chosen:
                self.gold.append(view)
            elif view.aset.kind == "prediction":
                self.predictions.append(view)
            elif view.aset.kind == "human":
                self.human.append(view)

    @property
    def key(self) -> str:
        return self.item.key

    def reference(self) -> SetView | None:
        """The gold set, else the newest accepted set, else the newest human or consensus set."""
        if self._reference is None:
            self._reference = (self._find_reference(),)
        return self._reference[0]

    def _find_reference(self) -> SetView | None:
        if self.gold:
            return self.gold[0]
        pool = [view for view in self.sets if view.aset.kind != "prediction"]
        by_id = {id(view.aset): view for view in pool}
        accepted = newest([view.aset for view in pool if is_accepted(view.aset)])
        if accepted is not None:
            return by_id[id(accepted)]
        latest = newest([view.aset for view in pool])
        return by_id[id(latest)] if latest is not None else None


def view_item(
    item: Item,
    origins: list[str],
    tools: list[str],
    *,
    gold: SetSelector | None = None,
    gold_origins: frozenset[str] = frozenset(),
) -> ItemView:
    """`item` as an `ItemView`; `origins[i]` and `tools[i]` belong to its i-th set (the
    tool is replaced by the set's own `SourceRef.tool` when it has one). Gold sets are
    those the selector `gold` picks (`bridge.select`; default: `gold`) and every set from
    the sources named in `gold_origins`."""
    views = []
    for aset, origin, tool in zip(item.annotation_sets, origins, tools, strict=True):
        own_tool = aset.source.tool if aset.source is not None and aset.source.tool else tool
        views.append(SetView(aset, origin, own_tool, annotator_name(aset)))
    gold_ids: set[int] | None = None
    if gold is not None or gold_origins:
        picked = select_sets(item, gold) if gold is not None else []
        gold_ids = {id(aset) for aset in picked}
        gold_ids |= {id(view.aset) for view in views if view.origin in gold_origins}
        if gold is None:
            gold_ids |= {id(view.aset) for view in views if is_gold(view.aset)}
    return ItemView(item, views, gold_ids)


def set_labels(aset: AnnotationSet) -> Counter[str]:
    """The classes `aset` marks: its regions' and tracks' labels (unlabeled ones as `(none)`)."""
    labels: Counter[str] = Counter()
    for region in aset.regions:
        labels[region.label if region.label is not None else NO_CLASS] += 1
    for track in aset.tracks:
        labels[track.label if track.label is not None else NO_CLASS] += 1
    return labels


def set_answers(aset: AnnotationSet) -> list[tuple[str, str]]:
    """The item-level answers of `aset` as `(question, value)` pairs (top level only)."""
    return [
        (classification.name, str(answer.value))
        for classification in aset.classifications
        for answer in classification.answers
    ]


def main_class(aset: AnnotationSet) -> str:
    """The class a set is "about", for stratifying: its most frequent region/track label
    (the first in alphabetical order on a tie), else its first item-level answer value,
    else `(none)`."""
    labels = set_labels(aset)
    if labels:
        top = max(labels.values())
        return min(label for label, count in labels.items() if count == top)
    answers = set_answers(aset)
    return answers[0][1] if answers else NO_CLASS
