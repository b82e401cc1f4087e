"""Agreement views of unified data: who answered what (annotator identity, answer values,
units) and the report built on it, each number checked against a reference package on
the same answers laid out by hand."""

from __future__ import annotations

import math
import warnings

import krippendorff
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa

from bridge.qa.categorical import (
    Ratings,
    RegionRatings,
    agreement,
    annotator_of,
    answer_value,
    classification_ratings,
)
from bridge.qa.errors import QAError
from bridge.schema import (
    AnnotationSet,
    Annotator,
    Answer,
    BBox,
    Classification,
    FrameRange,
    Item,
    Media,
    Region,
    SourceRef,
)


def one(name, *values, frames=None, children=None):
    answers = [Answer(value=v) for v in values]
    if children:
        answers[0] = Answer(value=values[0], classifications=children)
    return Classification(name=name, answers=answers, frames=frames)


def test_annotator_identity_precedence():
    def aset(**kwargs):
        return AnnotationSet(id="s1", **kwargs)

    full = Annotator(id="7", email="Ann@Example.org", name="Ann")
    assert annotator_of(aset(annotator=full)) == "ann@example.org"
    assert annotator_of(aset(annotator=Annotator(id="7", name="Ann"))) == "7"
    assert annotator_of(aset(annotator=Annotator(name="Ann"))) == "Ann"
    ref = SourceRef(tool="toolA", instance="https://a.example", project="3")
    assert annotator_of(aset(source=ref)) == "toolA/https://a.example/3"
    assert annotator_of(aset(source=ref), lambda s: "workspace-src") == "workspace-src"
    assert annotator_of(aset()) == "set s1"


def test_answer_values():
    assert answer_value(one("q", "cat")) == "cat"
    assert answer_value(one("q", "b", "a", "b")) == ("a", "b")
    assert answer_value(Classification(name="q", answers=[])) is None


# answers of 3 annotators to "quality" on 6 items (None: not answered)
QUALITY = {
    "a@x.org": ["good", "good", "bad", "bad", "good", None],
    "b@x.org": ["good", "bad", "bad", "bad", "good", "good"],
    "c@x.org": ["good", "good", "bad", "good", None, "good"],
}


def quality_items():
    for i in range(6):
        sets = []
        for who, answers in QUALITY.items():
            classifications = []
            if answers[i] is not None:
                sub = [one("why", "blur")] if answers[i] == "bad" else None
                classifications.append(one("quality", answers[i], children=sub))
            classifications.append(one("scene", "day", frames=[FrameRange(start=0, end=3)]))
            sets.append(
                AnnotationSet(
                    id=f"{who}-{i}",
                    annotator=Annotator(email=who),
                    classifications=classifications,
                )
            )
        sets.append(
            AnnotationSet(
                id=f"model-{i}",
                kind="prediction",
                annotator=Annotator(name="model"),
                classifications=[one("quality", "bad")],
            )
        )
        yield Item(key=f"item{i}", media=Media(kind="image"), annotation_sets=sets)


def test_classification_ratings_gathers_units_questions_and_skips():
    gathered = classification_ratings(quality_items(), "human")
    assert set(gathered.questions) == {"quality", "quality/why"}
    quality = gathered.questions["quality"]
    assert quality.units == [(f"item{i}", "quality") for i in range(6)]
    assert quality.annotators == list(QUALITY)  # the prediction set was not selected
    assert quality.answers(("item1", "quality")) == {
        "a@x.org": "good",
        "b@x.org": "bad",
        "c@x.org": "good",
    }
    assert gathered.skipped["answers that hold for some frames only"] == 6 * 3
    assert "model" in classification_ratings(quality_items(), "all").questions["quality"].annotators


def test_agreement_report_equals_the_reference_packages():
    quality = classification_ratings(quality_items(), "human").questions["quality"]
    report = agreement(quality)
    names = list(QUALITY)
    rows = [QUALITY[n] for n in names]
    # overall alpha: the krippendorff package on the same answers, coded good=1, bad=0
    coded = [[np.nan if v is None else float(v == "good") for v in row] for row in rows]
    assert report.alpha.value == pytest.approx(
        krippendorff.alpha(coded, level_of_measurement="nominal")
    )
    # pairwise: scikit-learn on the units both answered
    for i, first in enumerate(names):
        for second in names[i + 1 :]:
            a, b = zip(
                *[
                    (x, y)
                    for x, y in zip(QUALITY[first], QUALITY[second], strict=True)
                    if x is not None and y is not None
                ],
                strict=True,
            )
            score = report.pairwise[(first, second)]
            assert score.value == pytest.approx(cohen_kappa_score(a, b))
            assert score.units == len(a)
    # per annotator: the mean of their pairwise kappas
    for who in names:
        mine = [s.value for pair, s in report.pairwise.items() if who in pair]
        assert report.per_annotator[who].value == pytest.approx(sum(mine) / len(mine))
    # Fleiss: units 5 and 6 have two answers, the others three: no Fleiss, and why
    assert report.fleiss.value is None and "same number" in report.fleiss.reason
    # percent agreement: agreeing ordered pairs / pairs over the 6 units, counted by hand
    # units: (g,g,g) 6/6, (g,b,g) 2/6, (b,b,b) 6/6, (b,b,g) 2/6, (g,g) 2/2, (g,g) 2/2
    assert report.percent.value == pytest.approx((6 + 2 + 6 + 2 + 2 + 2) / (6 * 4 + 2 * 2))
    # per class: with two classes, "good vs not" is the question itself
    assert report.per_class["good"].value == pytest.approx(report.alpha.value)
    assert report.units == 6 and report.pairable == 6


def test_fleiss_on_equal_rating_counts_equals_statsmodels():
    ratings = Ratings()
    answers = [["x", "x", "y"], ["y", "y", "y"], ["x", "z", "z"], ["x", "x", "x"]]
    for unit, unit_answers in enumerate(answers):
        for who, value in zip("abc", unit_answers, strict=True):
            ratings.add(unit, who, value)
    table = [[row.count(v) for v in "xyz"] for row in answers]
    assert ratings.fleiss() == pytest.approx(sm_fleiss_kappa(np.array(table)))
    assert agreement(ratings).fleiss.value == pytest.approx(sm_fleiss_kappa(np.array(table)))


def test_repeated_answers_keep_the_first_and_are_counted():
    ratings = Ratings()
    ratings.add("u", "a", "x")
    ratings.add("u", "a", "x")
    ratings.add("u", "a", "y")
    ratings.add("u", "b", None)
    assert ratings.answers("u") == {"a": "x"}
    assert (ratings.repeated, ratings.conflicting) == (2, 1)
    report = agreement(ratings)
    assert (report.repeated, report.conflicting) == (2, 1)


def test_degenerate_questions_give_reasons_not_nan():
    lonely = Ratings()
    lonely.add("u1", "a", "x")
    lonely.add("u2", "a", "y")
    report = agreement(lonely)
    assert report.alpha.value is None and "two raters" in report.alpha.reason
    assert report.percent.value is None
    assert report.pairwise == {}
    assert report.per_annotator["a"].reason == "shares no unit with another annotator"

    unanimous = Ratings()
    for unit in range(3):
        for who in "ab":
            unanimous.add(unit, who, "same")
    report = agreement(unanimous)
    assert report.alpha.value is None and "undefined" in report.alpha.reason
    assert report.pairwise[("a", "b")].value is None
    assert report.percent.value == 1.0  # the number to report for such a question

    empty = agreement(Ratings())
    assert empty.units == 0 and empty.alpha.value is None and empty.per_class == {}
    for score in (report.alpha, report.fleiss, empty.alpha, empty.fleiss, empty.percent):
        assert score.value is None or not math.isnan(score.value)


def box(label, **attributes):
    return Region(
        id=label + str(sorted(attributes.items())),
        label=label,
        shape=BBox(type="bbox", x=0, y=0, width=1, height=1),
        classifications=[one(name, value) for name, value in attributes.items()],
    )


def test_region_ratings_from_matched_groups():
    regions = RegionRatings()
    regions.add_match(("img", 0), [("a", box("car", color="red")), ("b", box("car", color="red"))])
    regions.add_match(("img", 1), [("a", box("car", color="blue")), ("b", box("bus", color="red"))])
    regions.add_match(("img", 2), [("a", box("bus", color="red")), ("b", box("bus"))])
    regions.add_match(("img", 3), [("b", box("car", color="red"))])  # unmatched: one rating
    assert regions.labels.answers(("img", 1)) == {"a": "car", "b": "bus"}
    labels = [["car", "car", "bus", None], ["car", "bus", "bus", "car"]]
    expected = krippendorff.alpha(
        [[np.nan if v is None else float(v == "car") for v in row] for row in labels],
        level_of_measurement="nominal",
    )
    assert regions.labels.alpha() == pytest.approx(expected)
    assert regions.attributes["color"].answers(("img", 2)) == {"a": "red"}
    assert agreement(regions.attributes["color"]).pairable == 2


def test_region_attributes_open_sub_questions_and_skip_frame_answers():
    def region(occluded, how, seen):
        return Region(
            id=f"{occluded}{how}{seen}",
            label="car",
            shape=BBox(type="bbox", x=0, y=0, width=1, height=1),
            classifications=[
                one("occluded", occluded, children=[one("how", how)]),
                one("seen", seen, frames=[FrameRange(start=0, end=3)]),
            ],
        )

    regions = RegionRatings()
    regions.add_match(
        "g", [("a", region("yes", "partly", "x")), ("b", region("yes", "fully", "y"))]
    )
    assert set(regions.attributes) == {"occluded", "occluded/how"}
    assert regions.attributes["occluded/how"].answers("g") == {"a": "partly", "b": "fully"}
    assert regions.attributes["occluded"].answers("g") == {"a": "yes", "b": "yes"}
    assert regions.skipped["answers that hold for some frames only"] == 2


def test_checklist_answers_are_one_value_in_every_metric():
    # Krippendorff (2011)'s nominal example (alpha .743) with its values as checklists
    raters = [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
        [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
    ]
    ticks = {1: ("a",), 2: ("a", "b"), 3: ("b",), 4: ("b", "c"), 5: ("a", "b", "c")}
    ratings = Ratings()
    for who, row in enumerate(raters):
        for unit, value in enumerate(row):
            if value is not None:
                ratings.add(unit, who, ticks[value])
    assert round(ratings.alpha(), 3) == 0.743
    assert round(agreement(ratings).alpha.value, 3) == 0.743


def test_ordinal_labels_need_their_order():
    ratings = Ratings()
    given = {"a": ["low", "mid", "high", "mid"], "b": ["low", "high", "high", "low"]}
    for who, answers in given.items():
        for unit, value in enumerate(answers):
            ratings.add(unit, who, value)
    with pytest.raises(QAError, match="needs their order"):
        ratings.alpha("ordinal")
    report = agreement(ratings, "ordinal")
    assert report.alpha.value is None and "needs their order" in report.alpha.reason
    order = ["low", "mid", "high"]
    expected = krippendorff.alpha(
        [[order.index(v) for v in answers] for answers in given.values()],
        level_of_measurement="ordinal",
    )
    assert ratings.alpha("ordinal", value_domain=order) == pytest.approx(expected)
    assert agreement(ratings, "ordinal", value_domain=order).alpha.value == pytest.approx(expected)


values = st.sampled_from(["x", "y", "z", None])


@settings(max_examples=100, deadline=None)
@given(answers=st.lists(st.tuples(st.integers(0, 12), st.integers(0, 4), values), max_size=60))
def test_ratings_alpha_equals_the_package(answers):
    ratings = Ratings()
    matrix = np.full((5, 13), np.nan)
    for unit, who, value in answers:
        ratings.add(unit, who, value)
    for unit in ratings.units:
        for who, value in ratings.answers(unit).items():
            matrix[who, unit] = "xyz".index(value)
    report = agreement(ratings)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the package divides 0 by 0 on one value
            expected = krippendorff.alpha(matrix, level_of_measurement="nominal")
    except ValueError:
        expected = math.nan
    if math.isnan(expected):
        assert report.alpha.value is None and report.alpha.reason
    else:
        assert report.alpha.value == pytest.approx(expected, rel=1e-9, abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(answers=st.lists(st.tuples(st.integers(0, 12), st.integers(0, 4), values), max_size=60))
def test_report_pairs_classes_and_percent_equal_references(answers):
    ratings = Ratings()
    for unit, who, value in answers:
        ratings.add(unit, who, value)
    report = agreement(ratings)
    given_values = ratings.values
    for (first, second), score in report.pairwise.items():
        shared = [
            (a[first], a[second])
            for a in (ratings.answers(u) for u in ratings.units)
            if first in a and second in a
        ]
        assert score.units == len(shared)
        a, b = zip(*shared, strict=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = cohen_kappa_score(a, b, labels=given_values)
        if math.isnan(expected):
            assert score.value is None and score.reason
        else:
            assert score.value == pytest.approx(expected, abs=1e-12)
    # per class: the package on "answered value" (1) vs "something else" (0)
    for value, score in report.per_class.items():
        matrix = np.full((5, 13), np.nan)
        for unit in ratings.units:
            for who, answer in ratings.answers(unit).items():
                matrix[who, unit] = float(answer == value)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                expected = krippendorff.alpha(matrix, level_of_measurement="nominal")
        except ValueError:
            expected = math.nan
        if math.isnan(expected):
            assert score.value is None
        else:
            assert score.value == pytest.approx(expected, rel=1e-9, abs=1e-9)
    # percent agreement: agreeing ordered pairs / ordered pairs, counted here
    agreeing = pairs = 0
    for unit in ratings.units:
        unit_answers = list(ratings.answers(unit).values())
        for i, x in enumerate(unit_answers):
            for j, y in enumerate(unit_answers):
                if i != j:
                    pairs += 1
                    agreeing += x == y
    if pairs:
        assert report.percent.value == pytest.approx(agreeing / pairs)
    else:
        assert report.percent.value is None
    # Fleiss when every pairable unit has as many answers: statsmodels on the table
    table = [
        [list(ratings.answers(u).values()).count(v) for v in given_values]
        for u in ratings.units
        if len(ratings.answers(u)) >= 2
    ]
    if table and len({sum(row) for row in table}) == 1:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = sm_fleiss_kappa(np.array(table))
        if math.isnan(expected):
            assert report.fleiss.value is None
        else:
            assert report.fleiss.value == pytest.approx(expected, abs=1e-12)
    elif table:
        assert report.fleiss.value is None and "same number" in report.fleiss.reason


@pytest.mark.parametrize("level", ["ordinal", "interval", "ratio"])
@pytest.mark.parametrize("weights", ["linear", "quadratic"])
def test_numeric_answers_at_every_level_and_weighting(level, weights):
    # star ratings 1-5 from 4 annotators on 30 units, some skipped: the package and
    # scikit-learn on the same matrix
    rng = np.random.default_rng(7)
    truth = rng.integers(1, 6, 30)
    matrix = np.clip(truth + rng.integers(-1, 2, (4, 30)), 1, 5).astype(float)
    matrix[rng.random(matrix.shape) < 0.25] = np.nan
    ratings = Ratings()
    for who in range(4):
        for unit in range(30):
            if not np.isnan(matrix[who, unit]):
                ratings.add(unit, f"r{who}", int(matrix[who, unit]))
    report = agreement(ratings, level, weights=weights)
    assert report.alpha.value == pytest.approx(
        krippendorff.alpha(matrix, level_of_measurement=level), rel=1e-9
    )
    for (first, second), score in report.pairwise.items():
        i, j = int(first[1:]), int(second[1:])
        both = ~np.isnan(matrix[i]) & ~np.isnan(matrix[j])
        expected = cohen_kappa_score(
            matrix[i][both], matrix[j][both], weights=weights, labels=ratings.values
        )
        assert score.value == pytest.approx(expected, abs=1e-12)
