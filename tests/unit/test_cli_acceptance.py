"""Acceptance checks of the `bridge` CLI on the shipped fixtures, run as a user would
(subprocesses): conversions between the file formats and the errors bad input must give
(one or two lines, a hint, a non-zero exit code, no traceback, no output left behind)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
LABELBOX_EXPORT = FIXTURES / "labelbox" / "export_v2_image_classification.ndjson"
CVAT_VIDEO = FIXTURES / "cvat" / "for_video.xml"


def run_bridge(*args, env=None, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "bridge.cli", *map(str, args)],
        capture_output=True,
        text=True,
        env=env if env is not None else dict(os.environ),
        cwd=cwd,
        timeout=120,
    )


def assert_clean_error(done, code=2):
    """A user error: the given exit code, `error:` and a `hint:` line, no traceback."""
    assert done.returncode == code, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    assert "error:" in done.stderr and "hint:" in done.stderr, done.stderr


def test_labelbox_export_to_labelstudio_keeps_the_radio_answers(tmp_path):
    target = tmp_path / "tasks.json"
    done = run_bridge("convert", LABELBOX_EXPORT, target, "--to", "labelstudio")
    assert done.returncode == 0, done.stderr
    tasks = json.loads(target.read_text())
    first = tasks[0]
    assert first["data"]["image"].endswith("bdabc5cfa3eb4d16ace5af44cbc0cf9d_vexcel.png")
    results = {r["from_name"]: r for r in first["annotations"][0]["result"]}
    # the fixture's first row answers bad_image=False and wear=not_wear
    assert results["bad_image"]["value"] == {"choices": ["False"]}
    assert results["wear"]["value"] == {"choices": ["not_wear"]}
    assert results["wear"]["type"] == "choices"
    # Labelbox's own fields (feature schema ids, data row details) are not Label Studio's
    assert "lb_data_row" not in first
    assert "feature_schema_id" not in results["wear"]


def test_output_in_a_path_that_cannot_be_created_is_a_clean_error(tmp_path):
    not_a_dir = tmp_path / "file.txt"
    not_a_dir.write_text("x")
    done = run_bridge("convert", CVAT_VIDEO, not_a_dir / "out.jsonl")
    assert_clean_error(done)
    assert str(not_a_dir / "out.jsonl") in done.stderr


def test_output_that_is_an_existing_directory_is_a_clean_error(tmp_path):
    target = tmp_path / "out.jsonl"
    target.mkdir()
    done = run_bridge("convert", CVAT_VIDEO, target)
    assert_clean_error(done)
    assert list(tmp_path.iterdir()) == [target]  # no temporary file left beside it
    assert list(target.iterdir()) == []


def test_report_in_a_missing_directory_is_written_like_the_output(tmp_path):
    report = tmp_path / "reports" / "losses.json"
    done = run_bridge("convert", CVAT_VIDEO, tmp_path / "out.jsonl", "--report", report)
    assert done.returncode == 0, done.stderr
    assert json.loads(report.read_text()) == {"losses": []}


def test_report_that_cannot_be_written_is_a_clean_error(tmp_path):
    not_a_dir = tmp_path / "file.txt"
    not_a_dir.write_text("x")
    done = run_bridge(
        "convert", CVAT_VIDEO, tmp_path / "out.jsonl", "--report", not_a_dir / "r.json"
    )
    assert_clean_error(done)


def test_cvat_writer_refuses_a_mistyped_mode(tmp_path):
    target = tmp_path / "out.xml"
    done = run_bridge("convert", CVAT_VIDEO, target, "--to", "cvat", "-O", "mode=vidoe")
    assert_clean_error(done)
    assert "vidoe" in done.stderr and "video" in done.stderr
    assert not target.exists()


def _labelbox_item_answers() -> int:
    """How many item-level classifications the Labelbox fixture's labels hold."""
    total = 0
    for line in LABELBOX_EXPORT.read_text().splitlines():
        for project in json.loads(line)["projects"].values():
            for label in project["labels"]:
                total += len(label["annotations"]["classifications"])
    return total


def test_cvat_writer_reports_the_item_answers_it_cannot_hold(tmp_path):
    report = tmp_path / "losses.json"
    done = run_bridge("convert", LABELBOX_EXPORT, tmp_path / "out.xml", "--report", report)
    assert done.returncode == 0, done.stderr
    losses = {loss["code"]: loss for loss in json.loads(report.read_text())["losses"]}
    assert losses["cvat.set_classification"]["count"] == _labelbox_item_answers() > 0
    strict = run_bridge("convert", LABELBOX_EXPORT, tmp_path / "out2.xml", "--strict")
    assert strict.returncode == 6, strict.stderr


def test_cvat_writer_reports_relations_and_text_content(tmp_path):
    report = tmp_path / "losses.json"
    source = FIXTURES / "labelstudio" / "real_ner.json"
    done = run_bridge("convert", source, tmp_path / "out.xml", "--to", "cvat", "--report", report)
    assert done.returncode == 0, done.stderr
    losses = {loss["code"]: loss for loss in json.loads(report.read_text())["losses"]}
    tasks = json.loads(source.read_text())
    relations = sum(
        1
        for t in tasks
        for a in t["annotations"][:1]
        for r in a["result"]
        if r["type"] == "relation"
    )
    assert losses["cvat.relation"]["count"] == relations > 0
    assert losses["cvat.non_visual_media"]["count"] == len(tasks)
    assert losses["cvat.annotator"]["count"] == 1  # the annotation by Label Studio user 1


def test_cvat_round_trip_keeps_its_assignees_without_an_annotator_loss(tmp_path):
    report = tmp_path / "losses.json"
    source = FIXTURES / "cvat" / "video_project.xml"
    done = run_bridge("convert", source, tmp_path / "o.xml", "--report", report)
    assert done.returncode == 0, done.stderr
    assert json.loads(report.read_text()) == {"losses": []}
    again = run_bridge("inspect", tmp_path / "o.xml", "--json")
    before = run_bridge("inspect", source, "--json")
    assert json.loads(again.stdout)["annotators"] == json.loads(before.stdout)["annotators"] != []


def test_media_size_is_not_reported_as_size_unknown(tmp_path):
    source = FIXTURES / "labelstudio" / "real_video_tracking.json"
    report = tmp_path / "losses.json"
    without = run_bridge("convert", source, tmp_path / "a.jsonl", "--report", report)
    assert without.returncode == 0, without.stderr
    assert "size-unknown" in {loss["code"] for loss in json.loads(report.read_text())["losses"]}
    done = run_bridge(
        "convert", source, tmp_path / "b.jsonl", "-O", "media_size=640x480", "--strict"
    )
    assert done.returncode == 0, done.stderr  # nothing lost: every shape is now in pixels
    assert "nothing lost" in done.stderr
    lines = (tmp_path / "b.jsonl").read_text().splitlines()[1:]
    assert '"percent"' not in "".join(lines)


def test_a_directory_as_input_is_a_clean_error_with_a_hint(tmp_path):
    done = run_bridge("inspect", FIXTURES / "cvat")
    assert_clean_error(done)
    assert done.stderr.count(str(FIXTURES / "cvat")) == 1  # named once, not twice


def test_a_write_only_format_as_input_is_a_clean_error_with_a_hint(tmp_path):
    done = run_bridge("inspect", LABELBOX_EXPORT, "--from", "labelbox-import")
    assert_clean_error(done)


def test_live_cvat_url_without_its_token_is_a_clean_error_before_any_request():
    env = {k: v for k, v in os.environ.items() if k != "CVAT_ACCESS_TOKEN"}
    # a host that cannot resolve: the error must be about the token, not the network
    done = run_bridge("inspect", "cvat://cvat.invalid/tasks/42", env=env)
    assert_clean_error(done)
    assert "CVAT_ACCESS_TOKEN is not set" in done.stderr


def test_loss_examples_name_distinct_places(tmp_path):
    # three rotated boxes of one task lose their rotation in Labelbox: one place, not three
    report = tmp_path / "losses.json"
    source = FIXTURES / "labelstudio" / "real_image_boxes.json"
    done = run_bridge(
        "convert", source, tmp_path / "o.ndjson", "--to", "labelbox", "--report", report
    )
    assert done.returncode == 0, done.stderr
    losses = {loss["code"]: loss for loss in json.loads(report.read_text())["losses"]}
    rotation = losses["labelbox-rotation-dropped"]
    assert rotation["count"] == 3
    assert rotation["examples"] == ["item https://example.invalid/street.jpg"]


def test_labelbox_writer_reports_an_annotator_known_only_by_id(tmp_path):
    # the Label Studio export names its annotator by user id 1, without an e-mail
    report = tmp_path / "losses.json"
    source = FIXTURES / "labelstudio" / "real_ner.json"
    target = tmp_path / "o.ndjson"
    done = run_bridge("convert", source, target, "--to", "labelbox", "--report", report)
    assert done.returncode == 0, done.stderr
    losses = {loss["code"]: loss for loss in json.loads(report.read_text())["losses"]}
    assert losses["labelbox-annotator-id-only"]["count"] == 1
    row = json.loads(target.read_text().splitlines()[0])
    labels = [label for p in row["projects"].values() for label in p["labels"]]
    assert all(label["label_details"].get("created_by", "") is not None for label in labels)


def _schema_keys(path: Path) -> set[str]:
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    return {key for row in rows for key in ("name", "schemaId") if key in row}


def test_labelbox_import_use_schema_ids_no_means_off_and_a_typo_is_an_error(tmp_path):
    source = FIXTURES / "labelbox" / "export_v2_image_classification.ndjson"
    for value, expected in (("no", {"name"}), ("false", {"name"}), ("yes", {"schemaId"})):
        target = tmp_path / f"{value}.ndjson"
        done = run_bridge(
            "convert", source, target, "--to", "labelbox-import", "-O", f"use_schema_ids={value}"
        )
        assert done.returncode == 0, done.stderr
        assert _schema_keys(target) == expected, value
    target = tmp_path / "typo.ndjson"
    done = run_bridge(
        "convert", source, target, "--to", "labelbox-import", "-O", "use_schema_ids=maybe"
    )
    assert_clean_error(done)
    assert not target.exists()


def test_empty_and_truncated_files_give_a_hint(tmp_path):
    empty = tmp_path / "empty.json"
    empty.write_text("")
    for fmt in ("jsonl", "labelstudio", "cvat"):
        assert_clean_error(run_bridge("inspect", empty, "--from", fmt))
    unified = tmp_path / "unified.jsonl"
    assert run_bridge("convert", CVAT_VIDEO, unified).returncode == 0
    text = unified.read_text()
    cut = tmp_path / "cut.jsonl"
    cut.write_text(text[: len(text) - 40])  # the last item line cut short
    done = run_bridge("convert", cut, tmp_path / "out.json", "--to", "labelstudio")
    assert_clean_error(done)
    assert f"{cut}:" in done.stderr
    assert not (tmp_path / "out.json").exists()


def test_label_config_of_another_tool_gives_a_hint(tmp_path):
    # a CVAT file passed as the Label Studio label config (an easy slip)
    source = FIXTURES / "labelstudio" / "real_ner.json"
    done = run_bridge("convert", source, tmp_path / "o.jsonl", "-O", f"label_config={CVAT_VIDEO}")
    assert_clean_error(done)
    assert "<annotations>" in done.stderr
    assert not (tmp_path / "o.jsonl").exists()
