"""Krippendorff's alpha equals the `krippendorff` package on random reliability data with
missing values, at every level, through both computation paths and every input form.
Where the package raises or returns NaN (no pairable unit, one value), ours raises QAError."""

from __future__ import annotations

import math
import warnings

import krippendorff
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bridge.qa.alpha as alpha_module
from bridge.qa.alpha import krippendorff_alpha
from bridge.qa.errors import QAError

LEVELS = ["nominal", "ordinal", "interval", "ratio"]


def reliability(values: st.SearchStrategy[float]) -> st.SearchStrategy[list[list[float]]]:
    cell = st.one_of(st.just(math.nan), values)
    return st.tuples(st.integers(1, 6), st.integers(1, 25)).flatmap(
        lambda shape: st.lists(
            st.lists(cell, min_size=shape[1], max_size=shape[1]),
            min_size=shape[0],
            max_size=shape[0],
        )
    )


small_ints = st.integers(0, 6).map(float)
many_floats = st.floats(0, 1000, allow_nan=False).map(lambda x: round(x, 2))


def reference(data, level):
    """The package's alpha, or None where it has none (raises or returns NaN)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = krippendorff.alpha(np.array(data, dtype=float), level_of_measurement=level)
    except ValueError:
        return None
    return None if math.isnan(value) else float(value)


def check(data, level):
    expected = reference(data, level)
    if expected is None:
        with pytest.raises(QAError):
            krippendorff_alpha(data, level)
    else:
        assert krippendorff_alpha(data, level) == pytest.approx(expected, rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("limit", [64, 0])
@settings(max_examples=120, deadline=None)
@given(data=reliability(small_ints))
def test_few_values_equal_the_package(level, limit, data):
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(alpha_module, "COINCIDENCE_LIMIT", limit)
        check(data, level)


@pytest.mark.parametrize("level", LEVELS)
@settings(max_examples=80, deadline=None)
@given(data=reliability(many_floats))
def test_many_values_equal_the_package(level, data):
    check(data, level)


@pytest.mark.parametrize("level", LEVELS)
@settings(max_examples=60, deadline=None)
@given(data=reliability(small_ints))
def test_value_counts_equal_the_package(level, data):
    matrix = np.array(data, dtype=float)
    domain = np.arange(7, dtype=float)
    counts = np.stack([(matrix == value).sum(axis=0) for value in domain], axis=1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = krippendorff.alpha(
                value_counts=counts, value_domain=domain, level_of_measurement=level
            )
    except ValueError:
        expected = math.nan
    if math.isnan(expected):
        with pytest.raises(QAError):
            krippendorff_alpha(value_counts=counts, level=level, value_domain=domain)
    else:
        got = krippendorff_alpha(value_counts=counts, level=level, value_domain=domain)
        assert got == pytest.approx(expected, rel=1e-9, abs=1e-9)


@settings(max_examples=80, deadline=None)
@given(data=reliability(small_ints))
def test_labels_with_none_equal_the_package_on_strings(data):
    words = [[None if math.isnan(v) else f"v{int(v)}" for v in row] for row in data]
    as_strings = np.array([["nan" if w is None else w for w in row] for row in words])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = krippendorff.alpha(as_strings, level_of_measurement="nominal")
    except ValueError:
        expected = math.nan
    if math.isnan(expected):
        with pytest.raises(QAError):
            krippendorff_alpha(words, "nominal")
    else:
        assert krippendorff_alpha(words, "nominal") == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("distinct", [100, 300])
def test_wide_domains_equal_the_package(level, distinct):
    """More values than the coincidence path takes (64) and than int8 codes hold (127)."""
    rng = np.random.default_rng(distinct)
    units = 400
    truth = rng.integers(0, distinct, units).astype(float)
    data = np.where(rng.random((3, units)) < 0.7, truth, rng.integers(0, distinct, (3, units)))
    data[rng.random(data.shape) < 0.2] = np.nan
    check(data * 0.5 + 0.25, level)
