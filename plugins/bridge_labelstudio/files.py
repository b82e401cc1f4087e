"""Label Studio JSON export files: a streaming reader, an atomic writer, the `labelstudio`
file format.

Label Studio's JSON export is one JSON array of tasks, streamed by
`export_json.iter_export_tasks` (which also reads JSON lines and a single task object).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bridge.errors import ConfigError
from bridge.formats import Capabilities, Dataset, FileFormat, ItemRecords
from bridge.io import atomic_write, dump_json
from bridge.limits import max_pixels_option
from bridge.losses import LossReport
from bridge.schema import Item, Ontology, Project
from bridge_labelstudio.controls import MEDIA_TAGS, TYPE_TAGS
from bridge_labelstudio.convert import (
    foreign_annotator_losses,
    item_to_task,
    task_record,
    task_to_item,
)
from bridge_labelstudio.export_json import BOM, WHITESPACE, iter_export_tasks
from bridge_labelstudio.ontology import (
    ControlTag,
    LabelConfig,
    LabelDef,
    ObjectTag,
    config_to_ontology,
    ontology_to_config,
    parse_label_config,
)

# ------------------------------------------------------------------- ontology discovery


def _insert(roots: dict[str, LabelDef], path) -> None:
    node = roots.setdefault(path[0], roots.get(path[0]) or LabelDef(path[0]))
    for part in path[1:]:
        child = next((c for c in node.children if c.value == part), None)
        if child is None:
            child = LabelDef(part)
            node.children.append(child)
        node = child


def config_from_seen(seen: dict, media: dict[str, tuple[str, str | None]]) -> LabelConfig:
    """A label config reconstructed from the results met while reading (`seen` maps
    (from_name, to_name, type) to the values used; `media` maps to_name to (media kind,
    data key))."""
    objects, controls = [], []
    for to_name, (kind, key) in media.items():
        objects.append(ObjectTag(MEDIA_TAGS.get(kind, "Image"), to_name, f"${key or to_name}"))
    relations: dict[str, None] = {}
    for (from_name, to_name, rtype), entry in seen.items():
        if rtype == "relation":
            relations.update(entry["values"])
            continue
        values = entry["values"]
        if rtype == "taxonomy":
            roots: dict[str, LabelDef] = {}
            for path in values:
                _insert(roots, path if isinstance(path, tuple) else (path,))
            labels = list(roots.values())
        else:
            labels = [LabelDef(str(v)) for v in values]
        attrs = {"perRegion": "true"} if entry["per_region"] else {}
        if rtype == "choices" and len(labels) > 0:
            attrs["choice"] = "multiple"
        tag = TYPE_TAGS.get(rtype, rtype)
        controls.append(
            ControlTag(tag, from_name or "", [to_name] if to_name else [], labels, attrs)
        )
    if relations:
        controls.append(ControlTag("Relations", "", [], [LabelDef(v) for v in relations]))
    return LabelConfig(objects, controls)


# ----------------------------------------------------------------------- the format


def _load_config(option: Any) -> LabelConfig | None:
    if option is None:
        return None
    path = Path(str(option))
    if not str(option) or not path.is_file():
        raise ConfigError(
            f"label config file not found: {str(option)!r}",
            hint="-O label_config=PATH names the project's XML config",
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read the label config: {error}", where=str(path)) from None
    return parse_label_config(text)


def _kind_and_data(entry: Item | dict) -> tuple[str, dict]:
    """The media kind and task data of an `Item` or an item record."""
    if type(entry) is dict:
        return entry["media"]["kind"], entry["data"]
    return entry.media.kind, entry.data  # type: ignore[union-attr]


class _Reader:
    """Streams items (`produce(True)`) or item records (`produce(False)`, see
    `convert.task_record`) and completes the project's ontology when the stream ends."""

    def __init__(
        self,
        path: Path,
        losses: LossReport,
        config: LabelConfig | None,
        project: Project,
        max_pixels: int,
    ) -> None:
        self.path, self.losses, self.config, self.project = path, losses, config, project
        self.max_pixels = max_pixels
        self.seen: dict = {}
        self.media: dict[str, tuple[str, str | None]] = {}

    def produce(self, validate: bool) -> Iterator[Item | dict]:
        convert = task_to_item if validate else task_record
        instance, config, losses = str(self.path), self.config, self.losses
        seen = self.seen if config is None else None
        for where, task in iter_export_tasks(self.path):
            entry = convert(
                task,
                config,
                losses,
                where=where,
                instance=instance,
                seen=seen,
                max_pixels=self.max_pixels,
            )
            if self.project.media_kind is None or config is None:
                self._note_media(*_kind_and_data(entry))
            yield entry
        if config is None:
            self.project.ontology = config_to_ontology(config_from_seen(self.seen, self.media))

    def _note_media(self, kind: str, data: dict) -> None:
        if self.project.media_kind is None:
            self.project.media_kind = kind
        if self.config is not None:
            return
        for _, to_name, _ in self.seen:
            if to_name and to_name not in self.media:
                key = to_name if to_name in data else next(iter(data), None)
                self.media[to_name] = (kind, key)


def _task_markers(text: bytes) -> bool:
    """Does `text` (the start of a file) hold a Label Studio task's keys before any
    Labelbox export row's `data_row` (whose labels hold "annotations" too)?"""
    marks = [p for p in (text.find(b'"annotations"'), text.find(b'"data"')) if p >= 0]
    if not marks:
        return False
    other = text.find(b'"data_row"')
    return other < 0 or min(marks) < other


DATASET_KEYS = (b'"info"', b'"licenses"', b'"images"', b'"categories"')


def _starts_with_dataset_key(text: bytes) -> bool:
    """Does the object open with a key a task never has at its top level but a dataset
    file does (a COCO file's info, licenses, images or categories)?"""
    return text[1:].lstrip().startswith(DATASET_KEYS)


class LabelStudioJson(FileFormat):
    """Label Studio's JSON export (a list of tasks with annotations, predictions, drafts).

    Options: `label_config=PATH` (the project's XML config: gives the full ontology and
    checks every result's control; without it the ontology is built from the results);
    writing, `config_out=PATH` also writes the label config the tasks were written for
    (the given one, or the one generated from the ontology) to create the project with."""

    name = "labelstudio"
    description = "Label Studio JSON export (tasks with annotations, predictions, drafts)"
    capabilities = Capabilities(
        media=["image", "video", "text", "html", "audio", "conversation", "timeseries"],
        regions=["bbox", "polygon", "points", "ellipse", "mask", "span", "time_segment", "tag"],
        tracks=True,
        relations=True,
        extensions=[".json"],
        needs_final_ontology=True,
    )

    def sniff(self, path: Path, head: bytes) -> bool:
        text = head.lstrip(WHITESPACE + BOM)
        if text.startswith(b"["):
            return text[1:].strip() in (b"]", b"") or _task_markers(text)
        if text.startswith(b"{"):  # one task object, or JSON lines of tasks
            return (
                b"bridge-jsonl" not in text.split(b"\n", 1)[0]
                and not _starts_with_dataset_key(text)
                and _task_markers(text)
            )
        return False

    def read(self, path: Path, losses: LossReport, **options: Any) -> Dataset:
        config = _load_config(options.get("label_config"))
        ontology = config_to_ontology(config) if config is not None else Ontology()
        project = Project(
            name=Path(path).stem,
            ontology=ontology,
            media_kind=config.media_kind if config is not None else None,
        )
        reader = _Reader(Path(path), losses, config, project, max_pixels_option(options))
        return Dataset(project=project, items=ItemRecords(reader.produce), origin=str(path))

    def write(self, dataset: Dataset, path: Path, losses: LossReport, **options: Any) -> None:
        config_out = options.get("config_out")
        write_export(
            dataset,
            path,
            losses,
            _load_config(options.get("label_config")),
            config_out=Path(str(config_out)) if config_out else None,
        )


def write_export(
    dataset: Dataset,
    path,
    losses: LossReport,
    config: LabelConfig | None = None,
    *,
    config_out: Path | None = None,
) -> int:
    """Write `dataset` as a Label Studio JSON export, atomically; return the task count.
    Without a config, one generated from the project's ontology (for the project's media
    kind, else the first item's) names the controls."""
    items = iter(dataset.items)
    first = next(items, None)
    ontology = dataset.project.ontology
    media_kind = dataset.project.media_kind or (first.media.kind if first else None)
    if config is None and (ontology.labels or ontology.classifications or ontology.relations):
        config = parse_label_config(ontology_to_config(ontology, media_kind))
    count = 0
    with atomic_write(Path(path)) as out:
        out.write(b"[")
        for item in itertools.chain([first] if first is not None else [], items):
            if count:
                out.write(b",\n")
            out.write(dump_json(item_to_task(item, config, losses), where=f"item {item.key}"))
            foreign_annotator_losses(item, losses)
            count += 1
        out.write(b"]\n")
    if config_out is not None:
        xml = config.xml if config is not None else ontology_to_config(ontology, media_kind)
        with atomic_write(config_out) as handle:
            handle.write(xml.encode() + b"\n")
    return count
