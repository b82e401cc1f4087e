"""Pulling into the workspace, on SQLite and PostgreSQL: aggregation of two tools'
exports of the same images, re-pulls (unchanged / one edit / one removal), match rules
and unmatched items. Expected counts come from how the data was built (tests/store/data.py),
never from the code under test."""

from __future__ import annotations

from pathlib import Path

import pytest
from defusedxml import ElementTree

from bridge.api import open_dataset
from bridge.errors import ConfigError
from bridge.store import MatchRule, SourceSpec, open_workspace
from tests.store.data import VENDOR_A, VENDOR_B, boxes_of, make_items, two_exports, write_jsonl

COUNT = 50


def pull(ws, path: Path, name: str, match: str = "filename"):
    return ws.pull(open_dataset(path), SourceSpec(name, location=str(path)), MatchRule.parse(match))


@pytest.fixture
def exports(tmp_path):
    return two_exports(tmp_path, COUNT)


def test_two_tools_exports_of_the_same_images_become_one_item_with_two_sets(workspace_url, exports):
    cvat, labelbox = exports
    with open_workspace(workspace_url) as ws:
        first = pull(ws, cvat, "vendor-a")
        second = pull(ws, labelbox, "vendor-b")
        stored = list(ws.iter_items())
    assert first.created["items"] == COUNT and first.created["annotation_sets"] == COUNT
    assert second.created["items"] == 0 and second.matched["items"] == COUNT
    assert second.created["annotation_sets"] == COUNT
    assert len(stored) == COUNT
    for entry in stored:
        index = int(entry.match.removeprefix("img_").removesuffix(".jpg"))
        assert entry.match == f"img_{index:03d}.jpg"
        assert [s.source for s in entry.sets] == ["vendor-a", "vendor-b"]
        assert sorted(entry.sources) == ["vendor-a", "vendor-b"]
        a_set, b_set = entry.item.annotation_sets
        assert a_set.annotator is not None and a_set.annotator.email == VENDOR_A
        assert b_set.annotator is not None and b_set.annotator.email == VENDOR_B
        assert len(a_set.regions) == len(b_set.regions) == boxes_of(index)
        # the same boxes by construction: identical geometry from both tools
        assert [r.shape for r in a_set.regions] == [r.shape for r in b_set.regions]
        assert entry.sets[0].hash != "" and len({s.set_id for s in entry.sets}) == 2


def test_repull_of_unchanged_files_changes_nothing(workspace_url, exports):
    cvat, labelbox = exports
    with open_workspace(workspace_url) as ws:
        pull(ws, cvat, "vendor-a")
        pull(ws, labelbox, "vendor-b")
        before = [(s.item_id, [x.set_id for x in s.sets]) for s in ws.iter_items()]
        again_a = pull(ws, cvat, "vendor-a")
        again_b = pull(ws, labelbox, "vendor-b")
        after = [(s.item_id, [x.set_id for x in s.sets]) for s in ws.iter_items()]
    for again in (again_a, again_b):
        assert again.unchanged["items"] == COUNT
        assert again.unchanged["annotation_sets"] == COUNT
        assert again.unchanged["labels"] == 2
        for action in ("created", "matched", "updated", "disappeared"):
            assert sum(getattr(again, action).values()) == 0, action
    assert after == before  # stable workspace ids


def _edit_cvat(path: Path, image_name: str, change) -> None:
    tree = ElementTree.parse(path)
    root = tree.getroot()
    image = next(i for i in root.iter("image") if i.get("name") == image_name)
    change(root, image)
    tree.write(path, encoding="utf-8", xml_declaration=True)


def test_editing_one_set_updates_exactly_that_set(workspace_url, exports):
    cvat, labelbox = exports
    with open_workspace(workspace_url) as ws:
        pull(ws, cvat, "vendor-a")
        pull(ws, labelbox, "vendor-b")
        old = {s.match: s for s in ws.iter_items()}

        def move_box(root, image):
            box = image.find("box")
            box.set("xtl", "11")

        _edit_cvat(cvat, "images/img_007.jpg", move_box)
        again = pull(ws, cvat, "vendor-a")
        new = {s.match: s for s in ws.iter_items()}
    assert again.updated["annotation_sets"] == 1
    assert again.unchanged["annotation_sets"] == COUNT - 1
    assert again.updated["items"] == 0 and again.unchanged["items"] == COUNT
    changed = [m for m in new if [s.hash for s in new[m].sets] != [s.hash for s in old[m].sets]]
    assert changed == ["img_007.jpg"]
    edited = new["img_007.jpg"]
    assert edited.sets[0].set_id == old["img_007.jpg"].sets[0].set_id  # same set, new content
    assert edited.item.annotation_sets[0].regions[0].shape.x == 11.0
    assert edited.sets[1].hash == old["img_007.jpg"].sets[1].hash  # vendor B's set untouched


def test_an_item_removed_from_one_source_is_recorded_as_disappeared(workspace_url, exports):
    cvat, labelbox = exports
    with open_workspace(workspace_url) as ws:
        pull(ws, cvat, "vendor-a")
        pull(ws, labelbox, "vendor-b")
        ids = {s.match: s for s in ws.iter_items()}
        _edit_cvat(cvat, "images/img_012.jpg", lambda root, image: root.remove(image))
        again = pull(ws, cvat, "vendor-a")
        assert again.disappeared["items"] == 1 and again.disappeared["annotation_sets"] == 1
        assert again.unchanged["items"] == COUNT - 1
        # vendor B still holds the image: the item stays, vendor A's set is a tombstone
        assert list(ws.deleted("item")) == []
        assert list(ws.deleted("annotation_set")) == [ids["img_012.jpg"].sets[0].set_id]
        kept = {s.match: s for s in ws.iter_items()}["img_012.jpg"]
        assert [s.source for s in kept.sets] == ["vendor-b"]
        assert kept.sources == ["vendor-b"]
        # once no source holds it, the item itself is a tombstone
        lines = [line for line in labelbox.read_text().splitlines() if "img_012.jpg" not in line]
        labelbox.write_text("\n".join(lines) + "\n")
        last = pull(ws, labelbox, "vendor-b")
        assert last.disappeared["items"] == 1
        assert list(ws.deleted("item")) == [ids["img_012.jpg"].item_id]
        assert len(list(ws.iter_items())) == COUNT - 1
        assert ws.counts()["disappeared_items"] == 1


def test_a_reappearing_item_gets_its_old_workspace_id(workspace_url, tmp_path):
    path = tmp_path / "one.jsonl"
    items = make_items(5)
    with open_workspace(workspace_url) as ws:
        write_jsonl(path, items)
        pull(ws, path, "s", "key")
        first = {s.match: s.item_id for s in ws.iter_items()}
        write_jsonl(path, items[:3])
        gone = pull(ws, path, "s", "key")
        assert gone.disappeared["items"] == 2 and gone.disappeared["annotation_sets"] == 2
        assert sorted(ws.deleted("item")) == sorted(
            first[k] for k in ("img_003.jpg", "img_004.jpg")
        )
        write_jsonl(path, items)
        back = pull(ws, path, "s", "key")
        assert back.created["items"] == 2 and back.unchanged["items"] == 3
        assert {s.match: s.item_id for s in ws.iter_items()} == first
        assert list(ws.deleted("item")) == []


def test_regex_rule_and_unmatched_items_are_reported_not_pulled(workspace_url, tmp_path):
    path = tmp_path / "mixed.jsonl"
    items = make_items(6) + make_items(2, prefix="other")
    write_jsonl(path, items)
    with open_workspace(workspace_url) as ws:
        result = pull(ws, path, "s", r"regex:img_(\d+)")
        matches = sorted(s.match for s in ws.iter_items())
    assert matches == [f"{i:03d}" for i in range(6)]
    assert result.created["items"] == 6
    assert result.losses.count("unmatched") == 2


def test_changing_the_match_rule_of_a_source_is_refused(workspace_url, tmp_path):
    path = write_jsonl(tmp_path / "x.jsonl", make_items(3))
    with open_workspace(workspace_url) as ws:
        pull(ws, path, "s", "key")
        with pytest.raises(ConfigError, match="--match key"):
            pull(ws, path, "s", "filename")


def test_the_merged_project_unites_the_sources_labels(workspace_url, exports):
    cvat, labelbox = exports
    with open_workspace(workspace_url) as ws:
        pull(ws, cvat, "vendor-a")
        pull(ws, labelbox, "vendor-b")
        project = ws.project()
        sources = {s["name"]: s for s in ws.summary()["sources"]}
    assert sorted(label.name for label in project.ontology.labels) == ["cat", "dog"]
    assert sources["vendor-a"]["counts"]["items"] == COUNT
    assert sources["vendor-b"]["counts"]["annotation_sets"] == COUNT
    assert sources["vendor-a"]["location"] == str(cvat)


def test_iter_items_of_one_source_holds_only_its_sets(workspace_url, exports):
    cvat, labelbox = exports
    with open_workspace(workspace_url) as ws:
        pull(ws, cvat, "vendor-a")
        pull(ws, labelbox, "vendor-b")
        only_b = list(ws.iter_items(["vendor-b"]))
        with pytest.raises(ConfigError, match="no source named"):
            list(ws.iter_items(["nobody"]))
    assert len(only_b) == COUNT
    assert all([s.source for s in entry.sets] == ["vendor-b"] for entry in only_b)
    assert all(entry.item.annotation_sets[0].annotator.email == VENDOR_B for entry in only_b)
