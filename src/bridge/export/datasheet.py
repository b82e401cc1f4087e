"""The bundle's `datasheet.md`: what the delivered data holds, where it came from, what the
export lost, and its quality numbers.

`Tally` counts while the items stream past (a few counters, never the items):

* *items* per split;
* *regions* per class and split (a track counts once, as one object; regions without a
  label under `(no label)`);
* *annotation sets* per annotator (email, else name, else id; `(unknown)` without one)
  and per kind (human, prediction, consensus, gold);
* *sources*: the tool (and project) each annotation set came from.

`render` writes the Markdown. Every text that came from the data (labels, names, paths) is
made printable and has its table-breaking characters escaped. The QA section is filled by
`bridge.qa` when that module offers `datasheet_section(source, sets)`; until then it is a
placeholder telling the reader to run `bridge qa`.
"""

from __future__ import annotations

import importlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bridge.losses import LossReport
from bridge.schema import AnnotationSet, Item
from bridge.text import printable

NO_LABEL = "(no label)"
UNKNOWN = "(unknown)"
QA_PLACEHOLDER = (
    "QA: run `bridge qa` on the same source and sets for agreement, gold scores and defect "
    "rates; this export did not compute them ({why})."
)


def md(value: Any) -> str:
    """`value` as one Markdown table cell: printable, pipes and backticks escaped."""
    text = printable(value).replace("\n", " ").replace("\r", " ")
    for char in ("\\", "|", "`", "*", "_", "<", ">", "[", "]"):
        text = text.replace(char, "\\" + char)
    return text or " "


def annotator_name(aset: AnnotationSet) -> str:
    person = aset.annotator
    if person is None:
        return UNKNOWN
    return person.email or person.name or person.id or UNKNOWN


@dataclass
class Tally:
    """Counters filled item by item (`add`)."""

    items: Counter[str] = field(default_factory=Counter)
    regions: Counter[tuple[str, str]] = field(default_factory=Counter)
    annotators: Counter[str] = field(default_factory=Counter)
    set_kinds: Counter[str] = field(default_factory=Counter)
    sources: Counter[str] = field(default_factory=Counter)
    shape_kinds: Counter[str] = field(default_factory=Counter)

    def add(self, item: Item, split: str) -> None:
        self.items[split] += 1
        for aset in item.annotation_sets:
            self.annotators[annotator_name(aset)] += 1
            self.set_kinds[aset.kind] += 1
            if aset.source is not None:
                project = f" project {aset.source.project}" if aset.source.project else ""
                self.sources[f"{aset.source.tool}{project}"] += 1
            for region in aset.regions:
                self.regions[(region.label or NO_LABEL, split)] += 1
                self.shape_kinds[region.shape.type] += 1
            for track in aset.tracks:
                self.regions[(track.label or NO_LABEL, split)] += 1
                self.shape_kinds["track"] += 1

    def splits(self) -> list[str]:
        return sorted(self.items)


def _table(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> list[str]:
    header = list(header)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(md(cell) for cell in row) + " |" for row in rows]
    return lines


def qa_section(source: str, sets: str) -> str:
    """The QA numbers from `bridge.qa.datasheet_section(source, sets)` (Markdown), or the
    placeholder when `bridge.qa` is missing or does not offer it."""
    try:
        qa = importlib.import_module("bridge.qa")
    except ModuleNotFoundError as error:
        if error.name not in ("bridge.qa", "bridge"):
            raise  # bridge.qa exists but something it imports is missing: a real problem
        return QA_PLACEHOLDER.format(why="this label-bridge has no `bridge.qa`")
    section = getattr(qa, "datasheet_section", None)
    if section is None:
        return QA_PLACEHOLDER.format(why="`bridge.qa` offers no `datasheet_section` yet")
    text: str = section(source, sets)
    return text


def render(
    tally: Tally,
    losses: LossReport,
    *,
    title: str,
    facts: dict[str, str],
    qa: str,
) -> str:
    """The datasheet's Markdown. `facts` are the "what and how" lines (source, format, sets,
    split, created, version), shown as given."""
    splits = tally.splits()
    lines = [f"# Datasheet: {md(title)}", "", "## Export", ""]
    lines += [f"- {md(name)}: {md(value)}" for name, value in facts.items()]
    lines += ["", "## Items per split", ""]
    lines += _table(["split", "items"], [(s, tally.items[s]) for s in splits])
    lines.append(f"\nTotal: {sum(tally.items.values())} items.")
    lines += ["", "## Objects per class and split", ""]
    labels = sorted({label for label, _ in tally.regions})
    if labels:
        rows = [
            [
                label,
                *(tally.regions[(label, s)] for s in splits),
                sum(tally.regions[(label, s)] for s in splits),
            ]
            for label in labels
        ]
        lines += _table(["class", *splits, "total"], rows)
        lines.append("\nA track counts once (one object followed through a video).")
    else:
        lines.append("No labeled regions or tracks.")
    if tally.shape_kinds:
        lines += [
            "",
            "Shapes: " + ", ".join(f"{md(k)} {n}" for k, n in sorted(tally.shape_kinds.items())),
        ]
    lines += ["", "## Annotators", ""]
    if tally.annotators:
        lines += _table(["annotator", "annotation sets"], sorted(tally.annotators.items()))
        lines += [
            "",
            "Set kinds: " + ", ".join(f"{md(k)} {n}" for k, n in sorted(tally.set_kinds.items())),
        ]
    else:
        lines.append("No annotation sets were exported.")
    lines += ["", "## Sources", ""]
    if tally.sources:
        lines += _table(["source", "annotation sets"], sorted(tally.sources.items()))
    else:
        lines.append("The annotation sets name no source tool.")
    lines += ["", "## Loss report", ""]
    if losses:
        loss_rows = [
            (loss.code, loss.severity, loss.count, loss.message, ", ".join(loss.examples[:3]))
            for loss in losses
        ]
        lines += _table(["code", "severity", "count", "what", "e.g. where"], loss_rows)
    else:
        lines.append("Nothing was dropped or approximated.")
    lines += ["", "## QA", "", qa, ""]
    return "\n".join(lines)
