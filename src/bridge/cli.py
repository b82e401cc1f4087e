"""The `bridge` command. Thin: it parses options, calls `bridge.api`, prints results.

User errors (`BridgeError`) are printed in one or two lines on stderr with a non-zero exit
code and no traceback. Everything printed that a file, a server or the user wrote (labels,
paths, error bodies, loss examples, hints) is printed literally: no rich markup, emoji
codes or highlighting, and control characters removed (`bridge.text.printable`).

SIGINT, SIGTERM and SIGHUP stop a run through an exception, so that every `finally` runs
and no temporary output file is left; the exit code is 128 + the signal's number.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from bridge import __version__, api, plugins
from bridge.errors import BridgeError, ConfigError
from bridge.io import FULL_DISK, STDOUT, atomic_write, check_output_paths
from bridge.losses import LossReport
from bridge.text import json_text, printable

app = typer.Typer(
    name="bridge",
    help="Move labeled data between Label Studio, CVAT and Labelbox without losing anything.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# no markup, emoji codes or highlighting: what we print is what the text says
out = Console(markup=False, emoji=False, highlight=False)
err = Console(stderr=True, markup=False, emoji=False, highlight=False)


def line(*parts: str | tuple[str, str]) -> Text:
    """One line of plain text: `parts` are text (from anywhere: made `printable`) or
    `(text, style)` pairs."""
    return Text.assemble(
        *((printable(p[0]), p[1]) if isinstance(p, tuple) else printable(p) for p in parts)
    )


def say(console: Console, *parts: str | tuple[str, str]) -> None:
    """Print `line(*parts)` unwrapped (a long path stays one piece to copy)."""
    console.print(line(*parts), soft_wrap=True)


def cell(value: object) -> Text:
    return Text(printable(value))


def print_json(value: object) -> None:
    """`value` as indented JSON on standard output (terminal-safe, still exact JSON)."""
    sys.stdout.write(json_text(value) + "\n")
    sys.stdout.flush()


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
        say(out, f"label-bridge {__version__}")
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
        say(err, ("nothing lost", "green"))
        return
    table = Table(title="loss report", title_style="bold yellow")
    for column in ("code", "severity", "count", "what", "e.g. where"):
        table.add_column(column)
    for loss in losses:
        table.add_row(
            cell(loss.code),
            cell(loss.severity),
            cell(loss.count),
            cell(loss.message),
            cell(", ".join(loss.examples[:2])),
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


class Interrupted(BaseException):
    """A signal that stops the run (SIGINT, SIGTERM, SIGHUP), raised where the program is
    so that `finally` blocks and context managers clean up (temporary files)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _stop(signum: int, frame: object) -> None:
    signal.signal(signum, signal.SIG_DFL)  # the same signal again ends the process at once
    raise Interrupted(signum)


def install_signal_handlers() -> None:
    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        signum = getattr(signal, name, None)
        if signum is not None and signal.getsignal(signum) is not signal.SIG_IGN:
            signal.signal(signum, _stop)


def fail(message: str, code: int, hint: str | None = None) -> None:
    """Print `message` (and its hint) with every credential the process holds redacted,
    then exit with `code`."""
    from bridge.secrets import redact

    text = line(("error:", "bold red"), " ", redact(message))
    if hint:
        text.append("\n  hint: " + printable(redact(hint)))
    err.print(text, soft_wrap=True)
    sys.exit(code)


def main() -> None:
    """Entry point of the `bridge` console script: typer handles usage errors (exit 2);
    a `BridgeError` is printed in one or two lines with its own exit code; a full disk or
    exhausted memory is one line with exit code 5; a signal ends with 128 + its number."""
    install_signal_handlers()
    try:
        app()
    except BridgeError as error:
        fail(str(error), error.exit_code)
    except Interrupted as stop:
        say(err, f"interrupted by {signal.Signals(stop.signum).name}")
        sys.exit(128 + stop.signum)
    except KeyboardInterrupt:
        err.print("aborted")
        sys.exit(130)
    except MemoryError:
        fail("out of memory", 5, hint="free memory, or convert a smaller part of the data")
    except BrokenPipeError:  # `bridge convert ... -o - | head`: the reader went away
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(128 + signal.SIGPIPE)
    except OSError as error:
        if error.errno not in FULL_DISK:
            raise
        where = f"{error.filename}: " if error.filename else ""
        fail(f"{where}{os.strerror(error.errno)}", 5, hint="free some space and run again")


if __name__ == "__main__":  # pragma: no cover
    main()
