"""Push to a file target through a real SQLite workspace (no server): the demo's pair of
exports of the same 102 images, idempotence (a rerun rewrites nothing), a change rewrites
the file, a removed file is written again, `bridge status` counts what a push would send.

Counts come from the samples by construction: the Labelbox export has 102 data rows with
one label each, and the Label Studio file was written from it (102 tasks, one annotation)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bridge.api import open_dataset
from bridge.cli.workspace import source_spec
from bridge.losses import LossReport
from bridge.store import MatchRule, open_workspace
from bridge.sync.engine import PushOptions, push
from bridge.sync.filetarget import FileTarget
from bridge.sync.status import workspace_status

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
LABELBOX = SAMPLES / "labelbox" / "export_v2_image_classification.ndjson"
LABELSTUDIO = SAMPLES / "labelstudio" / "export_v2_image_classification.json"
ROWS = 102


def pull(ws, path: Path, name: str) -> None:
    dataset = open_dataset(path, None, LossReport())
    ws.pull(dataset, source_spec(str(path), name, dataset), MatchRule.parse("uri"))


@pytest.fixture
def ws(tmp_path):
    with open_workspace(tmp_path / "ws.db") as workspace:
        pull(workspace, LABELBOX, "labelbox")
        pull(workspace, LABELSTUDIO, "labelstudio")
        yield workspace


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()][1:]  # header first


def test_two_exports_of_the_same_images_become_one_file_of_items_with_two_sets(ws, tmp_path):
    out = tmp_path / "merged.jsonl"
    dry = push(ws, FileTarget(out), PushOptions(dry_run=True))
    assert dry.plan.counts()["create"] == {"project": 1, "item": ROWS, "annotation_set": 2 * ROWS}
    assert not out.exists()
    done = push(ws, FileTarget(out))
    assert done.applied["create"] == {"project": 1, "item": ROWS, "annotation_set": 2 * ROWS}
    items = lines(out)
    assert len(items) == ROWS
    assert all(len(item["annotation_sets"]) == 2 for item in items)


def test_a_rerun_sends_nothing_and_leaves_the_file_alone(ws, tmp_path):
    out = tmp_path / "merged.jsonl"
    push(ws, FileTarget(out))
    os.utime(out, (1_000_000, 1_000_000))
    again = push(ws, FileTarget(out))
    assert again.plan.sends_nothing
    assert again.plan.counts()["unchanged"] == {
        "project": 1,
        "item": ROWS,
        "annotation_set": 2 * ROWS,
    }
    assert out.stat().st_mtime == 1_000_000


def test_sets_selection_and_a_removed_file_written_again(ws, tmp_path):
    out = tmp_path / "one.jsonl"
    first = push(ws, FileTarget(out), PushOptions(sets="source=labelbox"))
    assert first.applied["create"]["annotation_set"] == ROWS
    assert all(len(item["annotation_sets"]) == 1 for item in lines(out))
    out.unlink()
    again = push(ws, FileTarget(out), PushOptions(sets="source=labelbox"))
    assert again.applied["create"] == {"project": 0, "item": ROWS, "annotation_set": ROWS}
    assert len(lines(out)) == ROWS


def test_status_counts_what_a_push_would_send(ws, tmp_path):
    out = tmp_path / "merged.jsonl"
    push(ws, FileTarget(out), PushOptions(sets="source=labelbox"))
    status = workspace_status(ws)
    assert [s["name"] for s in status["sources"]] == ["labelbox", "labelstudio"]
    (target,) = status["targets"]
    assert target["project"] == str(out.absolute())
    assert target["last_sync"] is not None
    pending = target["pending"]
    assert sum(pending["create"].values()) == 0 and sum(pending["update"].values()) == 0
    assert pending["unchanged"] == {"project": 1, "item": ROWS, "annotation_set": ROWS}


def test_a_dry_run_reports_the_losses_of_the_push_and_writes_nothing(tmp_path):
    video = SAMPLES / "cvat" / "for_video.xml"  # tracks: Label Studio JSON cannot hold all
    out = tmp_path / "video.labelstudio.json"
    with open_workspace(tmp_path / "ws.db") as workspace:
        pull(workspace, video, "cvat")
        dry = push(workspace, FileTarget(out, "labelstudio"), PushOptions(dry_run=True))
        assert not out.exists()
        real = push(workspace, FileTarget(out, "labelstudio"))
    assert out.exists()
    assert dry.losses.as_dict() and dry.losses.as_dict() == real.losses.as_dict()


def test_the_fast_desired_path_agrees_with_the_items(ws):
    from bridge.sync.desired import desired_all
    from bridge.sync.engine import prediction_hash, selected_items

    def shape(desired):
        return {(d.item_id, d.hash, frozenset(d.sets)) for d in desired}

    for sources in (None, ["labelstudio"]):
        for as_predictions in (False, True):
            options = PushOptions(sources=sources, as_predictions=as_predictions)
            slow = [chosen.desired() for chosen in selected_items(ws, options)]
            fast = desired_all(ws, sources, prediction_hash if as_predictions else None)
            assert len(slow) == ROWS and shape(fast) == shape(slow)
