"""Labelbox's `project_details.workflow_history` becomes reviews of the row's labels, and
`bridge qa` counts a rejection in it even when the row ended Done.

The fixture row is `lb_export_samples.workflow_row()`: its history (Submit, Reject,
Submit, Approve; shape from Labelbox's export v2 glossary) is written out by hand there,
so the expected reviews below are read from that list, not from our output.
"""

from __future__ import annotations

import copy
import json
from datetime import datetime

import pytest
from bridge_labelbox.convert import data_row_to_item, item_record, item_to_data_row

from bridge.errors import FormatError
from bridge.losses import LossReport
from tests.qa_report.builders import run_cli

from . import lb_export_samples as samples

VERDICT = {"Submit": "commented", "Reject": "rejected", "Approve": "accepted"}


def read(row: dict):
    return data_row_to_item(row, LossReport(), where="row 1")


def test_workflow_history_entries_become_reviews_in_order():
    (aset,) = read(samples.workflow_row()).annotation_sets
    history = samples.WORKFLOW_HISTORY
    assert [r.status for r in aset.reviews] == [VERDICT[e["action"]] for e in history]
    assert [r.reviewer.email for r in aset.reviews] == [e["created_by"] for e in history]
    assert [r.created_at for r in aset.reviews] == [
        datetime.fromisoformat(e["created_at"]) for e in history
    ]
    assert aset.reviews[1].extra["lb_workflow_action"]["next_task_name"] == "Rework"
    assert aset.status == "accepted"  # workflow_status Done, as before


@pytest.mark.parametrize(("action", "status"), [("Rework", "rejected"), ("approve", "accepted")])
def test_rework_is_a_rejection_and_actions_are_read_without_case(action, status):
    row = samples.workflow_row()
    row["projects"]["pA"]["project_details"]["workflow_history"] = [
        {**samples.WORKFLOW_HISTORY[1], "action": action}
    ]
    (aset,) = read(row).annotation_sets
    assert [r.status for r in aset.reviews] == [status]


def test_every_label_of_the_project_gets_the_history_after_its_own_reviews():
    row = samples.image_row()
    row["projects"]["pA"]["project_details"]["workflow_history"] = samples.WORKFLOW_HISTORY[:2]
    sets = {s.id: s for s in read(row).annotation_sets}
    # labelA1 has one label review (Approve) of its own; labelB1 is another project's
    assert [r.status for r in sets["labelA1"].reviews] == ["accepted", "commented", "rejected"]
    assert [r.status for r in sets["labelA2"].reviews] == ["commented", "rejected"]
    assert sets["labelB1"].reviews == []


def test_history_goes_back_as_it_came_not_as_label_reviews():
    row = samples.workflow_row()
    back = item_to_data_row(read(row), LossReport())
    project = back["projects"]["pA"]
    assert project["project_details"]["workflow_history"] == samples.WORKFLOW_HISTORY
    assert project["labels"][0]["label_details"]["reviews"] == []


@pytest.mark.parametrize(
    "history",
    ["Approve", [["Approve"]], [{"action": 3}]],
)
def test_malformed_history_is_a_format_error_on_both_streams(history):
    row = samples.workflow_row()
    row["projects"]["pA"]["project_details"]["workflow_history"] = history
    with pytest.raises(FormatError):
        read(copy.deepcopy(row))
    with pytest.raises(FormatError):
        item_record(copy.deepcopy(row), LossReport(), where="row 1")


def test_bridge_qa_counts_the_rejection_in_the_history(tmp_path):
    """Two rows of Project A, both Done: the text row without history (reviewed, no
    defect) and the workflow row rejected once on its way (defective, rejected)."""
    plain = samples.text_row()
    plain["projects"]["pA"]["project_details"] = {"workflow_status": "Done"}
    path = tmp_path / "export.ndjson"
    path.write_text("".join(json.dumps(r) + "\n" for r in (plain, samples.workflow_row())))
    done = run_cli("qa", str(path), "--json", "-")
    assert done.returncode == 0, done.stderr
    defects = json.loads(done.stdout)["defects"]
    assert (defects["reviewed"], defects["defective"], defects["rejected"]) == (2, 1, 1)
    assert defects["defect_rate"] == pytest.approx(0.5)
