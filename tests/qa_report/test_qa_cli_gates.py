"""`bridge qa` from the command line: quality gates (exit 0 / 7), bad options, outputs."""

from __future__ import annotations

import json

import pytest

from bridge.errors import ConfigError
from bridge.qa.workflows.gates import GATES, QualityGateFailed, evaluate, parse_gates
from tests.qa_report.builders import aset, box, item, run_cli, write_jsonl


def pair_items(disagree: int):
    """10 items, one box each by two annotators; their labels differ on `disagree` items.
    Every set was reviewed: a's accepted, b's rejected on item 0 only."""
    items = []
    for i in range(10):
        b_label = "dog" if i < disagree else "cat"
        items.append(
            item(
                f"k{i}",
                [
                    aset(f"a{i}", "a@x", [box("r", "cat", 0, 0)], status="accepted"),
                    aset(
                        f"b{i}",
                        "b@x",
                        [box("r", b_label, 0, 0)],
                        status="rejected" if i == 0 else "accepted",
                    ),
                ],
            )
        )
    return items


@pytest.fixture
def datasets(tmp_path):
    good = write_jsonl(tmp_path / "good.jsonl", pair_items(1))  # agreement 0.9
    bad = write_jsonl(tmp_path / "bad.jsonl", pair_items(5))  # agreement 0.5
    return good, bad


def test_a_passing_and_a_failing_dataset_exit_0_and_7(datasets, tmp_path):
    good, bad = datasets
    gates = "iaa=0.8,defect_rate_max=0.05"
    passed = run_cli("qa", str(good), "--fail-under", "iaa=0.8,defect_rate_max=0.06")
    assert passed.returncode == 0, passed.stderr
    assert "gate iaa" in passed.stdout and "pass" in passed.stdout
    # defect rate 1/20 = 0.05 passes <= 0.05; agreement 0.5 fails >= 0.8
    failed = run_cli("qa", str(bad), "--fail-under", gates, "--json", str(tmp_path / "r.json"))
    assert failed.returncode == 7
    assert "iaa = 0.5, needs >= 0.8" in failed.stderr
    assert "defect_rate_max" not in failed.stderr.split("quality gate failed")[1].split("hint")[0]
    written = json.loads((tmp_path / "r.json").read_text())  # written before the exit
    assert [(g["gate"], g["passed"]) for g in written["gates"]] == [
        ("iaa", False),
        ("defect_rate_max", True),
    ]
    assert written["gates"][0]["value"] == 0.5


def test_a_gate_that_cannot_be_measured_fails(datasets):
    good, _ = datasets
    done = run_cli("qa", str(good), "--fail-under", "f1=0.5")  # no gold set
    assert done.returncode == 7
    assert "f1: not measured" in done.stderr


def test_an_unknown_gate_is_a_config_error_naming_the_known_ones(datasets):
    good, _ = datasets
    done = run_cli("qa", str(good), "--fail-under", "agreement=0.8")
    assert done.returncode == 2
    assert "unknown gate 'agreement'" in done.stderr
    assert all(name in done.stderr for name in GATES)
    with pytest.raises(ConfigError):
        parse_gates("iaa=high")
    with pytest.raises(ConfigError):
        parse_gates("iaa")


def test_gate_evaluation_and_the_exit_code():
    report = {"agreement": {"overall": 0.8}, "defects": {"defect_rate": 0.1}}
    results = evaluate(report, parse_gates("iaa=0.8, defect_rate_max=0.05"))
    assert [r["passed"] for r in results] == [True, False]  # a floor is inclusive
    assert QualityGateFailed.exit_code == 7


def test_json_to_standard_output_and_bad_options(datasets, tmp_path):
    good, _ = datasets
    done = run_cli("qa", str(good), "--json", "-")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)  # nothing else on standard output
    assert report["counts"]["items"] == 10 and report["agreement"]["overall"] == pytest.approx(0.9)
    bad_sample = run_cli("qa", str(good), "--sample", "120%")
    assert bad_sample.returncode == 2 and "not a percentage" in bad_sample.stderr
    same = run_cli("qa", str(good), "-o", str(good))
    assert same.returncode == 2 and "is an input" in same.stderr
    assert good.read_text().startswith('{"format":"bridge-jsonl"')  # untouched


def test_every_json_field_is_documented(datasets):
    """Each key of the report (nested objects and list entries too, apart from the maps
    keyed by data: classes, tools, questions...) is named in docs/qa-report.md."""
    from bridge.qa.workflows.run import QaSettings, run_qa
    from tests.qa_report.builders import ROOT
    from tests.qa_report.test_qa_gold_and_defects import gold_items

    good, _ = datasets
    with_gold = write_jsonl(good.parent / "gold.jsonl", gold_items())
    report = run_qa([str(good), str(with_gold)], QaSettings())
    assert report["gold"]["available"] and report["gallery"] and report["queue"]["queue"]
    report["gates"] = evaluate(report, parse_gates("iaa=0.5"))
    docs = (ROOT / "docs" / "qa-report.md").read_text()
    keyed_by_data = {
        "classes",
        "by_split",
        "by_tool",
        "statuses",
        "alpha_by_question",
        "answers",
        "questions",
        "by_code",
        "counts",
        "by_fingerprint",
        "shape",  # a unified shape: `bridge schema` documents it
    }
    missing = set()

    def walk(value, name=None):
        if isinstance(value, dict):
            for key, inner in value.items():
                forms = (f"`{key}`", f".{key}`", f"`{key}.", f"`{key}[", f".{key}[]`")
                if not any(form in docs for form in forms):
                    missing.add(key)
                if key not in keyed_by_data:
                    walk(inner, key)
        elif isinstance(value, list):
            for inner in value:
                walk(inner, name)

    walk(report)
    assert missing == set()
