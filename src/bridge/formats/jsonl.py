"""The unified JSONL format, label-bridge's lingua franca.

Line 1 is a header, `{"format": "bridge-jsonl", "version": 1, "project": {...}}`; every
following line is one `Item` with its annotation sets. Fields equal to their defaults may
be left out (items written from models leave them all out). The reader streams line by
line and validates every line; the writer is atomic. Given `ItemRecords`, the writer
dumps the reader's records with orjson instead of building and dumping pydantic models
(`validate=True` makes it validate them first).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, get_args

import orjson
from pydantic import ValidationError
from pydantic_core import from_json

from bridge.errors import FormatError, describe_validation_error
from bridge.formats import Capabilities, Dataset, FileFormat, ItemRecords
from bridge.hookspecs import hookimpl
from bridge.io import atomic_write, dump_json, dump_model, spool_beside
from bridge.losses import LossReport
from bridge.options import flag_option
from bridge.schema import SCHEMA_VERSION, Item, MediaKind, Project, RegionKind

FORMAT_TAG = "bridge-jsonl"
ALL_REGIONS: list[RegionKind] = list(get_args(RegionKind))
ALL_MEDIA: list[MediaKind] = list(get_args(MediaKind))


HEADER_HINT = "a unified JSONL file starts with its header line; was it written completely?"
ITEM_HINT = "each line after the header is one Item (`bridge schema`); a cut-off line means a truncated file"


def header_line(project: Project) -> bytes:
    head = orjson.dumps({"format": FORMAT_TAG, "version": SCHEMA_VERSION})[:-1]
    body = dump_model(project, where="the header line (project)", exclude_defaults=True)
    return head + b',"project":' + body + b"}\n"


def item_line(item: Item) -> bytes:
    return dump_model(item, where=lambda: f"item {item.key!r}", exclude_defaults=True) + b"\n"


def record_line(entry: Item | dict[str, Any]) -> bytes:
    """One line for an `Item` or an item record (`bridge.io.dump_json`: integers beyond
    64 bits written exactly, nesting too deep or non-UTF-8 text refused with the item)."""
    if type(entry) is not dict:
        return item_line(entry)  # type: ignore[arg-type]
    return dump_json(
        entry, where=lambda: f"item {entry.get('key')!r}", option=orjson.OPT_APPEND_NEWLINE
    )


def _parse_line(raw: bytes, where: str) -> Any:
    """The header line's JSON (pydantic's parser: integers beyond 64 bits stay exact,
    where orjson would make them floats)."""
    try:
        return from_json(raw, allow_inf_nan=False)
    except ValueError as error:  # the parser's one error type: the line is not JSON
        raise FormatError(
            f"not valid JSON ({error})", where=where, hint="each line must be one JSON object"
        ) from None


def _read_header(line: bytes, where: str) -> Project:
    header = _parse_line(line, where)
    if not isinstance(header, dict) or header.get("format") != FORMAT_TAG:
        raise FormatError(
            f"the first line is not a {FORMAT_TAG} header",
            where=where,
            hint=f'a unified JSONL file starts with {{"format": "{FORMAT_TAG}", "version": 1, "project": {{...}}}}',
        )
    if header.get("version") != SCHEMA_VERSION:
        raise FormatError(
            f"unsupported version {header.get('version')!r} (this label-bridge reads {SCHEMA_VERSION})",
            where=where,
            hint="upgrade label-bridge to read this file",
        )
    try:
        return Project.model_validate(header.get("project") or {"name": "unnamed"})
    except ValidationError as error:
        raise FormatError(
            f"invalid project: {describe_validation_error(error)}",
            where=where,
            hint="`bridge schema` shows the header's project",
        ) from None


def read_items(path: Path, lines: Iterator[tuple[int, bytes]]) -> Iterator[Item]:
    """Validate each line as an `Item` (pydantic parses the JSON itself: exact big ints)."""
    for number, raw in lines:
        try:
            yield Item.model_validate_json(raw)
        except ValidationError as error:
            problem = describe_validation_error(error)
            kind = (
                "not valid JSON" if error.errors()[0]["type"] == "json_invalid" else "invalid item"
            )
            raise FormatError(
                f"{kind}: {problem}", where=f"{path}:{number}", hint=ITEM_HINT
            ) from None


def _numbered_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if raw.strip():
                yield number, raw


def read_jsonl(path: str | Path) -> Dataset:
    """Open a unified JSONL file: the header is read now, items as they are iterated."""
    path = Path(path)
    lines = _numbered_lines(path)
    try:
        number, first = next(lines)
    except StopIteration:
        raise FormatError("the file is empty", where=f"{path}:1", hint=HEADER_HINT) from None
    project = _read_header(first, f"{path}:{number}")
    return Dataset(
        project=project, items=read_items(path, lines), origin=str(path), ontology_final=True
    )  # the header holds the whole project


def write_jsonl(dataset: Dataset, path: str | Path, *, validate: bool = False) -> int:
    """Write `dataset` atomically; return the number of items written. Records of an
    `ItemRecords` stream are written as they are unless `validate`.

    Items go to a temporary body first because the header (the project) is final only once
    the items have been streamed."""
    path = Path(path)
    count = 0
    items = dataset.items
    entries = items.records() if isinstance(items, ItemRecords) and not validate else items
    with atomic_write(path) as out, spool_beside(path) as body:
        write = body.write
        for entry in entries:
            write(record_line(entry))
            count += 1
        out.write(header_line(dataset.project))
        body.seek(0)
        shutil.copyfileobj(body, out, 1 << 20)
    return count


class UnifiedJsonl(FileFormat):
    name = "jsonl"
    description = "label-bridge unified JSONL (header line + one Item per line)"
    capabilities = Capabilities(
        media=ALL_MEDIA,
        regions=ALL_REGIONS,
        tracks=True,
        relations=True,
        extensions=[".jsonl"],
    )

    def sniff(self, path: Path, head: bytes) -> bool:
        return head.lstrip().startswith(b"{") and FORMAT_TAG.encode() in head.split(b"\n", 1)[0]

    def read(self, path: Path, losses: LossReport, **options: Any) -> Dataset:
        return read_jsonl(path)

    def write(self, dataset: Dataset, path: Path, losses: LossReport, **options: Any) -> None:
        write_jsonl(dataset, path, validate=flag_option(options, "validate"))


@hookimpl
def register_formats(register: Callable[[FileFormat], Any]) -> None:
    register(UnifiedJsonl())


def line_schema() -> dict[str, Any]:
    """One JSON Schema (draft 2020-12) that every line of a unified JSONL file validates
    against: the header line or an item line (`bridge schema` prints it)."""
    from pydantic.json_schema import models_json_schema

    _, document = models_json_schema(
        [(Item, "validation"), (Project, "validation")], ref_template="#/$defs/{model}"
    )
    defs = document["$defs"]
    defs["Header"] = {
        "title": "Header",
        "description": "The first line of a unified JSONL file: the format, its version and the project.",
        "type": "object",
        "properties": {
            "format": {"const": FORMAT_TAG},
            "version": {"const": SCHEMA_VERSION},
            "project": {"$ref": "#/$defs/Project"},
        },
        "required": ["format", "version"],
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"label-bridge unified JSONL line ({FORMAT_TAG} version {SCHEMA_VERSION})",
        "description": "Validates one line of a unified JSONL file: line 1 is a Header, every "
        "other line an Item. Fields equal to their defaults may be left out.",
        "oneOf": [{"$ref": "#/$defs/Header"}, {"$ref": "#/$defs/Item"}],
        "$defs": defs,
    }
