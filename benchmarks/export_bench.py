"""Exports side by side: label-bridge's COCO and YOLO writers against the tools users would
otherwise run, in the same run, each job in its own child process (wall time, CPU time and
the child's own peak RSS, imports included; module imports are not timed).

(a) Label Studio JSON export (N tasks x K boxes, `labelstudio_generate.py`) -> COCO:
    * `ls-bridge-coco`  `bridge convert ls.json -o out.json --from labelstudio --to coco
                         -O label_config=CONFIG` through the real CLI;
    * `ls-sdk-coco`     label_studio_sdk.converter.Converter(config).convert(ls.json, out, "COCO").
(b) COCO instances file (M images x K annotations, box + 8-point polygon each; synthetic,
    written by this script) -> YOLO detect:
    * `coco-bridge-yolo`    `bridge convert coco.json -o DIR --from coco --to yolo -O task=detect`;
    * `coco-datumaro-yolo`  Datumaro `Dataset.import_from(DIR, "coco_instances")` (DIR holds
                             annotations/instances_train.json, a link to the file, and an
                             empty images/train) then `.export(DIR, "yolo", save_media=False)`
                             (its YOLO 1.1 layout: one label file per image, the same lines;
                             its "yolo_ultralytics" exporter refuses a dataset without both a
                             train and a val subset), in its own venv
                             (benchmarks/.venvs/datumaro: `python -m venv benchmarks/.venvs/datumaro
                             && benchmarks/.venvs/datumaro/bin/pip install datumaro`; skipped when
                             absent).

    python benchmarks/export_bench.py --tasks 100000 --boxes 5 --images 100000
    python benchmarks/export_bench.py --tasks 10000 --images 10000 --jobs ls-bridge-coco,ls-sdk-coco
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATUMARO_PYTHON = HERE / ".venvs" / "datumaro" / "bin" / "python"
JOBS = ["ls-bridge-coco", "ls-sdk-coco", "coco-bridge-yolo", "coco-datumaro-yolo"]
PAIRS = [("ls-bridge-coco", "ls-sdk-coco"), ("coco-bridge-yolo", "coco-datumaro-yolo")]

DATUMARO_JOB = """
import json, os, resource, shutil, sys, tempfile, time, logging
logging.disable(logging.WARNING)
from datumaro.components.dataset import Dataset
source, out = sys.argv[1], sys.argv[2]
root = tempfile.mkdtemp()  # Datumaro imports a directory: annotations/instances_<subset>.json
os.mkdir(os.path.join(root, "annotations"))
os.makedirs(os.path.join(root, "images", "train"))  # it refuses a layout without it
os.symlink(source, os.path.join(root, "annotations", "instances_train.json"))
before = resource.getrusage(resource.RUSAGE_SELF)
start = time.perf_counter()
dataset = Dataset.import_from(root, "coco_instances")
dataset.export(out, "yolo", save_media=False)
elapsed = time.perf_counter() - start
after = resource.getrusage(resource.RUSAGE_SELF)
cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
print(json.dumps({"seconds": elapsed, "cpu": cpu, "peak_mb": after.ru_maxrss / 1024,
                  "note": f"{len(dataset)} items"}))
"""


def _plugins() -> None:
    """The coco and yolo plugins, registered by hand when the installed package predates
    their entry points."""
    import importlib

    from bridge import plugins

    plugins.load_plugins()
    for name in ("coco", "yolo"):
        if plugins.pm.get_plugin(name) is None:
            plugins.pm.register(importlib.import_module(f"bridge_{name}.plugin"), name=name)
    plugins.registry(refresh=True)


def _count(path: Path, key: bytes) -> int:
    """How many times `key` occurs in the file, read in chunks (loading the output to count
    its entries would add its size to the job's peak memory)."""
    total, tail = 0, b""
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 22):
            data = tail + chunk
            total += data.count(key)
            tail = data[-(len(key) - 1) :]  # too short to hold a whole key: none counted twice
    return total


def _coco_note(path: Path) -> str:
    images, annotations = _count(path, b'"file_name"'), _count(path, b'"image_id"')
    return f"{images} images, {annotations} annotations"


def _cli(args: list[str]) -> None:
    from bridge.cli import app

    try:
        app(args, standalone_mode=False)
    except SystemExit as stop:
        if stop.code:
            raise


def _job_ls_bridge(source: Path, config: Path, out: Path):
    _plugins()
    target = out / "coco.json"
    args = ["convert", str(source), "-o", str(target), "--from", "labelstudio", "--to", "coco"]
    args += ["-O", f"label_config={config}"]

    def work() -> str:
        _cli(args)
        return _coco_note(target)

    return work


def _job_ls_sdk(source: Path, config: Path, out: Path):
    import logging

    logging.disable(logging.WARNING)
    from label_studio_sdk.converter import Converter

    converter = Converter(config=config.read_text(), project_dir=str(out), download_resources=False)

    def work() -> str:
        converter.convert(str(source), str(out / "sdk"), "COCO", is_dir=False)
        return _coco_note(out / "sdk" / "result.json")

    return work


def _job_coco_bridge(source: Path, config: Path, out: Path):
    _plugins()
    target = out / "yolo"
    args = ["convert", str(source), "-o", str(target), "--from", "coco", "--to", "yolo"]
    args += ["-O", "task=detect"]

    def work() -> str:
        _cli(args)
        return f"{sum(1 for _ in (target / 'labels' / 'train').iterdir())} label files"

    return work


RUNNERS = {
    "ls-bridge-coco": _job_ls_bridge,
    "ls-sdk-coco": _job_ls_sdk,
    "coco-bridge-yolo": _job_coco_bridge,
}


def run_job(name: str, source: Path, config: Path) -> None:
    """Child side: one job, one JSON line (time, CPU, peak memory)."""
    out = Path(tempfile.mkdtemp(prefix="export-bench-"))
    try:
        work = RUNNERS[name](source, config, out)
        before = resource.getrusage(resource.RUSAGE_SELF)
        start = time.perf_counter()
        note = work()
        elapsed = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_SELF)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(
        json.dumps(
            {
                "job": name,
                "seconds": elapsed,
                "cpu": cpu,
                "peak_mb": after.ru_maxrss / 1024,
                "note": note,
            }
        )
    )


def spawn(name: str, source: Path, config: Path) -> dict:
    if name == "coco-datumaro-yolo":
        if not DATUMARO_PYTHON.exists():
            return {"job": name, "error": [f"no Datumaro venv at {DATUMARO_PYTHON}"]}
        out = Path(tempfile.mkdtemp(prefix="export-bench-dm-"))
        try:
            command = [str(DATUMARO_PYTHON), "-c", DATUMARO_JOB, str(source), str(out / "yolo")]
            done = subprocess.run(command, capture_output=True, text=True, check=False)
        finally:
            shutil.rmtree(out, ignore_errors=True)
    else:
        command = [sys.executable, __file__, "--job", name, "--source", str(source)]
        command += ["--config", str(config)]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return {"job": name, "error": done.stderr.strip().splitlines()[-3:]}
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["job"] = name
    return result


def generate_coco(path: Path, images: int, per_image: int, seed: int = 7) -> None:
    """A synthetic COCO instances file: `images` 640x480 images, `per_image` annotations
    each (a box and its 8-point polygon), 10 categories; written streaming."""
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as out:
        out.write('{"info": {"description": "export_bench"}, "licenses": [], "images": [')
        for number in range(1, images + 1):
            entry = {"id": number, "file_name": f"{number:07d}.jpg", "width": 640, "height": 480}
            out.write(("," if number > 1 else "") + json.dumps(entry))
        out.write('], "annotations": [')
        annotation_id = 0
        for image in range(1, images + 1):
            for _ in range(per_image):
                annotation_id += 1
                w, h = rng.uniform(5, 200), rng.uniform(5, 200)
                x, y = rng.uniform(0, 640 - w), rng.uniform(0, 480 - h)
                polygon = [x, y, x + w / 2, y, x + w, y, x + w, y + h / 2, x + w, y + h]
                polygon += [x + w / 2, y + h, x, y + h, x, y + h / 2]
                entry = {
                    "id": annotation_id,
                    "image_id": image,
                    "category_id": rng.randint(1, 10),
                    "bbox": [round(v, 2) for v in (x, y, w, h)],
                    "area": round(w * h, 2),
                    "iscrowd": 0,
                    "segmentation": [[round(v, 2) for v in polygon]],
                }
                out.write(("," if annotation_id > 1 else "") + json.dumps(entry))
        categories = [
            {"id": i, "name": f"class{i}", "supercategory": "thing"} for i in range(1, 11)
        ]
        out.write('], "categories": ' + json.dumps(categories) + "}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--boxes", type=int, default=5)
    parser.add_argument("--images", type=int, default=100_000)
    parser.add_argument("--jobs", default=",".join(JOBS))
    parser.add_argument("--job", help=argparse.SUPPRESS)
    parser.add_argument("--source", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--config", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.job:
        run_job(args.job, args.source, args.config)
        return
    sys.path.insert(0, str(HERE))
    from labelstudio_generate import CONFIG, generate

    ls_path = HERE / "data" / f"ls_{args.tasks}x{args.boxes}.json"
    config = ls_path.with_suffix(".config.xml")
    coco_path = HERE / "data" / f"coco_{args.images}x{args.boxes}.json"
    jobs = args.jobs.split(",")
    if any(job.startswith("ls-") for job in jobs):
        if not ls_path.exists():
            generate(ls_path, args.tasks, args.boxes)
        if not config.exists():
            config.write_text(CONFIG)
        print(f"Label Studio export: {ls_path} ({ls_path.stat().st_size / 1e6:.1f} MB)")
    if any(job.startswith("coco-") for job in jobs):
        if not coco_path.exists():
            generate_coco(coco_path, args.images, args.boxes)
        print(f"COCO file: {coco_path} ({coco_path.stat().st_size / 1e6:.1f} MB)")
    results = {}
    for name in jobs:
        source = ls_path if name.startswith("ls-") else coco_path
        results[name] = spawn(name, source, config)
    print(f"{'job':20} {'wall s':>8} {'cpu s':>8} {'peak MB':>8}  note")
    for name, r in results.items():
        if "error" in r:
            print(f"{name:20} failed: {' | '.join(r['error'])}")
            continue
        print(f"{name:20} {r['seconds']:8.2f} {r['cpu']:8.2f} {r['peak_mb']:8.0f}  {r['note']}")
    for ours, theirs in PAIRS:
        a, b = results.get(ours, {}), results.get(theirs, {})
        if "seconds" in a and "seconds" in b:
            print(
                f"{ours} vs {theirs}: {b['seconds'] / a['seconds']:.2f}x faster (wall), "
                f"{b['cpu'] / a['cpu']:.2f}x (cpu), peak memory {a['peak_mb'] / b['peak_mb']:.2f} of theirs"
            )


if __name__ == "__main__":
    main()
