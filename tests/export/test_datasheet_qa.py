"""The datasheet's QA section: the numbers `bridge qa` gives on the exported sets.

Hand-built: two annotators answer one question on 20 images and disagree on exactly 3;
a gold set agrees with annotator A everywhere; 4 of A's sets were reviewed, 1 rejected.
Every expected number is computed here from that construction (sklearn for kappa)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sklearn.metrics import cohen_kappa_score

from bridge.export.bundle import export_bundle
from bridge.export.datasheet import render_qa
from tests.qa_report.builders import answer, aset, item, project, run_cli, write_jsonl

N = 20
DISAGREE = {3, 9, 14}
REVIEWED = {0: "rejected", 1: "accepted", 2: "accepted", 5: "accepted"}


def _a(i: int) -> str:
    return "cat" if i < 15 else "dog"  # 15 cats, 5 dogs


def _b(i: int) -> str:
    return ({"cat": "dog", "dog": "cat"}[_a(i)]) if i in DISAGREE else _a(i)


def _source(tmp_path: Path, *, gold: bool = True) -> Path:
    items = []
    for i in range(N):
        sets = [
            aset(f"a{i}", "a@x.org", answers=[answer("animal", _a(i))], reviews=[REVIEWED[i]])
            if i in REVIEWED
            else aset(f"a{i}", "a@x.org", answers=[answer("animal", _a(i))]),
            aset(f"b{i}", "b@x.org", answers=[answer("animal", _b(i))]),
        ]
        if gold:
            sets.append(aset(f"g{i}", "lead@x.org", answers=[answer("animal", _a(i))], kind="gold"))
        items.append(item(f"img{i:02d}.jpg", sets))
    return write_jsonl(tmp_path / "src.jsonl", items, project([], {"animal": ["cat", "dog"]}))


def _qa_section(bundle: Path) -> str:
    sheet = (bundle / "datasheet.md").read_text()
    return sheet.split("## QA\n", 1)[1]


def _cell(section: str, measure: str) -> str:
    row = re.search(rf"^\| {re.escape(measure)} \| (.*) \|$", section, re.M)
    assert row, (measure, section)
    return row.group(1)


def test_the_datasheet_shows_the_kappa_bridge_qa_and_sklearn_give(tmp_path):
    source = _source(tmp_path)
    export_bundle(str(source), "jsonl", tmp_path / "b")
    section = _qa_section(tmp_path / "b")
    done = run_cli("qa", str(source), "--json", str(tmp_path / "qa.json"))
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "qa.json").read_text())
    expected = cohen_kappa_score([_a(i) for i in range(N)], [_b(i) for i in range(N)])
    assert report["agreement"]["kappa"] == pytest.approx(expected)
    shown = _cell(section, "Cohen's kappa (mean over annotator pairs)")
    assert shown == f"{expected:.4f}" == f"{report['agreement']['kappa']:.4f}"
    assert _cell(section, "agreement (pooled)") == f"{(N - len(DISAGREE)) / N:.4f}"
    # the pair table: one pair, a@ against b@, on all 20 items
    assert re.search(
        rf"^\| a@x\.org \| b@x\.org \| {N} \| 0\.8500 \| {expected:.4f} \|$", section, re.M
    )


def test_gold_defects_and_imbalance_are_known_by_construction(tmp_path):
    source = _source(tmp_path)
    export_bundle(str(source), "jsonl", tmp_path / "b")
    section = _qa_section(tmp_path / "b")
    # answers scored as classes: A matches gold on 20, B on 17 (3 FP, 3 FN)
    tp, fp, fn = 2 * N - len(DISAGREE), len(DISAGREE), len(DISAGREE)
    assert _cell(section, "F1 against gold (micro)") == f"{2 * tp / (2 * tp + fp + fn):.4f}"
    rejected = sum(status == "rejected" for status in REVIEWED.values())
    assert _cell(section, "defect rate (rejected or changed after review)") == (
        f"{rejected / len(REVIEWED):.4f} ({rejected} of {len(REVIEWED)} reviewed sets)"
    )
    assert _cell(section, "answer imbalance of animal") == f"{15 / 5:.4f}"
    assert _cell(section, "class imbalance (most / least frequent class)").startswith(
        "not measured:"
    )


def test_what_the_exported_sets_do_not_allow_is_not_measured(tmp_path):
    source = _source(tmp_path, gold=False)
    export_bundle(str(source), "jsonl", tmp_path / "one", sets="annotator=b@x.org")
    section = _qa_section(tmp_path / "one")
    assert "1 annotators" in section and f"{N} human sets" in section
    assert _cell(section, "Cohen's kappa (mean over annotator pairs)").startswith(
        "not measured: fewer than two human sets"
    )
    assert _cell(section, "F1 against gold").startswith("not measured: no item has both")
    assert _cell(section, "defect rate (rejected or changed after review)").startswith(
        "not measured: no exported set records a review"
    )


def test_render_qa_escapes_names_from_the_data():
    report = {
        "counts": {"items": 1, "human_sets": 2, "gold_sets": 0, "annotators": 2},
        "agreement": {
            "overall": 1.0,
            "kappa": None,
            "alpha": None,
            "pairs": [{"a": "x|y", "b": "<b>", "items": 1, "agreement": 1.0, "kappa": None}],
        },
        "gold": {"available": False, "reason": "no gold"},
        "defects": {"defect_rate": None},
        "imbalance": {
            "ratio": None,
            "answers": {},
            "under_threshold": ["a|b"],
            "min_per_class": 10,
        },
    }
    text = render_qa(report, "all")
    assert "| x\\|y | \\<b\\> | 1 | 1.0000 | not measured: undefined |" in text
    assert "a\\|b" in text
