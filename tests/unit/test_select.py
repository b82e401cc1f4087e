"""`--sets` selectors: each term picks exactly the sets its definition names."""

from datetime import UTC, datetime

import pytest

from bridge.errors import ConfigError
from bridge.schema import AnnotationSet, Annotator, Item, Media, Review, SourceRef
from bridge.select import SetSelector, select_sets, selected


def aset(id: str, **fields) -> AnnotationSet:
    return AnnotationSet(id=id, **fields)


def at(day: int) -> datetime:
    return datetime(2026, 1, day, tzinfo=UTC)


ITEM = Item(
    key="a.jpg",
    media=Media(kind="image"),
    annotation_sets=[
        aset("h1", annotator=Annotator(email="Ann@Example.com"), created_at=at(1)),
        aset("h2", annotator=Annotator(id="7", name="Bo"), updated_at=at(3), status="accepted"),
        aset("p1", kind="prediction", updated_at=at(9), model_version="m1"),
        aset("g1", kind="gold"),
        aset("gt", ground_truth=True, created_at=at(2)),
        aset("c1", kind="consensus"),
        aset(
            "r1",
            created_at=at(4),
            reviews=[Review(status="rejected"), Review(status="fixed"), Review(status="commented")],
            source=SourceRef(tool="cvat", instance="cvat.example.com", project="12"),
        ),
        aset(
            "r2", created_at=at(5), reviews=[Review(status="accepted"), Review(status="rejected")]
        ),
    ],
)


def ids(spec, **kwargs):
    return [a.id for a in select_sets(ITEM, spec, **kwargs)]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("all", ["h1", "h2", "p1", "g1", "gt", "c1", "r1", "r2"]),
        ("gold", ["g1", "gt"]),
        ("predictions", ["p1"]),
        ("human", ["h1", "h2", "gt", "r1", "r2"]),
        ("consensus", ["c1"]),
        # h2 by status; r1 because its last verdict (the comment does not count) is "fixed";
        # r2's last verdict is a rejection
        ("accepted", ["h2", "r1"]),
        # the prediction is newer but is not a human/gold/consensus set
        ("latest", ["r2"]),
        ("latest-accepted", ["r1"]),
        ("annotator=ann@example.com", ["h1"]),
        ("annotator=7", ["h2"]),
        ("annotator=Bo", ["h2"]),
        ("source=cvat", ["r1"]),
        ("source=12", ["r1"]),
        # a union keeps the item's order and holds each set once
        ("gold, predictions,gold", ["p1", "g1", "gt"]),
    ],
)
def test_each_term_selects_what_it_defines(spec, expected):
    assert ids(spec) == expected


def test_a_workspace_source_name_selects_too():
    names = {"h1": "vendor-a", "h2": "vendor-b"}
    assert ids("source=vendor-b", source_name=lambda a: names.get(a.id)) == ["h2"]


def test_latest_with_no_dates_is_the_last_in_the_item():
    item = Item(key="k", media=Media(kind="text"), annotation_sets=[aset("a"), aset("b")])
    assert [a.id for a in select_sets(item, "latest")] == ["b"]


def test_naive_and_aware_dates_compare():
    item = Item(
        key="k",
        media=Media(kind="text"),
        annotation_sets=[aset("a", created_at=datetime(2026, 1, 2)), aset("b", created_at=at(1))],
    )
    assert [a.id for a in select_sets(item, "latest")] == ["a"]


def test_selected_returns_a_copy_with_only_those_sets():
    copy = selected(ITEM, "gold")
    assert [a.id for a in copy.annotation_sets] == ["g1", "gt"]
    assert len(ITEM.annotation_sets) == 8


@pytest.mark.parametrize("spec", ["", "golden", "annotator=", "annotator", "gold=x", "all,,gold"])
def test_unknown_terms_are_refused_by_name(spec):
    with pytest.raises(ConfigError, match="is not a set selector"):
        SetSelector.parse(spec)


def test_selector_prints_back_what_it_parsed():
    assert str(SetSelector.parse("Gold, annotator=a@b.c")) == "gold,annotator=a@b.c"
