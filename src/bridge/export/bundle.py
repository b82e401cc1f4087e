"""The delivery bundle: `bridge export SOURCE FORMAT -o DIR`.

```
DIR/
  data/...        the data in FORMAT (see "Data layout")
  datasheet.md    counts per class and split, annotators, sources, the loss report, QA
  manifest.json   SHA-256 and size of every other file, the command, version and time
```

**Data layout.** A format that keeps subsets itself (`Capabilities.subsets`: VOC's
ImageSets) is written once, at `data` (a directory format) or `data/dataset<ext>`, with
each item's `subset` set to its split. Any other format is written once per split:
`data/<split><ext>` for a file format (`data/train.jsonl`, `data/val.json`; the suffix is
the format's first extension, else its `Capabilities.output_suffix`),
`data/<split>/` for a directory format; without `--split`, once, as `data/dataset<ext>`
(a directory format: `data/` itself). Split names are checked to be safe file names.

**Which annotation sets** (`--sets`, `bridge.select`; default `all`): every item is
exported, with only the selected sets (an item left with none is still listed, as an
image or text without annotations). A format that holds one set per item writes the first
and reports the rest.

**Atomic.** Everything is written into a stage beside DIR (`bridge.export.staging`) and
renamed to DIR at the end: never half a bundle. An existing non-empty DIR is refused unless
`force`; a link at DIR is refused, never followed.

The format is looked up in the plugin registry, so every registered writer (the plugins'
COCO, YOLO, VOC, CoNLL, Parquet, the unified JSONL) works here.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bridge import __version__, api, plugins
from bridge.errors import ConfigError
from bridge.export.datasheet import Tally, qa_section, render
from bridge.export.manifest import MANIFEST, build_manifest
from bridge.export.splits import SplitSpec, SplitSpool
from bridge.export.staging import check_name, staged_directory
from bridge.formats import Dataset, FileFormat
from bridge.losses import LossReport
from bridge.schema import Item
from bridge.secrets import redact
from bridge.select import SetSelector, selected

DATA = "data"
DATASHEET = "datasheet.md"
WHOLE = "dataset"
"""The data's name when the export is not split."""


@dataclass
class Bundle:
    """What `export_bundle` wrote."""

    path: Path
    items: int
    splits: dict[str, int]
    files: list[str]
    losses: LossReport = field(default_factory=LossReport)


def _writer(name: str) -> FileFormat:
    writer = plugins.get_format(name)
    if not writer.capabilities.write:
        raise ConfigError(
            f"format {name!r} can be read but not written", hint="see `bridge plugins`"
        )
    return writer


def file_suffix(writer: FileFormat) -> str:
    """The suffix of the format's data files: its first extension, else its
    `output_suffix`, else none."""
    capabilities = writer.capabilities
    return (
        capabilities.extensions[0] if capabilities.extensions else capabilities.output_suffix or ""
    )


def _data_path(stage: Path, writer: FileFormat, split: str) -> Path:
    name = check_name(split, what="split")
    if writer.capabilities.directory:
        return stage / DATA / name
    return stage / DATA / f"{name}{file_suffix(writer)}"


def _shown(value: Any) -> Any:
    """An option value as the manifest records it (credentials redacted from text)."""
    return redact(value) if isinstance(value, str) else value


def export_bundle(
    source: str,
    format_name: str,
    output: str | os.PathLike[str],
    *,
    sets: str = "all",
    split: str | None = None,
    seed: int = 0,
    force: bool = False,
    from_format: str | None = None,
    options: dict[str, Any] | None = None,
    on_item: Callable[[int], None] | None = None,
) -> Bundle:
    """Export `source` as a delivery bundle in `output` (see the module's docstring)."""
    options = dict(options or {})
    writer = _writer(format_name)
    selector = SetSelector.parse(sets)
    spec = SplitSpec.parse(split, seed) if split else None
    target = Path(output)
    losses = LossReport()
    dataset = api.open_dataset(source, from_format, losses, **options)
    tally = Tally()
    created = datetime.now(UTC).replace(microsecond=0)

    def stream() -> Iterator[tuple[str, Item]]:
        for number, item in enumerate(dataset.items, start=1):
            chosen = selected(item, selector)
            name, chosen = spec.apply(chosen) if spec is not None else (WHOLE, chosen)
            check_name(name, what="split")  # a subset such as "../x" names no file
            tally.add(chosen, name)
            if on_item is not None:
                on_item(number)
            yield name, chosen

    with staged_directory(target, replace=force) as stage:
        if spec is None or writer.capabilities.subsets:
            data = (
                stage / DATA if writer.capabilities.directory else _data_path(stage, writer, WHOLE)
            )
            whole = (item for _, item in stream())
            _write(dataset, whole, data, format_name, losses, options)
        else:
            with contextlib.closing(SplitSpool(stage)) as spool:
                for name, item in stream():
                    spool.add(name, item)
                dataset.ontology_final = True  # the source has been read to its end
                for name in spool.splits():
                    path = _data_path(stage, writer, name)
                    _write(dataset, spool.items(name), path, format_name, losses, options)
        command = {
            "source": redact(source),
            "from": from_format,
            "format": format_name,
            "sets": str(selector),
            "split": str(spec) if spec is not None else None,
            "seed": seed,
            "options": {key: _shown(value) for key, value in sorted(options.items())},
        }
        facts = {
            "source": redact(source),
            "format": format_name,
            "annotation sets": str(selector),
            "split": f"{spec} (seed {seed})"
            if spec is not None and spec.ratios
            else str(spec or "none"),
            "created": created.isoformat(),
            "label-bridge": __version__,
        }
        sheet = render(
            tally,
            losses,
            title=dataset.project.name,
            facts=facts,
            qa=qa_section(source, str(selector), from_format=from_format, options=options),
        )
        (stage / DATASHEET).write_text(sheet, encoding="utf-8")
        manifest = build_manifest(stage, command=command, created=created, version=__version__)
        (stage / MANIFEST).write_text(
            json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    return Bundle(
        path=target,
        items=sum(tally.items.values()),
        splits=dict(sorted(tally.items.items())),
        files=[entry["path"] for entry in manifest["files"]],
        losses=losses,
    )


def _write(
    source: Dataset,
    items: Iterable[Item],
    path: Path,
    format_name: str,
    losses: LossReport,
    options: dict[str, Any],
) -> None:
    """Write `items` (with the project of `source`) to `path` through `bridge.api`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    part = Dataset(
        project=source.project,
        items=items,
        origin=source.origin,
        ontology_final=source.ontology_final,
    )
    api.write_dataset(part, path, format_name, losses, **options)
