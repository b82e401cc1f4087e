"""`bridge sync CONFIG` end to end on a shipped CVAT export (no server): the config's label
map merges the export's two labels, the push writes a file target, a rerun sends nothing,
and a bad config is one clean error with nothing written. Expected counts are read from the
XML with a regular expression, not through our reader."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from bridge.store import open_workspace

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "cvat" / "for_images_export_project.xml"

CONFIG = f"""\
workspace: ws.db
sources:
  - name: vendor-a
    path: {SAMPLE}
    from: cvat
target:
  path: out/review.jsonl
labels:
  label1: thing
  label2: thing
"""


def run_bridge(*args: object, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bridge.cli", *map(str, args)],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        cwd=cwd,
        timeout=300,
    )


def shapes_in_sample() -> dict[str, int]:
    """label -> number of shapes in the sample's <image> elements."""
    body = SAMPLE.read_text()
    images = "".join(re.findall(r"<image .*?</image>", body, flags=re.S))
    counts: dict[str, int] = {}
    for label in re.findall(
        r'<(?:box|polygon|polyline|points|ellipse|mask|tag)\b[^>]*\blabel="([^"]+)"', images
    ):
        counts[label] = counts.get(label, 0) + 1
    return counts


def test_sync_applies_the_label_map_and_a_rerun_sends_nothing(tmp_path: Path) -> None:
    config = tmp_path / "configs" / "merge.yaml"
    config.parent.mkdir()
    config.write_text(CONFIG)
    done = run_bridge("sync", config, "--json", cwd=tmp_path)  # another cwd: paths are the config's
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    expected = shapes_in_sample()
    assert set(expected) == {"label1", "label2"}
    written = (config.parent / "out" / "review.jsonl").read_text().splitlines()
    header, records = json.loads(written[0]), [json.loads(line) for line in written[1:]]
    labels = [r["label"] for item in records for s in item["annotation_sets"] for r in s["regions"]]
    assert labels == ["thing"] * sum(expected.values())
    assert [label["name"] for label in header["project"]["ontology"]["labels"]] == ["thing"]
    (pulled,) = result["pull"]
    merged = [loss for loss in pulled["losses"] if loss["code"] == "label-merged"]
    assert merged and merged[0]["count"] == sum(expected.values())
    assert (config.parent / "ws.db").exists()

    again = run_bridge("sync", config, "--json", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    plan = json.loads(again.stdout)["plan"]
    assert plan["create"] == plan["update"] == {"project": 0, "item": 0, "annotation_set": 0}


def test_a_typo_is_one_clean_error_and_nothing_is_created(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    text = CONFIG.replace("labels:", "lables:")
    config.write_text(text)
    done = run_bridge("sync", config, cwd=tmp_path)
    line = text.splitlines().index("lables:") + 1
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert f"{config}:{line}:1: unknown key 'lables'" in done.stderr
    assert "did you mean 'labels'?" in done.stderr
    assert not (tmp_path / "ws.db").exists() and not (tmp_path / "out").exists()


def test_an_unknown_label_is_one_clean_error_and_nothing_is_pulled(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    text = CONFIG.replace("  label2: thing", "  label7: thing")
    config.write_text(text)
    done = run_bridge("sync", config, cwd=tmp_path)
    line = text.splitlines().index("  label7: thing") + 1
    assert done.returncode == 2, done.stderr
    assert f"{config}:{line}:3: label map: 'label7' is a label of no source" in done.stderr
    assert "source labels: label1, label2" in done.stderr
    assert not (tmp_path / "out").exists()
    if (tmp_path / "ws.db").exists():
        with open_workspace(tmp_path / "ws.db") as ws:
            assert list(ws.iter_items()) == []
