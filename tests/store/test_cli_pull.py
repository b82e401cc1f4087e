"""`bridge pull` as a user runs it (subprocesses): the printed summary, `--json`, the
workspace from `--workspace` and from BRIDGE_WORKSPACE, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.store.data import make_items, write_jsonl

ROOT = Path(__file__).resolve().parents[2]


def bridge(*args, cwd=None, env=None):
    return subprocess.run(
        [sys.executable, "-m", "bridge.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env={**os.environ, **(env or {})},
    )


def test_pull_json_then_repull_and_a_removed_item(tmp_path):
    path = write_jsonl(tmp_path / "x.jsonl", make_items(8))
    ws = tmp_path / "ws.db"
    first = bridge("pull", path, "--name", "mine", "--workspace", ws, "--json")
    assert first.returncode == 0, first.stderr
    result = json.loads(first.stdout)
    assert result["source"] == "mine" and result["match"] == "key"
    assert result["created"] == {"items": 8, "annotation_sets": 8, "labels": 2}
    write_jsonl(path, make_items(7))
    second = bridge("pull", path, "--name", "mine", "-w", ws, "--json")
    again = json.loads(second.stdout)
    assert again["unchanged"]["items"] == 7 and again["disappeared"]["items"] == 1


def test_pull_prints_a_summary_into_the_workspace_from_the_environment(tmp_path):
    path = write_jsonl(tmp_path / "x.jsonl", make_items(4))
    done = bridge(
        "pull", path, "--match", "filename", env={"BRIDGE_WORKSPACE": str(tmp_path / "e.db")}
    )
    assert done.returncode == 0, done.stderr
    assert "items: 4 created, 0 unchanged" in done.stdout
    assert "annotation sets: 4 created, 0 unchanged" in done.stdout
    assert (tmp_path / "e.db").exists()
    assert "x.jsonl" in done.stderr and "match filename" in done.stderr


def test_pull_reports_unmatched_items_as_losses(tmp_path):
    path = write_jsonl(tmp_path / "x.jsonl", make_items(3) + make_items(2, prefix="zzz"))
    done = bridge("pull", path, "--match", r"regex:img_(\d+)", "-w", tmp_path / "w.db", "--json")
    result = json.loads(done.stdout)
    assert result["created"]["items"] == 3
    assert [(loss["code"], loss["count"]) for loss in result["losses"]] == [("unmatched", 2)]


def test_a_bad_match_rule_is_a_usage_error_and_creates_no_workspace(tmp_path):
    path = write_jsonl(tmp_path / "x.jsonl", make_items(1))
    done = bridge("pull", path, "--match", "nonsense", "-w", tmp_path / "w.db")
    assert done.returncode == 2
    assert "unknown --match rule" in done.stderr and "hint:" in done.stderr
    assert not (tmp_path / "w.db").exists()
