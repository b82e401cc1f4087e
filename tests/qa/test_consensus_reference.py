"""Majority vote and Dawid-Skene give crowd-kit's labels on random crowds (units where
crowd-kit's top two posteriors are within 1e-6 of each other are ties and left out), and
Dawid-Skene's posteriors are crowd-kit's to 1e-6, after as many EM rounds.

crowd-kit's Dawid-Skene costs about 0.15 s plus 60 ms per EM round here (pandas joins),
so its comparison runs on 12 crowds; majority vote is cheap and keeps 40."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from crowdkit.aggregation import DawidSkene, MajorityVote
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.qa.consensus import dawid_skene, dawid_skene_columns, majority_vote


@st.composite
def crowds(draw):
    units = draw(st.integers(2, 40))
    annotators = draw(st.integers(2, 8))
    classes = draw(st.integers(2, 4))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    skill = rng.uniform(0.2, 1.0, annotators)
    rows = []
    for unit in range(units):
        truth = int(rng.integers(classes))
        count = int(rng.integers(1, annotators + 1))
        for who in rng.choice(annotators, count, replace=False):
            answer = truth if rng.random() < skill[who] else int(rng.integers(classes))
            rows.append((f"t{unit}", f"w{who}", answer))
    return rows


@settings(max_examples=12, deadline=None)
@given(rows=crowds())
def test_dawid_skene_equals_crowd_kit(rows):
    frame = pd.DataFrame(rows, columns=["task", "worker", "label"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = DawidSkene(n_iter=100, tol=1e-5).fit(frame)
    ours = dawid_skene(rows, tol=1e-5, max_iter=100)
    probas = reference.probas_
    ordered = np.sort(probas.to_numpy(), axis=1)
    margin = ordered[:, -1] - ordered[:, -2] if ordered.shape[1] > 1 else ordered[:, -1]
    clear = probas.index[margin > 1e-6]
    for unit in clear:
        assert ours.labels[unit] == reference.labels_[unit]
    theirs = probas.loc[ours.units, ours.classes].to_numpy()
    assert np.abs(ours.posteriors - theirs).max() < 1e-6
    assert ours.iterations == len(reference.loss_history_)
    # the columnar form gives the same result (units in sorted order there)
    columns = dawid_skene_columns(frame["task"], frame["worker"], frame["label"])
    assert columns.labels == ours.labels
    rows = [ours.units.index(unit) for unit in columns.units]
    assert np.abs(columns.posteriors - ours.posteriors[rows]).max() < 1e-12
    assert columns.iterations == ours.iterations


@settings(max_examples=40, deadline=None)
@given(rows=crowds())
def test_majority_vote_equals_crowd_kit(rows):
    frame = pd.DataFrame(rows, columns=["task", "worker", "label"])
    reference = MajorityVote().fit(frame)
    ours = majority_vote(rows)
    for unit, label in reference.labels_.items():
        shares = np.sort(reference.probas_.loc[unit].to_numpy())
        if len(shares) > 1 and shares[-1] == shares[-2]:
            # a tie: crowd-kit takes the first of its label columns, whose order comes
            # from pandas (overall frequency); ours is the value order, and says so
            assert ours[unit].tied and label in ours[unit].tied
        else:
            assert ours[unit].value == label and not ours[unit].tied
