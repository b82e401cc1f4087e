"""Labelbox files: the export v2 NDJSON (read and write) and the import NDJSON (write).

* `labelbox`: an export v2 file, one data row per line (`convert.data_row_to_item`).
  Read line by line, so memory stays flat whatever the file size; a line that is not
  JSON raises `FormatError` naming the file and line.
* `labelbox-import`: the NDJSON Labelbox takes for model-assisted labeling and label
  import (`convert.item_to_import_rows`), one annotation per line. Write-only.

Both writers are atomic: the target appears complete or not at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from bridge.errors import FormatError
from bridge.formats import Capabilities, Dataset, FileFormat, ItemRecords
from bridge.io import atomic_write, dump_json
from bridge.losses import LossReport
from bridge.options import flag
from bridge.schema import ClassificationSpec, Item, LabelClass, Project

from .classifications import question_kind, record_question_kind
from .convert import data_row_to_item, item_record, item_to_data_row, item_to_import_rows

MEDIA = ["image", "video", "text", "audio", "document", "html", "conversation"]
REGIONS = ["bbox", "polygon", "polyline", "points", "mask", "span"]


def iter_export_rows(path: Path) -> Iterator[tuple[int, dict]]:
    """(line number, parsed JSON) for every non-blank line of an NDJSON file."""
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if raw.isspace():  # a blank line (isspace stops at the first other byte)
                continue
            try:
                yield number, orjson.loads(raw)
            except orjson.JSONDecodeError as error:
                raise FormatError(
                    f"not valid JSON ({error})", where=f"{path}:{number}",
                    hint="a Labelbox export v2 file has one JSON object per line",
                ) from None  # fmt: skip


class OntologyCollector:
    """Builds the project's ontology from the labels and questions met while streaming:
    `observe` takes validated `Item`s, `observe_record` item records (plain dicts); both
    build the same ontology from the same items."""

    def __init__(self, project: Project):
        self.project = project
        self.labels: dict[str, LabelClass] = {}
        self.questions: set[str] = set()

    def observe(self, item: Item) -> None:
        for annotation_set in item.annotation_sets:
            for region in annotation_set.regions:
                self._label(region.label, region.shape.type)
            for track in annotation_set.tracks:
                kinds = {k.shape.type for k in track.keyframes if k.shape is not None}
                for kind in kinds or {"bbox"}:
                    self._label(track.label, kind)
            for classification in annotation_set.classifications:
                if classification.name not in self.questions:
                    self._question(classification.name, question_kind(classification))

    def observe_record(self, record: dict) -> None:
        """`observe` for an item record (fields left at their defaults may be missing)."""
        label, questions = self._label, self.questions
        for annotation_set in record.get("annotation_sets", ()):
            for region in annotation_set.get("regions", ()):
                label(region.get("label"), region["shape"]["type"])
            for track in annotation_set.get("tracks", ()):
                kinds = {k["shape"]["type"] for k in track["keyframes"] if k.get("shape")}
                for kind in kinds or {"bbox"}:
                    label(track.get("label"), kind)
            for classification in annotation_set.get("classifications", ()):
                name = classification["name"]
                if name not in questions:
                    self._question(name, record_question_kind(classification))

    def _question(self, name: str, kind: str) -> None:
        self.questions.add(name)
        self.project.ontology.classifications.append(
            ClassificationSpec(name=name, input=kind)  # type: ignore[arg-type]
        )

    def _label(self, name: str | None, kind: str) -> None:
        if name is None:
            return
        label = self.labels.get(name)
        if label is None:
            label = self.labels[name] = LabelClass(name=name)
            self.project.ontology.labels.append(label)
        if kind not in label.kinds:
            label.kinds.append(kind)  # type: ignore[arg-type]


def read_export(path: str | Path, losses: LossReport, *, masks=None) -> Dataset:
    """Open an export v2 file as a streamed `Dataset` (items are read as iterated). Its
    items are `ItemRecords`: validated `Item`s when iterated, item records (`item_record`,
    no pydantic) for a writer that asks for `records()`."""
    path = Path(path)
    project = Project(name=path.stem, description="Labelbox export v2")
    collector = OntologyCollector(project)
    instance = str(path)

    def produce(validate: bool) -> Iterator[Item | dict]:
        if validate:
            convert, observe = data_row_to_item, collector.observe
        else:
            convert, observe = item_record, collector.observe_record
        for number, row in iter_export_rows(path):
            entry = convert(row, losses, where=f"{instance}:{number}", instance=instance,
                            masks=masks)  # fmt: skip
            observe(entry)
            yield entry

    return Dataset(project=project, items=ItemRecords(produce), origin=str(path))


def write_export(dataset: Dataset, path: str | Path, losses: LossReport, *,
                 project_id: str = "unified") -> int:  # fmt: skip
    """Write `dataset` as an export v2 file; return the number of data rows."""
    count = 0
    with atomic_write(path) as out:
        for item in dataset.items:
            row = item_to_data_row(item, losses, project_id=project_id)
            out.write(dump_json(row, where=f"item {item.key}") + b"\n")
            count += 1
    return count


def write_import(dataset: Dataset, path: str | Path, losses: LossReport, *,
                 data_row_key: str = "globalKey", use_schema_ids: bool = False) -> int:  # fmt: skip
    """Write `dataset` as Labelbox import NDJSON; return the number of annotation rows."""
    count = 0
    with atomic_write(path) as out:
        for item in dataset.items:
            for row in item_to_import_rows(item, losses, data_row_key=data_row_key,
                                           use_schema_ids=use_schema_ids):  # fmt: skip
                out.write(dump_json(row, where=f"item {item.key}") + b"\n")
                count += 1
    return count


def _looks_like_export(head: bytes) -> bool:
    first = head.lstrip().split(b"\n", 1)[0]
    return first.startswith(b"{") and b'"data_row"' in first and b'"projects"' in head


class LabelboxExport(FileFormat):
    name = "labelbox"
    description = "Labelbox export v2 NDJSON (one data row per line)"
    capabilities = Capabilities(media=MEDIA, regions=REGIONS, tracks=True, relations=True,
                                extensions=[".ndjson"])  # fmt: skip

    def sniff(self, path: Path, head: bytes) -> bool:
        return _looks_like_export(head)

    def read(self, path: Path, losses: LossReport, **options: Any) -> Dataset:
        return read_export(path, losses)

    def write(self, dataset: Dataset, path: Path, losses: LossReport, **options: Any) -> None:
        write_export(dataset, path, losses, project_id=str(options.get("project_id", "unified")))


class LabelboxImport(FileFormat):
    name = "labelbox-import"
    description = "Labelbox import NDJSON for model-assisted labeling / label import (write-only)"
    capabilities = Capabilities(media=MEDIA, regions=REGIONS, tracks=True, relations=True,
                                read=False)  # fmt: skip

    def write(self, dataset: Dataset, path: Path, losses: LossReport, **options: Any) -> None:
        write_import(
            dataset, path, losses,
            data_row_key=str(options.get("data_row_key", "globalKey")),
            use_schema_ids=flag("use_schema_ids", options.get("use_schema_ids", False)),
        )  # fmt: skip
