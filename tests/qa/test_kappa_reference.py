"""Cohen's and Fleiss' kappa equal the reference packages on random data: scikit-learn's
`cohen_kappa_score` (every weighting) and statsmodels' `fleiss_kappa`. Where a reference
returns NaN (no variation: 0/0) ours raises QAError instead of passing NaN along."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa

from bridge.qa.errors import QAError
from bridge.qa.kappa import cohen_kappa, fleiss_kappa

pairs = st.integers(1, 40).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 4), min_size=n, max_size=n),
        st.lists(st.integers(0, 4), min_size=n, max_size=n),
    )
)


@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
@settings(max_examples=150, deadline=None)
@given(answers=pairs)
def test_cohen_equals_sklearn(weights, answers):
    a, b = answers
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = cohen_kappa_score(a, b, weights=weights)
    if math.isnan(expected):
        with pytest.raises(QAError):
            cohen_kappa(a, b, weights)
    else:
        assert cohen_kappa(a, b, weights) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
@settings(max_examples=60, deadline=None)
@given(answers=pairs, labels=st.permutations(range(5)))
def test_cohen_equals_sklearn_with_labels(weights, answers, labels):
    a, b = answers
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = cohen_kappa_score(a, b, weights=weights, labels=labels)
    if math.isnan(expected):
        with pytest.raises(QAError):
            cohen_kappa(a, b, weights, labels=labels)
    else:
        assert cohen_kappa(a, b, weights, labels=labels) == pytest.approx(expected, abs=1e-12)


tables = st.tuples(st.integers(1, 25), st.integers(2, 8), st.integers(1, 5)).flatmap(
    lambda shape: st.lists(
        st.lists(st.integers(0, shape[2] - 1), min_size=shape[1], max_size=shape[1]),
        min_size=shape[0],
        max_size=shape[0],
    ).map(lambda subjects, k=shape[2]: [[row.count(c) for c in range(k)] for row in subjects])
)


@settings(max_examples=200, deadline=None)
@given(table=tables)
def test_fleiss_equals_statsmodels(table):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = sm_fleiss_kappa(np.array(table))
    if math.isnan(expected):
        with pytest.raises(QAError):
            fleiss_kappa(table)
    else:
        assert fleiss_kappa(table) == pytest.approx(expected, abs=1e-12)
