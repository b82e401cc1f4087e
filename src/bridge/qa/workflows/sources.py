"""The sources of a QA run, and their items joined by item key.

Each SOURCE (a file or a live URL, as `bridge.api.open_dataset` takes it) is read once.
With one source its items stream straight through. With several, the items are spooled
into the run's `Scratch` database and come out joined: one `Item` per key, holding every
source's annotation sets (in the order the sources were given), its media filled from the
first source that knows each field. So two vendors' work on the same items is compared
set against set. The order of the joined items is the order in which each key was first
seen.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bridge.api import URL_PATTERN, open_dataset
from bridge.formats import Dataset
from bridge.losses import LossReport
from bridge.qa.workflows.scratch import Scratch, blob_item, item_blob
from bridge.schema import Item


@dataclass
class Source:
    """One opened source: `name` is how the report calls it (the argument as given, made
    unique), `tool` what its sets are attributed to when they do not name their tool."""

    name: str
    dataset: Dataset
    tool: str
    items_read: int = 0


def source_tool(spec: str, dataset: Dataset) -> str:
    match = URL_PATTERN.match(spec)
    if match:
        return match.group("scheme")
    fmt = dataset.meta.get("format")
    return str(fmt) if fmt else Path(spec).suffix.lstrip(".") or spec


def open_sources(
    specs: list[str], losses: LossReport, *, fmt: str | None = None, **options: Any
) -> list[Source]:
    """Open every source, files in format `fmt` (None: detected); a `BridgeError` names
    the one that fails."""
    sources: list[Source] = []
    seen: dict[str, int] = {}
    for spec in specs:
        dataset = open_dataset(spec, fmt, losses, **options)
        seen[spec] = seen.get(spec, 0) + 1
        name = spec if seen[spec] == 1 else f"{spec}#{seen[spec]}"
        sources.append(Source(name, dataset, source_tool(spec, dataset)))
    return sources


Joined = tuple[Item, list[str], list[str]]
"""An item with, for each of its annotation sets, the source name and tool it came from."""


def _counted(source: Source) -> Iterator[Item]:
    for item in source.dataset.items:
        source.items_read += 1
        yield item


def joined_items(sources: list[Source], scratch: Scratch) -> Iterator[Joined]:
    """The items of `sources`, joined by key when there are several (see the module)."""
    if len(sources) == 1:
        source = sources[0]
        for item in _counted(source):
            n = len(item.annotation_sets)
            yield item, [source.name] * n, [source.tool] * n
        return
    scratch.table("joined", "key TEXT, src INTEGER, seq INTEGER, blob BLOB")
    seq = 0
    for index, source in enumerate(sources):
        for item in _counted(source):
            scratch.insert("joined", (item.key, index, seq, item_blob(item)))
            seq += 1
    rows = scratch.query(
        "SELECT j.key, j.src, j.blob FROM joined j JOIN "
        "(SELECT key, MIN(seq) AS first FROM joined GROUP BY key) k ON j.key = k.key "
        "ORDER BY k.first, j.src, j.seq"
    )
    group: list[tuple[int, bytes]] = []
    current: str | None = None
    for key, src, blob in rows:
        if current is not None and key != current:
            yield _merge(group, sources)
            group = []
        current = key
        group.append((src, blob))
    if group:
        yield _merge(group, sources)


def _merge(group: list[tuple[int, bytes]], sources: list[Source]) -> Joined:
    items = [(src, blob_item(blob)) for src, blob in group]
    base = items[0][1]
    media = base.media.model_dump()
    data = dict(base.data)
    subset = base.subset
    sets = []
    origins: list[str] = []
    tools: list[str] = []
    for src, item in items:
        for name, value in item.media.model_dump().items():
            if media.get(name) is None and value is not None:
                media[name] = value
        for name, value in item.data.items():
            data.setdefault(name, value)
        subset = subset or item.subset
        sets += item.annotation_sets
        origins += [sources[src].name] * len(item.annotation_sets)
        tools += [sources[src].tool] * len(item.annotation_sets)
    merged = base.model_copy(
        update={
            "media": type(base.media).model_validate(media),
            "data": data,
            "subset": subset,
            "annotation_sets": sets,
        }
    )
    return merged, origins, tools
