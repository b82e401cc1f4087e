"""File and plugin commands: `bridge plugins`, `schema`, `convert`, `inspect`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from bridge import api, plugins
from bridge.cli.common import (
    FromFormatOption,
    OptionList,
    app,
    cell,
    err,
    item_progress,
    out,
    parse_options,
    print_json,
    print_losses,
    say,
)
from bridge.errors import ConfigError
from bridge.io import STDOUT, atomic_write, check_output_paths


@app.command("plugins")
def plugins_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List every registered format and connector with its capabilities."""
    reg = plugins.registry()
    rows = []
    tables: list[tuple[str, dict[str, Any]]] = [
        ("format", reg.formats),
        ("connector", reg.connectors),
    ]
    for kind, things in tables:
        for name, thing in sorted(things.items()):
            rows.append(
                {
                    "name": name,
                    "kind": kind,
                    "plugin": reg.owners.get(f"{kind}:{name}"),
                    "description": thing.description,
                    "capabilities": thing.capabilities.model_dump(),
                }
            )
    if as_json:
        print_json({"plugins": rows, "broken": reg.broken})
        return
    table = Table(title="label-bridge plugins", show_lines=True)
    for column in ("name", "kind", "can", "media", "regions"):
        table.add_column(column, overflow="fold")
    for row in rows:
        caps = row["capabilities"]
        can = [word for word in ("read", "write", "live", "tracks", "relations") if caps[word]]
        table.add_row(
            cell(row["name"]),
            cell(row["kind"]),
            cell(" ".join(can)),
            cell(", ".join(caps["media"])),
            cell(", ".join(caps["regions"])),
        )
    out.print(table)
    for name, problem in reg.broken.items():
        say(err, (f"plugin {name} failed to load:", "yellow"), " ", str(problem))


@app.command("schema")
def schema_command() -> None:
    """Print the JSON Schema (draft 2020-12) every line of a unified JSONL file validates
    against: the header line or an Item line."""
    from bridge.formats.jsonl import line_schema

    print_json(line_schema())


@app.command("convert")
def convert_command(
    source: Annotated[str, typer.Argument(help="Input file, or a live URL (labelstudio://...).")],
    target: Annotated[
        str | None, typer.Argument(help="Output file or live URL (or use -o).")
    ] = None,
    output: Annotated[
        str | None,
        typer.Option("--output", "-o", help="Output file or live URL; - for standard output."),
    ] = None,
    from_format: FromFormatOption = None,
    to_format: Annotated[
        str | None, typer.Option("--to", help="Output format (from the extension if omitted).")
    ] = None,
    report: Annotated[
        Path | None, typer.Option("--report", help="Also write the loss report as JSON here.")
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 6 if anything was dropped or approximated.")
    ] = False,
    options: OptionList = None,
) -> None:
    """Convert SOURCE to TARGET through the unified schema and print the loss report."""
    if (target is None) == (output is None):
        raise ConfigError("give the output once: `bridge convert SOURCE TARGET` or `-o TARGET`")
    output = target or output
    assert output is not None  # exactly one of the two was given (checked above)
    check_output_paths(None if api._scheme(source) else source, output, report)
    with item_progress() as on_item:
        done = api.transfer(
            source,
            output,
            from_format=from_format,
            to_format=to_format,
            on_item=on_item,
            **parse_options(options),
        )
    losses = done.losses
    print_losses(losses)
    if report is not None:
        with atomic_write(report, "w") as handle:  # a clean error if it cannot be written
            handle.write(json.dumps({"losses": losses.as_dict()}, indent=2))
    say(err, ("wrote", "green"), " ", "standard output" if output == STDOUT else output)
    if isinstance(done.written, dict):
        summary = {k: v for k, v in done.written.items() if not isinstance(v, dict | list)}
        counts = {k: len(v) for k, v in done.written.items() if isinstance(v, dict | list)}
        say(err, ", ".join(f"{k}: {v}" for k, v in {**summary, **counts}.items()))
    if strict and losses:
        raise typer.Exit(6)


@app.command("inspect")
def inspect_command(
    source: Annotated[str, typer.Argument(help="Input file or live URL.")],
    from_format: FromFormatOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    options: OptionList = None,
) -> None:
    """Print what SOURCE holds: items, annotation sets, regions by kind, labels, annotators."""
    summary = api.inspect(source, from_format, **parse_options(options))
    if as_json:
        print_json(summary)
        return
    say(out, (source, "bold"), f" ({summary['format']}, project {summary['project']!r})")
    say(
        out,
        f"items {summary['items']}  annotation sets {summary['annotation_sets']}  "
        f"tracks {summary['tracks']}  relations {summary['relations']}",
    )
    for title in ("regions", "labels", "classifications"):
        counts = summary[title]
        if not counts:
            continue
        table = Table(title=title)
        table.add_column("name")
        table.add_column("count", justify="right")
        for name, count in counts.items():
            table.add_row(cell(name), cell(count))
        out.print(table)
    if summary["annotators"]:
        say(out, "annotators: " + ", ".join(summary["annotators"]))
