"""Cohen's and Fleiss' kappa on published worked examples, and what they do with input that
has no kappa. Every expected value is the source's, not our output."""

from __future__ import annotations

import math
import re

import pytest

from bridge.qa.errors import QAError
from bridge.qa.kappa import cohen_kappa, fleiss_category_kappas, fleiss_kappa, kappa_from_table

# Wikipedia, "Cohen's kappa", worked example: 50 grant proposals read by A and B;
# both yes 20, A yes / B no 5, A no / B yes 10, both no 15; po = 0.7, pe = 0.5, kappa = 0.4.
WIKI_A = ["yes"] * 20 + ["yes"] * 5 + ["no"] * 10 + ["no"] * 15
WIKI_B = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15

# SAS PROC FREQ agreement printout quoted in statsmodels' tests (test_inter_rater.py,
# TestUnweightedCohens / TestWeightedCohens): kappa 0.4842, Cicchetti-Allison (linear)
# weighted kappa 0.4701.
SAS_TABLE = [[0, 4, 1], [0, 8, 0], [0, 1, 5]]

# Wikipedia, "Fleiss' kappa", worked example: 10 subjects, 14 raters, 5 categories;
# kappa = 0.210 (P = 0.378, Pe = 0.213).
WIKI_FLEISS = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]

# Fleiss (1971), Table 1: 30 patients, 6 psychiatrists each, categories depression,
# personality disorder, schizophrenia, neurosis, other. Transcribed from the R package irr's
# `diagnoses` data (as shipped in pyirr's tests/diagnoses.csv, one column per rater).
# Published: kappa = 0.430; per category 0.245, 0.245, 0.520, 0.471, 0.566.
FLEISS_1971_RATINGS = """
4 4 4 4 4 4|2 2 2 5 5 5|2 3 3 3 3 5|5 5 5 5 5 5|2 2 2 4 4 4|1 1 3 3 3 3|3 3 3 3 5 5|1 1 3 3 3 4
1 1 4 4 4 4|5 5 5 5 5 5|1 4 4 4 4 4|1 2 4 4 4 4|2 2 2 3 3 3|1 4 4 4 4 4|2 2 4 4 4 5|3 3 3 3 3 5
1 1 1 4 5 5|1 1 1 1 1 2|2 2 4 4 4 4|1 3 3 5 5 5|5 5 5 5 5 5|2 4 4 4 4 4|2 2 4 5 5 5|1 1 4 4 4 4
1 4 4 4 4 5|2 2 2 2 2 4|1 1 1 1 5 5|2 2 4 4 4 4|1 3 3 3 3 3|5 5 5 5 5 5
"""


def fleiss_1971_table() -> list[list[int]]:
    table = []
    for patient in re.split(r"[|\n]", FLEISS_1971_RATINGS.strip()):
        row = [0] * 5
        for diagnosis in patient.split():
            row[int(diagnosis) - 1] += 1
        table.append(row)
    return table


def test_cohen_wikipedia_example():
    assert round(cohen_kappa(WIKI_A, WIKI_B), 3) == 0.4


def test_cohen_sas_table_unweighted_and_linear():
    assert round(kappa_from_table(SAS_TABLE), 4) == 0.4842
    assert round(kappa_from_table(SAS_TABLE, "linear"), 4) == 0.4701


def test_cohen_on_answers_matches_the_table_it_came_from():
    # the SAS table expanded into answer lists: rater a in rows, b in columns
    a, b = [], []
    for i, row in enumerate(SAS_TABLE):
        for j, count in enumerate(row):
            a += [i] * count
            b += [j] * count
    assert round(cohen_kappa(a, b, "linear"), 4) == 0.4701
    # labels fix the order the weights see: reversing it keeps linear kappa
    assert round(cohen_kappa(a, b, "linear", labels=[2, 1, 0]), 4) == 0.4701


def test_cohen_leaves_out_units_a_rater_skipped():
    a = [*WIKI_A, None, "yes", math.nan]
    b = [*WIKI_B, "no", None, "yes"]
    assert round(cohen_kappa(a, b), 3) == 0.4


def test_fleiss_wikipedia_example():
    assert round(fleiss_kappa(WIKI_FLEISS), 3) == 0.210


def test_fleiss_1971_table_1():
    table = fleiss_1971_table()
    assert len(table) == 30 and all(sum(row) == 6 for row in table)
    assert round(fleiss_kappa(table), 3) == 0.430
    per_category = [round(k, 3) for k in fleiss_category_kappas(table)]
    assert per_category == [0.245, 0.245, 0.520, 0.471, 0.566]


# ------------------------------------------------------------------ degenerate input


def test_cohen_both_raters_one_same_answer_is_undefined():
    with pytest.raises(QAError, match="same answer"):
        cohen_kappa(["x"] * 5, ["x"] * 5)
    with pytest.raises(QAError, match="same answer"):
        cohen_kappa(["x"] * 5, ["x"] * 5, "quadratic")


def test_cohen_each_rater_one_different_answer_is_zero():
    # no agreement at all, chance agreement 0: kappa 0, a defined value
    assert cohen_kappa(["x"] * 4, ["y"] * 4) == 0.0


def test_cohen_perfect_agreement_is_one():
    assert cohen_kappa([1, 2, 3, 1], [1, 2, 3, 1], "quadratic") == 1.0


def test_cohen_no_overlap_empty_and_mismatched_input():
    with pytest.raises(QAError, match="both raters"):
        cohen_kappa(["x", None], [None, "y"])
    with pytest.raises(QAError, match="both raters"):
        cohen_kappa([], [])
    with pytest.raises(QAError, match="differ in length"):
        cohen_kappa(["x"], ["x", "y"])
    with pytest.raises(QAError, match="not in labels"):
        cohen_kappa(["x", "y"], ["x", "z"], labels=["x", "y"])
    with pytest.raises(QAError, match="unknown weights"):
        cohen_kappa(["x", "y"], ["x", "y"], "cubic")  # type: ignore[arg-type]


def test_fleiss_degenerate_tables():
    with pytest.raises(QAError, match="same number of ratings"):
        fleiss_kappa([[2, 1], [1, 1]])
    with pytest.raises(QAError, match="at least 2 ratings"):
        fleiss_kappa([[1, 0], [0, 1]])
    with pytest.raises(QAError, match="one category"):
        fleiss_kappa([[3, 0], [3, 0]])
    with pytest.raises(QAError, match="subjects x categories"):
        fleiss_kappa([])
    with pytest.raises(QAError, match="whole counts"):
        fleiss_kappa([[1.5, 0.5]])
    # a category nobody used has no per-category kappa
    assert fleiss_category_kappas([[2, 0, 1], [1, 0, 2]])[1] is None


def test_fleiss_all_raters_agreeing_on_different_categories_is_one():
    assert fleiss_kappa([[3, 0], [0, 3], [3, 0]]) == 1.0
