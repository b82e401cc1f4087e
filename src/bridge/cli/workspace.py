"""Workspace commands: `bridge pull`.

`bridge pull SOURCE` reads any file or live project `bridge convert` reads into the
workspace (`bridge.store`): new things are created, changed ones updated (by content
hash), unchanged ones left untouched, and what disappeared from the source is recorded.
The workspace is `--workspace PATH|URL`, else `$BRIDGE_WORKSPACE`, else ./bridge.db.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bridge import api
from bridge.cli.common import (
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

if TYPE_CHECKING:
    from bridge.formats import Dataset
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
    from_format: Annotated[
        str | None, typer.Option("--from", help="Input format (auto-detected if omitted).")
    ] = None,
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
    dataset = api.open_dataset(source, from_format, losses, **parse_options(options))
    spec = source_spec(source, name, dataset)
    with open_workspace(workspace) as ws, item_progress() as on_item:
        result = ws.pull(dataset, spec, rule, on_item=on_item)
        where = ws.location
    result.losses.merge(losses)
    if as_json:
        print_json({"workspace": where, **result.as_dict()})
        return
    _print_result(result, where)
    print_losses(result.losses)
