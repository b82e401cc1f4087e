"""The review sample (seeded, stratified) and the labeling queue, with their subset files."""

from __future__ import annotations

import csv
import json
import math

import pytest

from bridge.api import open_dataset
from bridge.qa.workflows.run import QaOutputs, QaSettings, run_qa
from bridge.qa.workflows.sampling import allocate
from tests.qa_report.builders import aset, box, item, write_jsonl

# a: 40 cat sets, 10 dog sets; b: 45 cat sets, 5 bird sets (one set per item)
STRATA = {("a@x", "cat"): 40, ("a@x", "dog"): 10, ("b@x", "cat"): 45, ("b@x", "bird"): 5}


def stratified_items():
    items = []
    n = 0
    for (who, label), count in STRATA.items():
        for _ in range(count):
            items.append(item(f"s{n:03d}", [aset(f"set{n}", who, [box("r", label, 0, 0)])]))
            n += 1
    return items


def test_allocation_by_hand():
    # 20% of 100 = 20: one per stratum, then 16 shared by what is left (39, 9, 44, 4 of 96):
    # exact 6.5, 1.5, 7.33, 0.67 -> floors 6, 1, 7, 0 (14); the last 2 by largest remainder:
    # bird (0.67), then cat of a (0.5, the larger of the two 0.5 strata)
    shares = allocate(dict(STRATA), 20)
    assert shares == {("a@x", "cat"): 8, ("a@x", "dog"): 2, ("b@x", "cat"): 8, ("b@x", "bird"): 2}
    # fewer than strata: the largest strata get one each
    assert allocate(dict(STRATA), 2) == {
        ("a@x", "cat"): 1,
        ("a@x", "dog"): 0,
        ("b@x", "cat"): 1,
        ("b@x", "bird"): 0,
    }
    # never more than a stratum holds
    assert allocate({("a", "x"): 1, ("b", "y"): 30}, 25) == {("a", "x"): 1, ("b", "y"): 24}


def _sample(tmp_path, items, seed, name):
    path = write_jsonl(tmp_path / f"{name}.jsonl", items)
    listing = tmp_path / f"{name}.csv"
    run_qa([str(path)], QaSettings(seed=seed), QaOutputs(sample_list=str(listing)))
    with open(listing, newline="") as handle:
        return list(csv.DictReader(handle))


def test_the_sample_is_stratified_and_reproducible_for_a_seed(tmp_path):
    items = stratified_items()
    first = _sample(tmp_path, items, 7, "one")
    assert len(first) == 20
    per_stratum = {}
    for row in first:
        per_stratum[(row["annotator"], row["class"])] = (
            per_stratum.get((row["annotator"], row["class"]), 0) + 1
        )
    assert per_stratum == allocate(dict(STRATA), 20)  # every annotator and class represented
    # the same seed gives the same sample, whatever the order of the items
    again = _sample(tmp_path, list(reversed(items)), 7, "two")
    assert {(r["item"], r["set"]) for r in again} == {(r["item"], r["set"]) for r in first}
    # another seed, another sample (same strata sizes)
    other = _sample(tmp_path, items, 8, "three")
    assert {(r["item"], r["set"]) for r in other} != {(r["item"], r["set"]) for r in first}
    assert len(other) == 20


def test_the_sample_as_a_pushable_unified_jsonl_subset(tmp_path):
    items = []
    for i in range(10):
        items.append(
            item(
                f"k{i}",
                [
                    aset(f"a{i}", "a@x", [box("r", "cat", 0, 0)]),
                    aset(f"b{i}", "b@x", [box("r", "cat", 0, 0)]),
                ],
            )
        )
    path = write_jsonl(tmp_path / "in.jsonl", items)
    outputs = QaOutputs(
        sample_list=str(tmp_path / "sample.jsonl.list"), sample_items=str(tmp_path / "sample.jsonl")
    )
    report = run_qa([str(path)], QaSettings(sample_percent=30, seed=1), outputs)
    assert report["sample"]["population"] == 20
    assert report["sample"]["size"] == 6
    listed = [
        json.loads(line) for line in (tmp_path / "sample.jsonl.list").read_text().splitlines()
    ]
    assert len(listed) == 6
    subset = list(open_dataset(tmp_path / "sample.jsonl").items)  # readable by every command
    chosen = {(entry.key, s.id) for entry in subset for s in entry.annotation_sets}
    assert chosen == {(row["item"], row["set"]) for row in listed}


def test_the_queue_ranks_by_uncertainty(tmp_path):
    def predicted(key, region_scores=(), class_scores=None):
        regions = [box(f"p{i}", "cat", 0, 0, score=s) for i, s in enumerate(region_scores)]
        extra = {"scores": class_scores} if class_scores else {}
        return item(
            key, [aset("p", None, regions, kind="prediction", model_version="m1", extra=extra)]
        )

    items = [
        predicted("sure", [0.95, 0.9]),
        predicted("low", [0.9, 0.3]),  # low_score 0.7
        predicted("flat", class_scores={"a": 0.5, "b": 0.3, "c": 0.2}),
        predicted("none"),
    ]
    path = write_jsonl(tmp_path / "p.jsonl", items)
    queue_list = tmp_path / "queue.csv"
    queue_items = tmp_path / "queue.jsonl"
    report = run_qa(
        [str(path)],
        QaSettings(rank_by="uncertainty", queue_size=2),
        QaOutputs(queue_list=str(queue_list), queue_items=str(queue_items)),
    )
    queue = report["queue"]
    assert queue["ranked_items"] == 3  # "none" has no prediction score
    # flat: margin 1 - (0.5 - 0.3) = 0.8; entropy of (0.5, 0.3, 0.2) over ln 3
    entropy = -(0.5 * math.log(0.5) + 0.3 * math.log(0.3) + 0.2 * math.log(0.2)) / math.log(3)
    first, second = queue["queue"]
    assert first["item"] == "flat" and first["priority"] == pytest.approx(entropy)
    assert first["margin"] == pytest.approx(0.8) and first["entropy"] == pytest.approx(entropy)
    assert second["item"] == "low" and second["low_score"] == pytest.approx(0.7)
    with open(queue_list, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["item"] for r in rows] == ["flat", "low"] and rows[0]["rank"] == "1"
    assert [entry.key for entry in open_dataset(queue_items).items] == ["flat", "low"]
