"""`bridge convert <export v2>.ndjson -o out.jsonl` next to a bare orjson parse of the same
file: rows/s from CPU time, peak memory (max RSS of a fresh process) and the ratio; then
where the time of one data row goes.

    /work/venv/bin/python benchmarks/labelbox_bench.py [--sizes 20000 100000] [--repeat 3]
        [--breakdown-rows 5000]

Files are generated with benchmarks/labelbox_generate.py into benchmarks/data/ if missing.
Each measurement runs in its own process so that peak memory is that run's alone. Times
are the process's CPU time (user + system) of the work itself, after the imports (the
machine is shared, CPU time moves less than wall time; wall-time ratios are printed too):

* `bare parse`: read the file line by line and `orjson.loads` every line (the floor: no
  conversion, nothing kept);
* `read only`: the `labelbox` reader alone (parse + convert every line to a unified Item,
  nothing written), to separate this plugin's cost from the JSONL writer's;
* `bridge convert`: `bridge.api.convert(src, dst)` with the format auto-detected, i.e.
  what the `bridge convert` command runs (read, convert to unified Items, write JSONL).

The breakdown streams the first `--breakdown-rows` rows of the smallest size through each
stage of `bridge convert` in turn and times each with the process CPU clock (the clock
reads themselves cost ~0.3 us each and are included); median of `--repeat` runs:

* `parse`: `orjson.loads` of the line;
* `convert`: `bridge_labelbox.convert.item_data` (export row -> unified item as plain data);
* `validate`: `Item.model_validate` of that data (pydantic; one call per row);
* `serialize`: `bridge.formats.jsonl.item_line` (the core JSONL writer's per-item dump);
* `write`: writing that line into a temporary file, as `write_jsonl` does (plus its copy
  into the target at the end, spread over the rows);
* `observe`: the reader's ontology collector.
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


def _read_setup(path: Path):
    from bridge_labelbox.files import read_export

    from bridge.losses import LossReport

    return lambda: sum(1 for _ in read_export(path, LossReport()).items)


def _convert_setup(path: Path):
    from bridge import api, plugins

    plugins.registry()
    target = path.with_suffix(".bench.jsonl")

    def work() -> int:
        api.convert(str(path), target)
        target.unlink()
        return sum(1 for _ in open(path, "rb"))

    return work


def _breakdown(path: Path, limit: int) -> dict:
    """CPU microseconds per row spent in each stage (see the module docstring)."""
    import shutil
    import tempfile

    import orjson
    from bridge_labelbox.convert import item_data
    from bridge_labelbox.files import OntologyCollector

    from bridge.formats.jsonl import item_line
    from bridge.losses import LossReport
    from bridge.schema import Item, Project

    clock, losses = time.process_time_ns, LossReport()
    collector = OntologyCollector(Project(name="bench"))
    names = ["parse", "convert", "validate", "serialize", "write", "observe"]
    spent, rows = dict.fromkeys(names, 0), 0
    with open(path, "rb") as handle, tempfile.TemporaryFile() as body:
        for number, line in enumerate(handle, start=1):
            if rows == limit:
                break
            t0 = clock()
            row = orjson.loads(line)
            t1 = clock()
            data = item_data(row, losses, f"{path}:{number}", str(path), None)
            t2 = clock()
            item = Item.model_validate(data)
            t3 = clock()
            out = item_line(item)
            t4 = clock()
            body.write(out)
            t5 = clock()
            collector.observe(item)
            t6 = clock()
            marks = (t0, t1, t2, t3, t4, t5, t6)
            for index, name in enumerate(names):
                spent[name] += marks[index + 1] - marks[index]
            rows += 1
        body.seek(0)
        start = clock()
        with tempfile.TemporaryFile() as target:
            shutil.copyfileobj(body, target, 1 << 20)
        spent["write"] += clock() - start
    return {"rows": rows, **{name: ns / rows / 1000 for name, ns in spent.items()}}


SETUPS = {"bare": _bare_setup, "read": _read_setup, "convert": _convert_setup}


def child(mode: str, path: Path, limit: int) -> dict:
    if mode == "breakdown":
        return _breakdown(path, limit)
    cpu0 = _cpu()
    work = SETUPS[mode](path)
    cpu1, wall1 = _cpu(), time.perf_counter()
    rows = work()
    cpu2, wall2 = _cpu(), time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"rows": rows, "cpu": cpu2 - cpu1, "wall": wall2 - wall1, "setup_cpu": cpu1 - cpu0,
            "peak_kb": peak}  # fmt: skip


def run_child(mode: str, path: Path, limit: int = 0) -> dict:
    output = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(path), str(limit)],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
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
    return (f"{run['rows'] / run['cpu']:>{width},.0f} {run['peak_mb']:>5.1f} "
            f"{run['cpu'] / bare['cpu']:>5.1f}x {run['wall'] / bare['wall']:>5.1f}x")  # fmt: skip


def print_sizes(sizes: list[int], repeat: int) -> None:
    print(f"{'rows':>8} {'MB':>6} | {'bare rows/s':>11} {'MB':>5} | {'read rows/s':>11} {'MB':>5} "
          f"{'cpu x':>6} {'wall x':>6} | {'convert rows/s':>14} {'MB':>5} {'cpu x':>6} {'wall x':>6}"
          f" | {'setup s':>7}")  # fmt: skip
    for size in sizes:
        path = ensure_file(size)
        bare = measure("bare", path, repeat)
        read = measure("read", path, repeat)
        conv = measure("convert", path, repeat)
        print(f"{bare['rows']:>8} {path.stat().st_size / 1e6:>6.1f} | "
              f"{bare['rows'] / bare['cpu']:>11,.0f} {bare['peak_mb']:>5.1f} | "
              f"{_cells(read, bare, 11)} | {_cells(conv, bare, 14)} | {conv['setup']:>7.2f}")  # fmt: skip


def print_breakdown(path: Path, limit: int, repeat: int) -> None:
    runs = [run_child("breakdown", path, limit) for _ in range(repeat)]
    stages = [name for name in runs[0] if name != "rows"]
    result = {name: statistics.median(run[name] for run in runs) for name in stages}
    total, parse = sum(result.values()), result["parse"]
    print(f"\nCPU per data row, first {runs[0]['rows']} rows of {path.name}, median of "
          f"{repeat} runs (us, and x bare parse):")  # fmt: skip
    for name in stages:
        low, high = min(run[name] for run in runs), max(run[name] for run in runs)
        print(f"  {name:<10} {result[name]:>7.1f} us  {result[name] / parse:>5.1f}x"
              f"   (runs {low:.1f}-{high:.1f})")  # fmt: skip
    print(f"  {'total':<10} {total:>7.1f} us  {total / parse:>5.1f}x")


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
