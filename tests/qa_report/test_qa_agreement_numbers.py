"""Agreement numbers of `bridge qa` on datasets built so the answers are known: two
annotators who disagree on exactly 3 of 20 items."""

from __future__ import annotations

import math

import krippendorff
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from bridge.qa.report.html import render
from bridge.qa.workflows.run import QaSettings, run_qa
from tests.qa_report.builders import answer, aset, box, item, write_jsonl

DISAGREE = {0, 1, 10}


def sentiment_items():
    """a says pos on items 0-9 and neg on 10-19; b the same except items 0, 1 (neg) and 10 (pos)."""
    items = []
    for i in range(20):
        a_value = "pos" if i < 10 else "neg"
        b_value = a_value if i not in DISAGREE else ("neg" if a_value == "pos" else "pos")
        items.append(
            item(
                f"t{i}",
                [
                    aset(f"a{i}", "a@x", answers=[answer("sentiment", a_value)]),
                    aset(f"b{i}", "b@x", answers=[answer("sentiment", b_value)]),
                ],
                kind="text",
                text=f"text number {i}",
                width=None,
                height=None,
            )
        )
    return items


def test_answers_that_differ_on_3_of_20_items(tmp_path):
    path = write_jsonl(tmp_path / "s.jsonl", sentiment_items())
    report = run_qa([str(path)], QaSettings())
    agreement = report["agreement"]
    # by construction: 17 of 20 answers equal
    assert agreement["overall"] == pytest.approx(17 / 20)
    # the table (a rows, b columns): pos/pos 8, pos/neg 2, neg/pos 1, neg/neg 9
    # po = 0.85, pe = 0.5 * 0.45 + 0.5 * 0.55 = 0.5 -> kappa = 0.35 / 0.5 = 0.7
    assert agreement["kappa"] == pytest.approx(0.7)
    a = ["pos" if i < 10 else "neg" for i in range(20)]
    b = [x if i not in DISAGREE else ("neg" if x == "pos" else "pos") for i, x in enumerate(a)]
    assert agreement["kappa"] == pytest.approx(cohen_kappa_score(a, b))
    # alpha: coincidences pos/pos 16, neg/neg 18, pos/neg = neg/pos = 3; n_pos 19, n_neg 21
    # alpha = 1 - (40 - 1) * 6 / (2 * 19 * 21)
    assert agreement["alpha"] == pytest.approx(1 - 39 * 6 / (2 * 19 * 21))
    coded = np.array([[0 if v == "pos" else 1 for v in a], [0 if v == "pos" else 1 for v in b]])
    assert agreement["alpha"] == pytest.approx(
        krippendorff.alpha(reliability_data=coded, level_of_measurement="nominal")
    )
    (pair,) = agreement["pairs"]
    assert (pair["a"], pair["b"], pair["items"]) == ("a@x", "b@x", 20)
    assert pair["questions"]["sentiment"]["compared"] == 20
    assert pair["questions"]["sentiment"]["agreement"] == pytest.approx(0.85)
    # the three disagreed items lead the queue and the gallery (disagreement 1.0)
    top = report["queue"]["queue"][:3]
    assert {row["item"] for row in top} == {"t0", "t1", "t10"}
    assert all(row["disagreement"] == 1.0 for row in top)
    assert report["queue"]["queue"][3]["disagreement"] == 0.0
    # text items have no regions: the gallery keeps them with no regions to draw
    assert [entry["item"] for entry in report["gallery"]] == ["t0", "t1", "t10"]


def box_items():
    """One box per item by both; b's label differs on items 0, 1, 10; on items 0-3 both
    also draw a car, b's 4 px to the right (IoU 16*20 / (24*20) = 2/3)."""
    items = []
    for i in range(20):
        a_label = "cat" if i < 10 else "dog"
        b_label = a_label if i not in DISAGREE else ("dog" if a_label == "cat" else "cat")
        a_regions = [box("r1", a_label, 10, 10)]
        b_regions = [box("r1", b_label, 10, 10)]
        if i < 4:
            a_regions.append(box("r2", "car", 60, 60))
            b_regions.append(box("r2", "car", 64, 60))
        items.append(
            item(f"i{i}", [aset(f"a{i}", "a@x", a_regions), aset(f"b{i}", "b@x", b_regions)])
        )
    return items


def test_boxes_whose_labels_differ_on_3_of_20_items(tmp_path):
    path = write_jsonl(tmp_path / "b.jsonl", box_items())
    report = run_qa([str(path)], QaSettings())
    agreement = report["agreement"]
    regions = agreement["regions"]
    assert (regions["a"], regions["b"], regions["matched"], regions["same_label"]) == (
        24,
        24,
        24,
        21,
    )
    assert regions["agreement"] == 1.0  # every box found its partner
    assert regions["label_agreement"] == pytest.approx(21 / 24)
    assert regions["mean_iou"] == pytest.approx((20 * 1.0 + 4 * (2 / 3)) / 24)
    # pooled agreement: 2 * 21 same-label matches / (24 + 24) regions
    assert agreement["overall"] == pytest.approx(42 / 48)
    # label kappa of matched regions: cat/cat 8, cat/dog 2, dog/cat 1, dog/dog 9, car/car 4
    # po = 21/24, pe = (10*9 + 10*11 + 4*4) / 24^2 = 0.375 -> kappa = 0.5 / 0.625 = 0.8
    assert agreement["kappa"] == pytest.approx(0.8)
    assert agreement["alpha"] is None  # no item-level answers
    histogram = agreement["iou_histogram"]
    assert len(histogram["edges"]) == 21 and len(histogram["counts"]) == 20
    assert histogram["counts"][19] == 20  # IoU 1.0
    assert histogram["counts"][13] == 4  # IoU 2/3 in [0.65, 0.70)
    assert sum(histogram["counts"]) == 24
    # per item: items 0 and 1 have 2 regions each side, one label differs: 1 - 2/4
    by_item = {row["item"]: row["disagreement"] for row in report["queue"]["queue"]}
    assert by_item["i0"] == pytest.approx(0.5)
    assert by_item["i10"] == pytest.approx(1.0)
    assert by_item["i2"] == 0.0
    # scorecards: each annotator's pooled agreement is the pair's
    cards = {row["annotator"]: row for row in report["scorecards"]}
    assert cards["a@x"]["agreement"] == pytest.approx(42 / 48)
    assert cards["a@x"]["agreement_pairs"] == 20
    assert cards["b@x"]["regions"] == 24 and cards["b@x"]["sets"] == 20


def test_a_box_moved_below_the_threshold_is_not_matched(tmp_path):
    moved = [
        item(
            "m",
            [
                aset("a", "a@x", [box("r", "cat", 0, 0)]),
                aset("b", "b@x", [box("r", "cat", 10, 0)]),  # IoU 200 / 600 = 1/3
            ],
        )
    ]
    report = run_qa([str(write_jsonl(tmp_path / "m.jsonl", moved))], QaSettings())
    regions = report["agreement"]["regions"]
    assert (regions["matched"], regions["agreement"]) == (0, 0.0)
    assert report["agreement"]["overall"] == 0.0
    report = run_qa([str(write_jsonl(tmp_path / "m2.jsonl", moved))], QaSettings(iou_threshold=0.3))
    assert report["agreement"]["regions"]["matched"] == 1
    assert report["agreement"]["regions"]["mean_iou"] == pytest.approx(1 / 3)
    assert math.isclose(report["agreement"]["overall"], 1.0)


TEXT = "Alice met Bob in Paris"


def span(rid, label, start, end):
    from bridge.schema import Region, Span

    return Region(id=rid, label=label, shape=Span(start=start, end=end))


def ner_sets(i):
    """a marks Alice (PER) and Paris (LOC) in each of 10 texts; b relabels Alice as ORG in
    text 0 and ends Paris one character early in text 1."""
    a = [span("s1", "PER", 0, 5), span("s2", "LOC", 17, 22)]
    b = [
        span("s1", "ORG" if i == 0 else "PER", 0, 5),
        span("s2", "LOC", 17, 21 if i == 1 else 22),
    ]
    return a, b


def test_text_spans_agreement_and_gold(tmp_path):
    items = []
    for i in range(10):
        a, b = ner_sets(i)
        items.append(
            item(
                f"n{i}",
                [aset(f"a{i}", "a@x", a), aset(f"b{i}", "b@x", b)],
                kind="text",
                text=TEXT,
                width=None,
                height=None,
            )
        )
    report = run_qa([str(write_jsonl(tmp_path / "ner.jsonl", items))], QaSettings())
    spans = report["agreement"]["spans"]
    # 20 spans a side; 19 match exactly (text 1's Paris does not); 18 of them share a label
    assert (spans["a"], spans["b"], spans["matched"], spans["same_label"]) == (20, 20, 19, 18)
    assert spans["agreement"] == pytest.approx(36 / 40)
    assert report["agreement"]["overall"] == pytest.approx(36 / 40)
    # the gallery shows the two disagreed texts with each annotator's spans
    assert [entry["item"] for entry in report["gallery"]] == ["n0", "n1"]
    b_set = report["gallery"][1]["sets"][1]
    assert b_set["annotator"] == "b@x"
    assert [(s["label"], s["text"]) for s in b_set["spans"]] == [("PER", "Alice"), ("LOC", "Pari")]
    page = render(report)
    gallery = page.split("data-plot='gallery'>")[1]
    assert gallery.count("<pre class='text-item'>Alice met Bob in Paris</pre>") == 2
    assert "ORG: Alice" in gallery and "LOC: Pari<" in gallery
    # against gold (a's spans as the gold set): b has TP 18, FP 2, FN 2 (seqeval's counts)
    gold_items = []
    for i in range(10):
        a, b = ner_sets(i)
        gold_items.append(
            item(
                f"n{i}",
                [aset(f"g{i}", "lead@x", a, kind="gold"), aset(f"b{i}", "b@x", b)],
                kind="text",
                text=TEXT,
                width=None,
                height=None,
            )
        )
    report = run_qa([str(write_jsonl(tmp_path / "gold.jsonl", gold_items))], QaSettings())
    micro = report["gold"]["micro"]
    assert (micro["tp"], micro["fp"], micro["fn"]) == (18, 2, 2)
    assert micro["f1"] == pytest.approx(0.9)
    confusion = report["gold"]["confusion"]
    assert confusion["labels"] == ["LOC", "ORG", "PER", "<background>"]
    assert confusion["matrix"] == [[9, 0, 0, 1], [0, 0, 0, 0], [0, 1, 9, 0], [1, 0, 0, 0]]


def track(tid, label, x, y, frames=(0, 10)):
    from bridge.schema import BBox, Keyframe, Track

    return Track(
        id=tid,
        label=label,
        keyframes=[Keyframe(frame=f, shape=BBox(x=x, y=y, width=20, height=20)) for f in frames],
    )


def test_tracks_on_a_video(tmp_path):
    """Both follow the same car over frames 0-10; a follows a person at (50, 50) that b
    puts at (80, 80), with no overlap: 1 of 2 tracks matched on each side."""
    sets = [
        aset("a", "a@x", tracks=[track("t1", "car", 0, 0), track("t2", "person", 50, 50)]),
        aset("b", "b@x", tracks=[track("u1", "car", 0, 0), track("u2", "person", 80, 80)]),
    ]
    video = item("v", sets, kind="video", width=200, height=200)
    report = run_qa([str(write_jsonl(tmp_path / "v.jsonl", [video]))], QaSettings())
    tracks = report["agreement"]["tracks"]
    assert (tracks["a"], tracks["b"], tracks["matched"], tracks["same_label"]) == (2, 2, 1, 1)
    assert tracks["agreement"] == pytest.approx(0.5)
    assert tracks["id_switches"] == 0
    assert report["agreement"]["overall"] == pytest.approx(0.5)
    (pair,) = report["agreement"]["pairs"]
    # MOT of b against a over frames 0-10: 11 frames x 2 objects, 11 matches, 11 misses, 11 FPs
    assert pair["tracks"]["mota"] == pytest.approx(1 - (11 + 11) / 22)
    assert pair["tracks"]["motp"] == pytest.approx(1.0)
    # the gallery draws the video at frame 0: the two tracks of each annotator
    (entry,) = report["gallery"]
    assert entry["frame"] == 0
    assert [len(s["regions"]) for s in entry["sets"]] == [2, 2]
    assert entry["sets"][1]["regions"][1]["shape"]["x"] == 80
    page = render(report)
    assert page.split("data-plot='gallery'>")[1].count("<g class='region'") == 4
    assert ", frame 0<div" in page
