"""Majority vote and Dawid-Skene on data whose answer is known by construction, and the
consensus set every writer takes."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from bridge import plugins
from bridge.api import write_dataset
from bridge.formats import Dataset
from bridge.losses import LossReport
from bridge.qa.consensus import (
    consensus_set,
    dawid_skene,
    dawid_skene_answers,
    majority_vote,
    vote_answers,
    with_consensus,
)
from bridge.qa.errors import QAError
from bridge.schema import (
    AnnotationSet,
    Annotator,
    Answer,
    Classification,
    ClassificationSpec,
    Item,
    Media,
    Ontology,
    OptionSpec,
    Project,
)


def test_majority_vote_counts_and_shares():
    votes = majority_vote(
        [("u1", "a", "cat"), ("u1", "b", "cat"), ("u1", "c", "dog"), ("u2", "a", "dog")]
    )
    assert votes["u1"].value == "cat" and votes["u1"].votes == 2 and votes["u1"].total == 3
    assert votes["u1"].share == pytest.approx(2 / 3)
    assert votes["u1"].tied == ()
    assert votes["u2"].value == "dog" and votes["u2"].share == 1.0


def test_majority_vote_tie_is_broken_by_value_order_and_reported():
    ratings = [("u", "a", "zebra"), ("u", "b", "ant"), ("u", "c", "mole"), ("u", "d", "mole")]
    ratings += [("u", "e", "ant")]
    vote = majority_vote(ratings)["u"]
    assert vote.value == "ant"  # ant and mole tie at 2; ant first in value order
    assert vote.tied == ("ant", "mole")
    # the order the ratings arrive in does not change the winner
    assert majority_vote(reversed(ratings))["u"].value == "ant"
    # numbers before strings, numbers by value
    assert majority_vote([("u", "a", 10), ("u", "b", 9)])["u"].value == 9


def test_missing_answers_do_not_vote():
    votes = majority_vote([("u", "a", None), ("u", "b", math.nan), ("u", "c", "x")])
    assert votes["u"].value == "x" and votes["u"].total == 1
    assert majority_vote([("u", "a", None)]) == {}


def inverted_crowd(units: int = 60):
    """Three accurate annotators and one who always gives the other answer (binary)."""
    truth = {f"u{i}": ("yes" if i % 3 else "no") for i in range(units)}
    ratings = []
    for unit, answer in truth.items():
        for who in ("a", "b", "c"):
            ratings.append((unit, who, answer))
        ratings.append((unit, "liar", "no" if answer == "yes" else "yes"))
    return truth, ratings


def test_dawid_skene_learns_an_inverting_annotator():
    truth, ratings = inverted_crowd()
    result = dawid_skene(ratings)
    assert result.labels == truth
    assert result.classes == ["no", "yes"]
    liar = result.confusion("liar")  # rows: true class, columns: the liar's answer
    assert liar[0, 1] == pytest.approx(1.0, abs=1e-6)  # true no -> answers yes
    assert liar[1, 0] == pytest.approx(1.0, abs=1e-6)
    assert result.confusion("a") == pytest.approx(np.eye(2), abs=1e-6)
    assert result.priors == pytest.approx([20 / 60, 40 / 60], abs=1e-6)
    assert result.converged and result.iterations >= 1
    assert result.posterior("u1") == pytest.approx(1.0, abs=1e-6)


def test_dawid_skene_posteriors_are_distributions_and_labels_their_arg_max():
    ratings = []
    for i in range(50):
        truth = "x" if i % 2 else "y"
        for who in ("a", "b"):
            ratings.append((i, who, truth))
        for who in ("c", "d", "e"):
            ratings.append((i, who, truth if i < 40 else "x"))
    result = dawid_skene(ratings)
    assert result.posteriors.sum(axis=1) == pytest.approx(np.ones(50))
    best = result.posteriors.argmax(axis=1)
    assert [result.classes[k] for k in best] == [result.labels[u] for u in result.units]
    for annotator in result.annotators:  # rows of a confusion matrix are distributions
        assert result.confusion(annotator).sum(axis=1) == pytest.approx(np.ones(2))


def test_dawid_skene_degenerate_input():
    with pytest.raises(QAError, match="no ratings"):
        dawid_skene([])
    with pytest.raises(QAError, match="no ratings"):
        dawid_skene([("u", "a", None)])
    # one class only: every posterior is 1 for it
    result = dawid_skene([("u", "a", "x"), ("u", "b", "x"), ("v", "a", "x")])
    assert result.labels == {"u": "x", "v": "x"}
    assert result.posteriors == pytest.approx(np.ones((2, 1)))
    # one annotator: the labels are theirs
    single = dawid_skene([("u", "a", "x"), ("v", "a", "y")])
    assert single.labels == {"u": "x", "v": "y"}


# ------------------------------------------------------------------ consensus output


def crowd_items():
    answers = {"img0.jpg": ["good", "good", "bad"], "img1.jpg": ["bad", "bad", "good"]}
    for key, given in answers.items():
        sets = [
            AnnotationSet(
                id=f"s{j}",
                annotator=Annotator(email=f"a{j}@example.org"),
                classifications=[Classification(name="quality", answers=[Answer(value=v)])],
            )
            for j, v in enumerate(given)
        ]
        yield Item(
            key=key,
            media=Media(kind="image", uri=key, width=10, height=10),
            annotation_sets=sets,
        )


def crowd_triples():
    for item in crowd_items():
        for aset in item.annotation_sets:
            for c in aset.classifications:
                yield (item.key, c.name), aset.annotator.email, c.answers[0].value


def test_consensus_set_holds_answers_and_scores():
    aset = consensus_set({"quality": ("good", 0.75), "count": (3, 0.5)}, method="dawid_skene")
    assert aset.kind == "consensus"
    assert aset.score == 0.5
    assert [
        (c.name, c.answers[0].value, c.answers[0].extra["score"]) for c in aset.classifications
    ] == [
        ("quality", "good", 0.75),
        ("count", 3, 0.5),
    ]
    assert aset.extra == {"consensus_method": "dawid_skene"}
    with pytest.raises(QAError, match="multi-answer"):
        consensus_set({"tags": (("a", "b"), 1.0)})


def test_with_consensus_adds_one_set_per_item_from_votes_and_dawid_skene():
    votes = majority_vote(crowd_triples())
    items = list(with_consensus(crowd_items(), vote_answers(votes)))
    last = [item.annotation_sets[-1] for item in items]
    assert [a.kind for a in last] == ["consensus", "consensus"]
    assert [a.classifications[0].answers[0].value for a in last] == ["good", "bad"]
    assert [a.score for a in last] == pytest.approx([2 / 3, 2 / 3])
    result = dawid_skene(crowd_triples())
    items = list(with_consensus(crowd_items(), dawid_skene_answers(result), method="ds"))
    assert [i.annotation_sets[-1].classifications[0].answers[0].value for i in items] == [
        "good",
        "bad",
    ]
    with pytest.raises(QAError, match="item key, question"):
        vote_answers(majority_vote([("u", "a", "x")]))


EXTENSIONS = {"jsonl": ".jsonl"}


def _size(path: Path) -> int:
    """Bytes of a file, or of every file under a directory."""
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


@pytest.mark.parametrize(
    "fmt", [name for name, f in plugins.registry().formats.items() if f.capabilities.write]
)
def test_every_writer_takes_a_consensus_set(fmt, tmp_path: Path):
    """Each writer either writes the consensus answers (read back where it can read; a
    write-only format's output grows) or reports what it could not hold: some loss grows
    against the same items written without the consensus set (any loss at all would not
    do: the human sets have their own)."""
    project = Project(
        name="p",
        media_kind="image",
        ontology=Ontology(
            classifications=[
                ClassificationSpec(
                    name="quality",
                    input="radio",
                    options=[OptionSpec(value="good"), OptionSpec(value="bad")],
                )
            ]
        ),
    )
    answers = {("img0.jpg", "quality"): ("good", 0.875), ("img1.jpg", "quality"): ("bad", 0.625)}
    out = tmp_path / f"out{EXTENSIONS.get(fmt, '.json')}"
    losses = LossReport()
    items = with_consensus(crowd_items(), answers)
    write_dataset(Dataset(project=project, items=items, ontology_final=True), out, fmt, losses)
    without = LossReport()
    base_out = tmp_path / "base" / out.name
    base_out.parent.mkdir()
    base = Dataset(project=project, items=crowd_items(), ontology_final=True)
    write_dataset(base, base_out, fmt, without)
    writer = plugins.get_format(fmt)
    if "image" not in writer.capabilities.media:
        assert losses.as_dict() == without.as_dict() != []  # the image items are refused
        return
    if writer.capabilities.read:
        back = list(writer.read(out, LossReport()).items)
        given = [
            [c.answers[0].value for a in item.annotation_sets for c in a.classifications]
            for item in back
        ]
        held = [g[-1] if g else None for g in given] == ["good", "bad"]
    else:
        held = _size(out) > _size(base_out)
    grown = [loss.code for loss in losses if loss.count > without.count(loss.code)]
    assert held or grown
    if fmt == "jsonl":  # the unified file keeps the kind and every score
        last = [item.annotation_sets[-1] for item in back]
        assert [a.kind for a in last] == ["consensus", "consensus"]
        assert [a.classifications[0].answers[0].extra["score"] for a in last] == [0.875, 0.625]


# crowd-kit's step-by-step Dawid-Skene example (Toloka/crowd-kit,
# tests/aggregation/test_ds_aggregation.py, fixtures `data`, `*_iter_0`, `*_iter_1`; their
# tolerance 0.005): 5 tasks, 5 workers (w3 did not answer t1), after 0 and 1 EM rounds.
CROWD_KIT_TOY = {
    "t1": {"w1": "no", "w2": "yes", "w4": "yes", "w5": "no"},
    "t2": {"w1": "yes", "w2": "yes", "w3": "yes", "w4": "no", "w5": "no"},
    "t3": {"w1": "yes", "w2": "no", "w3": "no", "w4": "yes", "w5": "no"},
    "t4": {"w1": "yes", "w2": "yes", "w3": "yes", "w4": "yes", "w5": "yes"},
    "t5": {"w1": "yes", "w2": "no", "w3": "no", "w4": "no", "w5": "no"},
}
# per round: posteriors (no, yes) per task, priors (no, yes), labels after round 1, and
# errors[worker] = ((P(no|true no), P(no|true yes)), (P(yes|true no), P(yes|true yes)))
TOY_ROUNDS = {
    0: {
        "posteriors": [[0.5, 0.5], [0.4, 0.6], [0.6, 0.4], [0.0, 1.0], [0.8, 0.2]],
        "priors": [0.46, 0.54],
        "errors": {
            "w1": ((0.22, 0.19), (0.78, 0.81)),
            "w2": ((0.61, 0.22), (0.39, 0.78)),
            "w3": ((0.78, 0.27), (0.22, 0.73)),
            "w4": ((0.52, 0.30), (0.48, 0.70)),
            "w5": ((1.00, 0.63), (0.00, 0.37)),
        },
    },
    1: {
        "posteriors": [[0.35, 0.65], [0.26, 0.74], [0.87, 0.13], [0.0, 1.0], [0.95, 0.05]],
        "priors": [0.49, 0.51],
        "labels": {"t1": "yes", "t2": "yes", "t3": "no", "t4": "yes", "t5": "no"},
        "errors": {
            "w1": ((0.14, 0.25), (0.86, 0.75)),
            "w2": ((0.75, 0.07), (0.25, 0.93)),
            "w3": ((0.87, 0.09), (0.13, 0.91)),
            "w4": ((0.50, 0.31), (0.50, 0.69)),
            "w5": ((1.00, 0.61), (0.00, 0.39)),
        },
    },
}


@pytest.mark.parametrize("rounds", [0, 1])
def test_dawid_skene_crowd_kit_step_by_step_example(rounds):
    ratings = [(t, w, v) for t, answers in CROWD_KIT_TOY.items() for w, v in answers.items()]
    result = dawid_skene(ratings, max_iter=rounds)
    expected = TOY_ROUNDS[rounds]
    assert result.units == list(CROWD_KIT_TOY) and result.classes == ["no", "yes"]
    assert result.iterations == rounds
    assert result.posteriors == pytest.approx(np.array(expected["posteriors"]), abs=0.005)
    assert result.priors == pytest.approx(expected["priors"], abs=0.005)
    for worker, rows in expected["errors"].items():
        # crowd-kit's rows are the observed answer, columns the true class: transposed
        answer_by_true = result.confusion(worker).T
        assert answer_by_true == pytest.approx(np.array(rows), abs=0.005)
    if "labels" in expected:
        assert result.labels == expected["labels"]
