"""`bridge convert <export v2>.ndjson -o out.jsonl` next to a bare orjson parse of the same
file, at two sizes: rows/s, peak memory (max RSS of a fresh process) and the ratio.

    /work/venv/bin/python benchmarks/labelbox_bench.py [--sizes 20000 100000] [--repeat 3]

Files are generated with benchmarks/labelbox_generate.py into benchmarks/data/ if missing.
Each measurement runs in its own process so that peak memory is that run's alone:

* `bare parse`: read the file line by line and `orjson.loads` every line (the floor: no
  conversion, nothing kept);
* `read only`: the `labelbox` reader alone (parse + convert every line to a unified Item,
  nothing written), to separate this plugin's cost from the JSONL writer's;
* `bridge convert`: `bridge.api.convert(src, dst)` with the format auto-detected, i.e.
  what the `bridge convert` command runs (read, convert to unified Items, write JSONL).

The machine's load moves all figures; the ratios within one run are what to compare.
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


def child_bare(path: Path) -> int:
    import orjson

    rows = 0
    with open(path, "rb") as handle:
        for line in handle:
            if line.strip():
                orjson.loads(line)
                rows += 1
    return rows


def child_read(path: Path) -> int:
    from bridge_labelbox.files import read_export

    from bridge.losses import LossReport

    return sum(1 for _ in read_export(path, LossReport()).items)


def child_convert(path: Path) -> int:
    from bridge import api

    target = path.with_suffix(".bench.jsonl")
    api.convert(str(path), target)
    target.unlink()
    return sum(1 for _ in open(path, "rb"))


def run_child(mode: str, path: Path) -> dict:
    output = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(path)],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    return json.loads(output.strip().splitlines()[-1])


def ensure_file(rows: int) -> Path:
    path = HERE / "data" / f"lb_{rows}.ndjson"
    if not path.exists():
        from labelbox_generate import generate

        generate(rows, path)
    return path


def measure(mode: str, path: Path, repeat: int) -> tuple[float, float, int]:
    runs = [run_child(mode, path) for _ in range(repeat)]
    seconds = statistics.median(run["seconds"] for run in runs)
    peak_mb = max(run["peak_kb"] for run in runs) / 1024
    return seconds, peak_mb, runs[0]["rows"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", nargs=2, metavar=("MODE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, path = args.child
        start = time.perf_counter()
        child = {"bare": child_bare, "read": child_read, "convert": child_convert}[mode]
        rows = child(Path(path))
        seconds = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(json.dumps({"rows": rows, "seconds": seconds, "peak_kb": peak}))
        return
    print(f"{'rows':>8} {'MB':>7} | {'bare rows/s':>12} {'peak MB':>8} | {'read rows/s':>11} "
          f"{'peak MB':>8} {'ratio':>6} | {'convert rows/s':>14} {'peak MB':>8} {'ratio':>6}")  # fmt: skip
    for size in args.sizes:
        path = ensure_file(size)
        bare_s, bare_mb, rows = measure("bare", path, args.repeat)
        read_s, read_mb, _ = measure("read", path, args.repeat)
        conv_s, conv_mb, _ = measure("convert", path, args.repeat)
        print(f"{rows:>8} {path.stat().st_size / 1e6:>7.1f} | {rows / bare_s:>12,.0f} {bare_mb:>8.1f} | "
              f"{rows / read_s:>11,.0f} {read_mb:>8.1f} {read_s / bare_s:>5.1f}x | "
              f"{rows / conv_s:>14,.0f} {conv_mb:>8.1f} {conv_s / bare_s:>5.1f}x")  # fmt: skip


if __name__ == "__main__":
    main()
