"""Pull a large Label Studio JSON export into a workspace; print items/s and memory.

    python benchmarks/workspace_bench.py [--tasks 100000] [--boxes 5] [--workspace PATH|URL]

Generates the export with benchmarks/labelstudio_generate.py (once, under
benchmarks/data/), then pulls it into a new workspace (a temporary SQLite file unless
--workspace is given) twice: the first pull creates everything, the second finds
everything unchanged. For each it prints items/s and the process's resident memory
sampled every 10% of the items, which must stay flat (items are streamed and written in
batches; nothing grows with the number of items), and the peak (ru_maxrss).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

from labelstudio_generate import CONFIG, generate  # noqa: E402

from bridge.api import open_dataset  # noqa: E402
from bridge.store import MatchRule, SourceSpec, open_workspace  # noqa: E402


def rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def pull_once(
    location: str, export: Path, config: Path, tasks: int
) -> tuple[float, float, list[float]]:
    samples: list[float] = []
    step = max(1, tasks // 10)
    next_mark = step

    def on_item(count: int) -> None:
        nonlocal next_mark
        while count >= next_mark:
            samples.append(rss_mb())
            next_mark += step

    dataset = open_dataset(export, "labelstudio", label_config=str(config))
    started, cpu = time.perf_counter(), time.process_time()
    with open_workspace(location) as ws:
        result = ws.pull(
            dataset, SourceSpec("bench", tool="labelstudio"), MatchRule(), on_item=on_item
        )
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    done = result.created["items"] + result.unchanged["items"]
    assert done == tasks, result.as_dict()
    return seconds, cpu, samples


def read_only(export: Path, config: Path) -> float:
    """CPU seconds the reader alone takes (what any pull or convert pays)."""
    cpu = time.process_time()
    for _ in open_dataset(export, "labelstudio", label_config=str(config)):
        pass
    return time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--boxes", type=int, default=5)
    parser.add_argument("--workspace", help="workspace path or postgresql:// URL")
    args = parser.parse_args()
    data = REPO / "benchmarks" / "data"
    export = data / f"ls_{args.tasks}x{args.boxes}.json"
    config = data / "ls_bench_config.xml"
    if not export.exists():
        size = generate(export, args.tasks, args.boxes)
        print(f"generated {export} ({size / 1e6:.1f} MB)")
    config.write_text(CONFIG)
    with tempfile.TemporaryDirectory() as scratch:
        location = args.workspace or str(Path(scratch) / "bench.db")
        print(f"workspace: {location.split('@')[-1]}  start RSS {rss_mb():.0f} MB")
        for label in ("first pull (all created)", "second pull (all unchanged)"):
            seconds, cpu, samples = pull_once(location, export, config, args.tasks)
            print(
                f"{label}: {args.tasks} items in {seconds:.1f} s = {args.tasks / seconds:,.0f} "
                f"items/s ({cpu:.1f} s CPU = {args.tasks / cpu:,.0f} items/CPU-s); "
                f"RSS every 10%: {' '.join(f'{s:.0f}' for s in samples)} MB"
            )
        reader = read_only(export, config)
        print(f"the reader alone: {reader:.1f} s CPU = {args.tasks / reader:,.0f} items/CPU-s")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3
    print(f"peak RSS (ru_maxrss): {peak:.0f} MB")


if __name__ == "__main__":
    main()
