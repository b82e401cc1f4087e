"""The workspace API the sync side builds on: `content_hash`, `MatchRule`, links,
syncs and the summary (on SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib
import json

import pytest

from bridge.errors import ConfigError
from bridge.schema import AnnotationSet, BBox, Item, Media, Region, Relation, SourceRef
from bridge.secrets import register
from bridge.store import Link, MatchRule, TargetRef, content_hash, open_workspace
from bridge.store.types import strip_credentials

TARGET = TargetRef("labelstudio", "127.0.0.1:8080", "12")


def test_content_hash_of_plain_data_is_sha256_of_sorted_compact_json():
    data = {"b": [1, 2.5, "x"], "a": {"d": None, "c": True}, "source": {"tool": "cvat"}}
    reference = json.dumps(
        {"a": {"c": True, "d": None}, "b": [1, 2.5, "x"]}, sort_keys=True, separators=(",", ":")
    )
    assert content_hash(data) == hashlib.sha256(reference.encode()).hexdigest()


def _set(ids=("r1", "r2"), x=1.0, tool="cvat", set_id="7"):
    return AnnotationSet(
        id=set_id,
        source=SourceRef(tool=tool, annotation=set_id),
        extra={"vendor": tool},
        regions=[
            Region(id=ids[0], label="cat", shape=BBox(x=x, y=2, width=3, height=4)),
            Region(id=ids[1], label="dog", shape=BBox(x=5, y=6, width=7, height=8)),
        ],
        relations=[Relation(from_id=ids[0], to_id=ids[1], label="near")],
    )


def test_content_hash_ignores_tool_ids_and_provenance_but_not_content():
    base = content_hash(_set())
    assert content_hash(_set(ids=("a9", "b7"), tool="labelstudio", set_id="99")) == base
    assert content_hash(_set(x=1.5)) != base
    swapped = _set()
    swapped.relations[0] = Relation(from_id="r2", to_id="r1", label="near")
    assert content_hash(swapped) != base


def _item(key="k", uri=None):
    return Item(key=key, media=Media(kind="image", uri=uri))


@pytest.mark.parametrize(
    ("rule", "item", "expected"),
    [
        ("key", _item("a/b.jpg"), "a/b.jpg"),
        ("uri", _item("k", "s3://bucket/x/y.png"), "s3://bucket/x/y.png"),
        ("uri", _item("k"), None),
        ("filename", _item("k", "https://h/x/y.png?sig=1"), "y.png"),
        ("filename", _item("dir\\sub\\z.jpg"), "z.jpg"),
        ("filename", _item("images/img_1.jpg", "/data/img_1.jpg"), "img_1.jpg"),
        (r"regex:img_(\d+)", _item("images/img_0042.jpg"), "0042"),
        (r"regex:\d+", _item("frame-17-x"), "17"),
        (r"regex:(\d+)", _item("none", "http://h/a/55.jpg"), "55"),
        (r"regex:(\d+)", _item("none"), None),
    ],
)
def test_match_rules(rule, item, expected):
    assert MatchRule.parse(rule).value(item) == expected


@pytest.mark.parametrize("bad", ["name", "regex:", "regex:(unclosed"])
def test_bad_match_rules_are_config_errors_with_a_hint(bad):
    with pytest.raises(ConfigError) as caught:
        MatchRule.parse(bad)
    assert caught.value.hint


def test_locations_are_stored_without_credentials():
    assert (
        strip_credentials("labelstudio://ann:pw@h:8080/projects/3?token=abc&page=2")
        == "labelstudio://h:8080/projects/3?page=2"
    )
    assert strip_credentials("/data/export.json") == "/data/export.json"


def test_a_registered_secret_under_an_innocent_query_name_is_not_stored():
    secret = "reg1stered-Tok3n-q7"
    register(secret)
    stored = strip_credentials(f"labelstudio://h:8080/projects/3?view={secret}&page=2")
    assert secret not in stored
    assert stored.startswith("labelstudio://h:8080/projects/3?view=") and stored.endswith("&page=2")


def test_links_are_recorded_replaced_and_forgotten_per_target_and_kind(workspace_url):
    other = TargetRef("file", "", "/tmp/out.json")
    with open_workspace(workspace_url) as ws:
        ws.record_links(
            TARGET,
            "item",
            [Link("e1", "item", "101", "h1", {"parent": "p"}), Link("e2", "item", "102", None)],
        )
        ws.record_links(TARGET, "annotation_set", [Link("e1", "annotation_set", "9001", "s")])
        ws.record_links(other, "item", [Link("e1", "item", "1", "x")])
        ws.record_links(TARGET, "item", [Link("e2", "item", "202", "h2")])  # replaces
        assert ws.links(TARGET, "item") == {
            "e1": Link("e1", "item", "101", "h1", {"parent": "p"}),
            "e2": Link("e2", "item", "202", "h2", {}),
        }
        assert ws.links(TARGET, "annotation_set") == {
            "e1": Link("e1", "annotation_set", "9001", "s", {})
        }
        assert ws.links(other, "item") == {"e1": Link("e1", "item", "1", "x", {})}
        ws.forget_links(TARGET, "item", ["e1", "missing"])
        assert list(ws.links(TARGET, "item")) == ["e2"]
        assert list(ws.links(other, "item")) == ["e1"]
        with pytest.raises(ConfigError):
            ws.links(TARGET, "items")


def test_many_links_in_one_batch(workspace_url):
    links = [Link(f"e{i}", "item", str(i), f"h{i}") for i in range(2500)]
    with open_workspace(workspace_url) as ws:
        ws.record_links(TARGET, "item", links)
        ws.forget_links(TARGET, "item", [f"e{i}" for i in range(0, 2500, 2)])
        kept = ws.links(TARGET, "item")
    assert sorted(kept) == sorted(f"e{i}" for i in range(1, 2500, 2))
    assert kept["e7"].remote_id == "7" and kept["e7"].hash == "h7"


def test_syncs_and_summary(workspace_url):
    with open_workspace(workspace_url) as ws:
        ws.record_sync(TARGET, {"create": {"item": 3}})
        ws.record_sync(TARGET, {"create": {"item": 0}})
        ws.record_sync(TargetRef("file", "", "/x.json"), {"create": {"item": 1}})
        ws.record_links(TARGET, "item", [Link("e1", "item", "1")])
        assert [s["summary"] for s in ws.syncs(TARGET)] == [
            {"create": {"item": 3}},
            {"create": {"item": 0}},
        ]
        assert len(ws.syncs()) == 3
        summary = ws.summary()
    targets = {(t["tool"], t["project"]): t for t in summary["targets"]}
    assert targets[("labelstudio", "12")]["last_summary"] == {"create": {"item": 0}}
    assert targets[("labelstudio", "12")]["links"] == {"item": 1}
    assert targets[("file", "/x.json")]["links"] == {}
    assert summary["items"] == 0 and summary["sources"] == []


def test_summary_takes_each_targets_last_sync_in_order_of_first_sync(workspace_url):
    other = TargetRef("file", "", "/x.json")
    with open_workspace(workspace_url) as ws:
        ws.record_sync(TARGET, {"run": 1})
        ws.record_sync(other, {"run": 2})
        ws.record_sync(TARGET, {"run": 3})
        summary = ws.summary()
    assert [(t["project"], t["last_summary"]) for t in summary["targets"]] == [
        ("12", {"run": 3}),
        ("/x.json", {"run": 2}),
    ]


def test_merged_project_unites_labels_kinds_attributes_and_options():
    from bridge.schema import ClassificationSpec, LabelClass, Ontology, OptionSpec, Project
    from bridge.store import merge_projects

    def question(*values):
        return ClassificationSpec(
            name="weather", input="radio", options=[OptionSpec(value=v) for v in values]
        )

    first = Project(
        name="a",
        ontology=Ontology(
            labels=[
                LabelClass(name="cat", kinds=["bbox"], attributes=[question("sun")]),
                LabelClass(name="dog", kinds=["bbox"]),
            ],
            classifications=[question("sun", "rain")],
        ),
    )
    second = Project(
        name="b",
        media_kind="image",
        ontology=Ontology(
            labels=[
                LabelClass(name="cat", kinds=["polygon", "bbox"], attributes=[question("fog")]),
                LabelClass(name="bird", kinds=["points"]),
            ],
            classifications=[question("rain", "snow")],
        ),
    )
    merged = merge_projects([first, second])
    assert merged.name == "a" and merged.media_kind == "image"
    labels = {label.name: label for label in merged.ontology.labels}
    assert list(labels) == ["cat", "dog", "bird"]
    assert labels["cat"].kinds == ["bbox", "polygon"]
    assert [o.value for o in labels["cat"].attributes[0].options] == ["sun", "fog"]
    assert [o.value for o in merged.ontology.classifications[0].options] == ["sun", "rain", "snow"]
    assert [o.value for o in first.ontology.classifications[0].options] == ["sun", "rain"]
