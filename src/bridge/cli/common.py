"""The `bridge` application object and what every command module shares: the consoles,
plain-text printing (`say`, `line`, `cell`, `print_json`), `-O` option parsing, the item
progress counter, the loss-report table and `fail`.

Each group of commands lives in its own module of `bridge.cli` and registers on `app`;
`bridge.cli.__init__` imports them all. A command module imports heavy modules lazily
(inside the command), so that `bridge --version` stays light.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Iterator
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from bridge import __version__
from bridge.errors import ConfigError
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


FromFormatOption = Annotated[
    str | None, typer.Option("--from", help="Input format (auto-detected if omitted).")
]

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


def fail(message: str, code: int, hint: str | None = None) -> None:
    """Print `message` (and its hint) with every credential the process holds redacted,
    then exit with `code`."""
    from bridge.secrets import redact

    text = line(("error:", "bold red"), " ", redact(message))
    if hint:
        text.append("\n  hint: " + printable(redact(hint)))
    err.print(text, soft_wrap=True)
    sys.exit(code)
