"""Workspace commands: `bridge pull`.

`bridge pull SOURCE` reads any file or live project `bridge convert` reads into the
workspace (`bridge.store`): new things are created, changed ones updated (by content
hash), unchanged ones left untouched, and what disappeared from the source is recorded.
The workspace is `--workspace PATH|URL`, else `$BRIDGE_WORKSPACE`, else ./bridge.db.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bridge import api
from bridge.cli.common import (
    FromFormatOption,
    OptionList,
    app,
    err,
    item_progress,
    out,
    parse_options,
    print_json,
    print_losses,
    say,
)

SKIPPED = "source unchanged"
"""The `skipped` reason of a pull of an unchanged source file (nothing read)."""

if TYPE_CHECKING:
    from bridge.formats import Dataset
    from bridge.losses import LossReport
    from bridge.store import PullResult, SourceSpec

WorkspaceOption = Annotated[
    str | None,
    typer.Option(
        "--workspace",
        "-w",
        help="Workspace: a SQLite file or a postgresql:// URL "
        "(default: $BRIDGE_WORKSPACE, else ./bridge.db).",
    ),
]


def source_spec(source: str, name: str | None, dataset: Dataset) -> SourceSpec:
    """The `SourceSpec` of a pulled SOURCE: named `name`, else the file's name, else the
    URL without credentials; tool, instance and project from what the reader says."""
    from bridge.store import SourceSpec
    from bridge.store.types import strip_credentials

    scheme = api._scheme(source)
    location = strip_credentials(source) if scheme else str(Path(source).resolve())
    ref = dataset.project.source
    tool = ref.tool if ref is not None else None
    tool = tool or dataset.meta.get("format") or scheme
    default_name = strip_credentials(source) if scheme else Path(source).name
    return SourceSpec(
        name=name or default_name or source,
        tool=tool,
        instance=ref.instance if ref is not None and scheme else None,
        project=ref.project if ref is not None else None,
        location=location,
    )


def pulled_name(source: str, name: str | None) -> str | None:
    """The workspace name of a *file* SOURCE (what `source_spec` names it), known before
    the file is opened; None for a live source."""
    if api._scheme(source):
        return None
    return name or Path(source).name or source


def workspace_exists(workspace: str | None) -> bool:
    """Whether the workspace at `workspace` (as `--workspace` takes it) may exist already:
    a PostgreSQL URL, or a SQLite file that exists."""
    from bridge.store.engine import is_postgres, resolve_location

    location = resolve_location(workspace)
    return is_postgres(location) or Path(location).exists()


def pull_or_skip(
    ws: Any,
    source: str,
    name: str | None,
    match: str | None,
    recipe: Any,
    open_and_pull: Callable[[], PullResult],
    reader_losses: LossReport,
) -> tuple[PullResult, bool]:
    """`(result, skipped)`: the source file unchanged since its last pull (same bytes and
    `recipe`, see `bridge.store.source_file`) is not read at all; else `open_and_pull()`
    runs and the file's identity is recorded with the pull (unless it had losses: a
    skipped pull reports none, so a lossy one is always read again)."""
    from bridge.store import source_file

    workspace_name = pulled_name(source, name)
    if workspace_name is None:
        return open_and_pull(), False
    identity = source_file.identify(source, recipe)
    skipped = source_file.unchanged_pull(ws.engine, workspace_name, identity, match)
    if skipped is not None:
        return skipped, True
    before = source_file.pulls_of(ws.engine, workspace_name)
    result = open_and_pull()
    if result.source == workspace_name and not result.losses and not reader_losses:
        source_file.record(ws.engine, workspace_name, identity, before)
    return result, False


def _print_result(result: PullResult, workspace: str) -> None:
    from bridge.store.types import PULL_ACTIONS, PULL_KINDS

    say(err, ("pulled", "green"), f" {result.source} into {workspace} (match {result.match})")
    for kind in PULL_KINDS:
        parts = [
            f"{getattr(result, action)[kind]} {action}"
            for action in PULL_ACTIONS
            if getattr(result, action)[kind] or action == "unchanged"
        ]
        say(out, f"{kind.replace('_', ' ')}: " + ", ".join(parts))


@app.command("pull")
def pull_command(
    source: Annotated[str, typer.Argument(help="Input file, or a live URL (labelstudio://...).")],
    name: Annotated[
        str | None,
        typer.Option(
            "--name", help="Name of the source in the workspace (default: file name/URL)."
        ),
    ] = None,
    match: Annotated[
        str | None,
        typer.Option(
            "--match",
            help="How items of several sources are matched: key, filename, uri or regex:PATTERN "
            "(default: the rule the source was pulled with before, else key).",
        ),
    ] = None,
    from_format: FromFormatOption = None,
    workspace: WorkspaceOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    options: OptionList = None,
) -> None:
    """Pull SOURCE into the workspace: create what is new, update what changed, record
    what disappeared; items of several sources with the same match value become one."""
    from bridge.losses import LossReport
    from bridge.store import MatchRule, open_workspace

    rule = MatchRule.parse(match) if match is not None else None
    losses = LossReport()
    reader_options = parse_options(options)
    # a new workspace has nothing to skip: the source is opened (and checked) first, so
    # bad input leaves no workspace behind
    opened = (
        None
        if workspace_exists(workspace)
        else api.open_dataset(source, from_format, losses, **reader_options)
    )

    with open_workspace(workspace) as ws, item_progress() as on_item:

        def open_and_pull() -> PullResult:
            dataset = (
                opened
                if opened is not None
                else api.open_dataset(source, from_format, losses, **reader_options)
            )
            spec = source_spec(source, name, dataset)
            return ws.pull(dataset, spec, rule, on_item=on_item)

        recipe = {"from": from_format, "options": reader_options}
        result, skipped = pull_or_skip(ws, source, name, match, recipe, open_and_pull, losses)
        where = ws.location
    result.losses.merge(losses)
    if as_json:
        extra = {"skipped": SKIPPED} if skipped else {}
        print_json({"workspace": where, **result.as_dict(), **extra})
        return
    _print_result(result, where)
    if skipped:
        say(out, f"skipped: {SKIPPED} since the last pull (nothing read)")
    print_losses(result.losses)
