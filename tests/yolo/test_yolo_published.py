"""COCO -> YOLO detect against a label file Ultralytics publishes.

Ultralytics' coco128 dataset (the first 128 COCO train2017 images, converted by
Ultralytics) has `labels/train2017/000000000009.txt` (quoted in many public notes on the
YOLO format, e.g. the coco128 walkthroughs that the `search` corpus holds):

    45 0.479492 0.688771 0.955609 0.5955 ...

Image 000000000009.jpg is 640 x 480 with eight COCO annotations: three bowls (COCO
category 51), a broccoli (56) and four oranges (55). Their COCO boxes below are those
numbers (from another public copy of the same annotations, normalized) scaled back to pixels
and rounded to COCO's 2 decimals. The YOLO class is the category's position among COCO's
80 categories (bowl 45, orange 49, broccoli 50), which our class order (the ontology's, the
categories' order in the file) must give too.
"""

from __future__ import annotations

import json
from pathlib import Path

from bridge import api

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "coco"

PUBLISHED = """45 0.479492 0.688771 0.955609 0.5955
45 0.736516 0.247188 0.498875 0.476417
50 0.637063 0.732938 0.494125 0.510583
45 0.339438 0.418896 0.678875 0.7815
49 0.646836 0.132552 0.118047 0.0969375
49 0.773148 0.129802 0.0907344 0.0972292
49 0.668297 0.226906 0.131281 0.146896
49 0.642859 0.0792187 0.148063 0.148062
"""
NORMALIZED = [  # (COCO category, cx, cy, w, h), as another public copy has them
    (51, 0.4794921875, 0.6887708333333333, 0.9556093750000001, 0.5954999999999999),
    (51, 0.736515625, 0.2471875, 0.49887499999999996, 0.47641666666666665),
    (56, 0.6370625000000001, 0.7329375, 0.49412500000000004, 0.5105833333333334),
    (51, 0.3394375, 0.4188958333333333, 0.678875, 0.7815),
    (55, 0.6468359374999999, 0.13255208333333332, 0.118046875, 0.0969375),
    (55, 0.7731484375, 0.12980208333333335, 0.090734375, 0.09722916666666667),
    (55, 0.668296875, 0.22690624999999998, 0.13128125, 0.14689583333333334),
    (55, 0.642859375, 0.07921874999999999, 0.1480625, 0.14806249999999999),
]


def test_coco_boxes_become_the_published_yolo_lines(tmp_path):
    categories = json.loads((FIXTURES / "instances_val2017_subset.json").read_text())["categories"]
    annotations = []
    for number, (category, cx, cy, w, h) in enumerate(NORMALIZED, start=1):
        box = [(cx - w / 2) * 640, (cy - h / 2) * 480, w * 640, h * 480]
        box = [round(v, 2) for v in box]
        annotations.append(
            {
                "id": number,
                "image_id": 9,
                "category_id": category,
                "bbox": box,
                "area": box[2] * box[3],
                "iscrowd": 0,
            }
        )
    coco = {
        "images": [{"id": 9, "file_name": "000000000009.jpg", "width": 640, "height": 480}],
        "annotations": annotations,
        "categories": categories,
    }
    source = tmp_path / "instances.json"
    source.write_text(json.dumps(coco))
    out = tmp_path / "yolo"
    losses = api.convert(source, out, to_format="yolo", task="detect")
    assert (out / "labels" / "train" / "000000000009.txt").read_text() == PUBLISHED
    assert not losses
