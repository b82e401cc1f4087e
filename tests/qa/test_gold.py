"""Scores against gold (bridge.qa.gold): scikit-learn's documented example and random data
against scikit-learn, confusion matrices and thresholds counted by construction."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import precision_recall_fscore_support

from bridge.qa.errors import QAError
from bridge.qa.gold import BACKGROUND, GoldEvaluation, evaluate_against_gold
from bridge.schema import (
    AnnotationSet,
    Annotator,
    Answer,
    BBox,
    Classification,
    Item,
    Media,
    Region,
    SourceRef,
)


def box(x, y, w=10, h=10):
    return BBox(x=x, y=y, width=w, height=h)


def reg(rid, shape, label):
    return Region(id=rid, shape=shape, label=label)


def gold_set(*regions, classifications=()):
    return AnnotationSet(
        id="g", kind="gold", regions=list(regions), classifications=list(classifications)
    )


def human(sid, who, *regions, tool="cvat", classifications=()):
    return AnnotationSet(
        id=sid,
        annotator=Annotator(email=who),
        source=SourceRef(tool=tool),
        regions=list(regions),
        classifications=list(classifications),
    )


def item(key, *sets):
    return Item(
        key=key, media=Media(kind="image", width=100, height=100), annotation_sets=list(sets)
    )


# scikit-learn's documented example (precision_recall_fscore_support docstring):
# macro (0.222, 0.333, 0.267), micro (0.33, 0.33, 0.33); per label pig, dog, cat:
# precision (0, 0, 0.66), recall (0, 0, 1), F1 (0, 0, 0.8), support (2, 2, 2)
Y_TRUE = ["cat", "dog", "pig", "cat", "dog", "pig"]
Y_PRED = ["cat", "pig", "dog", "cat", "cat", "dog"]


def test_sklearn_documented_example_through_matched_regions():
    # one image per sample: gold draws a box labeled y_true, the annotator the same box
    # labeled y_pred
    items = [
        item(
            f"i{n}", gold_set(reg("g", box(10, 10), t)), human("h", "ann", reg("r", box(10, 10), p))
        )
        for n, (t, p) in enumerate(zip(Y_TRUE, Y_PRED, strict=True))
    ]
    evaluation = evaluate_against_gold(iter(items))
    table = evaluation.per_annotator["ann"].regions.table(0.5)
    macro, micro = table.macro, table.micro
    assert (round(macro.precision, 3), round(macro.recall, 3), round(macro.f1, 3)) == (
        0.222,
        0.333,
        0.267,
    )
    assert (round(micro.precision, 2), round(micro.recall, 2), round(micro.f1, 2)) == (0.33,) * 3
    cat, dog, pig = table.classes["cat"], table.classes["dog"], table.classes["pig"]
    assert (pig.precision, dog.precision, round(cat.precision, 2)) == (0.0, 0.0, 0.67)
    assert (pig.recall, dog.recall, cat.recall) == (0.0, 0.0, 1.0)
    assert (pig.f1, dog.f1, cat.f1) == (0.0, 0.0, pytest.approx(0.8))
    assert (pig.support, dog.support, cat.support) == (2, 2, 2)
    # and the confusion matrix is sklearn's, with an empty background row and column
    labels, matrix = evaluation.per_annotator["ann"].regions.confusion_matrix()
    assert labels == ["cat", "dog", "pig", BACKGROUND]
    assert matrix == [[2, 0, 0, 0], [1, 0, 1, 0], [0, 2, 0, 0], [0, 0, 0, 0]]


def test_the_same_example_as_item_classifications():
    def answer(value):
        return [Classification(name="animal", answers=[Answer(value=value)])]

    items = [
        item(
            f"i{n}",
            gold_set(classifications=answer(t)),
            human("h", "ann", classifications=answer(p)),
        )
        for n, (t, p) in enumerate(zip(Y_TRUE, Y_PRED, strict=True))
    ]
    table = evaluate_against_gold(items).per_annotator["ann"].classifications["animal"]
    assert round(table.macro.f1, 3) == 0.267 and round(table.micro.f1, 2) == 0.33


classes = st.sampled_from(["a", "b", "c", "d"])


@settings(max_examples=60)
@given(st.lists(st.tuples(classes, classes), min_size=1, max_size=40))
def test_item_classification_scores_equal_sklearn(pairs):
    y_true = [t for t, _ in pairs]
    y_pred = [p for _, p in pairs]
    items = [
        item(
            f"i{n}",
            gold_set(classifications=[Classification(name="q", answers=[Answer(value=t)])]),
            human(
                "h", "ann", classifications=[Classification(name="q", answers=[Answer(value=p)])]
            ),
        )
        for n, (t, p) in enumerate(pairs)
    ]
    table = evaluate_against_gold(items).per_annotator["ann"].classifications["q"]
    labels = sorted(set(y_true) | set(y_pred))
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    for index, label in enumerate(labels):
        counts = table.classes[label]
        assert counts.precision == pytest.approx(precision[index])
        assert counts.recall == pytest.approx(recall[index])
        assert counts.f1 == pytest.approx(f1[index])
        assert counts.support == support[index]
    for average, ours in (("macro", table.macro), ("micro", table.micro)):
        p, r, f, _ = precision_recall_fscore_support(
            y_true, y_pred, average=average, zero_division=0
        )
        assert (ours.precision, ours.recall, ours.f1) == pytest.approx((p, r, f))


def test_confusion_matrix_background_and_thresholds():
    gold = gold_set(
        reg("g1", box(0, 0), "cat"),
        reg("g2", box(30, 0), "dog"),
        reg("g3", box(60, 0), "pig"),
        reg("g4", box(0, 60), "cat"),
    )
    ann = human(
        "h",
        "ann",
        reg("r1", box(0, 0), "cat"),  # right
        reg("r2", box(30, 0), "cat"),  # right place, wrong label
        reg("r4", box(0, 62), "cat"),  # IoU 80/120 = 0.667 with g4
        reg("r5", box(80, 80), "dog"),  # nothing there
    )  # g3 missed
    evaluation = GoldEvaluation(thresholds=(0.5, 0.75))
    evaluation.add_item(item("i", gold, ann))
    scores = evaluation.per_annotator["ann"].regions
    at_half = scores.table(0.5)
    assert (at_half.classes["cat"].tp, at_half.classes["cat"].fp, at_half.classes["cat"].fn) == (
        2,
        1,
        0,
    )
    assert (at_half.classes["dog"].tp, at_half.classes["dog"].fp, at_half.classes["dog"].fn) == (
        0,
        1,
        1,
    )
    assert (at_half.classes["pig"].tp, at_half.classes["pig"].fn) == (0, 1)
    labels, matrix = scores.confusion_matrix(0.5)
    assert labels == ["cat", "dog", "pig", BACKGROUND]
    assert matrix == [
        [2, 0, 0, 0],  # gold cat: r1 and r4
        [1, 0, 0, 0],  # gold dog drawn as cat
        [0, 0, 0, 1],  # gold pig missed
        [0, 1, 0, 0],  # a dog where there is nothing
    ]
    at_three_quarters = scores.table(0.75)
    assert (at_three_quarters.classes["cat"].tp, at_three_quarters.classes["cat"].fn) == (1, 1)
    labels, matrix = scores.confusion_matrix(0.75)
    assert matrix[0] == [1, 0, 0, 1] and matrix[3] == [1, 1, 0, 0]
    with pytest.raises(QAError, match="threshold"):
        scores.table(0.6)


def test_per_annotator_per_source_and_items_without_gold():
    items = [
        item(
            "i1",
            gold_set(reg("g", box(0, 0), "cat")),
            human("1", "ann", reg("a", box(0, 0), "cat"), tool="cvat"),
            human("2", "bob", tool="labelbox"),
        ),
        item("i2", human("3", "ann", reg("a", box(0, 0), "cat"))),  # no gold
        item(
            "i3",
            gold_set(reg("g", box(0, 0), "cat")),
            human("4", "ann", reg("a", box(0, 0), "cat"), tool="labelbox"),
        ),
    ]
    evaluation = evaluate_against_gold(iter(items))
    assert (evaluation.items, evaluation.items_without_gold) == (3, 1)
    assert evaluation.per_annotator["ann"].regions.table().classes["cat"].tp == 2
    assert evaluation.per_annotator["ann"].items == 2
    assert evaluation.per_annotator["bob"].regions.table().classes["cat"].fn == 1
    labelbox = evaluation.per_source["labelbox"].regions.table().classes["cat"]
    assert (labelbox.tp, labelbox.fn) == (1, 1)
    assert evaluation.per_source["cvat"].regions.table().classes["cat"].tp == 1
    # gold chosen by annotator: ann is the reference, the gold set and bob are scored
    by_ann = evaluate_against_gold(items[:1], gold="annotator=ann")
    assert set(by_ann.per_annotator) == {"set g", "bob"}
    assert by_ann.per_annotator["set g"].regions.table().micro.f1 == 1.0


def test_no_class_seen_and_bad_thresholds():
    evaluation = evaluate_against_gold([item("i", gold_set(), human("h", "ann"))])
    table = evaluation.per_annotator["ann"].regions.table()
    assert table.micro.f1 == 0.0 and table.macro.f1 == 0.0
    assert evaluation.per_annotator["ann"].regions.confusion_matrix() == ([BACKGROUND], [[0]])
    with pytest.raises(QAError, match="between 0 and 1"):
        GoldEvaluation(thresholds=(1.5,))
    with pytest.raises(QAError, match="no IoU threshold"):
        GoldEvaluation(thresholds=())


def test_spans_against_gold():
    from bridge.schema import Span

    text = "Ann met Bob in Paris."
    gold = gold_set(
        Region(id="g1", label="PER", shape=Span(start=0, end=3)),
        Region(id="g2", label="PER", shape=Span(start=8, end=11)),
        Region(id="g3", label="LOC", shape=Span(start=15, end=20)),
    )
    ann = human(
        "h",
        "ann",
        Region(id="s1", label="PER", shape=Span(start=0, end=3)),
        Region(id="s2", label="LOC", shape=Span(start=8, end=11)),  # wrong label
        Region(id="s3", label="LOC", shape=Span(start=15, end=21)),  # "Paris."
    )
    items = [Item(key="t", media=Media(kind="text", text=text), annotation_sets=[gold, ann])]
    exact = evaluate_against_gold(items).per_annotator["ann"].spans
    assert (exact.classes["PER"].tp, exact.classes["PER"].fn) == (1, 1)
    assert (exact.classes["LOC"].tp, exact.classes["LOC"].fp, exact.classes["LOC"].fn) == (0, 2, 1)
    trimmed = evaluate_against_gold(items, trim_spans=True).per_annotator["ann"].spans
    assert (trimmed.classes["LOC"].tp, trimmed.classes["LOC"].fp) == (1, 1)
    assert trimmed.micro.precision == pytest.approx(2 / 3)
    assert trimmed.micro.recall == pytest.approx(2 / 3)
