"""Labelbox files: the export v2 NDJSON (read and write) and the import NDJSON (write).

* `labelbox`: an export v2 file, one data row per line (`convert.data_row_to_item`), or
  the JSON array of data rows `export_json` / `export_v2` return (saved with `json.dump`).
  Read row by row, so memory stays flat whatever the file size; a line that is not JSON
  raises `FormatError` naming the file and line. A file with no data row is refused. A
  legacy (v1) JSON export is read too, each label as an export v2 row (`legacy_v1`).
* `labelbox-import`: the NDJSON Labelbox takes for model-assisted labeling and label
  import (`convert.item_to_import_rows`), one annotation per line. Write-only.

Both writers are atomic: the target appears complete or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from operator import attrgetter, itemgetter, methodcaller
from pathlib import Path
from typing import Any, NamedTuple

import orjson

from bridge.errors import FormatError
from bridge.formats import Capabilities, Dataset, FileFormat, ItemRecords
from bridge.io import atomic_write, dump_json
from bridge.limits import DEFAULT_MAX_PIXELS, max_pixels_option
from bridge.losses import LossReport
from bridge.options import flag_option
from bridge.schema import ClassificationSpec, Item, LabelClass, OptionSpec, Project

from .classifications import question_kind, record_question_kind
from .convert import data_row_to_item, item_record, item_to_data_row, item_to_import_rows
from .legacy_v1 import is_v1_row, v1_row_to_v2

MEDIA = ["image", "video", "text", "audio", "document", "html", "conversation"]
REGIONS = ["bbox", "polygon", "polyline", "points", "mask", "span"]


WHITESPACE = b" \t\r\n"
BOM = b"\xef\xbb\xbf"
EMPTY_HINT = (
    "a Labelbox export v2 file has one data row per line (NDJSON), or is the JSON "
    "array of data rows export_json / export_v2 return"
)
LEGACY_CODE = "labelbox-legacy-export"
LEGACY_MESSAGE = (
    "a legacy (v1) JSON export: each label read as an export v2 data row (a data "
    "row labeled twice is two items); written back, it is export v2"
)


def _first_byte(path: Path) -> bytes:
    """The first byte of the file that is not whitespace (nor a UTF-8 BOM); b"" if none."""
    with open(path, "rb") as handle:
        while chunk := handle.read(65536):
            text = chunk.lstrip(WHITESPACE + BOM)
            if text:
                return text[:1]
    return b""


def _ndjson_rows(path: Path) -> Iterator[tuple[str, Any]]:
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if raw.isspace():  # a blank line (isspace stops at the first other byte)
                continue
            if number == 1 and raw.startswith(BOM):
                raw = raw[len(BOM) :]
                if not raw.strip():
                    continue
            try:
                yield f"{path}:{number}", orjson.loads(raw)
            except orjson.JSONDecodeError as error:
                raise FormatError(
                    f"not valid JSON ({error})",
                    where=f"{path}:{number}",
                    hint="a Labelbox export v2 file has one JSON object per line",
                ) from None


def _array_rows(path: Path) -> Iterator[tuple[str, Any]]:
    """The rows of a JSON array of data rows (`export_json`), streamed with ijson."""
    import ijson

    with open(path, "rb") as handle:
        if handle.read(3) != BOM:
            handle.seek(0)
        rows = ijson.items(handle, "item", use_float=True)
        number = 0
        while True:
            try:
                row = next(rows)
            except StopIteration:
                return
            except ijson.JSONError as error:
                raise FormatError(
                    f"not valid JSON after data row {number} ({str(error).splitlines()[0]})",
                    where=str(path),
                    hint="is the file complete?",
                ) from None
            number += 1
            yield f"{path}: data row {number}", row


def iter_export_rows(path: Path) -> Iterator[tuple[str, Any]]:
    """(where, parsed JSON) for every data row of an export file: an NDJSON file (one row
    per non-blank line) or a JSON array of rows. A file with no data row is refused with a
    `FormatError`."""
    first = _first_byte(path)
    rows = _array_rows(path) if first == b"[" else _ndjson_rows(path)
    count = 0
    for where, row in rows:
        count += 1
        yield where, row
    if count == 0:
        raise FormatError("the file holds no Labelbox data rows", where=str(path), hint=EMPTY_HINT)


class _Access(NamedTuple):
    """How to read a classification: from a validated model or from an item record."""

    name: Callable[[Any], str]
    kind: Callable[[Any], str]
    answers: Callable[[Any], Any]
    value: Callable[[Any], Any]
    nested: Callable[[Any], Any]


_MODEL = _Access(
    attrgetter("name"),
    question_kind,
    attrgetter("answers"),
    attrgetter("value"),
    attrgetter("classifications"),
)
_RECORD = _Access(
    itemgetter("name"),
    record_question_kind,
    methodcaller("get", "answers"),
    itemgetter("value"),
    methodcaller("get", "classifications"),
)


class OntologyCollector:
    """Builds the project's ontology from the labels and questions met while streaming:
    `observe` takes validated `Item`s, `observe_record` item records (plain dicts); both
    build the same ontology from the same items.

    Every question gets a `ClassificationSpec` of its Labelbox kind (radio, checklist or
    text) with the options answered so far and the nested questions under each option:
    questions about the item or video in `ontology.classifications`, questions about an
    object in its label's `attributes` (`mutable` on video objects, answered per frame)."""

    def __init__(self, project: Project):
        self.project = project
        self.labels: dict[str, LabelClass] = {}
        self._specs: dict[tuple, tuple[ClassificationSpec, dict[Any, OptionSpec], bool]] = {}
        """(where, question name) -> its spec, its options by answer and whether it is a
        free-text question; `where` is None for the item's questions, a label name, or (the
        parent question's key, the answer)."""

    def observe(self, item: Item) -> None:
        for annotation_set in item.annotation_sets:
            for region in annotation_set.regions:
                label = self._label(region.label, region.shape.type)
                if region.classifications and label is not None:
                    self._questions(region.classifications, _MODEL, label, False)
            for track in annotation_set.tracks:
                kinds = {k.shape.type for k in track.keyframes if k.shape is not None}
                for kind in kinds or {"bbox"}:
                    label = self._label(track.label, kind)
                if label is None:
                    continue
                for keyframe in track.keyframes:
                    if keyframe.classifications:
                        self._questions(keyframe.classifications, _MODEL, label, True)
            if annotation_set.classifications:
                self._questions(annotation_set.classifications, _MODEL, None, False)

    def observe_record(self, record: dict) -> None:
        """`observe` for an item record (fields left at their defaults may be missing)."""
        for annotation_set in record.get("annotation_sets", ()):
            for region in annotation_set.get("regions", ()):
                label = self._label(region.get("label"), region["shape"]["type"])
                nested = region.get("classifications")
                if nested and label is not None:
                    self._questions(nested, _RECORD, label, False)
            for track in annotation_set.get("tracks", ()):
                kinds = {k["shape"]["type"] for k in track["keyframes"] if k.get("shape")}
                for kind in kinds or {"bbox"}:
                    label = self._label(track.get("label"), kind)
                if label is None:
                    continue
                for keyframe in track["keyframes"]:
                    nested = keyframe.get("classifications")
                    if nested:
                        self._questions(nested, _RECORD, label, True)
            classifications = annotation_set.get("classifications")
            if classifications:
                self._questions(classifications, _RECORD, None, False)

    def _questions(
        self, classifications: Any, access: _Access, label: LabelClass | None, mutable: bool
    ) -> None:
        if label is None:
            container, base = self.project.ontology.classifications, None
        else:
            container, base = label.attributes, label.name
        for classification in classifications:
            self._question(classification, access, container, base, mutable)

    def _question(
        self, classification: Any, access: _Access, container: list, base: tuple, mutable: bool
    ) -> None:
        name = access.name(classification)
        key = (base, name)
        entry = self._specs.get(key)
        if entry is None:
            kind = access.kind(classification)
            spec = ClassificationSpec(name=name, input=kind, mutable=mutable)  # type: ignore[arg-type]
            container.append(spec)
            entry = self._specs[key] = (spec, {}, kind == "text")
        spec, options, text = entry
        if text:
            return  # a free-text answer is no option (questions nested under it are rare)
        answers = access.answers(classification)
        if not answers:
            return
        value_of, nested_of = access.value, access.nested
        for answer in answers:
            value = value_of(answer)
            option = options.get(value)
            if option is None:
                option = options[value] = OptionSpec(value=str(value))
                spec.options.append(option)
            nested = nested_of(answer)
            if nested:
                for child in nested:
                    self._question(child, access, option.children, (key, value), mutable)

    def _label(self, name: str | None, kind: str) -> LabelClass | None:
        if name is None:
            return None
        label = self.labels.get(name)
        if label is None:
            label = self.labels[name] = LabelClass(name=name)
            self.project.ontology.labels.append(label)
        if kind not in label.kinds:
            label.kinds.append(kind)  # type: ignore[arg-type]
        return label


def read_export(
    path: str | Path, losses: LossReport, *, masks=None, max_pixels: int = DEFAULT_MAX_PIXELS
) -> Dataset:
    """Open an export v2 file (NDJSON, or a JSON array of data rows) as a streamed
    `Dataset` (items are read as iterated). Its items are `ItemRecords`: validated `Item`s
    when iterated, item records (`item_record`, no pydantic) for a writer that asks for
    `records()`. No mask above `max_pixels` pixels is decoded or made."""
    path = Path(path)
    project = Project(name=path.stem, description="Labelbox export v2")
    collector = OntologyCollector(project)
    instance = str(path)

    def produce(validate: bool) -> Iterator[Item | dict]:
        if validate:
            convert, observe = data_row_to_item, collector.observe
        else:
            convert, observe = item_record, collector.observe_record
        for where, row in iter_export_rows(path):
            if is_v1_row(row):
                row = v1_row_to_v2(row, where)
                losses.record(LEGACY_CODE, LEGACY_MESSAGE, where=where, severity="approximated")
            entry = convert(
                row, losses, where=where, instance=instance, masks=masks, max_pixels=max_pixels
            )
            observe(entry)
            yield entry

    return Dataset(project=project, items=ItemRecords(produce), origin=str(path))


def write_export(
    dataset: Dataset, path: str | Path, losses: LossReport, *, project_id: str = "unified"
) -> int:
    """Write `dataset` as an export v2 file; return the number of data rows."""
    count = 0
    with atomic_write(path) as out:
        for item in dataset.items:
            row = item_to_data_row(item, losses, project_id=project_id)
            out.write(dump_json(row, where=f"item {item.key}") + b"\n")
            count += 1
    return count


def write_import(
    dataset: Dataset,
    path: str | Path,
    losses: LossReport,
    *,
    data_row_key: str = "globalKey",
    use_schema_ids: bool = False,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> int:
    """Write `dataset` as Labelbox import NDJSON; return the number of annotation rows."""
    count = 0
    with atomic_write(path) as out:
        for item in dataset.items:
            for row in item_to_import_rows(
                item,
                losses,
                data_row_key=data_row_key,
                use_schema_ids=use_schema_ids,
                max_pixels=max_pixels,
            ):
                out.write(dump_json(row, where=f"item {item.key}") + b"\n")
                count += 1
    return count


def _looks_like_export(head: bytes) -> bool:
    """An export v2 file (NDJSON, or a JSON array of rows as `export_json` returns): its
    first row is an object with a "data_row" object, and "projects" or "media_attributes"
    follows, or "data_row" is the row's first key (Labelbox writes it first). A legacy (v1)
    JSON export (an array of objects with "Labeled Data" and "Label") is claimed too: it is
    read through `legacy_v1`."""
    text = head.lstrip(WHITESPACE + BOM)
    if text.startswith(b"["):
        text = text[1:].lstrip(WHITESPACE)
        if b'"Labeled Data"' in head and (b'"Label"' in head or b'"DataRow ID"' in head):
            return text.startswith(b"{")
    if not text.startswith(b"{") or b'"data_row"' not in head:
        return False
    first_key = text[1:].lstrip(WHITESPACE).startswith(b'"data_row"')
    return first_key or b'"projects"' in head or b'"media_attributes"' in head


class LabelboxExport(FileFormat):
    name = "labelbox"
    description = "Labelbox export v2 NDJSON (one data row per line)"
    capabilities = Capabilities(
        media=MEDIA, regions=REGIONS, tracks=True, relations=True, extensions=[".ndjson"]
    )

    def sniff(self, path: Path, head: bytes) -> bool:
        return _looks_like_export(head)

    def read(self, path: Path, losses: LossReport, **options: Any) -> Dataset:
        return read_export(path, losses, max_pixels=max_pixels_option(options))

    def write(self, dataset: Dataset, path: Path, losses: LossReport, **options: Any) -> None:
        write_export(dataset, path, losses, project_id=str(options.get("project_id", "unified")))


class LabelboxImport(FileFormat):
    name = "labelbox-import"
    description = "Labelbox import NDJSON for model-assisted labeling / label import (write-only)"
    capabilities = Capabilities(
        media=MEDIA, regions=REGIONS, tracks=True, relations=True, read=False
    )

    def write(self, dataset: Dataset, path: Path, losses: LossReport, **options: Any) -> None:
        write_import(
            dataset,
            path,
            losses,
            data_row_key=str(options.get("data_row_key", "globalKey")),
            use_schema_ids=flag_option(options, "use_schema_ids"),
            max_pixels=max_pixels_option(options),
        )
