"""One QA pass: read the sources once, feed every accumulator, assemble the report.

`run_qa(sources, settings, outputs)` returns the report: a JSON-ready dict whose shape
docs/qa-report.md documents field by field. The lists and subsets named in `outputs`
(review sample, labeling queue) are written before the run's scratch database goes away.

Memory: the accumulators keep counters, the bounded heaps of the labeling queue and the
gallery, and a float per set for the lead-time medians; duplicates, the sample's units and
(when a sample subset is asked for) the items themselves wait in the scratch database.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bridge.api import URL_PATTERN
from bridge.formats.jsonl import header_line, item_line
from bridge.io import atomic_write
from bridge.losses import LossReport
from bridge.qa.workflows.active import ActiveLearning, RankBy
from bridge.qa.workflows.agreement import Agreement
from bridge.qa.workflows.consistency import Consistency
from bridge.qa.workflows.defects import Defects
from bridge.qa.workflows.gallery import Gallery
from bridge.qa.workflows.gold_scores import GoldScoring
from bridge.qa.workflows.imbalance import Imbalance
from bridge.qa.workflows.items import view_item
from bridge.qa.workflows.sampling import Sampling
from bridge.qa.workflows.scorecards import Scorecards
from bridge.qa.workflows.scratch import Scratch, blob_item, item_blob
from bridge.qa.workflows.sources import Joined, Source, joined_items, open_sources
from bridge.schema import Item, Project
from bridge.select import PLAIN_TERMS, VALUE_TERMS, SetSelector, select_sets

REPORT_VERSION = 1


@dataclass
class QaSettings:
    """What a run measures and how (the `bridge qa` options)."""

    gold: str | None = None
    """A set selector (`bridge.select`) naming the gold sets, or a file/URL whose sets are
    all gold; None: the sets marked gold (`kind == "gold"` or `ground_truth`)."""
    sample_percent: float = 20.0
    seed: int = 0
    min_per_class: int = 10
    iou_threshold: float = 0.5
    queue_size: int = 100
    rank_by: RankBy = "both"
    gallery_size: int = 12
    options: dict[str, Any] = field(default_factory=dict)
    sets: str | None = None
    """A set selector (`bridge.select`): measure only these sets of each item (None: all),
    as a delivery bundle's datasheet does for the sets it exported."""
    from_format: str | None = None
    """The format of the SOURCE files (not of a gold file); None: detected."""


@dataclass
class QaOutputs:
    """Where the lists and subsets go (None: not written). A list is CSV when its name
    ends in `.csv`, else JSON lines; a subset is a unified JSONL file."""

    sample_list: str | None = None
    sample_items: str | None = None
    queue_list: str | None = None
    queue_items: str | None = None


def is_selector(spec: str) -> bool:
    """True when `spec` reads as a `--sets` selector rather than a file or URL."""
    if URL_PATTERN.match(spec) or Path(spec).exists():
        return False
    terms = [term.strip() for term in spec.split(",")]
    return all(
        term.lower() in PLAIN_TERMS or term.partition("=")[0].strip().lower() in VALUE_TERMS
        for term in terms
    )


def run_qa(
    specs: list[str],
    settings: QaSettings | None = None,
    outputs: QaOutputs | None = None,
    *,
    on_item: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Run QA over the sources `specs` and return the report (see the module docstring)."""
    settings = settings or QaSettings()
    outputs = outputs or QaOutputs()
    losses = LossReport()
    selector: SetSelector | None = None
    gold_specs: list[str] = []
    if settings.gold is not None:
        if is_selector(settings.gold):
            selector = SetSelector.parse(settings.gold)
        else:
            gold_specs = [settings.gold]
    sources = open_sources(specs, losses, fmt=settings.from_format, **settings.options)
    sources += open_sources(gold_specs, losses, **settings.options)
    gold_origins = frozenset(source.name for source in sources[len(specs) :])
    with Scratch() as scratch:
        return _Pass(sources, settings, outputs, scratch, selector, gold_origins).run(on_item)


def restricted(item: Item, origins: list[str], tools: list[str], sets: SetSelector) -> Joined:
    """`item` with only the sets `sets` selects, and their origins and tools."""
    keep = {id(aset) for aset in select_sets(item, sets)}
    if len(keep) == len(item.annotation_sets):
        return item, origins, tools
    mask = [id(aset) in keep for aset in item.annotation_sets]
    return (
        item.model_copy(
            update={
                "annotation_sets": [a for a, m in zip(item.annotation_sets, mask, strict=True) if m]
            }
        ),
        [origin for origin, m in zip(origins, mask, strict=True) if m],
        [tool for tool, m in zip(tools, mask, strict=True) if m],
    )


class _Pass:
    def __init__(
        self,
        sources: list[Source],
        settings: QaSettings,
        outputs: QaOutputs,
        scratch: Scratch,
        selector: SetSelector | None,
        gold_origins: frozenset[str],
    ):
        self.sources = sources
        self.settings = settings
        self.outputs = outputs
        self.scratch = scratch
        self.selector = selector
        self.gold_origins = gold_origins
        self.agreement = Agreement(settings.iou_threshold)
        self.gold = GoldScoring(settings.iou_threshold)
        self.defects = Defects(self.agreement.differ(), settings.iou_threshold)
        self.consistency = Consistency(scratch)
        self.imbalance = Imbalance(settings.min_per_class)
        self.sampling = Sampling(scratch, settings.sample_percent, settings.seed)
        self.active = ActiveLearning(
            settings.queue_size, settings.rank_by, keep_items=outputs.queue_items is not None
        )
        self.gallery = Gallery(settings.gallery_size)
        self.scorecards = Scorecards()
        self.counts = {"items": 0, "annotation_sets": 0, "human": 0, "gold": 0, "predictions": 0}
        self.annotators: set[str] = set()
        if outputs.sample_items is not None:
            scratch.table("items", "key TEXT, origins TEXT, blob BLOB", index="key")

    def run(self, on_item: Callable[[int], None] | None) -> dict[str, Any]:
        sets = SetSelector.parse(self.settings.sets) if self.settings.sets is not None else None
        for item, origins, tools in joined_items(self.sources, self.scratch):
            if sets is not None:
                item, origins, tools = restricted(item, origins, tools, sets)
            view = view_item(
                item, origins, tools, gold=self.selector, gold_origins=self.gold_origins
            )
            self.counts["items"] += 1
            self.counts["annotation_sets"] += len(view.sets)
            self.counts["human"] += len(view.human)
            self.counts["gold"] += len(view.gold)
            self.counts["predictions"] += len(view.predictions)
            self.annotators.update(sub.who for sub in view.human)
            if self.outputs.sample_items is not None:
                self.scratch.insert("items", (item.key, json.dumps(origins), item_blob(item)))
            disagreement = self.agreement.add(view)
            self.gold.add(view)
            self.defects.add(view)
            self.consistency.add(view)
            self.imbalance.add(view)
            self.sampling.add(view)
            self.active.add(view, disagreement)
            self.gallery.add(view, disagreement)
            self.scorecards.add(view)
            if on_item is not None:
                on_item(self.counts["items"])
        report = self._report()
        self._write_outputs()
        return report

    def _report(self) -> dict[str, Any]:
        ontologies = {source.name: source.dataset.project.ontology for source in self.sources}
        defects = self.defects.result()
        by_annotator = {who: tally.as_dict() for who, tally in self.defects.by_annotator.items()}
        return {
            "version": REPORT_VERSION,
            "sources": [
                {
                    "name": source.name,
                    "tool": source.tool,
                    "items": source.items_read,
                    "gold": source.name in self.gold_origins,
                }
                for source in self.sources
            ],
            "settings": {
                "gold": self.settings.gold,
                "iou_threshold": self.settings.iou_threshold,
                "min_per_class": self.settings.min_per_class,
                "sample_percent": self.settings.sample_percent,
                "seed": self.settings.seed,
                "queue_size": self.settings.queue_size,
                "rank_by": self.settings.rank_by,
                "gallery_size": self.settings.gallery_size,
            },
            "counts": {
                "items": self.counts["items"],
                "annotation_sets": self.counts["annotation_sets"],
                "human_sets": self.counts["human"],
                "gold_sets": self.counts["gold"],
                "prediction_sets": self.counts["predictions"],
                "annotators": len(self.annotators),
            },
            "annotators": sorted(self.annotators),
            "defects": defects,
            "consistency": self.consistency.result(ontologies),
            "imbalance": self.imbalance.result(ontologies),
            "agreement": self.agreement.result(),
            "gold": self.gold.result(),
            "scorecards": self.scorecards.result(
                by_annotator, self.agreement.by_annotator(), self.gold.by_annotator()
            ),
            "sample": self.sampling.result(),
            "queue": self.active.result(),
            "gallery": self.gallery.result(),
        }

    # -- outputs ---------------------------------------------------------------------

    def _project(self) -> Project:
        return self.sources[0].dataset.project

    def _write_outputs(self) -> None:
        outputs = self.outputs
        if outputs.sample_list is not None:
            write_list(outputs.sample_list, self.sampling.rows(), SAMPLE_COLUMNS)
        if outputs.sample_items is not None:
            write_subset(outputs.sample_items, self._project(), self._sample_items())
        if outputs.queue_list is not None:
            rows = ({"rank": r, **e.row} for r, e in enumerate(self.active.ranked(), 1))
            write_list(outputs.queue_list, rows, QUEUE_COLUMNS)
        if outputs.queue_items is not None:
            write_subset(outputs.queue_items, self._project(), self.active.items())

    def _sample_items(self) -> Iterator[Item]:
        """The sampled items, each with only its sampled sets, in the order they came (the
        chosen sets arrive in item order: one item's sets are consecutive)."""
        key: str | None = None
        wanted: set[tuple[str, str]] = set()
        for entry in self.sampling.chosen():
            if entry.key != key and key is not None:
                yield from self._stored_item(key, wanted)
                wanted = set()
            key = entry.key
            wanted.add((entry.origin, entry.set_id))
        if key is not None:
            yield from self._stored_item(key, wanted)

    def _stored_item(self, key: str, wanted: set[tuple[str, str]]) -> Iterator[Item]:
        for origins_text, blob in self.scratch.query(
            "SELECT origins, blob FROM items WHERE key = ? ORDER BY rowid", (key,)
        ):
            item = blob_item(blob)
            origins = json.loads(origins_text)
            sets = [
                aset
                for aset, origin in zip(item.annotation_sets, origins, strict=True)
                if (origin, aset.id) in wanted
            ]
            if sets:
                yield item.model_copy(update={"annotation_sets": sets})


SAMPLE_COLUMNS = ("item", "set", "annotator", "class", "source")
QUEUE_COLUMNS = (
    "rank",
    "item",
    "priority",
    "uncertainty",
    "disagreement",
    "low_score",
    "margin",
    "entropy",
)


def write_list(path: str, rows: Iterable[dict[str, Any]], columns: tuple[str, ...]) -> int:
    """`rows` as CSV (a `.csv` name) or JSON lines, atomically; returns how many."""
    count = 0
    with atomic_write(path, "w") as handle:
        if path.lower().endswith(".csv"):
            writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
            writer.writeheader()
            for row in rows:
                writer.writerow({k: "" if row.get(k) is None else row.get(k) for k in columns})
                count += 1
        else:
            for row in rows:
                handle.write(json.dumps({k: row.get(k) for k in columns}) + "\n")
                count += 1
    return count


def write_subset(path: str, project: Project, items: Iterable[Item]) -> int:
    """`items` as a unified JSONL file (the project's header first), atomically."""
    count = 0
    with atomic_write(path, "wb") as handle:
        handle.write(header_line(project))
        for item in items:
            handle.write(item_line(item))
            count += 1
    return count


def report_json(report: dict[str, Any]) -> str:
    buffer = io.StringIO()
    json.dump(report, buffer, indent=2, ensure_ascii=False, allow_nan=False)
    return buffer.getvalue() + "\n"
