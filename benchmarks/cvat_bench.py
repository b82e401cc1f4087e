"""`bridge convert <cvat>.xml -o out.jsonl` next to Datumaro's CVAT importer on the same
file, at two sizes: shapes/s, peak memory (max RSS of a fresh process) and the ratio.

    /work/venv/bin/python benchmarks/cvat_bench.py [--images 20000 100000] [--repeat 1]

Files come from benchmarks/cvat_generate.py (5 shapes per image) into benchmarks/data/ if
missing. Datumaro runs in its own venv, benchmarks/.venvs/datumaro (created with
`python -m venv benchmarks/.venvs/datumaro && benchmarks/.venvs/datumaro/bin/pip install
datumaro`). Datumaro's importer insists that every image file exists, so empty files are
created under data/images/ (its images dir) once. Each run is its own process:

* `bridge read`: stream the file into unified Items (`bridge.api.iter_items`), keep nothing;
* `bridge convert`: `bridge.api.convert(xml, jsonl)`, what `bridge convert` runs (read,
  convert, write the unified JSONL file);
* `datumaro import`: `Dataset.import_from(xml, "cvat")` and a walk over every annotation
  (Datumaro parses lazily; the walk makes it load everything). It writes nothing.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
DATUMARO_PYTHON = HERE / ".venvs" / "datumaro" / "bin" / "python"
SHAPES_PER_IMAGE = 5

BRIDGE_READ = """
import sys
from bridge.api import iter_items
n = sum(len(s.regions) for item in iter_items(sys.argv[1]) for s in item.annotation_sets)
print(n)
"""
BRIDGE_CONVERT = """
import sys
from bridge.api import convert
convert(sys.argv[1], sys.argv[2])
print(-1)
"""
DATUMARO_IMPORT = """
import sys
from datumaro.components.dataset import Dataset
dataset = Dataset.import_from(sys.argv[1], "cvat")
print(sum(len(item.annotations) for item in dataset))
"""


def ensure_file(images: int) -> Path:
    DATA.mkdir(exist_ok=True)
    path = DATA / f"cvat_{images}.xml"
    if not path.exists():
        sys.path.insert(0, str(HERE))
        from cvat_generate import generate

        generate(str(path), images, SHAPES_PER_IMAGE)
    frames = DATA / "images" / "frames"
    frames.mkdir(parents=True, exist_ok=True)
    for index in range(images):
        name = frames / f"{index:07d}.jpg"
        if not name.exists():
            name.touch()
    return path


def run(command: list[str]) -> tuple[float, float, float, str]:
    """CPU seconds (user + system), wall seconds, peak RSS in MB and stdout of one child.

    Throughput is computed from CPU time: on a shared machine the wall clock measures the
    neighbours too, CPU time mostly the program (both tools run single-threaded here)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if process.returncode != 0:
            raise SystemExit(f"{command[:3]} failed:\n{err.read().decode()[-2000:]}")
        printed = out.read().decode().strip()
    return usage.ru_utime + usage.ru_stime, elapsed, usage.ru_maxrss / 1024, printed


def measure(name: str, command: list[str], shapes: int, repeat: int) -> dict:
    runs = [run(command) for _ in range(repeat)]
    cpu = min(r[0] for r in runs)
    counted = runs[0][3]
    if counted not in ("-1", str(shapes)):
        raise SystemExit(f"{name} saw {counted} shapes, expected {shapes}")
    return {"tool": name, "cpu": cpu, "wall": min(r[1] for r in runs), "shapes_per_s": shapes / cpu,
            "rss_mb": max(r[2] for r in runs)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    have_datumaro = DATUMARO_PYTHON.exists()
    if not have_datumaro:
        print(f"no Datumaro venv at {DATUMARO_PYTHON}: only label-bridge is measured")
    print(
        f"{'images':>8} {'shapes':>8} {'tool':<16} {'cpu s':>7} {'wall s':>7} {'shapes/cpu-s':>12} {'peak MB':>8}"
    )
    for images in args.images:
        path = ensure_file(images)
        shapes = images * SHAPES_PER_IMAGE
        out = DATA / f"cvat_{images}.jsonl"
        rows = [
            measure("bridge read", [sys.executable, "-c", BRIDGE_READ, str(path)], shapes, args.repeat),
            measure("bridge convert", [sys.executable, "-c", BRIDGE_CONVERT, str(path), str(out)], shapes, args.repeat),
        ]  # fmt: skip
        if have_datumaro:
            command = [str(DATUMARO_PYTHON), "-c", DATUMARO_IMPORT, str(path)]
            rows.append(measure("datumaro import", command, shapes, args.repeat))
        for row in rows:
            print(f"{images:>8} {shapes:>8} {row['tool']:<16} {row['cpu']:>7.2f} {row['wall']:>7.2f} "
                  f"{row['shapes_per_s']:>12.0f} {row['rss_mb']:>8.0f}")  # fmt: skip
        if have_datumaro:
            base = rows[2]["shapes_per_s"]
            print(f"{'':>8} {'':>8} ratio vs Datumaro: read {rows[0]['shapes_per_s'] / base:.2f}x, "
                  f"convert {rows[1]['shapes_per_s'] / base:.2f}x")  # fmt: skip
        out.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
