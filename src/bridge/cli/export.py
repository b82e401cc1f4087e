"""Delivery commands: `bridge export` (a bundle: data, datasheet, manifest) and `bridge
verify` (a bundle against its manifest)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bridge.cli.common import (
    FromFormatOption,
    OptionList,
    app,
    err,
    item_progress,
    out,
    parse_options,
    print_losses,
    say,
)


@app.command("export")
def export_command(
    source: Annotated[str, typer.Argument(help="Input file or directory, or a live URL.")],
    format_name: Annotated[
        str, typer.Argument(metavar="FORMAT", help="Output format (see `bridge plugins`).")
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="The bundle directory to create.")],
    sets: Annotated[
        str,
        typer.Option(
            "--sets",
            help="Annotation sets to export: all, gold, consensus, latest-accepted, annotator=WHO, ...",
        ),
    ] = "all",
    split: Annotated[
        str | None,
        typer.Option(
            "--split",
            help="subset (the items' own), or NAME=SHARE,... e.g. train=0.8,val=0.1,test=0.1",
        ),
    ] = None,
    seed: Annotated[
        int, typer.Option("--seed", help="Seed of a ratio split (same seed, same split).")
    ] = 0,
    from_format: FromFormatOption = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace a non-empty output directory.")
    ] = False,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 6 if anything was dropped or approximated.")
    ] = False,
    options: OptionList = None,
) -> None:
    """Write a delivery bundle: the data in FORMAT (per split), datasheet.md and manifest.json."""
    from bridge.export.bundle import export_bundle

    with item_progress() as on_item:
        bundle = export_bundle(
            source,
            format_name,
            output,
            sets=sets,
            split=split,
            seed=seed,
            force=force,
            from_format=from_format,
            options=parse_options(options),
            on_item=on_item,
        )
    print_losses(bundle.losses)
    splits = ", ".join(f"{name} {count}" for name, count in bundle.splits.items())
    say(
        err,
        ("wrote", "green"),
        " ",
        str(bundle.path),
        f": {bundle.items} items ({splits}), {len(bundle.files) + 1} files",
    )
    if strict and bundle.losses:
        raise typer.Exit(6)


@app.command("verify")
def verify_command(
    directory: Annotated[Path, typer.Argument(help="A bundle written by `bridge export`.")],
) -> None:
    """Check every file of a bundle against its manifest.json: exit 1 on a missing, extra or
    changed file, listing them."""
    from bridge.export.manifest import verify

    result = verify(directory)
    for kind, paths in (
        ("missing", result.missing),
        ("extra", result.extra),
        ("changed", result.changed),
    ):
        for path in paths:
            say(out, (f"{kind}:", "red"), " ", path)
    if not result.ok:
        problems = len(result.missing) + len(result.extra) + len(result.changed)
        say(err, ("bundle does not match its manifest:", "bold red"), f" {problems} problem(s)")
        raise typer.Exit(1)
    say(err, ("ok", "green"), f": {result.checked} files match manifest.json")
