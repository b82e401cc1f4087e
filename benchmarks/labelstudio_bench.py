"""Label Studio export -> unified: label-bridge against a bare orjson.loads and the SDK.

Each job runs in its own child process (this script re-invoked with --job), which reports
its wall time and its own peak RSS (resource.getrusage(RUSAGE_SELF).ru_maxrss, so a job's
figure does not include the parent or other jobs). Jobs:

* `orjson-loads`     orjson.loads of the whole file (the floor for "parse it at all");
* `bridge-read`      read every task into unified pydantic Items (streaming), discard them;
* `bridge-convert`   `bridge convert FILE -o out.jsonl` through the real CLI (read + write;
                     the reader hands the JSONL writer item records, no pydantic);
* `bridge-convert-validate`  the same with `-O validate=true` (every item validated and
                     dumped by pydantic; not run unless named in --jobs);
* `sdk-coco`         label_studio_sdk.converter.Converter(...).convert(FILE, out, "COCO");
* `sdk-json-min`     the same converter to JSON_MIN.

    python benchmarks/labelstudio_bench.py --tasks 100000 --boxes 5
    python benchmarks/labelstudio_bench.py --file my_export.json --config my_config.xml
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
JOBS = ["orjson-loads", "bridge-read", "bridge-convert", "sdk-coco", "sdk-json-min"]


# Each job imports what it needs first and returns the timed work as a function, so module
# import time is not counted.


def _job_orjson(path: Path, config: Path, out: Path):
    import orjson

    def work() -> str:
        with open(path, "rb") as handle:
            tasks = orjson.loads(handle.read())
        return f"{len(tasks)} tasks"

    return work


def _job_bridge_read(path: Path, config: Path, out: Path):
    from bridge_labelstudio.files import LabelStudioJson

    from bridge.losses import LossReport

    def work() -> str:
        dataset = LabelStudioJson().read(path, LossReport())
        items = regions = 0
        for item in dataset.items:
            items += 1
            regions += sum(len(a.regions) for a in item.annotation_sets)
        return f"{items} items, {regions} regions"

    return work


def _job_bridge_convert(path: Path, config: Path, out: Path, *extra: str):
    from bridge.cli import app

    target = out / "unified.jsonl"

    def work() -> str:
        try:
            app(
                ["convert", str(path), "-o", str(target), "--from", "labelstudio", *extra],
                standalone_mode=False,
            )
        except SystemExit as stop:  # typer may exit 0
            if stop.code:
                raise
        return f"{target.stat().st_size / 1e6:.0f} MB jsonl"

    return work


def _job_sdk(fmt: str):
    def prepare(path: Path, config: Path, out: Path):
        import logging

        logging.disable(logging.WARNING)
        from label_studio_sdk.converter import Converter

        converter = Converter(
            config=config.read_text(), project_dir=str(out), download_resources=False
        )

        def work() -> str:
            converter.convert(str(path), str(out / "sdk"), fmt, is_dir=False)
            return fmt

        return work

    return prepare


RUNNERS = {
    "orjson-loads": _job_orjson,
    "bridge-read": _job_bridge_read,
    "bridge-convert": _job_bridge_convert,
    "bridge-convert-validate": lambda *a: _job_bridge_convert(*a, "-O", "validate=true"),
    "sdk-coco": _job_sdk("COCO"),
    "sdk-json-min": _job_sdk("JSON_MIN"),
}


def run_job(name: str, path: Path, config: Path) -> None:
    """Child side: run one job, print one JSON line with time and peak memory."""
    out = Path(tempfile.mkdtemp(prefix="ls-bench-"))
    try:
        work = RUNNERS[name](path, config, out)
        before = resource.getrusage(resource.RUSAGE_SELF)
        start = time.perf_counter()
        note = work()
        elapsed = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_SELF)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    peak_mb = after.ru_maxrss / 1024  # KiB on Linux; includes the imports
    print(
        json.dumps({"job": name, "seconds": elapsed, "cpu": cpu, "peak_mb": peak_mb, "note": note})
    )


def spawn(name: str, path: Path, config: Path) -> dict:
    command = [
        sys.executable,
        __file__,
        "--job",
        name,
        "--file",
        str(path),
        "--config",
        str(config),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return {"job": name, "error": done.stderr.strip().splitlines()[-1:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--file", type=Path)
    parser.add_argument("--config", type=Path)
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--boxes", type=int, default=5)
    parser.add_argument("--jobs", default=",".join(JOBS))
    parser.add_argument("--job", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.job:
        run_job(args.job, args.file, args.config)
        return
    sys.path.insert(0, str(HERE))
    from labelstudio_generate import CONFIG, generate

    path = args.file or HERE / "data" / f"ls_{args.tasks}x{args.boxes}.json"
    config = args.config or path.with_suffix(".config.xml")
    if not path.exists():
        generate(path, args.tasks, args.boxes)
    if not config.exists():
        config.write_text(CONFIG)
    print(f"file: {path} ({path.stat().st_size / 1e6:.1f} MB)")
    results = [spawn(name, path, config) for name in args.jobs.split(",")]
    base = next((r for r in results if r["job"] == "orjson-loads" and "seconds" in r), None)
    print(
        f"{'job':24} {'wall s':>8} {'cpu s':>8} {'peak MB':>8} {'wall/orjson':>12} "
        f"{'cpu/orjson':>11}  note"
    )
    for r in results:
        if "error" in r:
            print(f"{r['job']:24} failed: {r['error']}")
            continue
        wall = f"{r['seconds'] / base['seconds']:.2f}" if base else "-"
        cpu = f"{r['cpu'] / base['cpu']:.2f}" if base else "-"
        print(
            f"{r['job']:24} {r['seconds']:8.2f} {r['cpu']:8.2f} {r['peak_mb']:8.0f} "
            f"{wall:>12} {cpu:>11}  {r['note']}"
        )


if __name__ == "__main__":
    main()
