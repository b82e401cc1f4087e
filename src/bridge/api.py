"""The Python API: open any source, write any target, convert, inspect.

A *source* is a file path (its format named or auto-detected) or a live URL whose scheme
names a connector (`labelstudio://127.0.0.1:8080/projects/7`). These functions are what the
CLI calls; they stream items and record losses in the `LossReport` they are given.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bridge import plugins
from bridge.errors import BridgeError, ConfigError
from bridge.formats import Capabilities, Dataset, ItemRecords
from bridge.losses import SIZE_UNKNOWN, LossReport
from bridge.schema import Item
from bridge.units import items_to_pixels, parse_media_size

URL_PATTERN = re.compile(r"^(?P<scheme>[a-z][a-z0-9+.-]*)://")


def _scheme(source: str) -> str | None:
    match = URL_PATTERN.match(source)
    if match and match.group("scheme") not in ("file",):
        return match.group("scheme")
    return None


def open_dataset(
    source: str | Path, fmt: str | None = None, losses: LossReport | None = None, **options: Any
) -> Dataset:
    """Open `source` (a path or a live URL) as a streamed `Dataset`."""
    losses = losses if losses is not None else LossReport()
    text = str(source)
    scheme = _scheme(text)
    if scheme is not None:
        connector = plugins.get_connector(scheme).from_url(text, **options)
        return _with_media_size(connector.read(losses, **options), options, losses)
    path = Path(text)
    if not path.exists():
        raise ConfigError(f"no such file: {path}", hint="check the path")
    name = fmt or plugins.detect_format(path)
    reader = plugins.get_format(name)
    if path.is_dir() and not reader.capabilities.directory:
        raise ConfigError(
            "is a directory, not an export file", where=str(path), hint="give the file inside it"
        )
    if not reader.capabilities.read:
        raise ConfigError(
            f"format {name!r} can be written but not read",
            hint="see `bridge plugins` for the formats that read",
        )
    dataset = reader.read(path, losses, **options)
    dataset.meta.setdefault("format", name)
    return _with_media_size(dataset, options, losses)


def _with_media_size(dataset: Dataset, options: dict[str, Any], losses: LossReport) -> Dataset:
    """Apply `media_size=WxH`: shapes a reader kept in percent (size unknown) become pixels,
    so once the stream is through, the readers' `SIZE_UNKNOWN` losses no longer hold."""
    if options.get("media_size") is not None:
        size = parse_media_size(options["media_size"])
        dataset.items = _sized(dataset.items, size, losses)
    return dataset


def _sized(items: Iterable[Item], size: tuple[int, int], losses: LossReport) -> Iterator[Item]:
    yield from items_to_pixels(items, size)
    losses.forget(SIZE_UNKNOWN)


def write_dataset(
    dataset: Dataset, target: str | Path, fmt: str, losses: LossReport | None = None, **options: Any
) -> Any:
    """Write `dataset` to `target` (a path, or a live URL for a connector)."""
    losses = losses if losses is not None else LossReport()
    text = str(target)
    scheme = _scheme(text)
    if scheme is not None:
        connector = plugins.get_connector(scheme).from_url(text, **options)
        return connector.write(_final_if_needed(dataset, connector.capabilities), losses, **options)
    writer = plugins.get_format(fmt)
    if not writer.capabilities.write:
        raise ConfigError(f"format {fmt!r} can be read but not written")
    dataset = _final_if_needed(dataset, writer.capabilities, text)
    return writer.write(dataset, Path(text), losses, **options)


def _final_if_needed(
    dataset: Dataset, capabilities: Capabilities, output: str | None = None
) -> Dataset:
    """`dataset` with its final project for a writer that needs the whole ontology first:
    the stream is spooled to a temporary file (beside the output, if it is a file)."""
    if not capabilities.needs_final_ontology or dataset.ontology_final:
        return dataset
    from bridge.formats.spool import with_final_ontology

    return with_final_ontology(dataset, output)


@dataclass
class Transfer:
    """What a conversion did: the loss report, and what the writer returned (for a live
    target, the remote ids it created: project, task ids per item key, ...)."""

    losses: LossReport
    written: Any = None


def counted(items: Iterable[Any], on_item: Callable[[int], None]) -> Iterator[Any]:
    """`items`, calling `on_item(n)` after the n-th one has been handed on."""
    for number, item in enumerate(items, start=1):
        yield item
        on_item(number)


def transfer(
    source: str | Path,
    target: str | Path,
    *,
    from_format: str | None = None,
    to_format: str | None = None,
    on_item: Callable[[int], None] | None = None,
    **options: Any,
) -> Transfer:
    """Stream `source` through the unified schema into `target`. `on_item(n)` is called
    as items go through (for progress display)."""
    losses = LossReport()
    dataset = open_dataset(source, from_format, losses, **options)
    if on_item is not None:
        if isinstance(dataset.items, ItemRecords):
            dataset.items = dataset.items.wrapped(lambda stream: counted(stream, on_item))
        else:
            dataset.items = counted(dataset.items, on_item)
    if to_format is None:
        to_format = _format_for_target(target)
    written = write_dataset(dataset, target, to_format, losses, **options)
    return Transfer(losses, written)


def convert(
    source: str | Path,
    target: str | Path,
    *,
    from_format: str | None = None,
    to_format: str | None = None,
    **options: Any,
) -> LossReport:
    """Stream `source` through the unified schema into `target`; return the loss report."""
    return transfer(source, target, from_format=from_format, to_format=to_format, **options).losses


def _format_for_target(target: str | Path) -> str:
    scheme = _scheme(str(target))
    if scheme:
        return scheme
    if str(target) == "-":
        raise ConfigError(
            "standard output (-o -) has no extension to tell the format by",
            hint="name it with --to, e.g. --to jsonl",
        )
    suffix = Path(str(target)).suffix.lower()
    for name, fmt in plugins.registry().formats.items():
        if fmt.capabilities.write and suffix in fmt.capabilities.extensions:
            return name
    raise ConfigError(f"cannot tell which format to write {target} in", hint="name it with --to")


def summarize(items: Iterable[Item], fmt: str | None = None) -> dict[str, Any]:
    """Counts of what `items` hold: the `bridge inspect --json` object. `classifications`
    counts answered questions by name, on items and on regions."""
    n_items = n_sets = n_tracks = n_relations = 0
    regions: Counter[str] = Counter()
    labels: Counter[str] = Counter()
    questions: Counter[str] = Counter()
    annotators: set[str] = set()
    for item in items:
        n_items += 1
        for aset in item.annotation_sets:
            n_sets += 1
            if aset.annotator is not None:
                who = aset.annotator.email or aset.annotator.name or aset.annotator.id
                if who:
                    annotators.add(who)
            questions.update(c.name for c in aset.classifications)
            for region in aset.regions:
                regions[region.shape.type] += 1
                if region.label is not None:
                    labels[region.label] += 1
                questions.update(c.name for c in region.classifications)
            for track in aset.tracks:
                n_tracks += 1
                if track.label is not None:
                    labels[track.label] += 1
            n_relations += len(aset.relations)
    return {
        "format": fmt,
        "items": n_items,
        "annotation_sets": n_sets,
        "regions": dict(sorted(regions.items())),
        "labels": dict(sorted(labels.items())),
        "classifications": dict(sorted(questions.items())),
        "annotators": sorted(annotators),
        "tracks": n_tracks,
        "relations": n_relations,
    }


def inspect(source: str | Path, fmt: str | None = None, **options: Any) -> dict[str, Any]:
    """Open `source` and summarize it."""
    dataset = open_dataset(source, fmt, **options)
    summary = summarize(dataset.items, dataset.meta.get("format", fmt))
    summary["project"] = dataset.project.name
    return summary


def iter_items(source: str | Path, fmt: str | None = None, **options: Any) -> Iterator[Item]:
    """Iterate the unified items of `source`."""
    yield from open_dataset(source, fmt, **options).items


__all__ = [
    "BridgeError",
    "Item",
    "convert",
    "inspect",
    "iter_items",
    "open_dataset",
    "summarize",
    "write_dataset",
]
