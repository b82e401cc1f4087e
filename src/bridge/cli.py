"""The `bridge` command. Thin: it parses options, calls `bridge.api`, prints results.

User errors (`BridgeError`) are printed in one or two lines on stderr with a non-zero exit
code and no traceback.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from bridge import __version__, api, plugins
from bridge.errors import BridgeError, ConfigError
from bridge.io import atomic_write
from bridge.losses import LossReport

app = typer.Typer(
    name="bridge",
    help="Move labeled data between Label Studio, CVAT and Labelbox without losing anything.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)

OptionList = Annotated[
    list[str] | None,
    typer.Option("--option", "-O", help="Format/connector option KEY=VALUE (repeatable)."),
]


def parse_options(pairs: list[str] | None) -> dict[str, Any]:
    """`["a=1", "b=x"]` as `{"a": 1, "b": "x"}` (values that parse as JSON are decoded)."""
    options: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(
                f"option {pair!r} is not KEY=VALUE", hint="e.g. -O label_config=config.xml"
            )
        try:
            options[key.replace("-", "_")] = json.loads(value)
        except ValueError:
            options[key.replace("-", "_")] = value
    return options


def _version_callback(value: bool) -> None:
    if value:
        out.print(f"label-bridge {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version_callback, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    """label-bridge: one schema for Label Studio, CVAT and Labelbox."""


@app.command("plugins")
def plugins_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List every registered format and connector with its capabilities."""
    reg = plugins.registry()
    rows = []
    tables: list[tuple[str, dict[str, Any]]] = [("format", reg.formats), ("connector", reg.connectors)]
    for kind, things in tables:
        for name, thing in sorted(things.items()):
            rows.append({
                "name": name,
                "kind": kind,
                "plugin": reg.owners.get(f"{kind}:{name}"),
                "description": thing.description,
                "capabilities": thing.capabilities.model_dump(),
            })  # fmt: skip
    if as_json:
        out.print_json(json.dumps({"plugins": rows, "broken": reg.broken}))
        return
    table = Table(title="label-bridge plugins", show_lines=True)
    for column in ("name", "kind", "can", "media", "regions"):
        table.add_column(column, overflow="fold")
    for row in rows:
        caps = row["capabilities"]
        can = [word for word in ("read", "write", "live", "tracks", "relations") if caps[word]]
        table.add_row(
            row["name"],
            row["kind"],
            " ".join(can),
            ", ".join(caps["media"]),
            ", ".join(caps["regions"]),
        )
    out.print(table)
    for name, problem in reg.broken.items():
        err.print(f"[yellow]plugin {name} failed to load:[/] {problem}")


@app.command("schema")
def schema_command() -> None:
    """Print the JSON Schema of the unified model (a JSONL header and an Item line)."""
    from bridge.schema import Item, Project

    document = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "label-bridge unified schema",
        "header": {"format": "bridge-jsonl", "version": 1, "project": Project.model_json_schema()},
        "item": Item.model_json_schema(),
    }
    out.print_json(json.dumps(document))


@app.command("convert")
def convert_command(
    source: Annotated[str, typer.Argument(help="Input file, or a live URL (labelstudio://...).")],
    target: Annotated[
        str | None, typer.Argument(help="Output file or live URL (or use -o).")
    ] = None,
    output: Annotated[
        str | None, typer.Option("--output", "-o", help="Output file or live URL.")
    ] = None,
    from_format: Annotated[
        str | None, typer.Option("--from", help="Input format (auto-detected if omitted).")
    ] = None,
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
    with item_progress() as on_item:
        done = api.transfer(
            source, output, from_format=from_format, to_format=to_format, on_item=on_item,
            **parse_options(options),
        )  # fmt: skip
    losses = done.losses
    print_losses(losses)
    if report is not None:
        with atomic_write(report, "w") as handle:  # a clean error if it cannot be written
            handle.write(json.dumps({"losses": losses.as_dict()}, indent=2))
    err.print(f"[green]wrote[/] {output}")
    if isinstance(done.written, dict):
        summary = {k: v for k, v in done.written.items() if not isinstance(v, dict | list)}
        counts = {k: len(v) for k, v in done.written.items() if isinstance(v, dict | list)}
        err.print(", ".join(f"{k}: {v}" for k, v in {**summary, **counts}.items()), highlight=False)
    if strict and losses:
        raise typer.Exit(6)


@contextlib.contextmanager
def item_progress() -> Iterator[Callable[[int], None] | None]:
    """A live "N items" counter on stderr when it is a terminal; nothing otherwise."""
    if not err.is_terminal:
        yield None
        return
    columns = (SpinnerColumn(), TextColumn("{task.completed:,} items"), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task("convert", total=None)
        yield lambda n: progress.update(task, completed=n)


def print_losses(losses: LossReport) -> None:
    if not losses:
        err.print("[green]nothing lost[/]")
        return
    table = Table(title="loss report", title_style="bold yellow")
    for column in ("code", "severity", "count", "what", "e.g. where"):
        table.add_column(column)
    for loss in losses:
        table.add_row(
            loss.code, loss.severity, str(loss.count), loss.message, ", ".join(loss.examples[:2])
        )
    err.print(table)


@app.command("inspect")
def inspect_command(
    source: Annotated[str, typer.Argument(help="Input file or live URL.")],
    from_format: Annotated[
        str | None, typer.Option("--from", help="Input format (auto-detected if omitted).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    options: OptionList = None,
) -> None:
    """Print what SOURCE holds: items, annotation sets, regions by kind, labels, annotators."""
    summary = api.inspect(source, from_format, **parse_options(options))
    if as_json:
        out.print_json(json.dumps(summary))
        return
    out.print(f"[bold]{source}[/] ({summary['format']}, project {summary['project']!r})")
    out.print(
        f"items {summary['items']}  annotation sets {summary['annotation_sets']}  "
        f"tracks {summary['tracks']}  relations {summary['relations']}"
    )
    for title in ("regions", "labels", "classifications"):
        counts = summary[title]
        if not counts:
            continue
        table = Table(title=title)
        table.add_column("name")
        table.add_column("count", justify="right")
        for name, count in counts.items():
            table.add_row(name, str(count))
        out.print(table)
    if summary["annotators"]:
        out.print("annotators: " + ", ".join(summary["annotators"]))


def main() -> None:
    """Entry point of the `bridge` console script: typer handles usage errors (exit 2);
    a `BridgeError` is printed in one or two lines with its own exit code."""
    try:
        app()
    except BridgeError as error:
        err.print(f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True)
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        err.print("aborted")
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    main()
