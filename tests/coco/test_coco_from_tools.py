"""Real Label Studio and CVAT exports (tests/fixtures) written as COCO: pycocotools loads
every file, every mask keeps its pixels, and every region COCO cannot hold is counted in
the loss report."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from pycocotools.coco import COCO

from bridge import api
from bridge.geometry.masks import rle_to_bitmap
from bridge.losses import LossReport

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
# every real tool export of images; a Label Studio *import* file (flat tasks) is not an
# export and is not auto-detected on its own, by design
NOT_EXPORTS = {"real_flat_tasks_import.json"}
SOURCES = sorted(
    path
    for path in [
        *(FIXTURES / "labelstudio").glob("real_*.json"),
        *(FIXTURES / "cvat").glob("*images*.xml"),
    ]
    if path.name not in NOT_EXPORTS
)
CARRIED = {"bbox", "polygon", "mask", "skeleton", "points", "ellipse"}


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_tool_exports_as_coco(tmp_path, source):
    items = list(api.open_dataset(source).items)
    images = [i for i in items if i.media.kind == "image"]
    out = tmp_path / "out.json"
    losses = LossReport()
    dataset = api.open_dataset(source)
    api.write_dataset(dataset, out, "coco", losses)
    coco = COCO(str(out))
    assert len(coco.imgs) == len(images)
    regions = [(i.key, s.id, r) for i in images for s in i.annotation_sets for r in s.regions]
    unlabeled = {(k, a, r.group or f"region {r.id}") for k, a, r in regions if r.label is None}
    assert losses.count("coco.unlabeled-dropped") == len(unlabeled)
    not_carried = Counter(
        r.shape.type for _, _, r in regions if r.label and r.shape.type not in CARRIED
    )
    for kind, count in not_carried.items():
        assert losses.count(f"coco.{kind}-dropped") == count, kind
    carried = [r for _, _, r in regions if r.label and r.shape.type in CARRIED]
    groups = {(k, a, r.group, r.label) for k, a, r in regions if r.group and r.label}
    alone = sum(1 for r in carried if r.group is None)
    assert len(coco.anns) <= alone + len(groups)
    skipped = losses.count("coco.size-unknown") + losses.count("coco.mask-size-mismatch")
    assert len(coco.anns) + skipped >= alone  # every lone region is written or reported
    regions = [r for _, _, r in regions]
    masks = [r for r in regions if r.shape.type == "mask" and r.label and r.group is None]
    written_masks = [a for a in coco.anns.values() if isinstance(a["segmentation"], dict)]
    assert len(written_masks) == len(masks) - losses.count("coco.mask-size-mismatch")
    for annotation, region in zip(written_masks, masks, strict=False):
        assert np.array_equal(
            coco.annToMask(annotation).astype(bool), rle_to_bitmap(region.shape.rle)
        )
    assert [c["id"] for c in coco.dataset["categories"]] == list(
        range(1, len(coco.dataset["categories"]) + 1)
    )
    json.loads(out.read_text())  # plain JSON


def test_the_fixtures_include_brush_masks():
    names = {p.name for p in SOURCES}
    assert "real_soft_brush.json" in names
