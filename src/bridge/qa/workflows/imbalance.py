"""Class imbalance: how many times each class occurs, per split, and which classes need
more data.

Each item is counted once, from its reference set (`items.ItemView.reference`: gold, else
the newest accepted set, else the newest human set), so two annotators on the same item do
not count it twice. A *class* is a region or track label; item-level answers are counted
per question under `answers`. The split is the item's `subset` (`(none)` without one).

`ratio` is the count of the most frequent class over that of the least frequent class that
occurs (None with fewer than two classes). `under_threshold` names every class counted
fewer than `min_per_class` times, including the ontology's classes that never occur
(count 0), most needy first.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bridge.qa.workflows.items import NO_CLASS, ItemView, set_answers, set_labels
from bridge.schema import Ontology


def imbalance_ratio(counts: Counter[str]) -> float | None:
    present = [n for n in counts.values() if n > 0]
    return max(present) / min(present) if len(present) >= 2 else None


def _ranked(counts: Counter[str]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda entry: (-entry[1], entry[0])))


@dataclass
class Imbalance:
    """The class-count accumulator (see the module docstring)."""

    min_per_class: int = 10
    classes: Counter[str] = field(default_factory=Counter)
    by_split: dict[str, Counter[str]] = field(default_factory=dict)
    answers: dict[str, Counter[str]] = field(default_factory=dict)
    items_counted: int = 0

    def add(self, view: ItemView) -> None:
        reference = view.reference()
        if reference is None:
            return
        self.items_counted += 1
        labels = set_labels(reference.aset)
        self.classes.update(labels)
        self.by_split.setdefault(view.item.subset or NO_CLASS, Counter()).update(labels)
        for question, value in set_answers(reference.aset):
            self.answers.setdefault(question, Counter())[value] += 1

    def result(self, ontologies: dict[str, Ontology]) -> dict[str, Any]:
        counts = Counter(self.classes)
        for ontology in ontologies.values():
            for cls in ontology.labels:
                if cls.parent is None:  # skeleton points and sub-classes are not counted
                    counts.setdefault(cls.name, 0)
        under = sorted(
            (name for name, n in counts.items() if n < self.min_per_class),
            key=lambda name: (counts[name], name),
        )
        return {
            "items_counted": self.items_counted,
            "classes": _ranked(counts),
            "by_split": {
                split: _ranked(split_counts)
                for split, split_counts in sorted(self.by_split.items())
            },
            "ratio": imbalance_ratio(counts),
            "min_per_class": self.min_per_class,
            "under_threshold": under,
            "answers": {
                question: {"counts": _ranked(values), "ratio": imbalance_ratio(values)}
                for question, values in sorted(self.answers.items())
            },
        }
