"""`bridge qa` over N items x 2 annotators x 5 boxes: wall time, CPU time and peak memory
(max RSS of a fresh process), at several sizes, to see that memory stays flat in N.

    /work/main/.venv/bin/python benchmarks/qa_report_bench.py [--items 10000 100000]
        [--gallery 12] [--outputs]

Each dataset is a unified JSONL file generated into benchmarks/data/ if missing
(`qa_<N>.jsonl`): every item a 640 x 480 image with one set by each of two annotators,
five boxes each; the second annotator's boxes are the first's shifted by a few pixels,
one box in ten relabeled and one in twenty moved away, so matching, label agreement, the
IoU histogram, the queue and the gallery all have work. One item in five has a gold set,
one set in four a review status. Each run is `python -m bridge.cli qa FILE -o report.html
--json report.json` in its own process; `--outputs` also writes the sample and queue lists
and subsets. Targets (issue 15): under 60 s and under 500 MB at 100k items.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / "data"
LABELS = ("car", "person", "bike", "dog", "sign")


def generate(path: Path, items: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w") as handle:
        header = {
            "format": "bridge-jsonl",
            "version": 1,
            "project": {"name": "bench", "ontology": {"labels": [{"name": n} for n in LABELS]}},
        }
        handle.write(json.dumps(header) + "\n")
        for i in range(items):
            boxes_a, boxes_b = [], []
            for j in range(5):
                x, y = rng.uniform(0, 560), rng.uniform(0, 400)
                w, h = rng.uniform(20, 80), rng.uniform(20, 80)
                label = rng.choice(LABELS)
                boxes_a.append(_box(f"a{j}", label, x, y, w, h))
                dx, dy = rng.uniform(-3, 3), rng.uniform(-3, 3)
                other = rng.choice(LABELS) if rng.random() < 0.1 else label
                if rng.random() < 0.05:
                    dx += 200
                boxes_b.append(_box(f"b{j}", other, x + dx, y + dy, w, h))
            sets = [
                _set(f"{i}-a", "ann1@example.com", boxes_a, rng),
                _set(f"{i}-b", "ann2@example.com", boxes_b, rng),
            ]
            if i % 5 == 0:
                sets.append({"id": f"{i}-g", "kind": "gold", "regions": boxes_a})
            entry = {
                "key": f"img{i:07d}.jpg",
                "media": {"kind": "image", "uri": f"img{i:07d}.jpg", "width": 640, "height": 480},
                "subset": "train" if i % 10 else "val",
                "annotation_sets": sets,
            }
            handle.write(json.dumps(entry) + "\n")
    tmp.replace(path)


def _box(rid: str, label: str, x: float, y: float, w: float, h: float) -> dict:
    return {
        "id": rid,
        "label": label,
        "shape": {
            "type": "bbox",
            "x": round(x, 2),
            "y": round(y, 2),
            "width": round(w, 2),
            "height": round(h, 2),
        },
    }


def _set(sid: str, who: str, boxes: list, rng: random.Random) -> dict:
    result = {
        "id": sid,
        "annotator": {"email": who},
        "lead_time": round(rng.uniform(5, 120), 1),
        "regions": boxes,
    }
    if rng.random() < 0.25:
        result["status"] = "rejected" if rng.random() < 0.1 else "accepted"
    return result


def run(path: Path, gallery: int, outputs: bool) -> dict:
    with tempfile.TemporaryDirectory() as out:
        command = [
            sys.executable,
            "-m",
            "bridge.cli",
            "qa",
            str(path),
            "-o",
            f"{out}/report.html",
            "--json",
            f"{out}/report.json",
            "--gallery",
            str(gallery),
        ]
        if outputs:
            command += [
                "--sample-list",
                f"{out}/sample.csv",
                "--sample-items",
                f"{out}/sample.jsonl",
                "--queue-list",
                f"{out}/queue.csv",
                "--queue-items",
                f"{out}/queue.jsonl",
            ]
        env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT / 'plugins'}"}
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, env=env)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode != 0:
            raise SystemExit(f"bridge qa failed ({done.returncode}):\n{done.stderr}")
        report = json.loads(Path(f"{out}/report.json").read_text())
        html_bytes = Path(f"{out}/report.html").stat().st_size
    return {
        "wall_s": wall,
        "cpu_s": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
        "peak_mb": after.ru_maxrss / 1024,
        "agreement": report["agreement"]["overall"],
        "f1": report["gold"]["micro"]["f1"],
        "html_kb": html_bytes / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, nargs="+", default=[10000, 100000])
    parser.add_argument("--gallery", type=int, default=12)
    parser.add_argument("--outputs", action="store_true")
    args = parser.parse_args()
    DATA.mkdir(exist_ok=True)
    print(
        f"{'items':>8} {'wall s':>8} {'cpu s':>8} {'peak MB':>8} {'items/s':>9} {'agree':>6} {'f1':>6} {'html KB':>8}"
    )
    for n in args.items:
        path = DATA / f"qa_{n}.jsonl"
        if not path.exists():
            generate(path, n)
        result = run(path, args.gallery, args.outputs)
        print(
            f"{n:>8} {result['wall_s']:>8.1f} {result['cpu_s']:>8.1f} {result['peak_mb']:>8.0f} "
            f"{n / result['wall_s']:>9.0f} {result['agreement']:>6.3f} {result['f1']:>6.3f} "
            f"{result['html_kb']:>8.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
