"""Span matching and span P/R/F1 (bridge.qa.spans): seqeval's documented example, equality
with seqeval on random BIO data, trimming and overlap counted by hand."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from seqeval.metrics import classification_report
from seqeval.metrics.sequence_labeling import get_entities

from bridge.qa.errors import QAError
from bridge.qa.spans import (
    SpanAgreementAccumulator,
    TextSpan,
    match_spans,
    span_scores,
    span_set,
    trim,
)
from bridge.schema import AnnotationSet, Annotator, Item, Media, Region, Span


def spans_from_bio(tags):
    """Token-offset spans from one BIO sentence, as seqeval reads it (get_entities gives
    inclusive ends)."""
    return [TextSpan(start, end + 1, label) for label, start, end in get_entities(tags)]


def scores_for(y_true, y_pred, mode="exact"):
    from bridge.qa.gold import ClassTable
    from bridge.qa.spans import add_span_counts

    table = ClassTable()
    for true_tags, pred_tags in zip(y_true, y_pred, strict=True):
        add_span_counts(table, spans_from_bio(true_tags), spans_from_bio(pred_tags), mode)
    return table


def test_seqeval_documented_example():
    # seqeval's README / classification_report docstring:
    #   MISC 0.00 0.00 0.00 (support 1); PER 1.00 1.00 1.00 (1);
    #   micro avg 0.50 0.50 0.50; macro avg 0.50 0.50 0.50
    y_true = [["O", "O", "O", "B-MISC", "I-MISC", "I-MISC", "O"], ["B-PER", "I-PER", "O"]]
    y_pred = [["O", "O", "B-MISC", "I-MISC", "I-MISC", "I-MISC", "O"], ["B-PER", "I-PER", "O"]]
    table = scores_for(y_true, y_pred)
    misc, per = table.classes["MISC"], table.classes["PER"]
    assert (misc.precision, misc.recall, misc.f1, misc.support) == (0.0, 0.0, 0.0, 1)
    assert (per.precision, per.recall, per.f1, per.support) == (1.0, 1.0, 1.0, 1)
    assert (table.micro.precision, table.micro.recall, table.micro.f1) == (0.5, 0.5, 0.5)
    assert (table.macro.precision, table.macro.recall, table.macro.f1) == (0.5, 0.5, 0.5)
    # overlap mode forgives the MISC boundary: both entities match
    assert scores_for(y_true, y_pred, "overlap").micro.f1 == 1.0


tag = st.sampled_from(["O", "O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"])
sentence_pair = st.integers(1, 12).flatmap(
    lambda n: st.tuples(
        st.lists(tag, min_size=n, max_size=n), st.lists(tag, min_size=n, max_size=n)
    )
)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # seqeval averages no entity
@settings(max_examples=80)
@given(st.lists(sentence_pair, min_size=1, max_size=8))
def test_exact_span_scores_equal_seqeval(sentences):
    y_true = [t for t, _ in sentences]
    y_pred = [p for _, p in sentences]
    table = scores_for(y_true, y_pred)
    report = classification_report(y_true, y_pred, output_dict=True, zero_division=0)
    for label, counts in table.classes.items():
        assert counts.precision == pytest.approx(report[label]["precision"])
        assert counts.recall == pytest.approx(report[label]["recall"])
        assert counts.f1 == pytest.approx(report[label]["f1-score"])
        assert counts.support == report[label]["support"]
    labels_seen = {k for k in report if not k.endswith("avg")}
    assert set(table.classes) == labels_seen
    if labels_seen:
        for ours, key in ((table.micro, "micro avg"), (table.macro, "macro avg")):
            assert ours.precision == pytest.approx(report[key]["precision"])
            assert ours.recall == pytest.approx(report[key]["recall"])
            assert ours.f1 == pytest.approx(report[key]["f1-score"])


TEXT = "Hello, world! Visit  Paris."


def test_trimming_whitespace_and_punctuation():
    assert TEXT[7:12] == "world"
    assert trim(TextSpan(7, 13, "X"), TEXT) == TextSpan(7, 12, "X")  # "world!"
    assert trim(TextSpan(5, 12, "X"), TEXT) == TextSpan(7, 12, "X")  # ", world"
    assert trim(TextSpan(19, 27, "X"), TEXT) == TextSpan(21, 26, "X")  # "  Paris."
    assert trim(TextSpan(12, 14, "X"), TEXT).length == 0  # "! "
    gold = [TextSpan(7, 12, "X"), TextSpan(21, 26, "LOC")]
    other = [TextSpan(7, 13, "X"), TextSpan(20, 27, "LOC")]
    assert span_scores(gold, other).micro.f1 == 0.0
    trimmed = [trim(s, TEXT) for s in other]
    assert span_scores(gold, trimmed).micro.f1 == 1.0


def test_overlap_matching_is_one_to_one_and_optimal():
    # A: [0,10) and [10,20); B: [5,15) overlaps both equally, [12,20) only the second:
    # the optimal matching pairs A0-B0 and A1-B1 (B0 could take A1, leaving B1 alone)
    a = [TextSpan(0, 10, "X"), TextSpan(10, 20, "X")]
    b = [TextSpan(5, 15, "X"), TextSpan(12, 20, "X")]
    result = match_spans(a, b, "overlap")
    assert [(p.index_a, p.index_b) for p in result.pairs] == [(0, 0), (1, 1)]
    assert result.pairs[1].iou == pytest.approx(8 / 10)
    # label-aware: a different label never matches; label-blind it does
    c = [TextSpan(0, 10, "Y")]
    assert match_spans(a, c, "overlap").pairs == ()
    assert len(match_spans(a, c, "overlap", label_aware=False).pairs) == 1
    # a minimum IoU: [5,15) shares 5 of 15 characters with [0,10)
    assert match_spans(a[:1], b[:1], "overlap", min_overlap=0.5).pairs == ()
    # other part: no match
    assert match_spans([TextSpan(0, 5, "X", "p1")], [TextSpan(0, 5, "X", "p2")]).pairs == ()
    with pytest.raises(QAError, match="mode"):
        match_spans(a, b, "fuzzy")  # type: ignore[arg-type]


def test_exact_duplicates_pair_one_to_one():
    a = [TextSpan(0, 4, "X"), TextSpan(0, 4, "X")]
    b = [TextSpan(0, 4, "X")]
    table = span_scores(a, b)
    assert (table.classes["X"].tp, table.classes["X"].fn, table.classes["X"].fp) == (1, 1, 0)


def region(rid, label, **span):
    return Region(id=rid, label=label, shape=Span(**span))


def test_span_sets_skip_what_cannot_be_placed_and_need_texts_to_trim():
    regions = [
        region("a", "X", start=0, end=5),
        region("b", "X", text="no offsets"),
        region("c", "X", start=3, end=1, container="p1", end_container="p2"),
        region("d", "X", start=0, end=3, container="p1"),
    ]
    result = span_set(regions)
    assert [s.id for s in result.spans] == ["a", "d"] and result.skipped == 2
    with pytest.raises(QAError, match="p1"):
        span_set(regions, trim_with={None: TEXT})
    trimmed = span_set(regions, trim_with={None: TEXT, "p1": " ab"})
    assert [(s.start, s.end) for s in trimmed.spans] == [(0, 5), (1, 3)]


def test_annotator_pairs_over_items():
    def aset(sid, who, *regions):
        return AnnotationSet(id=sid, annotator=Annotator(email=who), regions=list(regions))

    items = [
        Item(
            key="t1",
            media=Media(kind="text", text=TEXT),
            annotation_sets=[
                aset(
                    "1",
                    "bob",
                    region("b1", "X", start=7, end=13),
                    region("b2", "LOC", start=21, end=26),
                ),
                aset("2", "ann", region("a1", "X", start=7, end=12)),
            ],
        )
    ]
    exact = SpanAgreementAccumulator()
    for item in items:
        exact.add_item(item)
    table = exact.totals["ann", "bob"]
    # ann is A (sorts first): "world" vs "world!" differ; bob's LOC is an FP
    assert (table.total.tp, table.total.fp, table.total.fn) == (0, 2, 1)
    trimmed = SpanAgreementAccumulator(trim=True)
    trimmed.add_item(items[0])
    table = trimmed.totals["ann", "bob"]
    assert (table.total.tp, table.total.fp, table.total.fn) == (1, 1, 0)
    assert table.micro.precision == 0.5 and table.micro.recall == 1.0
