"""Label Studio JSON export files: a streaming reader, an atomic writer, the `labelstudio`
file format.

Label Studio's JSON export is one JSON array of tasks. It can be hundreds of megabytes, so
it is never loaded whole: `iter_export_tasks` reads it in chunks, finds where each top-level
task object ends and parses one task at a time with orjson (faster than parsing the whole
array at once, see benchmarks/labelstudio_bench.py). A file that starts with `{` is read as
JSON lines (one task per line) or, failing that, as a single task.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from bridge.errors import ConfigError, FormatError
from bridge.formats import Capabilities, Dataset, FileFormat, ItemRecords
from bridge.io import atomic_write, dump_json
from bridge.losses import LossReport
from bridge.schema import Item, Ontology, Project
from bridge_labelstudio.config import (
    ControlTag,
    LabelConfig,
    LabelDef,
    ObjectTag,
    config_to_ontology,
    ontology_to_config,
    parse_label_config,
)
from bridge_labelstudio.convert import (
    foreign_annotator_losses,
    item_to_task,
    task_record,
    task_to_item,
)

CHUNK = 1 << 22
EXACT_AFTER = 1 << 20
"""A task longer than this without balanced braces is split by the exact (string-aware)
scanner: braces inside strings fooled the fast one."""
CANDIDATE_END = re.compile(rb"\}\s*(?=,\s*\{|\])")
TASK_ID = re.compile(rb'^\{\s*"id"\s*:\s*(-?\d+)|"id"\s*:\s*(-?\d+)')
TOKENS = re.compile(rb'["\\{}]')
WHITESPACE = b" \t\r\n"
SEPARATORS = re.compile(rb"[ \t\r\n,]*")


def _task_label(segment: bytes, number: int) -> str:
    """'task 42' from the segment's first "id", else 'task #N' (its position in the file)."""
    match = TASK_ID.search(segment[:4096])
    if match:
        return f"task {(match.group(1) or match.group(2)).decode()}"
    return f"task #{number}"


def _exact_end(buf: bytes, start: int) -> int | None:
    """Index just past the object starting at `buf[start]`, honouring strings; None if the
    buffer ends first."""
    depth, pos, in_string = 0, start, False
    while True:
        match = TOKENS.search(buf, pos)
        if match is None:
            return None
        token, pos = match.group(), match.end()
        if in_string:
            if token == b"\\":
                pos += 1
            elif token == b'"':
                in_string = False
        elif token == b'"':
            in_string = True
        elif token == b"{":
            depth += 1
        elif token == b"}":
            depth -= 1
            if depth == 0:
                return pos


class _ArraySplitter:
    """Cuts the bytes of a top-level JSON array of objects into one bytes object per task.

    `buf` holds the unread part of the file from `base`; positions are offsets in `buf`.
    Candidate task ends are `}` followed by `, {` or `]`; the first one where `{` and `}`
    balance is the end unless braces inside strings fooled the count, which orjson then
    reports and the exact scanner resolves."""

    def __init__(self, handle, path: Path) -> None:
        self.handle = handle
        self.path = path
        self.buf = b""
        self.number = 0

    def _fill(self, keep: int) -> int:
        """Drop `buf[:keep]`, append a chunk; return how far positions moved (-1 at EOF)."""
        chunk = self.handle.read(CHUNK)
        if not chunk:
            return -1
        self.buf = self.buf[keep:] + chunk
        return keep

    def _fail(self, message: str, segment: bytes, hint: str | None = None):
        where = f"{self.path}: {_task_label(segment, self.number)}"
        raise FormatError(message, where=where, hint=hint)

    def _next_start(self, pos: int) -> int | None:
        """Position of the next task's `{`, None at the closing `]`."""
        while True:
            pos = SEPARATORS.match(self.buf, pos).end()
            head = self.buf[pos : pos + 1]
            if head == b"{":
                return pos
            if head == b"]":
                return None
            if head:
                self._fail(f"expected a task object, found {self.buf[pos : pos + 20]!r}", b"")
            shift = self._fill(pos)
            if shift < 0:
                self._fail("the export ends before its closing ]", b"",
                           hint="the file looks truncated; export it again")  # fmt: skip
            pos = 0

    def _find_end(self, start: int) -> tuple[int, int]:
        """(start, end) of the task starting at `start`, reading more as needed."""
        balance, counted, scan = 0, start, start
        buf = self.buf
        while True:
            for match in CANDIDATE_END.finditer(buf, scan):
                end = match.start() + 1
                balance += buf.count(b"{", counted, end) - buf.count(b"}", counted, end)
                counted = end
                if balance == 0:
                    return start, end
            if len(buf) - start > EXACT_AFTER:
                return self._exact(start)
            shift = self._fill(start)
            if shift < 0:
                return self._exact(start)
            buf = self.buf
            start, counted = start - shift, counted - shift
            scan = max(counted, len(buf) - CHUNK - 64)

    def _exact(self, start: int) -> tuple[int, int]:
        while True:
            end = _exact_end(self.buf, start)
            if end is not None:
                return start, end
            shift = self._fill(start)
            if shift < 0:
                self._fail("the export ends in the middle of this task", self.buf[start:],
                           hint="the file looks truncated; export it again")  # fmt: skip
            start -= shift

    def __iter__(self) -> Iterator[tuple[str, dict]]:
        self._fill(0)
        self.buf = self.buf.lstrip(WHITESPACE + b"\xef\xbb\xbf")
        pos = 1
        while True:
            start = self._next_start(pos)
            if start is None:
                return
            self.number += 1
            start, end = self._find_end(start)
            segment = self.buf[start:end]
            try:
                task = orjson.loads(segment)
            except orjson.JSONDecodeError:
                start, end = self._exact(start)
                segment = self.buf[start:end]
                task = self._parse(segment)
            yield self._where(task, segment), task
            pos = end

    def _parse(self, segment: bytes) -> Any:
        try:
            return orjson.loads(segment)
        except orjson.JSONDecodeError as error:
            self._fail(f"this task is not valid JSON ({error})", segment)

    def _where(self, task: Any, segment: bytes) -> str:
        if isinstance(task, dict) and isinstance(task.get("id"), int | str):
            return f"{self.path}: task {task['id']}"
        return f"{self.path}: {_task_label(segment, self.number)}"


def _iter_lines(handle, path: Path) -> Iterator[tuple[str, dict]]:
    for number, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        try:
            task = orjson.loads(line)
        except orjson.JSONDecodeError as error:
            if number == 1:
                handle.seek(0)
                yield from _single_task(handle, path)
                return
            raise FormatError(f"not valid JSON ({error})", where=f"{path}:{number}") from None
        yield f"{path}:{number}", task


def _single_task(handle, path: Path) -> Iterator[tuple[str, dict]]:
    raw = handle.read()
    try:
        task = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise FormatError(f"not valid JSON ({error})", where=str(path)) from None
    yield f"{path}: task {task.get('id', '#1') if isinstance(task, dict) else '#1'}", task


def iter_export_tasks(path) -> Iterator[tuple[str, dict]]:
    """Stream (where, task) from a Label Studio JSON export; `where` is
    "file: task 42" (array exports) or "file:line" (JSON lines)."""
    path = Path(path)
    with open(path, "rb") as handle:
        head = handle.read(64).lstrip(WHITESPACE + b"\xef\xbb\xbf")
        handle.seek(0)
        if head.startswith(b"["):
            yield from _ArraySplitter(handle, path)
        elif head.startswith(b"{"):
            yield from _iter_lines(handle, path)
        elif not head:
            raise FormatError("the file is empty", where=str(path),
                              hint="export the project again as JSON: a list of tasks")  # fmt: skip
        else:
            raise FormatError(
                f"not a Label Studio JSON export (starts with {head[:10]!r})", where=str(path),
                hint="export the project as JSON: a list of tasks",
            )  # fmt: skip


# ------------------------------------------------------------------- ontology discovery

TYPE_TAGS = {
    "rectanglelabels": "RectangleLabels", "rectangle": "Rectangle",
    "polygonlabels": "PolygonLabels", "polygon": "Polygon", "keypointlabels": "KeyPointLabels",
    "keypoint": "KeyPoint", "ellipselabels": "EllipseLabels", "ellipse": "Ellipse",
    "brushlabels": "BrushLabels", "brush": "Brush", "labels": "Labels",
    "hypertextlabels": "HyperTextLabels", "paragraphlabels": "ParagraphLabels",
    "timeserieslabels": "TimeSeriesLabels", "videorectangle": "VideoRectangle",
    "choices": "Choices", "textarea": "TextArea", "number": "Number", "rating": "Rating",
    "taxonomy": "Taxonomy", "datetime": "DateTime", "relation": "Relations",
}  # fmt: skip
MEDIA_TAGS = {"image": "Image", "video": "Video", "text": "Text", "html": "HyperText",
              "audio": "Audio", "conversation": "Paragraphs", "timeseries": "TimeSeries"}  # fmt: skip


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
        raise ConfigError(f"label config file not found: {str(option)!r}",
                          hint="-O label_config=PATH names the project's XML config")  # fmt: skip
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

    def __init__(self, path: Path, losses: LossReport, config: LabelConfig | None,
                 project: Project) -> None:  # fmt: skip
        self.path, self.losses, self.config, self.project = path, losses, config, project
        self.seen: dict = {}
        self.media: dict[str, tuple[str, str | None]] = {}

    def produce(self, validate: bool) -> Iterator[Item | dict]:
        convert = task_to_item if validate else task_record
        instance, config, losses = str(self.path), self.config, self.losses
        seen = self.seen if config is None else None
        for where, task in iter_export_tasks(self.path):
            entry = convert(task, config, losses, where=where, instance=instance, seen=seen)
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


class LabelStudioJson(FileFormat):
    """Label Studio's JSON export (a list of tasks with annotations, predictions, drafts).

    Options: `label_config=PATH` (the project's XML config: gives the full ontology and
    checks every result's control; without it the ontology is built from the results)."""

    name = "labelstudio"
    description = "Label Studio JSON export (tasks with annotations, predictions, drafts)"
    capabilities = Capabilities(
        media=["image", "video", "text", "html", "audio", "conversation", "timeseries"],
        regions=["bbox", "polygon", "points", "ellipse", "mask", "span", "time_segment", "tag"],
        tracks=True, relations=True, extensions=[".json"],
    )  # fmt: skip

    def sniff(self, path: Path, head: bytes) -> bool:
        text = head.lstrip(WHITESPACE + b"\xef\xbb\xbf")
        return text.startswith(b"[") and (
            b'"annotations"' in head or b'"data"' in head or text[1:].strip() in (b"]", b"")
        )

    def read(self, path: Path, losses: LossReport, **options: Any) -> Dataset:
        config = _load_config(options.get("label_config"))
        ontology = config_to_ontology(config) if config is not None else Ontology()
        project = Project(name=Path(path).stem, ontology=ontology,
                          media_kind=config.media_kind if config is not None else None)  # fmt: skip
        reader = _Reader(Path(path), losses, config, project)
        return Dataset(project=project, items=ItemRecords(reader.produce), origin=str(path))

    def write(self, dataset: Dataset, path: Path, losses: LossReport, **options: Any) -> None:
        write_export(dataset, path, losses, _load_config(options.get("label_config")))


def write_export(dataset: Dataset, path, losses: LossReport,
                 config: LabelConfig | None = None) -> int:  # fmt: skip
    """Write `dataset` as a Label Studio JSON export, atomically; return the task count.
    Without a config, one generated from the project's ontology names the controls."""
    if config is None and dataset.project.ontology.labels:
        ontology = dataset.project.ontology
        config = parse_label_config(ontology_to_config(ontology, dataset.project.media_kind))
    count = 0
    with atomic_write(Path(path)) as out:
        out.write(b"[")
        for item in dataset.items:
            if count:
                out.write(b",\n")
            out.write(dump_json(item_to_task(item, config, losses), where=f"item {item.key}"))
            foreign_annotator_losses(item, losses)
            count += 1
        out.write(b"]\n")
    return count
