"""Write a synthetic Labelbox export v2 NDJSON file: N data rows, mixed objects and
classifications, shaped like the real export in tests/fixtures/labelbox (same keys,
cuid-like ids, ISO timestamps). Deterministic for a given seed.

Each image row has one label with 3 boxes (one with a nested radio), a polygon, a line and
a point, and a radio, a checklist and a text classification; every 20th row also has a
label in a second project; every 50th row is a 30-frame video label with one tracked box.

    python benchmarks/labelbox_generate.py --rows 100000 -o benchmarks/data/lb_100k.ndjson
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import orjson

ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
NAMES = ["car", "person", "bicycle", "truck", "sign"]


def cuid(rng: random.Random) -> str:
    return "cl" + "".join(rng.choices(ALPHABET, k=23))


def stamp(rng: random.Random) -> str:
    return f"2024-02-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00.000+00:00"


def radio(rng: random.Random, name: str, answer: str) -> dict:
    return {
        "feature_id": cuid(rng),
        "feature_schema_id": f"schema-{name}",
        "name": name,
        "value": name,
        "radio_answer": {
            "feature_id": cuid(rng),
            "feature_schema_id": f"schema-{answer}",
            "name": answer,
            "value": answer,
            "classifications": [],
        },
    }


def xy(rng: random.Random) -> dict:
    return {"x": round(rng.uniform(0, 640), 3), "y": round(rng.uniform(0, 480), 3)}


def box(rng: random.Random) -> dict:
    return {
        "top": round(rng.uniform(0, 400), 1),
        "left": round(rng.uniform(0, 560), 1),
        "height": round(rng.uniform(5, 80), 1),
        "width": round(rng.uniform(5, 80), 1),
    }


def image_objects(rng: random.Random) -> list[dict]:
    def obj(kind: str, key: str, value, classifications=None) -> dict:
        name = rng.choice(NAMES)
        return {
            "feature_id": cuid(rng),
            "feature_schema_id": f"schema-{name}",
            "name": name,
            "value": name,
            "annotation_kind": kind,
            "classifications": classifications or [],
            key: value,
        }

    polygon = [xy(rng) for _ in range(6)]
    return [
        obj("ImageBoundingBox", "bounding_box", box(rng), [radio(rng, "occluded", "no")]),
        obj("ImageBoundingBox", "bounding_box", box(rng)),
        obj("ImageBoundingBox", "bounding_box", box(rng)),
        obj("ImagePolygon", "polygon", [*polygon, polygon[0]]),
        obj("ImagePolyline", "line", [xy(rng) for _ in range(4)]),
        obj("ImagePoint", "point", xy(rng)),
    ]


def image_classifications(rng: random.Random) -> list[dict]:
    checklist = {
        "feature_id": cuid(rng),
        "name": "tags",
        "value": "tags",
        "checklist_answers": [
            {"feature_id": cuid(rng), "name": tag, "value": tag, "classifications": []}
            for tag in rng.sample(["night", "rain", "blur", "crowd"], 2)
        ],
    }
    text = {
        "feature_id": cuid(rng),
        "name": "note",
        "value": "note",
        "text_answer": {"content": f"note {rng.randint(0, 999)}"},
    }
    return [radio(rng, "quality", rng.choice(["good", "bad"])), checklist, text]


def video_annotations(rng: random.Random) -> dict:
    feature = cuid(rng)
    frames = {
        str(f): {
            "objects": {
                feature: {
                    "feature_id": feature,
                    "name": "car",
                    "annotation_kind": "VideoBoundingBox",
                    "classifications": [],
                    "bounding_box": box(rng),
                }
            },
            "classifications": [],
        }
        for f in range(1, 31)
    }
    return {
        "frames": frames,
        "segments": {feature: [[1, 30]]},
        "key_frame_feature_map": {feature: [1, 15, 30]},
        "classifications": [],
    }


def label(rng: random.Random, video: bool) -> dict:
    annotations = (
        video_annotations(rng)
        if video
        else {
            "objects": image_objects(rng),
            "classifications": image_classifications(rng),
            "relationships": [],
        }
    )
    return {
        "label_kind": "Video" if video else "Default",
        "version": "1.0.0",
        "id": cuid(rng),
        "label_details": {
            "created_at": stamp(rng),
            "updated_at": stamp(rng),
            "created_by": "annotator@example.com",
            "reviews": [],
        },
        "annotations": annotations,
    }


def data_row(rng: random.Random, index: int) -> dict:
    video = index % 50 == 49
    projects = {"clproject00000000000000001": {"name": "bench", "labels": [label(rng, video)]}}
    if index % 20 == 19:
        projects["clproject00000000000000002"] = {"name": "bench-2", "labels": [label(rng, video)]}
    mime = "video/mp4" if video else "image/jpeg"
    media = {"mime_type": mime, "width": 640, "height": 480}
    if video:
        media.update(frame_rate=30, frame_count=30)
    return {
        "data_row": {
            "id": cuid(rng),
            "global_key": f"asset-{index:07d}",
            "row_data": f"https://storage.example.com/bench/{index:07d}.jpg",
            "details": {
                "dataset_id": "cldataset0000000000000001",
                "created_at": stamp(rng),
                "created_by": "owner@example.com",
            },
        },
        "media_attributes": media,
        "projects": projects,
    }


def generate(rows: int, output: Path, seed: int = 7) -> None:
    rng = random.Random(seed)
    output.parent.mkdir(parents=True, exist_ok=True)
    with open(output, "wb") as out:
        for index in range(rows):
            out.write(orjson.dumps(data_row(rng, index)) + b"\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("-o", "--output", type=Path, default=Path("benchmarks/data/lb_100k.ndjson"))
    args = parser.parse_args()
    generate(args.rows, args.output, args.seed)
    print(
        f"wrote {args.rows} data rows to {args.output} ({args.output.stat().st_size / 1e6:.1f} MB)"
    )


if __name__ == "__main__":
    main()
