"""Real COCO files (tests/fixtures/coco, see PROVENANCE.md) through unified and back, and
what we write loaded by pycocotools."""

from __future__ import annotations

import json

import numpy as np
import pytest
from bridge_coco.rle import counts_to_string, string_to_counts
from pycocotools import mask as coco_mask
from pycocotools.coco import COCO

from bridge import api
from bridge.losses import LossReport

from .conftest import FIXTURES

GROUND_TRUTH = ["instances_val2017_subset.json", "person_keypoints_val2017_subset.json"]


def _round_trip(tmp_path, name, **options):
    source = FIXTURES / name
    losses = LossReport()
    out = tmp_path / "out.json"
    api.convert(source, out, to_format="coco", **options)
    return json.loads(source.read_text()), json.loads(out.read_text()), losses


@pytest.mark.parametrize("name", GROUND_TRUTH)
def test_ground_truth_round_trip_is_equal(tmp_path, name):
    original, written, _ = _round_trip(tmp_path, name)
    for key in ("info", "licenses", "images", "categories"):
        assert written[key] == original[key], key
    by_id = sorted(original["annotations"], key=lambda a: a["id"])
    assert sorted(written["annotations"], key=lambda a: a["id"]) == by_id


def test_the_fixtures_hold_what_the_round_trip_must_cover():
    data = json.loads((FIXTURES / "instances_val2017_subset.json").read_text())
    ids = [c["id"] for c in data["categories"]]
    assert ids[0] == 1 and ids[-1] == 90 and len(ids) == 80  # real COCO ids: holes
    crowd = [a for a in data["annotations"] if a["iscrowd"]]
    assert crowd and all(isinstance(a["segmentation"]["counts"], list) for a in crowd)
    assert any(len(a["segmentation"]) > 1 for a in data["annotations"] if not a["iscrowd"])
    keypoints = json.loads((FIXTURES / "person_keypoints_val2017_subset.json").read_text())
    assert len(keypoints["categories"][0]["keypoints"]) == 17


def _runs_to_bitmap(counts, height, width):
    """Our own decoding of column-major runs (background first), without pycocotools."""
    flat = np.zeros(height * width, dtype=np.uint8)
    position, value = 0, 0
    for run in counts:
        flat[position : position + run] = value
        position += run
        value = 1 - value
    return flat.reshape((width, height)).T


@pytest.mark.parametrize("name", GROUND_TRUTH)
def test_pycocotools_loads_what_we_write_with_the_same_pixels(tmp_path, name):
    _, written, _ = _round_trip(tmp_path, name)
    ours = COCO(str(tmp_path / "out.json"))
    reference = COCO(str(FIXTURES / name))
    assert sorted(ours.getImgIds()) == sorted(reference.getImgIds())
    for annotation_id in reference.getAnnIds():
        theirs = reference.anns[annotation_id]
        mine = ours.anns[annotation_id]
        assert np.array_equal(ours.annToMask(mine), reference.annToMask(theirs))
        if isinstance(mine["segmentation"], dict):  # RLE: our runs, decoded our own way
            height, width = mine["segmentation"]["size"]
            counts = mine["segmentation"]["counts"]
            runs = counts if isinstance(counts, list) else string_to_counts(counts)
            assert np.array_equal(ours.annToMask(mine), _runs_to_bitmap(runs, height, width))


def test_rle_codec_agrees_with_pycocotools():
    data = json.loads((FIXTURES / "instances_val2017_subset.json").read_text())
    crowd = [a["segmentation"] for a in data["annotations"] if a["iscrowd"]]
    for rle in crowd:
        height, width = rle["size"]
        compressed = coco_mask.frPyObjects(rle, height, width)
        assert counts_to_string(rle["counts"]) == compressed["counts"].decode("ascii")
        assert string_to_counts(compressed["counts"].decode("ascii")) == rle["counts"]
    results = json.loads((FIXTURES / "instances_val2014_fakesegm100_results.json").read_text())
    for result in results[:50]:
        text = result["segmentation"]["counts"]
        assert counts_to_string(string_to_counts(text)) == text
        height, width = result["segmentation"]["size"]
        bitmap = coco_mask.decode({"size": [height, width], "counts": text.encode()})
        assert np.array_equal(bitmap, _runs_to_bitmap(string_to_counts(text), height, width))


def test_compressed_rle_results_round_trip(tmp_path):
    source = FIXTURES / "instances_val2014_fakesegm100_results.json"
    images = FIXTURES / "instances_val2017_subset.json"
    losses = LossReport()
    dataset = api.open_dataset(source, "coco", losses, images=str(images))
    items = list(dataset.items)
    results = json.loads(source.read_text())
    assert sum(len(s.regions) for i in items for s in i.annotation_sets) == len(results)
    assert {s.kind for i in items for s in i.annotation_sets} == {"prediction"}
    # val2014 results name images the val2017 file does not list: reported, keyed by id
    assert losses.count("coco.result-image-unknown") == len({r["image_id"] for r in results})
    out = tmp_path / "out.json"
    dataset.items = iter(items)
    api.write_dataset(dataset, out, "coco", LossReport())
    written = json.loads(out.read_text())["annotations"]
    assert [a["segmentation"] for a in written] == [
        r["segmentation"]
        for r in sorted(
            results, key=lambda r: [x["image_id"] for x in results].index(r["image_id"])
        )
    ]
    assert [a["score"] for a in sorted(written, key=lambda a: a["id"])] == [
        r["score"] for r in results
    ]
