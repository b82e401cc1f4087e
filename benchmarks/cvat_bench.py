"""`bridge convert <cvat>.xml -o out.jsonl` next to Datumaro's CVAT importer on the same
file, at two sizes: shapes/s, peak memory (max RSS of a fresh process) and the ratio; then
where the time of one shape goes.

    /work/venv/bin/python benchmarks/cvat_bench.py [--images 20000 100000] [--repeat 3]
        [--breakdown-images 5000]

Files come from benchmarks/cvat_generate.py (5 shapes per image) into benchmarks/data/ if
missing. Datumaro runs in its own venv, benchmarks/.venvs/datumaro (created with
`python -m venv benchmarks/.venvs/datumaro && benchmarks/.venvs/datumaro/bin/pip install
datumaro`). Datumaro's importer insists that every image file exists, so empty files are
created under data/images/ (its images dir) once. Each run is its own process; times are
that process's CPU time (user + system: the machine is shared, CPU time moves much less
than wall time), both in all (`total`, what a user waits for on an idle machine) and after
the imports (`work`: Python, pydantic, plugin discovery and Datumaro's own imports are
~0.5 s each and would otherwise dominate small files). Rates are the median of `--repeat`.

* `bridge read`: stream the file into unified Items (`bridge.api.iter_items`), keep nothing;
* `bridge convert`: `bridge.api.convert(xml, jsonl)`, what `bridge convert` runs (read,
  convert, write the unified JSONL file);
* `datumaro import`: `Dataset.import_from(xml, "cvat")` and a walk over every annotation
  (Datumaro parses lazily; the walk makes it load everything). It writes nothing.

The breakdown streams the first `--breakdown-images` images of the smallest size through
each stage of `bridge convert` in turn, timed with the process CPU clock (clock reads are
included): `parse` (expat and the handlers: XML -> an image's attributes and its region
dicts, read straight from the shape elements), `record` (the image's item record: region
ids, attribute values typed into classifications, the item's media, source and extra),
`dump` (`bridge.formats.jsonl.record_line`, orjson) and `write` (the line into a temporary
file and the copy into the target, as `write_jsonl` does). That is the path `bridge
convert` takes to JSONL: the reader's records are valid by construction and are not
built as pydantic models. For comparison, a second line times what `-O validate=true` (and
any non-JSONL target) adds: `validate` (`Item.model_validate`, one call per image) and
`model dump` (`bridge.formats.jsonl.item_line`, pydantic's dump) in place of `dump`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
DATUMARO_PYTHON = HERE / ".venvs" / "datumaro" / "bin" / "python"
SHAPES_PER_IMAGE = 5

PROLOGUE = """
import json, resource, sys
def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
"""
BRIDGE_READ = (
    PROLOGUE
    + """
from bridge.api import iter_items
from bridge import plugins
plugins.registry()
start = cpu()
n = sum(len(s.regions) for item in iter_items(sys.argv[1]) for s in item.annotation_sets)
print(json.dumps({"shapes": n, "work": cpu() - start}))
"""
)
BRIDGE_CONVERT = (
    PROLOGUE
    + """
from bridge.api import convert
from bridge import plugins
plugins.registry()
start = cpu()
convert(sys.argv[1], sys.argv[2])
print(json.dumps({"shapes": None, "work": cpu() - start}))
"""
)
DATUMARO_IMPORT = (
    PROLOGUE
    + """
from datumaro.components.dataset import Dataset
start = cpu()
dataset = Dataset.import_from(sys.argv[1], "cvat")
n = sum(len(item.annotations) for item in dataset)
print(json.dumps({"shapes": n, "work": cpu() - start}))
"""
)


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


def run(command: list[str]) -> dict:
    """Total CPU seconds (user + system), work CPU seconds (after imports, reported by the
    child), wall seconds, peak RSS in MB and the shape count of one child."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"{command[:3]} failed:\n{err.read().decode()[-2000:]}")
        printed = json.loads(out.read().decode().strip().splitlines()[-1])
    return {
        "total": usage.ru_utime + usage.ru_stime,
        "work": printed["work"],
        "wall": elapsed,
        "rss_mb": usage.ru_maxrss / 1024,
        "shapes": printed["shapes"],
    }


def measure(name: str, command: list[str], shapes: int, repeat: int) -> dict:
    runs = [run(command) for _ in range(repeat)]
    if runs[0]["shapes"] not in (None, shapes):
        raise SystemExit(f"{name} saw {runs[0]['shapes']} shapes, expected {shapes}")
    row = {key: statistics.median(r[key] for r in runs) for key in ("total", "work", "wall")}
    return {"tool": name, **row, "rss_mb": max(r["rss_mb"] for r in runs)}


def print_sizes(sizes: list[int], repeat: int) -> None:
    have_datumaro = DATUMARO_PYTHON.exists()
    if not have_datumaro:
        print(f"no Datumaro venv at {DATUMARO_PYTHON}: only label-bridge is measured")
    print(
        f"{'images':>8} {'shapes':>8} {'tool':<16} {'total s':>7} {'work s':>7} {'wall s':>7} "
        f"{'shapes/s total':>14} {'shapes/s work':>13} {'peak MB':>8}"
    )
    for images in sizes:
        path = ensure_file(images)
        shapes = images * SHAPES_PER_IMAGE
        out = DATA / f"cvat_{images}.jsonl"
        rows = [
            measure("bridge read", [sys.executable, "-c", BRIDGE_READ, str(path)], shapes, repeat),
            measure(
                "bridge convert",
                [sys.executable, "-c", BRIDGE_CONVERT, str(path), str(out)],
                shapes,
                repeat,
            ),
        ]
        if have_datumaro:
            command = [str(DATUMARO_PYTHON), "-c", DATUMARO_IMPORT, str(path)]
            rows.append(measure("datumaro import", command, shapes, repeat))
        for row in rows:
            print(
                f"{images:>8} {shapes:>8} {row['tool']:<16} {row['total']:>7.2f} {row['work']:>7.2f} "
                f"{row['wall']:>7.2f} {shapes / row['total']:>14.0f} {shapes / row['work']:>13.0f} "
                f"{row['rss_mb']:>8.0f}"
            )
        if have_datumaro:
            base = rows[2]
            ratios = [
                f"{name} {base['total'] / rows[i]['total']:.2f}x total, {base['work'] / rows[i]['work']:.2f}x work"
                for i, name in ((0, "read"), (1, "convert"))
            ]
            print(f"{'':>17} speed vs Datumaro: {'; '.join(ratios)}")
        out.unlink(missing_ok=True)


def breakdown(path: Path, limit: int) -> dict:
    """CPU microseconds per shape spent in each stage (see the module docstring)."""
    import shutil

    from bridge_cvat.xml_read import CHUNK, CvatXmlParser, ReadContext, image_to_record

    from bridge.formats.jsonl import item_line, record_line
    from bridge.losses import LossReport
    from bridge.schema import Item

    clock = time.process_time_ns
    names = ["parse", "record", "dump", "write", "validate", "model dump"]
    spent, images, shapes = dict.fromkeys(names, 0), 0, 0
    parser, ctx = CvatXmlParser(str(path)), None
    with open(path, "rb") as handle, tempfile.TemporaryFile() as body:
        while images < limit:
            t0 = clock()
            chunk = handle.read(CHUNK)
            parser.feed(chunk, final=not chunk)
            spent["parse"] += clock() - t0
            if ctx is None and parser.meta is not None:
                ctx = ReadContext(parser.meta, parser.labels, LossReport(), path)
            while parser.images and images < limit:
                attrs, children, line = parser.images.popleft()
                t1 = clock()
                record = image_to_record(attrs, children, line, ctx)
                t2 = clock()
                out = record_line(record)
                t3 = clock()
                body.write(out)
                t4 = clock()
                item = Item.model_validate(record)
                t5 = clock()
                item_line(item)
                t6 = clock()
                for name, mark in zip(
                    names[1:], (t2 - t1, t3 - t2, t4 - t3, t5 - t4, t6 - t5), strict=True
                ):
                    spent[name] += mark
                images += 1
                shapes += len(children)
            if not chunk:
                break
        body.seek(0)
        start = clock()
        with tempfile.TemporaryFile() as target:
            shutil.copyfileobj(body, target, 1 << 20)
        spent["write"] += clock() - start
    # parse ran over whole chunks: count it per shape of the images parsed
    parsed = images + len(parser.images)
    parse_shapes = shapes * parsed / images
    per_shape = {name: ns / shapes / 1000 for name, ns in spent.items()}
    per_shape["parse"] = spent["parse"] / parse_shapes / 1000
    return {"images": images, "shapes": shapes, **per_shape}


def print_breakdown(path: Path, limit: int) -> None:
    output = subprocess.run(
        [sys.executable, __file__, "--child-breakdown", str(path), str(limit)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result = json.loads(output.strip().splitlines()[-1])
    fast = ["parse", "record", "dump", "write"]
    total = sum(result[name] for name in fast)
    print(
        f"\nCPU us per shape, first {result['images']} images of {path.name} "
        f"({result['shapes']} shapes):"
    )
    print(
        "  bridge convert:   "
        + "  ".join(f"{name} {result[name]:.2f}" for name in fast)
        + f"  = {total:.2f}"
    )
    slow = total - result["dump"] + result["validate"] + result["model dump"]
    print(
        f"  validate=true:    the same with validate {result['validate']:.2f} and model dump "
        f"{result['model dump']:.2f} in place of dump  = {slow:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--breakdown-images", type=int, default=5000)
    parser.add_argument("--child-breakdown", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_breakdown:
        print(json.dumps(breakdown(Path(args.child_breakdown[0]), int(args.child_breakdown[1]))))
        return
    print_sizes(args.images, args.repeat)
    if args.breakdown_images:
        print_breakdown(ensure_file(min(args.images)), args.breakdown_images)


if __name__ == "__main__":
    main()
