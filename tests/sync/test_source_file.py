"""A re-pull of an unchanged source file reads nothing (`bridge.store.source_file`): the
reader is not called when size, bytes and reading recipe match the last pull, even when
the file was touched; an edited file is read again. Counts by construction: the sample
Label Studio export has 102 tasks with one annotation each."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bridge import api
from bridge.cli import app

SAMPLE = (
    Path(__file__).resolve().parents[2]
    / "samples"
    / "labelstudio"
    / "export_v2_image_classification.json"
)
TASKS = 102


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "export.json"
    shutil.copyfile(SAMPLE, path)
    return path


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every source the reader opens (a spy around `bridge.api.open_dataset`)."""
    opened: list[str] = []
    real = api.open_dataset

    def spy(source, *args, **kwargs):
        opened.append(str(source))
        return real(source, *args, **kwargs)

    monkeypatch.setattr(api, "open_dataset", spy)
    return opened


def run(*args: str) -> dict:
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_a_repull_of_the_same_file_does_not_read_it(source, reads, tmp_path):
    ws = str(tmp_path / "ws.db")
    first = run("pull", str(source), "-w", ws)
    assert first["created"]["items"] == TASKS and "skipped" not in first
    assert len(reads) == 1
    again = run("pull", str(source), "-w", ws)
    assert again["skipped"] == "source unchanged"
    assert again["unchanged"]["items"] == TASKS
    assert again["unchanged"]["annotation_sets"] == TASKS
    assert len(reads) == 1  # the reader was not called


def test_a_touched_but_identical_file_is_still_skipped(source, reads, tmp_path):
    ws = str(tmp_path / "ws.db")
    run("pull", str(source), "-w", ws)
    stat = source.stat()
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    again = run("pull", str(source), "-w", ws)
    assert again["skipped"] == "source unchanged"
    assert len(reads) == 1


def test_an_edited_file_is_pulled(source, reads, tmp_path):
    ws = str(tmp_path / "ws.db")
    run("pull", str(source), "-w", ws)
    tasks = json.loads(source.read_text())
    choice = tasks[0]["annotations"][0]["result"][1]["value"]["choices"]
    choice[0] = "wear" if choice[0] != "wear" else "not_wear"
    source.write_text(json.dumps(tasks))
    again = run("pull", str(source), "-w", ws)
    assert "skipped" not in again
    assert len(reads) == 2
    assert again["updated"]["annotation_sets"] == 1
    assert again["unchanged"]["annotation_sets"] == TASKS - 1


def test_other_reading_options_or_match_rule_pull_again(source, reads, tmp_path):
    ws = str(tmp_path / "ws.db")
    run("pull", str(source), "-w", ws)
    again = run("pull", str(source), "-w", ws, "--from", "labelstudio")
    assert "skipped" not in again and len(reads) == 2
    # the same recipe again: skipped
    assert run("pull", str(source), "-w", ws, "--from", "labelstudio")["skipped"]
    assert len(reads) == 2


def test_a_rerun_of_migrate_skips_the_pull_and_sends_nothing(source, reads, tmp_path):
    ws = str(tmp_path / "ws.db")
    out = tmp_path / "out.jsonl"
    first = run("migrate", str(source), str(out), "-w", ws)
    assert "skipped" not in first["pull"]
    assert first["plan"]["create"]["item"] == TASKS
    again = run("migrate", str(source), str(out), "-w", ws)
    assert again["pull"]["skipped"] == "source unchanged"
    assert len(reads) == 1
    assert sum(again["plan"]["create"].values()) == 0
    assert sum(again["plan"]["update"].values()) == 0
    assert again["plan"]["unchanged"]["item"] == TASKS
