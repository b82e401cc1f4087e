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
made printable and has its table-breaking characters escaped.

`qa_section` fills the QA section: one `bridge.qa.workflows.run_qa` pass over the same
source, with the same `--sets` selection and reader options as the export (the default
gold: the exported sets marked gold; no HTML, no lists). It shows agreement (pooled,
Cohen's kappa and Krippendorff's alpha; per annotator pair when there are several pairs),
F1 against gold, the defect rate and class imbalance, each from the report `bridge qa
--json` gives (docs/qa-report.md), and `not measured: <why>` for what the data does not
allow. The source is read a second time for it (a live source is asked again).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bridge.errors import BridgeError
from bridge.losses import LossReport
from bridge.qa.workflows.items import annotator_name
from bridge.schema import Item
from bridge.text import printable

NO_LABEL = "(no label)"
NOT_MEASURED = "not measured: {why}"


def md(value: Any) -> str:
    """`value` as one Markdown table cell: printable, pipes and backticks escaped."""
    text = printable(value).replace("\n", " ").replace("\r", " ")
    for char in ("\\", "|", "`", "*", "_", "<", ">", "[", "]"):
        text = text.replace(char, "\\" + char)
    return text or " "


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


def qa_section(
    source: str,
    sets: str,
    *,
    from_format: str | None = None,
    options: dict[str, Any] | None = None,
) -> str:
    """The QA numbers of the exported sets of `source` as Markdown (see the module)."""
    from bridge.qa.workflows.run import QaSettings, run_qa

    settings = QaSettings(sets=sets, from_format=from_format, options=dict(options or {}))
    try:
        report = run_qa([source], settings)
    except BridgeError as error:  # the export itself read the source; say why QA could not
        return NOT_MEASURED.format(why=f"the QA pass failed: {error.message}")
    return render_qa(report, sets)


def _number(value: Any, why: str) -> str:
    """`value` with 4 decimals, or `not measured: why` when it is None."""
    if value is None:
        return NOT_MEASURED.format(why=why)
    return f"{float(value):.4f}"


def render_qa(report: dict[str, Any], sets: str) -> str:
    """The QA section's Markdown from a `bridge qa` report."""
    counts = report["counts"]
    agreement = report["agreement"]
    gold = report["gold"]
    defects = report["defects"]
    imbalance = report["imbalance"]
    lines = [
        f"Measured by `bridge qa` on the exported annotation sets (sets: {md(sets)}; gold: "
        f"the exported sets marked gold): {counts['items']} items, {counts['human_sets']} "
        f"human sets, {counts['gold_sets']} gold sets, {counts['annotators']} annotators.",
        "",
    ]
    few = "fewer than two human sets on any item"
    pairs = agreement.get("pairs") or []
    rows: list[tuple[str, str]] = [
        ("agreement (pooled)", _number(agreement.get("overall") if pairs else None, few)),
        (
            "Cohen's kappa (mean over annotator pairs)",
            _number(
                agreement.get("kappa"),
                "kappa is undefined for every pair" if pairs else few,
            ),
        ),
        (
            "Krippendorff's alpha (item-level answers)",
            _number(agreement.get("alpha"), "no item-level answers to compare"),
        ),
    ]
    if gold.get("available"):
        micro = gold["micro"]
        rows += [
            ("F1 against gold (micro)", _number(micro.get("f1"), "nothing to score")),
            (
                "precision / recall against gold",
                f"{_number(micro.get('precision'), 'none')} / "
                f"{_number(micro.get('recall'), 'none')}",
            ),
        ]
    else:
        rows.append(("F1 against gold", NOT_MEASURED.format(why=gold.get("reason", "no gold"))))
    rows.append(
        (
            "defect rate (rejected or changed after review)",
            _number(defects.get("defect_rate"), "no exported set records a review")
            + (
                f" ({defects['defective']} of {defects['reviewed']} reviewed sets)"
                if defects.get("defect_rate") is not None
                else ""
            ),
        )
    )
    ratio = imbalance.get("ratio")
    rows.append(
        (
            "class imbalance (most / least frequent class)",
            _number(ratio, "fewer than two classes occur"),
        )
    )
    for question, tally in sorted((imbalance.get("answers") or {}).items()):
        rows.append(
            (f"answer imbalance of {question}", _number(tally.get("ratio"), "one value or none"))
        )
    under = imbalance.get("under_threshold") or []
    if under:
        rows.append(
            (
                f"classes under {imbalance.get('min_per_class')} objects",
                ", ".join(str(name) for name in under),
            )
        )
    lines += _table(["measure", "value"], rows)
    if pairs:
        lines += ["", "Agreement per annotator pair:", ""]
        lines += _table(
            ["annotator", "annotator", "items", "agreement", "kappa"],
            [
                (
                    pair["a"],
                    pair["b"],
                    pair["items"],
                    _number(pair.get("agreement"), "nothing compared"),
                    _number(pair.get("kappa"), "undefined"),
                )
                for pair in pairs
            ],
        )
    return "\n".join(lines)


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
