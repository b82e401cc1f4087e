"""`bridge push`, `bridge migrate`, `bridge sync CONFIG` and `bridge status`: keep targets in
step with the workspace (see `bridge.sync`).

Every push first computes a plan (creates, updates, deletes, unchanged and conflicts per
kind: project, item, annotation_set) and prints it; `--dry-run` stops there; `--json`
prints `{"plan": ..., "applied": ..., "losses": [...]}` as one object.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bridge.cli.common import (
    FromFormatOption,
    OptionList,
    app,
    cell,
    err,
    out,
    parse_options,
    print_json,
    print_losses,
    say,
)
from bridge.cli.workspace import WorkspaceOption
from bridge.errors import ConfigError

if TYPE_CHECKING:
    from bridge.sync.engine import PushOptions, PushResult

SetsOption = Annotated[
    str,
    typer.Option(
        "--sets",
        help="Which annotation sets go (all, gold, latest, accepted, annotator=EMAIL, source=NAME, ...).",
    ),
]
PreferOption = Annotated[
    str, typer.Option("--prefer", help="Conflicts (changed on both sides): source, target or skip.")
]
DeleteOption = Annotated[
    bool,
    typer.Option("--delete", help="Also delete on the target what disappeared from the sources."),
]
DryRunOption = Annotated[bool, typer.Option("--dry-run", help="Print the plan; send nothing.")]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print plan and result as one JSON object.")
]
AsOption = Annotated[
    str,
    typer.Option("--as", help="Send the sets as annotations or as predictions (pre-annotations)."),
]
FullScanOption = Annotated[
    bool,
    typer.Option(
        "--full-scan",
        help="Always list the whole target (default: only when its counters differ from the links).",
    ),
]
ToOption = Annotated[
    str | None,
    typer.Option("--to", help="Format of a file target (from the extension if omitted)."),
]


def push_options(
    sets: str, prefer: str, delete: bool, dry_run: bool, as_: str, sources: list[str] | None = None
) -> PushOptions:
    from bridge.select import SetSelector
    from bridge.sync.engine import PushOptions
    from bridge.sync.plan import PREFER_CHOICES

    if prefer not in PREFER_CHOICES:
        raise ConfigError(f"--prefer {prefer!r} is not a choice", hint="use source, target or skip")
    if as_ not in ("annotations", "predictions"):
        raise ConfigError(f"--as {as_!r} is not a choice", hint="use annotations or predictions")
    SetSelector.parse(sets)  # a bad selector fails before anything is read
    return PushOptions(
        sets=sets,
        prefer=prefer,
        delete=delete,
        dry_run=dry_run,
        as_predictions=as_ == "predictions",
        sources=sources,
    )


@contextlib.contextmanager
def push_progress(enabled: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on stderr when it is a terminal (and not --json); nothing otherwise."""
    if not enabled or not err.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("push"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task("push", total=None)
        yield lambda done, total: progress.update(task, completed=done, total=total)


def print_plan(result: PushResult, dry_run: bool) -> None:
    """The plan (and what was applied) as a table on standard output."""
    from rich.table import Table

    from bridge.sync.target import KINDS

    plan = result.plan.counts()
    table = Table(title="plan" + (" (dry run: nothing sent)" if dry_run else ""))
    table.add_column("kind")
    for op in ("create", "update", "delete", "unchanged"):
        table.add_column(op, justify="right")
    if not dry_run:
        table.add_column("applied", justify="right")
    for kind in KINDS:
        row = [
            cell(kind),
            *(cell(plan[op][kind]) for op in ("create", "update", "delete", "unchanged")),
        ]
        if not dry_run:
            done = sum(result.applied[op][kind] for op in ("create", "update", "delete"))
            row.append(cell(done))
        table.add_row(*row)
    out.print(table)
    conflicts = result.plan.conflicts
    if conflicts:
        say(out, (f"{len(conflicts)} conflict(s)", "bold yellow"), " (changed on both sides):")
        for conflict in conflicts[:20]:
            say(out, f"  {conflict['kind']} {conflict['id']} -> {conflict['resolution']}")
    deletes = sum(plan["delete"].values())
    if (
        deletes
        and not result.applied["delete"]["item"]
        and not result.applied["delete"]["annotation_set"]
        and not dry_run
    ):
        say(out, f"{deletes} deletion(s) not sent: add --delete to propagate them")
    adopted = sum(result.applied["adopt"].values())
    if adopted:
        say(out, f"repaired {adopted} link(s) to objects an earlier run created")


def report(result: PushResult, as_json: bool, dry_run: bool) -> None:
    if as_json:
        print_json(result.as_dict())
        return
    print_plan(result, dry_run)
    print_losses(result.losses)


def run_push(
    ws: Any,
    target_text: str,
    to_format: str | None,
    options: PushOptions,
    extra: dict[str, Any],
    as_json: bool,
) -> PushResult:
    from bridge.sync.engine import push
    from bridge.sync.open import open_target

    target = open_target(target_text, to_format, extra)
    try:
        with push_progress(not as_json) as progress:
            return push(ws, target, options, progress)
    finally:
        target.close()


@app.command("push")
def push_command(
    target: Annotated[
        str,
        typer.Argument(
            help="Target: a live URL (labelstudio://HOST:PORT/projects/ID) or a file path."
        ),
    ],
    workspace: WorkspaceOption = None,
    sets: SetsOption = "all",
    prefer: PreferOption = "skip",
    delete: DeleteOption = False,
    dry_run: DryRunOption = False,
    as_json: JsonOption = False,
    as_: AsOption = "annotations",
    to_format: ToOption = None,
    full_scan: FullScanOption = False,
    source: Annotated[
        list[str] | None,
        typer.Option("--source", help="Only items of this workspace source (repeatable)."),
    ] = None,
    options: OptionList = None,
) -> None:
    """Plan, then send what changed in the workspace to TARGET (idempotent, resumable)."""
    from bridge.store import open_workspace

    chosen = push_options(sets, prefer, delete, dry_run, as_, source)
    chosen.full_scan = full_scan
    with open_workspace(workspace) as ws:
        result = run_push(ws, target, to_format, chosen, parse_options(options), as_json)
    report(result, as_json, dry_run)


@app.command("migrate")
def migrate_command(
    source: Annotated[str, typer.Argument(help="Source: a file or a live URL.")],
    target: Annotated[str, typer.Argument(help="Target: a live URL or a file path.")],
    workspace: WorkspaceOption = None,
    name: Annotated[
        str | None, typer.Option("--name", help="Name of the source in the workspace.")
    ] = None,
    match: Annotated[
        str,
        typer.Option("--match", help="Item matching rule: key, filename, uri or regex:PATTERN."),
    ] = "key",
    from_format: FromFormatOption = None,
    sets: SetsOption = "all",
    prefer: PreferOption = "skip",
    delete: DeleteOption = False,
    dry_run: DryRunOption = False,
    as_json: JsonOption = False,
    as_: AsOption = "annotations",
    to_format: ToOption = None,
    full_scan: FullScanOption = False,
    options: OptionList = None,
) -> None:
    """Pull SOURCE into the workspace, then push to TARGET (= `bridge pull` + `bridge push`)."""
    from bridge.store import open_workspace

    chosen = push_options(sets, prefer, delete, dry_run, as_)
    chosen.full_scan = full_scan
    extra = parse_options(options)
    with open_workspace(workspace) as ws:
        pulled = pull_into(ws, source, name, match, from_format, extra)
        chosen.sources = [pulled["source"]]
        result = run_push(ws, target, to_format, chosen, extra, as_json)
    if as_json:
        print_json({"pull": pulled, **result.as_dict()})
        return
    say(out, f"pulled {source}: ", str(pulled.get("counts", {})))
    report(result, False, dry_run)


def open_source(source: str, from_format: str | None, options: dict[str, Any]) -> tuple[Any, Any]:
    """`(dataset, losses)` of `source`, streamed (nothing read yet but its project)."""
    from bridge import api
    from bridge.losses import LossReport

    losses = LossReport()
    return api.open_dataset(source, from_format, losses, **options), losses


def pull_dataset(
    ws: Any, source: str, name: str | None, match: str, dataset: Any, losses: Any
) -> dict[str, Any]:
    """Pull an opened `dataset` into `ws`; `{"source": name, "counts": ..., "losses": [...]}`."""
    from bridge.cli.workspace import source_spec
    from bridge.store import MatchRule

    spec = source_spec(source, name, dataset)
    result = ws.pull(dataset, spec, MatchRule.parse(match))
    counts = result.as_dict() if hasattr(result, "as_dict") else dict(vars(result))
    return {"source": spec.name, "counts": counts, "losses": losses.as_dict()}


def pull_into(
    ws: Any,
    source: str,
    name: str | None,
    match: str,
    from_format: str | None,
    options: dict[str, Any],
) -> dict[str, Any]:
    """Pull `source` into `ws` (what `bridge pull` does, including skipping a source file
    unchanged since its last pull: then the result has `"skipped": "source unchanged"`)."""
    from bridge import api
    from bridge.cli.workspace import SKIPPED, pull_or_skip, source_spec
    from bridge.losses import LossReport
    from bridge.store import MatchRule

    losses = LossReport()

    def open_and_pull() -> Any:
        dataset = api.open_dataset(source, from_format, losses, **options)
        return ws.pull(dataset, source_spec(source, name, dataset), MatchRule.parse(match))

    recipe = {"from": from_format, "options": options}
    result, skipped = pull_or_skip(ws, source, name, match, recipe, open_and_pull, losses)
    pulled = {"source": result.source, "counts": result.as_dict(), "losses": losses.as_dict()}
    if skipped:
        pulled["skipped"] = SKIPPED
    return pulled


def mapped(dataset: Any, label_map: Any, losses: Any) -> None:
    """Apply `label_map` to `dataset` as it streams: items, then the final project."""
    from bridge.sync.labelmap import (
        apply_label_map,
        map_ontology,
    )

    items = dataset.items

    def stream() -> Iterator[Any]:
        for item in items:
            yield apply_label_map(item, label_map, losses)
        dataset.project = map_ontology(dataset.project, label_map)

    dataset.project = map_ontology(dataset.project, label_map)
    dataset.items = stream()


@app.command("sync")
def sync_command(
    config: Annotated[
        Path,
        typer.Argument(help="A sync config (YAML): sources, one target, label maps, policies."),
    ],
    workspace: WorkspaceOption = None,
    dry_run: DryRunOption = False,
    as_json: JsonOption = False,
) -> None:
    """Pull every source of CONFIG (label maps applied) and push to its target."""
    from bridge.store import open_workspace
    from bridge.sync.config import load_config
    from bridge.sync.labelmap import LabelMap

    cfg = load_config(config)
    label_map = LabelMap.from_config(cfg)
    opened = []
    for src in cfg.sources:  # every source's labels are known before anything is pulled
        dataset, losses = open_source(src.location, src.from_, src.plain_options())
        label_map.check(dataset.project)
        opened.append((src, dataset, losses))
    with open_workspace(workspace or cfg.workspace) as ws:
        pulls = []
        for src, dataset, losses in opened:
            if label_map:
                mapped(dataset, label_map, losses)
            match = src.match or cfg.match
            pulls.append(pull_dataset(ws, src.location, src.name, match, dataset, losses))
        chosen = push_options(cfg.sets, cfg.prefer, cfg.delete, dry_run, cfg.as_)
        chosen.sources = [pulled["source"] for pulled in pulls]
        target = cfg.target
        result = run_push(ws, target.location, target.to, chosen, target.plain_options(), as_json)
    if as_json:
        print_json({"pull": pulls, **result.as_dict()})
        return
    report(result, False, dry_run)


@app.command("status")
def status_command(
    workspace: WorkspaceOption = None,
    as_json: JsonOption = False,
) -> None:
    """Per source and target: what the workspace holds, the last sync, and what a push would
    send now (plan counts from the recorded links; no server is asked)."""
    from bridge.store import open_workspace
    from bridge.sync.status import workspace_status

    with open_workspace(workspace) as ws:
        status = workspace_status(ws)
    if as_json:
        print_json(status)
        return
    print_status(status)


def print_status(status: dict[str, Any]) -> None:
    from rich.table import Table

    say(out, ("workspace ", "bold"), str(status.get("workspace", "")))
    sources = Table(title="sources")
    for column in ("name", "tool", "location", "last pull", "items", "annotation sets"):
        sources.add_column(column)
    for src in status["sources"]:
        counts = src.get("counts") or {}
        sources.add_row(
            cell(src.get("name")),
            cell(src.get("tool") or ""),
            cell(src.get("location") or ""),
            cell(src.get("last_pull") or ""),
            cell(counts.get("items", "")),
            cell(counts.get("annotation_sets", "")),
        )
    out.print(sources)
    targets = Table(title="targets")
    for column in (
        "target",
        "last sync",
        "would create",
        "would update",
        "would delete",
        "unchanged",
    ):
        targets.add_column(column)
    for tgt in status["targets"]:
        plan = tgt.get("pending") or {}

        def total(op: str, plan: dict[str, Any] = plan) -> str:
            counts = plan.get(op) or {}
            return str(sum(counts.values())) if counts else "-"

        targets.add_row(
            cell(tgt.get("name")),
            cell(tgt.get("last_sync") or "never"),
            cell(total("create")),
            cell(total("update")),
            cell(total("delete")),
            cell(total("unchanged")),
        )
    out.print(targets)
