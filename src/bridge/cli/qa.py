"""`bridge qa`: how good the labels are, who needs feedback, what to review and label next."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from bridge.api import URL_PATTERN
from bridge.cli.common import OptionList, app, cell, err, item_progress, out, parse_options, say
from bridge.errors import ConfigError

PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%?\s*$")


def parse_percent(text: str) -> float:
    """`"20%"` or `"20"` as 20.0 (0..100); anything else is a `ConfigError`."""
    match = PERCENT.match(text)
    value = float(match.group(1)) if match else -1.0
    if not 0 <= value <= 100:
        raise ConfigError(f"--sample {text!r} is not a percentage", hint="e.g. --sample 20%")
    return value


def _check_outputs(sources: list[str], outputs: dict[str, str | None]) -> None:
    """Refuse an output that is a source, or two outputs that are the same file."""
    seen: dict[str, str] = {}
    local = [s for s in sources if not URL_PATTERN.match(s)]
    for option, path in outputs.items():
        if path is None or path == "-":
            continue
        resolved = str(Path(path).resolve())
        if resolved in seen:
            raise ConfigError(
                f"{option} and {seen[resolved]} name the same file {path}",
                hint="give each output its own file",
            )
        seen[resolved] = option
        for source in local:
            if Path(source).exists() and Path(path).exists() and os.path.samefile(source, path):
                raise ConfigError(
                    f"{option} {path} is an input: writing it would overwrite the source",
                    hint="write the report somewhere else",
                )


def _summary(report: dict[str, Any]) -> None:
    counts = report["counts"]
    table = Table(title="QA summary", show_header=False)
    table.add_column("what")
    table.add_column("value")
    rows: list[tuple[str, Any]] = [
        ("items", counts["items"]),
        (
            "annotation sets (human/gold/pred)",
            f"{counts['annotation_sets']} ({counts['human_sets']}/{counts['gold_sets']}/{counts['prediction_sets']})",
        ),
        ("annotators", counts["annotators"]),
        ("defect rate", _number(report["defects"]["defect_rate"])),
        ("agreement (pooled)", _number(report["agreement"].get("overall"))),
        ("F1 against gold (micro)", _number(report["gold"].get("micro", {}).get("f1"))),
        ("conflicting duplicates", report["consistency"]["duplicates"]["conflicting_groups"]),
        ("outside the ontology", report["consistency"]["ontology_violations"]["count"]),
        ("regions outside the media", report["consistency"]["outside_media"]["count"]),
        ("imbalance ratio", _number(report["imbalance"]["ratio"])),
        ("classes needing data", ", ".join(report["imbalance"]["under_threshold"][:10]) or "none"),
        ("review sample", f"{report['sample']['size']} sets"),
        ("labeling queue", f"{len(report['queue']['queue'])} items"),
    ]
    for gate in report.get("gates", []):
        verdict = "pass" if gate["passed"] else "FAIL"
        rows.append(
            (
                f"gate {gate['gate']}",
                f"{verdict} ({_number(gate['value'])} {gate['comparison']} {gate['threshold']:g})",
            )
        )
    for name, value in rows:
        table.add_row(cell(name), cell(value))
    out.print(table)


def _number(value: Any) -> str:
    return "not measured" if value is None else f"{value:.3f}"


@app.command("qa")
def qa_command(
    sources: Annotated[
        list[str], typer.Argument(help="Files or live URLs; several are joined by item key.")
    ],
    gold: Annotated[
        str | None,
        typer.Option(
            "--gold",
            help="Gold sets: a set selector (gold, annotator=EMAIL, source=NAME, ...) or a "
            "file/URL whose sets are all gold. Default: sets marked gold.",
        ),
    ] = None,
    output: Annotated[
        str | None, typer.Option("--output", "-o", help="Write the HTML report here.")
    ] = None,
    json_path: Annotated[
        str | None, typer.Option("--json", help="Write the report as JSON here (- for stdout).")
    ] = None,
    fail_under: Annotated[
        str | None,
        typer.Option(
            "--fail-under", help="Quality gates, e.g. iaa=0.8,f1=0.9,defect_rate_max=0.05 (exit 7)."
        ),
    ] = None,
    sample: Annotated[
        str, typer.Option("--sample", help="Review sample size in percent of the human sets.")
    ] = "20%",
    seed: Annotated[int, typer.Option("--seed", help="Seed of the review sample.")] = 0,
    sample_list: Annotated[
        str | None,
        typer.Option(
            "--sample-list",
            help="Write the sample's item keys and set ids (CSV if .csv, else JSON lines).",
        ),
    ] = None,
    sample_items: Annotated[
        str | None,
        typer.Option(
            "--sample-items", help="Write the sample as a unified JSONL subset (pushable)."
        ),
    ] = None,
    queue_list: Annotated[
        str | None,
        typer.Option(
            "--queue-list", help="Write the labeling queue (CSV if .csv, else JSON lines)."
        ),
    ] = None,
    queue_items: Annotated[
        str | None,
        typer.Option(
            "--queue-items", help="Write the labeling queue as a unified JSONL subset (pushable)."
        ),
    ] = None,
    queue_size: Annotated[
        int, typer.Option("--queue", min=0, help="Items in the labeling queue.")
    ] = 100,
    rank_by: Annotated[
        str, typer.Option("--rank-by", help="Queue order: uncertainty, disagreement or both.")
    ] = "both",
    min_per_class: Annotated[
        int, typer.Option("--min-per-class", min=0, help="Classes counted fewer times are named.")
    ] = 10,
    iou: Annotated[
        float, typer.Option("--iou", min=0.0, max=1.0, help="IoU threshold for matching regions.")
    ] = 0.5,
    gallery: Annotated[
        int, typer.Option("--gallery", min=0, help="Most-disagreed items shown in the report.")
    ] = 12,
    fetch_images: Annotated[
        bool,
        typer.Option(
            "--fetch-images/--no-fetch-images", help="Embed http(s) images in the gallery."
        ),
    ] = True,
    options: OptionList = None,
) -> None:
    """Measure label quality over SOURCE... and write a report: defects, consistency, class
    imbalance, agreement, scores against gold, scorecards, a review sample and what to
    label next. Exits 7 when a --fail-under gate fails."""
    from bridge.qa.report.html import render
    from bridge.qa.report.media import Embedder
    from bridge.qa.workflows.active import RANK_BY
    from bridge.qa.workflows.gates import enforce, evaluate, parse_gates
    from bridge.qa.workflows.run import QaOutputs, QaSettings, report_json, run_qa

    gates = parse_gates(fail_under)
    if rank_by not in RANK_BY:
        raise ConfigError(f"--rank-by {rank_by!r}", hint="use " + ", ".join(RANK_BY))
    outputs = QaOutputs(sample_list, sample_items, queue_list, queue_items)
    _check_outputs(
        sources,
        {
            "-o": output,
            "--json": json_path,
            "--sample-list": sample_list,
            "--sample-items": sample_items,
            "--queue-list": queue_list,
            "--queue-items": queue_items,
        },
    )
    settings = QaSettings(
        gold=gold,
        sample_percent=parse_percent(sample),
        seed=seed,
        min_per_class=min_per_class,
        iou_threshold=iou,
        queue_size=queue_size,
        rank_by=rank_by,
        gallery_size=gallery,
        options=parse_options(options),
    )
    with item_progress() as on_item:
        report = run_qa(sources, settings, outputs, on_item=on_item)
    report["gates"] = evaluate(report, gates)
    if json_path is not None:
        from bridge.io import atomic_write

        with atomic_write(json_path, "w") as handle:
            handle.write(report_json(report))
    if output is not None:
        from bridge.io import atomic_write

        bases = [Path(s).resolve().parent for s in sources if not URL_PATTERN.match(s)]
        embed = Embedder([*bases, Path.cwd()], allow_http=fetch_images)
        page = render(report, embed)
        with atomic_write(output, "w") as handle:
            handle.write(page)
        if embed.failures:
            reasons = ", ".join(f"{n} {why}" for why, n in sorted(embed.failures.items()))
            say(err, f"gallery images not embedded (drawn on blank canvases): {reasons}")
    if json_path != "-":
        _summary(report)
    enforce(report["gates"])
