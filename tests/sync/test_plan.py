"""The planner on hand-built states: every rule of bridge.sync.plan's table.

Expected plans are written from the rules (create when nothing is linked or found, update
when only the source changed, conflict when both changed, ...), counted by hand."""

from __future__ import annotations

import pytest

from bridge.sync.plan import DesiredItem, DesiredSet, LinkState, plan_push
from bridge.sync.target import RemoteRecord


def item(item_id: str, h: str = "h", sets: tuple[tuple[str, str], ...] = ()) -> DesiredItem:
    return DesiredItem(item_id, h, tuple(DesiredSet(s, sh) for s, sh in sets))


def links(items=(), sets=(), project=None):
    return {
        "project": {"project": project} if project else {},
        "item": {link.element_id: link for link in items},
        "annotation_set": {link.element_id: link for link in sets},
    }


def remote(items=(), sets=()):
    return {
        "project": {},
        "item": {r.key: r for r in items},
        "annotation_set": {r.key: r for r in sets},
    }


def test_nothing_linked_creates_item_with_its_sets_inline_and_the_project():
    plan = plan_push("P", [item("i1", sets=(("s1", "a"), ("s2", "b")))], links(), remote())
    counts = plan.counts()
    assert counts["create"] == {"project": 1, "item": 1, "annotation_set": 2}
    assert plan.inline_sets == {"i1": ["s1", "s2"]}
    assert plan.create_sets == []
    assert plan.hashes["s2"] == "b"


def test_same_hashes_everywhere_is_all_unchanged_and_sends_nothing():
    state = links(
        [LinkState("i1", "10", "h", "fi")],
        [LinkState("s1", "100", "a", "fa", "10")],
        LinkState("project", "7", "P"),
    )
    found = remote(
        [RemoteRecord("item", "i1", "10", hash="fi")],
        [RemoteRecord("annotation_set", "s1", "100", "10", "fa")],
    )
    plan = plan_push("P", [item("i1", sets=(("s1", "a"),))], state, found)
    assert plan.sends_nothing
    assert plan.counts()["unchanged"] == {"project": 1, "item": 1, "annotation_set": 1}
    assert plan.conflicts == []


def test_source_change_only_is_an_update_with_the_remote_id():
    state = links([LinkState("i1", "10", "h", "fi")], [LinkState("s1", "100", "old", "fa", "10")])
    found = remote(
        [RemoteRecord("item", "i1", "10", hash="fi")],
        [RemoteRecord("annotation_set", "s1", "100", "10", "fa")],
    )
    plan = plan_push(None, [item("i1", sets=(("s1", "new"),))], state, found)
    assert plan.update_sets == [("s1", "i1")]
    assert plan.remote_ids["s1"] == "100"
    assert plan.hashes["s1"] == "new"
    assert plan.counts()["update"]["annotation_set"] == 1
    assert plan.counts()["unchanged"]["item"] == 1


def test_target_change_only_is_unchanged_and_kept():
    state = links([LinkState("i1", "10", "h", "fi")], [LinkState("s1", "100", "a", "fa", "10")])
    found = remote(
        [RemoteRecord("item", "i1", "10", hash="fi")],
        [RemoteRecord("annotation_set", "s1", "100", "10", "EDITED")],
    )
    plan = plan_push(None, [item("i1", sets=(("s1", "a"),))], state, found)
    assert plan.sends_nothing and plan.conflicts == []
    assert plan.counts()["unchanged"]["annotation_set"] == 1


@pytest.mark.parametrize(
    ("prefer", "updates", "settled"),
    [("skip", 0, 0), ("source", 1, 0), ("target", 0, 1)],
)
def test_both_sides_changed_is_a_conflict_resolved_by_prefer(prefer, updates, settled):
    state = links([LinkState("i1", "10", "h", "fi")], [LinkState("s1", "100", "a", "fa", "10")])
    found = remote(
        [RemoteRecord("item", "i1", "10", hash="fi")],
        [RemoteRecord("annotation_set", "s1", "100", "10", "EDITED")],
    )
    plan = plan_push(None, [item("i1", sets=(("s1", "b"),))], state, found, prefer=prefer)
    assert [(c["id"], c["kind"], c["resolution"]) for c in plan.conflicts] == [
        ("s1", "annotation_set", prefer)
    ]
    assert len(plan.update_sets) == updates
    assert len(plan.settle["annotation_set"]) == settled
    if settled:  # the link takes the source's hash and the target's fingerprint
        assert plan.settle["annotation_set"][0].hash == "b"
        assert plan.settle["annotation_set"][0].remote == "EDITED"


def test_found_by_key_but_not_linked_is_adopted_not_created_again():
    found = remote(
        [RemoteRecord("item", "i1", "10", hash="fi", sent_hash="h")],
        [RemoteRecord("annotation_set", "s1", "100", "10", "fa", sent_hash="a")],
    )
    plan = plan_push(None, [item("i1", sets=(("s1", "a"),))], links(), found)
    assert plan.create_items == [] and plan.create_sets == []
    assert [s.element_id for s in plan.adopt["item"]] == ["i1"]
    assert [s.remote_id for s in plan.adopt["annotation_set"]] == ["100"]
    assert plan.sends_nothing


def test_adopted_without_a_sent_hash_is_updated_once_never_created():
    found = remote(
        [RemoteRecord("item", "i1", "10", hash="fi", sent_hash="h")],
        [RemoteRecord("annotation_set", "s1", "100", "10", "fa")],
    )
    plan = plan_push(None, [item("i1", sets=(("s1", "a"),))], links(), found)
    assert plan.create_sets == []
    assert plan.update_sets == [("s1", "i1")]


def test_new_set_on_a_linked_item_is_created_on_that_item():
    state = links([LinkState("i1", "10", "h", "fi")])
    found = remote([RemoteRecord("item", "i1", "10", hash="fi")])
    plan = plan_push(None, [item("i1", sets=(("s9", "z"),))], state, found)
    assert plan.create_sets == [("s9", "i1")]
    assert plan.remote_ids["i1"] == "10"


def test_linked_but_missing_on_a_complete_scan_is_created_again():
    state = links([LinkState("i1", "10", "h", "fi")], [LinkState("s1", "100", "a", "fa", "10")])
    plan = plan_push(None, [item("i1", sets=(("s1", "a"),))], state, remote())
    assert plan.create_items == ["i1"]
    assert plan.inline_sets["i1"] == ["s1"]


def test_without_a_scan_links_are_trusted():
    state = links([LinkState("i1", "10", "h", "fi")], [LinkState("s1", "100", "a", "fa", "10")])
    plan = plan_push(None, [item("i1", sets=(("s1", "a"),))], state, None)
    assert plan.sends_nothing


def test_gone_elements_are_delete_candidates_sets_of_deleted_items_not_listed_twice():
    state = links(
        [LinkState("i1", "10", "h"), LinkState("i2", "20", "h")],
        [
            LinkState("s1", "100", "a", parent="10"),
            LinkState("s2", "200", "b", parent="20"),
            LinkState("s3", "300", "c", parent="10"),
        ],
    )
    gone = {"item": {"i2", "never-linked"}, "annotation_set": {"s2", "s3", "s9"}}
    plan = plan_push(None, [item("i1", sets=(("s1", "a"),))], state, None, gone)
    assert [s.element_id for s in plan.delete["item"]] == ["i2"]
    assert [s.element_id for s in plan.delete["annotation_set"]] == ["s3"]
    assert plan.counts()["delete"] == {"project": 0, "item": 1, "annotation_set": 1}


def test_project_hash_change_is_a_project_update():
    plan = plan_push("P2", [], links(project=LinkState("project", "7", "P1")), None)
    assert plan.project == "update"
    assert plan.counts()["update"]["project"] == 1


def test_unknown_prefer_is_refused():
    with pytest.raises(ValueError):
        plan_push(None, [], links(), None, prefer="both")  # type: ignore[arg-type]
