"""Label consistency and class imbalance on hand-built datasets."""

from __future__ import annotations

import pytest

from bridge.qa.workflows.run import QaSettings, run_qa
from bridge.schema import BBox, Polygon, Region
from tests.qa_report.builders import answer, aset, box, item, project, write_jsonl


def test_identical_items_labeled_differently(tmp_path):
    items = [
        # same uri, different labels: a conflict
        item("k1", [aset("1", "a@x", [box("r", "cat", 0, 0)])], uri=" a.png"),
        item("k2", [aset("2", "b@x", [box("r", "dog", 0, 0)])], uri="a.png"),
        # same uri, same labels: fine
        item("k3", [aset("3", "a@x", [box("r", "cat", 0, 0)])], uri="b.png"),
        item("k4", [aset("4", "b@x", [box("r", "cat", 5, 5)])], uri="b.png"),
        # the same text up to case and white space, different answers: a conflict
        item(
            "k5", [aset("5", "a@x", answers=[answer("s", "pos")])], kind="text", text="Hello  World"
        ),
        item(
            "k6", [aset("6", "a@x", answers=[answer("s", "neg")])], kind="text", text="hello world"
        ),
        # the same data, different labels: a conflict
        item("k7", [aset("7", "a@x", [box("r", "cat", 0, 0)])], data={"id": 5, "src": "x"}),
        item("k8", [aset("8", "a@x", [box("r", "car", 0, 0)])], data={"src": "x", "id": 5}),
        # different uri: no group
        item("k9", [aset("9", "a@x", [box("r", "dog", 0, 0)])], uri="c.png"),
    ]
    report = run_qa([str(write_jsonl(tmp_path / "c.jsonl", items))], QaSettings())
    duplicates = report["consistency"]["duplicates"]
    assert duplicates["conflicting_groups"] == 3
    assert duplicates["by_fingerprint"] == {"uri": 1, "text": 1, "data": 1}
    assert duplicates["items_in_conflict"] == 6
    groups = {ex["by"]: [m["key"] for m in ex["items"]] for ex in duplicates["examples"]}
    assert groups == {"uri": ["k1", "k2"], "text": ["k5", "k6"], "data": ["k7", "k8"]}
    uri_group = next(ex for ex in duplicates["examples"] if ex["by"] == "uri")
    assert [m["labels"] for m in uri_group["items"]] == [["cat"], ["dog"]]


def test_answers_and_labels_outside_the_ontology(tmp_path):
    proj = project(["cat", "dog"], {"sentiment": ["pos", "neg"]})
    items = [
        item("o1", [aset("1", "a@x", [box("r1", "bird", 0, 0), box("r2", "cat", 0, 0)])]),
        item(
            "o2",
            [aset("2", "a@x", [box("r1", "bird", 0, 0)], answers=[answer("sentiment", "meh")])],
        ),
        item(
            "o3",
            [aset("3", "a@x", answers=[answer("sentiment", "pos"), answer("free", "anything")])],
        ),
    ]
    report = run_qa([str(write_jsonl(tmp_path / "o.jsonl", items, proj))], QaSettings())
    violations = report["consistency"]["ontology_violations"]
    assert violations["by_code"] == {"unknown_label": 2, "value_not_in_options": 1}
    assert violations["count"] == 3
    found = {
        (ex["code"], ex.get("label"), ex.get("value"), ex["count"]) for ex in violations["examples"]
    }
    assert found == {("unknown_label", "bird", None, 2), ("value_not_in_options", None, "meh", 1)}


def test_regions_outside_the_media(tmp_path):
    regions = [
        box("out-right", "cat", 90, 10),  # reaches x = 110 on a 100 px wide image
        box("out-left", "cat", -5, 10),
        box("edge", "cat", 80.4, 10),  # reaches 100.4: within the 0.5 px tolerance
        Region(id="turned", label="cat", shape=BBox(x=40, y=40, width=20, height=20, rotation=45)),
        Region(id="poly-out", label="cat", shape=Polygon(points=[(10, 10), (101, 50), (10, 90)])),
        Region(
            id="pct-out",
            label="cat",
            shape=BBox(x=95, y=10, width=10, height=10, units="percent"),
        ),
        Region(
            id="pct-in", label="cat", shape=BBox(x=85, y=10, width=10, height=10, units="percent")
        ),
    ]
    items = [
        item("b1", [aset("1", "a@x", regions)]),
        # unknown size: pixel boxes cannot be checked
        item("b2", [aset("2", "a@x", [box("far", "cat", 5000, 5000)])], width=None, height=None),
    ]
    report = run_qa([str(write_jsonl(tmp_path / "b.jsonl", items))], QaSettings())
    outside = report["consistency"]["outside_media"]
    assert outside["count"] == 4
    assert {ex["region"] for ex in outside["examples"]} == {
        "out-right",
        "out-left",
        "poly-out",
        "pct-out",
    }
    assert (outside["checked_regions"], outside["unchecked_regions"]) == (7, 1)


def test_class_distribution_per_split_and_the_classes_that_need_data(tmp_path):
    proj = project(["cat", "dog", "bird"])
    items = []
    for i in range(5):
        items.append(
            item(f"tc{i}", [aset(f"c{i}", "a@x", [box("r", "cat", 0, 0)])], subset="train")
        )
    items.append(
        item(
            "td",
            [aset("d", "a@x", [box("r1", "dog", 0, 0), box("r2", "dog", 50, 50)])],
            subset="train",
        )
    )
    items.append(item("vc", [aset("v", "a@x", [box("r", "cat", 0, 0)])], subset="val"))
    # two annotators on one item: counted once, from the accepted set
    items.append(
        item(
            "twice",
            [
                aset("x1", "a@x", [box("r", "cat", 0, 0)], status="accepted"),
                aset("x2", "b@x", [box("r", "dog", 0, 0)]),
            ],
            subset="val",
        )
    )
    report = run_qa(
        [str(write_jsonl(tmp_path / "i.jsonl", items, proj))], QaSettings(min_per_class=3)
    )
    imbalance = report["imbalance"]
    assert imbalance["classes"] == {"cat": 7, "dog": 2, "bird": 0}
    assert imbalance["by_split"] == {"train": {"cat": 5, "dog": 2}, "val": {"cat": 2}}
    assert imbalance["ratio"] == pytest.approx(7 / 2)
    assert imbalance["under_threshold"] == ["bird", "dog"]
    assert imbalance["items_counted"] == 8
