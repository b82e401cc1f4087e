"""Write a synthetic but format-faithful Label Studio JSON export: N tasks x K boxes.

Each task looks like what Label Studio 1.23's JSON export writes for an image project with
RectangleLabels (the task, annotation and result fields it sets, Python `json.dumps`
spacing): one annotation per task with K `rectanglelabels` results carrying
`original_width/original_height`, some rotated, plus a per-region Choices result on the
first box. Deterministic for a given seed.

    python benchmarks/labelstudio_generate.py --tasks 100000 --boxes 5 -o benchmarks/data/ls_100k.json
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

LABELS = ["Car", "Person", "Bicycle", "Truck", "Sign"]
CONFIG = """<View>
  <Image name="image" value="$image"/>
  <RectangleLabels name="label" toName="image" canRotate="true">
    <Label value="Car"/><Label value="Person"/><Label value="Bicycle"/><Label value="Truck"/><Label value="Sign"/>
  </RectangleLabels>
  <Choices name="truncated" toName="image" perRegion="true"><Choice value="yes"/><Choice value="no"/></Choices>
</View>"""


def _time(rng: random.Random) -> str:
    return f"2026-11-{rng.randint(1, 27):02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}.{rng.randint(0, 999999):06d}Z"


def _box(rng: random.Random, index: int, task_id: int) -> dict:
    w, h = rng.uniform(2, 40), rng.uniform(2, 40)
    return {
        "id": f"r{task_id}x{index}",
        "type": "rectanglelabels",
        "value": {
            "x": rng.uniform(0, 100 - w),
            "y": rng.uniform(0, 100 - h),
            "width": w,
            "height": h,
            "rotation": rng.choice([0, 0, 0, 15.5]),
            "rectanglelabels": [rng.choice(LABELS)],
        },
        "origin": "manual",
        "to_name": "image",
        "from_name": "label",
        "image_rotation": 0,
        "original_width": 1280,
        "original_height": 720,
    }


def make_task(rng: random.Random, task_id: int, boxes: int) -> dict:
    results = [_box(rng, i, task_id) for i in range(boxes)]
    if results:
        first = results[0]
        geometry = {k: v for k, v in first["value"].items() if k != "rectanglelabels"}
        results.append(
            {
                **first,
                "type": "choices",
                "from_name": "truncated",
                "value": {**geometry, "choices": [rng.choice(["yes", "no"])]},
            }
        )
    created = _time(rng)
    annotation = {
        "id": task_id,
        "completed_by": rng.randint(1, 4),
        "result": results,
        "was_cancelled": False,
        "ground_truth": False,
        "created_at": created,
        "updated_at": created,
        "draft_created_at": None,
        "lead_time": round(rng.uniform(3, 90), 3),
        "prediction": {},
        "result_count": len(results),
        "unique_id": f"{rng.getrandbits(128):032x}",
        "import_id": None,
        "last_action": None,
        "bulk_created": False,
        "task": task_id,
        "project": 1,
        "updated_by": 1,
        "parent_prediction": None,
        "parent_annotation": None,
        "last_created_by": None,
    }
    return {
        "id": task_id,
        "annotations": [annotation],
        "file_upload": None,
        "drafts": [],
        "predictions": [],
        "data": {"image": f"https://example.invalid/images/{task_id:07d}.jpg"},
        "meta": {},
        "created_at": created,
        "updated_at": created,
        "inner_id": task_id,
        "total_annotations": 1,
        "cancelled_annotations": 0,
        "total_predictions": 0,
        "comment_count": 0,
        "unresolved_comment_count": 0,
        "last_comment_updated_at": None,
        "project": 1,
        "updated_by": 1,
        "comment_authors": [],
    }


def generate(path: Path, tasks: int, boxes: int, seed: int = 0) -> int:
    """Write the export; return its size in bytes."""
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as out:
        out.write("[")
        for task_id in range(1, tasks + 1):
            if task_id > 1:
                out.write(", ")
            out.write(json.dumps(make_task(rng, task_id, boxes), ensure_ascii=False))
        out.write("]")
    return path.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--boxes", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-o", "--output", type=Path, default=Path("benchmarks/data/ls_export.json"))
    parser.add_argument("--config", type=Path, help="also write the label config XML here")
    args = parser.parse_args()
    size = generate(args.output, args.tasks, args.boxes, args.seed)
    if args.config:
        args.config.write_text(CONFIG)
    print(f"wrote {args.output}: {args.tasks} tasks x {args.boxes} boxes, {size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
