"""`bridge convert <export v2>.ndjson -o out.jsonl` next to a bare orjson parse of the same
file: rows/s from CPU time, peak memory (max RSS of a fresh process) and the ratio; then
where the time of one data row goes.

    /work/venv/bin/python benchmarks/labelbox_bench.py [--sizes 20000 100000] [--repeat 3]
        [--breakdown-rows 5000]

Files are generated with benchmarks/labelbox_generate.py into benchmarks/data/ if missing.
Each measurement runs in its own process so that peak memory is that run's alone. Times
are the process's CPU time (user + system) of the work itself, after the imports (the
machine is shared, CPU time moves less than wall time; wall-time ratios are printed too).
Each size has two lines: `records`, the path `bridge convert` takes to a JSONL file (the
reader's item records dumped by orjson), and `validated`, the same with `-O validate=true`
(every item built and dumped by pydantic), for comparison:

* `bare parse`: read the file line by line and `orjson.loads` every line (the floor: no
  conversion, nothing kept);
* `read only`: the `labelbox` reader alone (parse + convert every line to a record, or to
  a validated Item; nothing written), to separate this plugin's cost from the writer's;
* `bridge convert`: `bridge.api.convert(src, dst)` with the format auto-detected, i.e.
  what the `bridge convert` command runs (read, convert, write JSONL).

The breakdown streams the first `--breakdown-rows` rows of the smallest size through each
stage of `bridge convert` in turn and times each with the process CPU clock (the clock
reads themselves cost ~0.3 us each and are included); median of `--repeat` runs. The
record path (what `bridge convert` runs):

* `parse`: `orjson.loads` of the line;
* `convert`: `bridge_labelbox.convert.item_record` (export row -> item record, checked);
* `observe`: the reader's ontology collector (`observe_record`);
* `dump`: `bridge.formats.jsonl.record_line` (orjson);
* `write`: writing that line into a temporary file, as `write_jsonl` does (plus its copy
  into the target at the end, spread over the rows).

The validated path (`-O validate=true`) has `validate` (`Item.model_validate` of the
record, pydantic; one call per row) and `serialize` (`bridge.formats.jsonl.item_line`,
pydantic's dump) instead of `dump`, and observes the `Item`.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _bare_setup(path: Path):
    import orjson

    def work() -> int:
        rows = 0
        with open(path, "rb") as handle:
            for line in handle:
                if not line.isspace():
                    orjson.loads(line)
                    rows += 1
        return rows

    return work


def _read_setup(path: Path, validated: bool = False):
    from bridge_labelbox.files import read_export

    from bridge.losses import LossReport

    def work() -> int:
        items = read_export(path, LossReport()).items
        return sum(1 for _ in (items if validated else items.records()))

    return work


def _convert_setup(path: Path, validated: bool = False):
    from bridge import api, plugins

    plugins.registry()
    target = path.with_suffix(".bench.jsonl")

    def work() -> int:
        api.convert(str(path), target, validate=validated)
        target.unlink()
        return sum(1 for _ in open(path, "rb"))

    return work


RECORD_STAGES = ["parse", "convert", "observe", "dump", "write"]
VALIDATED_STAGES = ["parse", "convert", "validate", "observe", "serialize", "write"]


def _stages(path: Path, validated: bool):
    """The per-row stages of one path through `bridge convert`, as functions taking the
    previous stage's output (see the module docstring)."""
    import orjson
    from bridge_labelbox.convert import item_record
    from bridge_labelbox.files import OntologyCollector

    from bridge.formats.jsonl import item_line, record_line
    from bridge.losses import LossReport
    from bridge.schema import Item, Project

    losses, instance = LossReport(), str(path)
    collector = OntologyCollector(Project(name="bench"))

    def convert(row: dict, number: int) -> dict:
        return item_record(row, losses, where=f"{instance}:{number}", instance=instance)

    def observe(entry):
        (collector.observe if validated else collector.observe_record)(entry)
        return entry

    stages = {"parse": orjson.loads, "convert": convert, "observe": observe}
    if validated:
        stages.update(validate=Item.model_validate, serialize=item_line)
    else:
        stages["dump"] = record_line
    return stages


def _breakdown(path: Path, limit: int, validated: bool) -> dict:
    """CPU microseconds per row spent in each stage (see the module docstring)."""
    import shutil
    import tempfile

    names = VALIDATED_STAGES if validated else RECORD_STAGES
    stages = _stages(path, validated)
    clock = time.process_time_ns
    spent, rows = dict.fromkeys(names, 0), 0
    with open(path, "rb") as handle, tempfile.TemporaryFile() as body:
        stages["write"] = body.write
        for number, line in enumerate(handle, start=1):
            if rows == limit:
                break
            value = line
            for name in names:
                start = clock()
                value = stages[name](value, number) if name == "convert" else stages[name](value)
                spent[name] += clock() - start
            rows += 1
        body.seek(0)
        start = clock()
        with tempfile.TemporaryFile() as target:
            shutil.copyfileobj(body, target, 1 << 20)
        spent["write"] += clock() - start
    return {"rows": rows, **{name: ns / rows / 1000 for name, ns in spent.items()}}


SETUPS = {
    "bare": _bare_setup,
    "read": _read_setup,
    "convert": _convert_setup,
    "read-validated": lambda path: _read_setup(path, validated=True),
    "convert-validated": lambda path: _convert_setup(path, validated=True),
}


def child(mode: str, path: Path, limit: int) -> dict:
    if mode.startswith("breakdown"):
        return _breakdown(path, limit, validated=mode == "breakdown-validated")
    cpu0 = _cpu()
    work = SETUPS[mode](path)
    cpu1, wall1 = _cpu(), time.perf_counter()
    rows = work()
    cpu2, wall2 = _cpu(), time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "rows": rows,
        "cpu": cpu2 - cpu1,
        "wall": wall2 - wall1,
        "setup_cpu": cpu1 - cpu0,
        "peak_kb": peak,
    }


def run_child(mode: str, path: Path, limit: int = 0) -> dict:
    output = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(path), str(limit)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def ensure_file(rows: int) -> Path:
    path = HERE / "data" / f"lb_{rows}.ndjson"
    if not path.exists():
        from labelbox_generate import generate

        generate(rows, path)
    return path


def measure(mode: str, path: Path, repeat: int) -> dict:
    runs = [run_child(mode, path) for _ in range(repeat)]
    return {
        "rows": runs[0]["rows"],
        "cpu": statistics.median(run["cpu"] for run in runs),
        "wall": statistics.median(run["wall"] for run in runs),
        "setup": statistics.median(run["setup_cpu"] for run in runs),
        "peak_mb": max(run["peak_kb"] for run in runs) / 1024,
    }


def _cells(run: dict, bare: dict, width: int) -> str:
    """rows/s from CPU time, peak MB, CPU-time and wall-time ratios to the bare parse."""
    return (
        f"{run['rows'] / run['cpu']:>{width},.0f} {run['peak_mb']:>5.1f} "
        f"{run['cpu'] / bare['cpu']:>5.1f}x {run['wall'] / bare['wall']:>5.1f}x"
    )


def print_sizes(sizes: list[int], repeat: int) -> None:
    print(
        f"{'rows':>8} {'MB':>6} | {'bare rows/s':>11} {'MB':>5} | {'path':<9} | "
        f"{'read rows/s':>11} {'MB':>5} {'cpu x':>6} {'wall x':>6} | "
        f"{'convert rows/s':>14} {'MB':>5} {'cpu x':>6} {'wall x':>6} | {'setup s':>7}"
    )
    for size in sizes:
        path = ensure_file(size)
        bare = measure("bare", path, repeat)
        lead = (
            f"{bare['rows']:>8} {path.stat().st_size / 1e6:>6.1f} | "
            f"{bare['rows'] / bare['cpu']:>11,.0f} {bare['peak_mb']:>5.1f}"
        )
        for label, suffix in (("records", ""), ("validated", "-validated")):
            read = measure("read" + suffix, path, repeat)
            conv = measure("convert" + suffix, path, repeat)
            print(
                f"{lead} | {label:<9} | {_cells(read, bare, 11)} | {_cells(conv, bare, 14)} | "
                f"{conv['setup']:>7.2f}"
            )
            lead = " " * len(lead)


def _breakdown_line(label: str, runs: list[dict], parse: float | None = None) -> float:
    stages = [name for name in runs[0] if name != "rows"]
    result = {name: statistics.median(run[name] for run in runs) for name in stages}
    total = sum(result.values())
    parse = parse or result["parse"]
    cells = "  ".join(f"{name} {result[name]:.1f}" for name in stages)
    spread = max(sum(run[n] for n in stages) for run in runs) - min(
        sum(run[n] for n in stages) for run in runs
    )
    print(
        f"  {label:<10} {cells}  | total {total:.1f} us = {total / parse:.1f}x parse"
        f" (runs within {spread:.1f} us)"
    )
    return result["parse"]


def print_breakdown(path: Path, limit: int, repeat: int) -> None:
    records = [run_child("breakdown", path, limit) for _ in range(repeat)]
    checked = [run_child("breakdown-validated", path, limit) for _ in range(repeat)]
    print(
        f"\nCPU us per data row by stage, first {records[0]['rows']} rows of {path.name}, "
        f"median of {repeat} runs:"
    )
    parse = _breakdown_line("records", records)
    _breakdown_line("validated", checked, parse)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--breakdown-rows", type=int, default=5000)
    parser.add_argument("--child", nargs=3, metavar=("MODE", "PATH", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, path, limit = args.child
        print(json.dumps(child(mode, Path(path), int(limit))))
        return
    print_sizes(args.sizes, args.repeat)
    if args.breakdown_rows:
        print_breakdown(ensure_file(min(args.sizes)), args.breakdown_rows, args.repeat)


if __name__ == "__main__":
    main()
