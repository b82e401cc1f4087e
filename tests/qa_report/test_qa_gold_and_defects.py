"""Scores against gold and defect rates of `bridge qa` on datasets with known false
positives, misses and defects."""

from __future__ import annotations

import pytest

from bridge.qa.workflows.run import QaSettings, run_qa
from tests.qa_report.builders import answer, aset, box, item, write_jsonl


def gold_items():
    """10 items, gold: one cat at (10, 10). Annotator A finds all ten and adds a far-away
    cat on items 0-2 (3 FPs). Annotator B draws nothing on items 0-1 (2 FNs), calls item 2's
    cat a dog (1 FN cat, 1 FP dog) and gets the other seven right."""
    items = []
    for i in range(10):
        gold = aset(f"g{i}", "lead@x", [box("g", "cat", 10, 10)], kind="gold")
        a_regions = [box("a1", "cat", 10, 10)]
        if i < 3:
            a_regions.append(box("a2", "cat", 60, 60))
        if i < 2:
            b_regions = []
        elif i == 2:
            b_regions = [box("b1", "dog", 10, 10)]
        else:
            b_regions = [box("b1", "cat", 10, 10)]
        items.append(
            item(f"g{i}", [gold, aset(f"a{i}", "a@x", a_regions), aset(f"b{i}", "b@x", b_regions)])
        )
    return items


def test_scores_against_a_gold_set_with_known_false_positives(tmp_path):
    report = run_qa([str(write_jsonl(tmp_path / "g.jsonl", gold_items()))], QaSettings())
    gold = report["gold"]
    assert gold["available"] and gold["items"] == 10 and gold["sets_scored"] == 20
    # A: TP 10, FP 3, FN 0; B: TP 7, FP 1 (dog), FN 3 (two missed, one mislabeled)
    micro = gold["micro"]
    assert (micro["tp"], micro["fp"], micro["fn"]) == (17, 4, 3)
    assert micro["precision"] == pytest.approx(17 / 21)
    assert micro["recall"] == pytest.approx(17 / 20)
    assert micro["f1"] == pytest.approx(34 / 41)
    cat, dog = gold["classes"]["cat"], gold["classes"]["dog"]
    assert (cat["tp"], cat["fp"], cat["fn"]) == (17, 3, 3)
    assert (dog["tp"], dog["fp"], dog["fn"]) == (0, 1, 0)
    # macro: mean over cat (P = R = F1 = 17/20) and dog (all 0)
    assert gold["macro"]["f1"] == pytest.approx(0.85 / 2)
    assert gold["macro"]["precision"] == pytest.approx(0.85 / 2)
    by_who = {row["annotator"]: row for row in gold["by_annotator"]}
    assert by_who["a@x"]["f1"] == pytest.approx(20 / 23)
    assert by_who["a@x"]["precision"] == pytest.approx(10 / 13)
    assert by_who["a@x"]["recall"] == 1.0
    assert by_who["b@x"]["f1"] == pytest.approx(14 / 18)
    # confusion (rows gold, columns annotators; label-blind matches)
    confusion = gold["confusion"]
    assert confusion["labels"] == ["cat", "dog", "<background>"]
    assert confusion["matrix"] == [[17, 1, 2], [0, 0, 0], [3, 0, 0]]
    cards = {row["annotator"]: row for row in report["scorecards"]}
    assert cards["a@x"]["gold_f1"] == pytest.approx(20 / 23)
    assert cards["b@x"]["gold_recall"] == pytest.approx(7 / 10)
    assert "lead@x" not in cards  # gold sets are the reference, not scored
    assert report["counts"]["gold_sets"] == 10


def test_gold_chosen_by_annotator_and_answers_scored(tmp_path):
    """--gold annotator=lead@x: the lead's human sets become the reference; answers are
    scored as question=value classes."""
    items = []
    for i in range(4):
        lead = aset(f"l{i}", "lead@x", answers=[answer("q", "yes")])
        given = "yes" if i < 3 else "no"
        items.append(item(f"q{i}", [lead, aset(f"a{i}", "a@x", answers=[answer("q", given)])]))
    path = write_jsonl(tmp_path / "q.jsonl", items)
    report = run_qa([str(path)], QaSettings(gold="annotator=lead@x"))
    gold = report["gold"]
    assert gold["classes"]["q=yes"] == {
        "precision": 1.0,
        "recall": 0.75,
        "f1": pytest.approx(6 / 7),
        "tp": 3,
        "fp": 0,
        "fn": 1,
    }
    assert gold["classes"]["q=no"]["fp"] == 1
    labels = gold["confusion"]["labels"]
    cell = gold["confusion"]["matrix"][labels.index("q=yes")][labels.index("q=no")]
    assert cell == 1
    assert report["counts"]["human_sets"] == 4  # the lead's sets are gold now


def test_defect_rate_from_statuses_and_reviews(tmp_path):
    sets = [
        aset("rej1", "a@x", status="rejected"),
        aset("rej2", "a@x", status="rejected"),
        aset("acc1", "a@x", status="accepted"),
        aset("acc2", "b@x", status="accepted"),
        aset("acc3", "b@x", status="accepted"),
        aset("pend", "b@x", status="in_review"),
        aset("sub1", "b@x", status="submitted"),
        aset("sub2", "b@x"),
        aset("rev-ok", "b@x", reviews=["accepted"]),
        aset("rev-rej", "b@x", status="submitted", reviews=["accepted", "rejected"]),
        aset("rev-fix", "a@x", reviews=["fixed"]),
        aset("rev-note", "a@x", reviews=["commented"]),
    ]
    items = [item(f"d{i}", [s]) for i, s in enumerate(sets)]
    report = run_qa([str(write_jsonl(tmp_path / "d.jsonl", items))], QaSettings())
    defects = report["defects"]
    # reviewed: 2 rejected + 3 accepted + accepting review + rejecting review + fixing review
    assert (defects["sets"], defects["reviewed"], defects["pending"]) == (12, 8, 1)
    assert (defects["defective"], defects["rejected"], defects["changed"]) == (4, 3, 1)
    assert defects["defect_rate"] == pytest.approx(4 / 8)
    cards = {row["annotator"]: row for row in report["scorecards"]}
    # a: rej1, rej2, acc1, rev-fix reviewed (3 defective); b: acc2, acc3, rev-ok, rev-rej (1)
    assert (cards["a@x"]["reviewed"], cards["a@x"]["defective"]) == (4, 3)
    assert cards["b@x"]["defect_rate"] == pytest.approx(1 / 4)


def test_defects_from_a_submission_and_its_accepted_version(tmp_path):
    """The same set exported before and after review, given as two sources: the review
    relabeled one region, moved one (IoU 12*20 / (28*20) < 0.5), removed one, added one."""
    before = aset(
        "s1",
        "a@x",
        [
            box("r1", "cat", 0, 0),
            box("r2", "dog", 50, 50),
            box("r3", "cat", 10, 60),
            box("r4", "cat", 70, 10),
        ],
        status="submitted",
    )
    after = aset(
        "s1",
        "a@x",
        [
            box("r1", "cat", 0, 0),
            box("r2", "cat", 50, 50),
            box("r3", "cat", 18, 60),
            box("r5", "cat", 75, 75),
        ],
        status="accepted",
    )
    untouched = aset("s2", "b@x", [box("x", "cat", 0, 0)], status="submitted")
    untouched_after = aset("s2", "b@x", [box("x", "cat", 0, 0)], status="accepted")
    first = write_jsonl(tmp_path / "before.jsonl", [item("k", [before]), item("k2", [untouched])])
    second = write_jsonl(
        tmp_path / "after.jsonl", [item("k", [after]), item("k2", [untouched_after])]
    )
    report = run_qa([str(first), str(second)], QaSettings())
    defects = report["defects"]
    assert defects["diff"] == {
        "available": True,
        "iou_threshold": 0.5,
        "compared": 2,
        "added": 1,
        "removed": 1,
        "relabeled": 1,
        "moved": 1,
    }
    # each pair counts once: s1 changed (defective), s2 unchanged (reviewed, no defect)
    assert (defects["sets"], defects["reviewed"], defects["defective"]) == (2, 2, 1)
    assert defects["changed"] == 1 and defects["defect_rate"] == 0.5
    assert [s["items"] for s in report["sources"]] == [2, 2]
    assert report["counts"]["items"] == 2  # joined by key


def test_gold_from_a_file_of_its_own(tmp_path):
    """--gold FILE: every set in that file is gold, joined with the work by item key."""
    reference = [
        item(f"k{i}", [aset(f"r{i}", "lead@x", [box("g", "cat", 10, 10)])]) for i in range(4)
    ]
    work = [
        item(f"k{i}", [aset(f"w{i}", "a@x", [box("w", "cat" if i else "dog", 10, 10)])])
        for i in range(4)
    ]
    gold_file = write_jsonl(tmp_path / "reference.jsonl", reference)
    work_file = write_jsonl(tmp_path / "work.jsonl", work)
    report = run_qa([str(work_file)], QaSettings(gold=str(gold_file)))
    assert [(s["name"].endswith("reference.jsonl"), s["gold"]) for s in report["sources"]] == [
        (False, False),
        (True, True),
    ]
    assert report["counts"]["gold_sets"] == 4 and report["counts"]["human_sets"] == 4
    micro = report["gold"]["micro"]
    assert (micro["tp"], micro["fp"], micro["fn"]) == (3, 1, 1)  # item 0: a dog for a cat
    assert [row["annotator"] for row in report["scorecards"]] == ["a@x"]
