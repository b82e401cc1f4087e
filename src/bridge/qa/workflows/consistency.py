"""Label consistency: the same thing labeled differently, answers the ontology does not
allow, and regions outside their media.

* **Conflicting duplicates**: items that are identical or nearly so, whose labels differ.
  Items are grouped by each of three *fingerprints*: the media `uri` (trimmed), the text
  (case-folded, runs of white space made one space) and a hash of the item's `data` (its
  canonical JSON; empty data is not fingerprinted). An item's *labels* are the distinct
  region/track labels and item-level answers (`question=value`) of its reference set
  (`items.ItemView.reference`). A group of two or more items whose labels are not all the
  same is a *conflict*. The fingerprints wait in the run's SQLite scratch database, not in
  memory.
* **Ontology violations**, checked at the end against each source's final ontology (a
  reader may learn labels while streaming): a region or track label the ontology does not
  list (when it lists any) is `unknown_label`; an answer to a question with options
  (select, radio, checkbox, checklist, taxonomy) that is not one of them is
  `value_not_in_options`; a number outside the question's min..max is `out_of_range`.
  Questions are looked up on the region's label class first, then among the item-level
  questions; a question the ontology does not ask is not checked. Only distinct (source,
  class, question, value) combinations are counted in memory (at most `MAX_DISTINCT`;
  beyond that new combinations are not checked, and `truncated` says so).
* **Regions outside the media**: a region (or a track keyframe) with a point farther than
  `tolerance` outside the media (0.5 px; 0.05 in percent units), see `shapes.outside`;
  and a text span that ends after the text.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bridge.qa.workflows.items import ItemView, set_answers, set_labels
from bridge.qa.workflows.scratch import Scratch
from bridge.qa.workflows.shapes import outside
from bridge.schema import (
    BBox,
    Classification,
    ClassificationSpec,
    Item,
    Ontology,
    Shape,
    Span,
)

MAX_DISTINCT = 20000
MAX_EXAMPLES = 20
CHOICE_INPUTS = ("select", "radio", "checkbox", "checklist", "taxonomy")
PIXEL_TOLERANCE = 0.5
PERCENT_TOLERANCE = 0.05
_SPACES = re.compile(r"\s+")


def fingerprints(item: Item) -> list[tuple[str, str]]:
    """The `(kind, value)` fingerprints of `item`: uri, text, data (see the module)."""
    found = []
    if item.media.uri and item.media.uri.strip():
        found.append(("uri", item.media.uri.strip()))
    if item.media.text and item.media.text.strip():
        found.append(("text", _SPACES.sub(" ", item.media.text.strip()).casefold()))
    if item.data:
        canonical = json.dumps(item.data, sort_keys=True, separators=(",", ":"), default=str)
        found.append(("data", hashlib.sha256(canonical.encode()).hexdigest()))
    return found


def labels_of(view: ItemView) -> list[str] | None:
    """The sorted distinct labels and answers of the item's reference set (None: no set)."""
    reference = view.reference()
    if reference is None:
        return None
    labels = set(set_labels(reference.aset))
    labels.update(f"{question}={value}" for question, value in set_answers(reference.aset))
    return sorted(labels)


@dataclass
class Consistency:
    """The consistency accumulator (see the module docstring)."""

    scratch: Scratch
    answers: dict[tuple[str, str | None, str, str], list[Any]] = field(default_factory=dict)
    labels: dict[tuple[str, str], list[Any]] = field(default_factory=dict)
    truncated: bool = False
    outside_count: int = 0
    outside_examples: list[dict[str, Any]] = field(default_factory=list)
    checked_regions: int = 0
    unchecked_regions: int = 0

    def __post_init__(self) -> None:
        self.scratch.table("prints", "kind TEXT, value TEXT, key TEXT, labels TEXT")

    def add(self, view: ItemView) -> None:
        item = view.item
        labels = labels_of(view)
        if labels is not None:
            signature = json.dumps(labels)
            for kind, value in fingerprints(item):
                self.scratch.insert("prints", (kind, value, item.key, signature))
        media = item.media
        for sub in view.sets:
            aset = sub.aset
            for classification in aset.classifications:
                self._answer(sub.origin, None, classification, item.key)
            for region in aset.regions:
                self._label(sub.origin, region.label, item.key)
                for classification in region.classifications:
                    self._answer(sub.origin, region.label, classification, item.key)
                shape = region.shape
                if type(shape) is BBox and shape.units == "px" and media.width and media.height:
                    # the common case inline (`shapes.outside` computes the same)
                    self.checked_regions += 1
                    if (
                        shape.rotation
                        or shape.x < -PIXEL_TOLERANCE
                        or shape.y < -PIXEL_TOLERANCE
                        or shape.x + shape.width > media.width + PIXEL_TOLERANCE
                        or shape.y + shape.height > media.height + PIXEL_TOLERANCE
                    ):
                        self.checked_regions -= 1
                        self._bounds(view, sub.id, region.id, region.label, shape)
                    continue
                self._bounds(view, sub.id, region.id, region.label, shape)
            for track in aset.tracks:
                self._label(sub.origin, track.label, item.key)
                for classification in track.classifications:
                    self._answer(sub.origin, track.label, classification, item.key)
                for keyframe in track.keyframes:
                    if keyframe.shape is not None and not keyframe.outside:
                        self._bounds(view, sub.id, track.id, track.label, keyframe.shape)

    def _label(self, origin: str, label: str | None, key: str) -> None:
        if label is None:
            return
        entry = self.labels.get((origin, label))
        if entry is not None:
            entry[0] += 1
        elif len(self.labels) < MAX_DISTINCT:
            self.labels[(origin, label)] = [1, key]
        else:
            self.truncated = True

    def _answer(self, origin: str, label: str | None, found: Classification, key: str) -> None:
        for answer in found.answers:
            value = answer.value
            text = json.dumps(value) if not isinstance(value, str) else value
            slot = (origin, label, found.name, text)
            entry = self.answers.get(slot)
            if entry is not None:
                entry[0] += 1
            elif len(self.answers) < MAX_DISTINCT:
                self.answers[slot] = [1, key, value]
            else:
                self.truncated = True

    def _bounds(
        self, view: ItemView, set_id: str, region_id: str, label: str | None, shape: Shape
    ) -> None:
        media = view.item.media
        if isinstance(shape, Span):
            text = media.text
            if text is None or shape.container is not None or shape.end is None:
                self.unchecked_regions += 1
                return
            found: bool | None = shape.end > len(text)
        else:
            tolerance = PERCENT_TOLERANCE if shape.units == "percent" else PIXEL_TOLERANCE
            found = outside(shape, media.width, media.height, tolerance)
        if found is None:
            self.unchecked_regions += 1
            return
        self.checked_regions += 1
        if found:
            self.outside_count += 1
            if len(self.outside_examples) < MAX_EXAMPLES:
                self.outside_examples.append(
                    {"item": view.key, "set": set_id, "region": region_id, "label": label}
                )

    def _duplicates(self) -> dict[str, Any]:
        groups: Counter[str] = Counter()
        items_in_conflict = 0
        examples: list[dict[str, Any]] = []
        rows = self.scratch.query(
            "SELECT kind, value FROM prints GROUP BY kind, value "
            "HAVING COUNT(*) > 1 AND COUNT(DISTINCT labels) > 1 ORDER BY kind, value"
        )
        for kind, value in list(rows):
            groups[kind] += 1
            members = list(
                self.scratch.query(
                    "SELECT key, labels FROM prints WHERE kind = ? AND value = ? ORDER BY rowid",
                    (kind, value),
                )
            )
            items_in_conflict += len(members)
            if len(examples) < MAX_EXAMPLES:
                examples.append(
                    {
                        "by": kind,
                        "value": value if len(value) <= 200 else value[:200] + "...",
                        "items": [
                            {"key": key, "labels": json.loads(labels)}
                            for key, labels in members[:10]
                        ],
                    }
                )
        return {
            "conflicting_groups": sum(groups.values()),
            "by_fingerprint": {kind: groups.get(kind, 0) for kind in ("uri", "text", "data")},
            "items_in_conflict": items_in_conflict,
            "examples": examples,
        }

    def _violations(self, ontologies: dict[str, Ontology]) -> dict[str, Any]:
        counts: Counter[str] = Counter()
        examples: list[dict[str, Any]] = []

        def report(code: str, n: int, **where: Any) -> None:
            counts[code] += n
            if len(examples) < MAX_EXAMPLES:
                examples.append({"code": code, "count": n, **where})

        for (origin, label), (n, key) in sorted(self.labels.items()):
            ontology = ontologies.get(origin)
            known = {cls.name for cls in ontology.labels} if ontology is not None else set()
            if known and label not in known:
                report("unknown_label", n, source=origin, label=label, item=key)
        for (origin, owner, question, _), (n, key, value) in sorted(
            self.answers.items(), key=lambda entry: [str(part) for part in entry[0]]
        ):
            ontology = ontologies.get(origin)
            spec = _question(ontology, owner, question) if ontology is not None else None
            if spec is None:
                continue
            where = {"source": origin, "label": owner, "question": question, "value": value}
            if spec.input in CHOICE_INPUTS and spec.options:
                if str(value) not in _option_values(spec):
                    report("value_not_in_options", n, item=key, **where)
            elif spec.input in ("number", "rating") and isinstance(value, int | float):
                low = spec.min if spec.min is not None else float("-inf")
                high = spec.max if spec.max is not None else float("inf")
                if not isinstance(value, bool) and not low <= value <= high:
                    report("out_of_range", n, item=key, **where)
        return {
            "count": sum(counts.values()),
            "by_code": dict(sorted(counts.items())),
            "truncated": self.truncated,
            "examples": examples,
        }

    def result(self, ontologies: dict[str, Ontology]) -> dict[str, Any]:
        return {
            "duplicates": self._duplicates(),
            "ontology_violations": self._violations(ontologies),
            "outside_media": {
                "count": self.outside_count,
                "checked_regions": self.checked_regions,
                "unchecked_regions": self.unchecked_regions,
                "examples": self.outside_examples,
            },
        }


def _question(ontology: Ontology, label: str | None, name: str) -> ClassificationSpec | None:
    if label is not None:
        for cls in ontology.labels:
            if cls.name == label:
                for spec in cls.attributes:
                    if spec.name == name:
                        return spec
    for spec in ontology.classifications:
        if spec.name == name:
            return spec
    return None


def _option_values(spec: ClassificationSpec) -> set[str]:
    values: set[str] = set()
    stack = list(spec.options)
    while stack:  # taxonomy options nest: any level is a valid answer
        option = stack.pop()
        values.add(option.value)
        for child in option.children:
            stack.extend(child.options)
    return values
