"""Krippendorff's alpha on the published worked example at all four levels, through every
input form, and what it does with data that has no alpha."""

from __future__ import annotations

import numpy as np
import pytest

import bridge.qa.alpha as alpha_module
from bridge.qa.alpha import (
    alpha_from_coincidences,
    coincidences_from_counts,
    krippendorff_alpha,
)
from bridge.qa.errors import QAError

N = None
# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C (4 observers
# A-D x 12 units, missing values): nominal .743, ordinal .815, interval .849, ratio .797.
# The same data and values are in R irr's `nmm` (tested in pyirr's test_kripp_alpha.py) and
# in the krippendorff package's docstring.
RELIABILITY = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, N, N, N],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, N, 3],
    [N, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, N],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, N],
]
PUBLISHED = {"nominal": 0.743, "ordinal": 0.815, "interval": 0.849, "ratio": 0.797}
WORDS = {1: "very low", 2: "low", 3: "mid", 4: "high", 5: "very high"}


@pytest.fixture(params=["coincidences", "rater-pairs"])
def path(request, monkeypatch):
    """Both ways alpha is computed: via the coincidence matrix (few values) and per pair of
    raters (many values)."""
    if request.param == "rater-pairs":
        monkeypatch.setattr(alpha_module, "COINCIDENCE_LIMIT", 0)
    return request.param


@pytest.mark.parametrize("level", list(PUBLISHED))
def test_krippendorff_2011_example(level, path):
    assert round(krippendorff_alpha(RELIABILITY, level), 3) == PUBLISHED[level]
    as_nan = np.array(RELIABILITY, dtype=float)  # None -> NaN
    assert round(krippendorff_alpha(as_nan, level), 3) == PUBLISHED[level]


def test_labels_nominal_and_ordinal_with_their_order(path):
    words = [[WORDS.get(v) for v in row] for row in RELIABILITY]  # type: ignore[arg-type]
    assert round(krippendorff_alpha(words, "nominal"), 3) == 0.743
    order = [WORDS[v] for v in sorted(WORDS)]
    assert round(krippendorff_alpha(words, "ordinal", value_domain=order), 3) == 0.815
    with pytest.raises(QAError, match="needs their order"):
        krippendorff_alpha(words, "ordinal")
    with pytest.raises(QAError, match="needs numbers"):
        krippendorff_alpha(words, "interval")


def test_checklist_answers_are_one_nominal_value_each(path):
    """A tuple (the options a checklist ticked) is one value, not a row of values: the
    example's numbers replaced by tuples give the published nominal alpha."""
    ticks = {1: ("a",), 2: ("a", "b"), 3: ("b",), 4: ("b", "c"), 5: ("a", "b", "c")}
    checklists = [[ticks.get(v) for v in row] for row in RELIABILITY]  # type: ignore[arg-type]
    assert round(krippendorff_alpha(checklists, "nominal"), 3) == 0.743


def test_value_counts_and_coincidence_forms():
    counts = np.zeros((12, 5))
    for row in RELIABILITY:
        for unit, value in enumerate(row):
            if value is not None:
                counts[unit, value - 1] += 1
    domain = [1, 2, 3, 4, 5]
    for level, published in PUBLISHED.items():
        assert (
            round(krippendorff_alpha(value_counts=counts, level=level, value_domain=domain), 3)
            == published
        )  # noqa: E501
        # streaming: coincidences summed over chunks of units give the same alpha
        o = coincidences_from_counts(counts[:5]) + coincidences_from_counts(counts[5:])
        assert round(alpha_from_coincidences(o, level, domain), 3) == published


def test_coincidence_matrix_of_the_example():
    # counted by hand from RELIABILITY: unit 12 has one value, the other 11 units hold
    # 40 pairable values, of which 9, 13, 10, 5, 3 are 1..5
    counts = np.zeros((12, 5))
    for row in RELIABILITY:
        for unit, value in enumerate(row):
            if value is not None:
                counts[unit, value - 1] += 1
    o = coincidences_from_counts(counts)
    assert o.sum() == pytest.approx(40)
    assert o.sum(axis=0) == pytest.approx([9, 13, 10, 5, 3])
    assert o == pytest.approx(o.T)


def test_value_domain_with_unused_values_changes_nothing(path):
    assert krippendorff_alpha(RELIABILITY, "ordinal", value_domain=[0, 1, 2, 3, 4, 5, 6]) == (
        pytest.approx(krippendorff_alpha(RELIABILITY, "ordinal"))
    )
    with pytest.raises(QAError, match="outside value_domain"):
        krippendorff_alpha(RELIABILITY, "ordinal", value_domain=[1, 2, 3])


# ------------------------------------------------------------------ degenerate input


def test_all_raters_agreeing_on_varied_values_is_one(path):
    assert krippendorff_alpha([[1, 2, 3, N], [1, 2, 3, 4]], "interval") == 1.0


def test_one_value_everywhere_is_undefined(path):
    with pytest.raises(QAError, match="undefined"):
        krippendorff_alpha([[1, 1, 1], [1, 1, 1]])
    # two values occur, but only one among units rated twice
    with pytest.raises(QAError, match="undefined"):
        krippendorff_alpha([[1, 1, 2], [1, 1, N]])


def test_one_rater_empty_and_no_overlap(path):
    with pytest.raises(QAError, match="two raters"):
        krippendorff_alpha([[1, 2, 3]])
    with pytest.raises(QAError, match="two raters"):
        krippendorff_alpha([[1, N], [N, 2]])
    with pytest.raises(QAError, match="two raters"):
        krippendorff_alpha([[N, N], [N, N]])
    with pytest.raises(QAError, match="raters x units"):
        krippendorff_alpha([])


def test_bad_arguments():
    with pytest.raises(QAError, match="either"):
        krippendorff_alpha()
    with pytest.raises(QAError, match="either"):
        krippendorff_alpha(RELIABILITY, value_counts=[[1, 1]])
    with pytest.raises(QAError, match="unknown level"):
        krippendorff_alpha(RELIABILITY, "circular")  # type: ignore[arg-type]
    with pytest.raises(QAError, match="infinite"):
        krippendorff_alpha([[1.0, float("inf")], [1.0, 2.0]])
