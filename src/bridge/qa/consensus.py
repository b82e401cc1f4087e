"""Consensus for categorical answers: majority vote and Dawid-Skene, and the consensus
annotation set every writer can take.

Input is a stream of *ratings*: `(unit, annotator, value)` triples (a unit is whatever was
answered: an item's question, a matched region's label; `bridge.qa.categorical.Ratings`
gives them with `.triples()`). Missing values (None/NaN) are left out.

**Majority vote**: per unit the value most annotators gave. A tie is broken
deterministically by the value order of `bridge.qa.values` (numbers, then strings, ...: the
smallest tied value wins, whatever order the ratings came in) and reported: `Vote.tied`
lists every value that tied. (crowd-kit's `MajorityVote` takes the first of its label
columns, in an order pandas derives from how often each label occurs overall.)

**Dawid-Skene** (Dawid & Skene 1979): each annotator w has a confusion matrix
e_w[k, l] = P(w answers l | the true class is k); the true classes have priors p. EM from the
majority-vote proportions (like crowd-kit's `DawidSkene`): the M-step sets e_w from the
current posteriors (counts clipped at 1e-10, each row normalised over the answers w gave),
the E-step sets each unit's posterior proportional to p_k prod e_w[k, answer]; it stops when
the evidence lower bound per rating grows by less than `tol`, or after `max_iter` rounds.
The label is the class with the highest posterior (the first in value order on a tie).
Classes are the values given, in value order.

`consensus_set` / `with_consensus` turn answers into an `AnnotationSet` of kind
`consensus` holding one classification per question; each answer keeps its score (the vote
share or the posterior) in `Answer.extra["score"]`, and the set's `score` is the lowest of
them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bridge.qa.errors import QAError
from bridge.qa.values import value_key
from bridge.schema import AnnotationSet, Answer, AttributeValue, Classification, Item

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

Triple = tuple[Hashable, Hashable, Hashable]
EPS = 1e-10


@dataclass(frozen=True)
class Vote:
    """A unit's majority answer: `value`, its `votes` out of `total`, and every value that
    tied for the most votes (`tied`, empty when there was no tie)."""

    value: Hashable
    votes: int
    total: int
    tied: tuple[Hashable, ...] = ()

    @property
    def share(self) -> float:
        return self.votes / self.total


def majority_vote(ratings: Iterable[Triple]) -> dict[Hashable, Vote]:
    """The majority answer of each unit (ties broken by value order and reported)."""
    tallies: dict[Hashable, Counter[Hashable]] = {}
    for unit, _annotator, value in ratings:
        if value is None or value != value:  # missing: None or NaN
            continue
        tallies.setdefault(unit, Counter())[value] += 1
    votes: dict[Hashable, Vote] = {}
    for unit, tally in tallies.items():
        most = max(tally.values())
        top = sorted((v for v, n in tally.items() if n == most), key=value_key)
        votes[unit] = Vote(top[0], most, sum(tally.values()), tuple(top) if len(top) > 1 else ())
    return votes


@dataclass
class DawidSkeneResult:
    """What Dawid-Skene found.

    `labels[unit]` is the consensus answer; `posteriors` is units x classes (rows in the
    order of `units`, columns in the order of `classes`); `confusion[annotator]` is classes x
    classes with rows the true class and columns the annotator's answer (each row sums to 1
    over the answers that annotator gave); `priors` the class priors."""

    units: list[Hashable]
    classes: list[Hashable]
    annotators: list[Hashable]
    posteriors: npt.NDArray[np.float64]
    priors: npt.NDArray[np.float64]
    confusions: npt.NDArray[np.float64]
    iterations: int
    converged: bool
    labels: dict[Hashable, Hashable] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._rows = {unit: i for i, unit in enumerate(self.units)}

    def posterior(self, unit: Hashable) -> float:
        """The posterior of the unit's consensus label."""
        return float(self.posteriors[self._rows[unit]].max())

    def confusion(self, annotator: Hashable) -> npt.NDArray[np.float64]:
        """The annotator's confusion matrix (rows: true class, columns: their answer)."""
        matrix: npt.NDArray[np.float64] = self.confusions[self.annotators.index(annotator)]
        return matrix


def dawid_skene(
    ratings: Iterable[Triple], *, tol: float = 1e-5, max_iter: int = 100
) -> DawidSkeneResult:
    """Dawid-Skene EM over `(unit, annotator, value)` ratings (module docstring)."""
    import numpy as np

    if max_iter < 0 or not tol >= 0:
        raise QAError("max_iter and tol must be >= 0", where="dawid_skene")
    unit_index: dict[Hashable, int] = {}
    rater_index: dict[Hashable, int] = {}
    seen_values: dict[Hashable, int] = {}
    unit_codes: list[int] = []
    rater_codes: list[int] = []
    value_codes: list[int] = []
    for unit, annotator, value in ratings:
        if value is None or value != value:  # missing: None or NaN (one pass, no call)
            continue
        unit_codes.append(unit_index.setdefault(unit, len(unit_index)))
        rater_codes.append(rater_index.setdefault(annotator, len(rater_index)))
        value_codes.append(seen_values.setdefault(value, len(seen_values)))
    if not unit_codes:
        raise QAError(
            "no ratings to aggregate", where="dawid_skene", hint="give (unit, annotator, value)"
        )
    classes = sorted(seen_values, key=value_key)
    rank = np.empty(len(classes), dtype=np.int64)
    rank[[seen_values[value] for value in classes]] = np.arange(len(classes))
    result = dawid_skene_codes(
        np.asarray(unit_codes, dtype=np.int64),
        np.asarray(rater_codes, dtype=np.int64),
        rank[np.asarray(value_codes, dtype=np.int64)],
        units=len(unit_index),
        annotators=len(rater_index),
        classes=len(classes),
        tol=tol,
        max_iter=max_iter,
    )
    posteriors, priors, confusions, iterations, converged = result
    units = list(unit_index)
    choice = posteriors.argmax(axis=1)
    return DawidSkeneResult(
        units=units,
        classes=classes,
        annotators=list(rater_index),
        posteriors=posteriors,
        priors=priors,
        confusions=confusions,
        iterations=iterations,
        converged=converged,
        labels={unit: classes[int(k)] for unit, k in zip(units, choice.tolist(), strict=True)},
    )


def dawid_skene_columns(
    units: npt.ArrayLike,
    annotators: npt.ArrayLike,
    values: npt.ArrayLike,
    *,
    tol: float = 1e-5,
    max_iter: int = 100,
) -> DawidSkeneResult:
    """Dawid-Skene over three equally long columns (numpy arrays, pandas columns, lists):
    the columnar form of `dawid_skene`, encoded by `np.unique` when the columns hold
    numbers or strings (NaN values are missing), else by `dawid_skene` row by row."""
    import numpy as np

    unit_column = np.asarray(units)
    rater_column = np.asarray(annotators)
    value_column = np.asarray(values)
    if not (len(unit_column) == len(rater_column) == len(value_column)):
        raise QAError("the three columns differ in length", where="dawid_skene")
    if not all(
        column.dtype.kind in "biufU" for column in (unit_column, rater_column, value_column)
    ):
        rows = zip(unit_column.tolist(), rater_column.tolist(), value_column.tolist(), strict=True)
        return dawid_skene(rows, tol=tol, max_iter=max_iter)
    if value_column.dtype.kind == "f":
        present = ~np.isnan(value_column)
        unit_column, rater_column, value_column = (
            unit_column[present],
            rater_column[present],
            value_column[present],
        )
    if len(value_column) == 0:
        raise QAError(
            "no ratings to aggregate", where="dawid_skene", hint="give (unit, annotator, value)"
        )
    unit_values, unit_codes = np.unique(unit_column, return_inverse=True)
    rater_values, rater_codes = np.unique(rater_column, return_inverse=True)
    class_values, class_codes = np.unique(value_column, return_inverse=True)
    posteriors, priors, confusions, iterations, converged = dawid_skene_codes(
        unit_codes.astype(np.int64).ravel(),
        rater_codes.astype(np.int64).ravel(),
        class_codes.astype(np.int64).ravel(),
        units=len(unit_values),
        annotators=len(rater_values),
        classes=len(class_values),
        tol=tol,
        max_iter=max_iter,
    )
    unit_list = unit_values.tolist()
    classes = class_values.tolist()
    choice = posteriors.argmax(axis=1).tolist()
    return DawidSkeneResult(
        units=unit_list,
        classes=classes,
        annotators=rater_values.tolist(),
        posteriors=posteriors,
        priors=priors,
        confusions=confusions,
        iterations=iterations,
        converged=converged,
        labels={unit: classes[k] for unit, k in zip(unit_list, choice, strict=True)},
    )


def dawid_skene_codes(
    unit: npt.NDArray[np.int64],
    annotator: npt.NDArray[np.int64],
    label: npt.NDArray[np.int64],
    *,
    units: int,
    annotators: int,
    classes: int,
    tol: float = 1e-5,
    max_iter: int = 100,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64], int, bool]:
    """Dawid-Skene on integer-coded ratings (0-based codes): posteriors (units x classes),
    priors, confusions (annotators x true x answer), iterations run, converged."""
    import numpy as np

    pair = annotator * classes + label
    observed = np.bincount(pair, minlength=annotators * classes) > 0

    def m_step(posteriors: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        errors: npt.NDArray[np.float64] = np.empty(
            (annotators * classes, classes), dtype=np.float64
        )
        for k in range(classes):
            errors[:, k] = np.bincount(
                pair, weights=posteriors[unit, k], minlength=annotators * classes
            )
        errors = np.where(observed[:, None], np.maximum(errors, EPS), 0.0)
        cube = errors.reshape(annotators, classes, classes)  # annotator, answer, true
        cube /= cube.sum(axis=1, keepdims=True)
        return errors

    def label_log_likelihoods(errors: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        with np.errstate(divide="ignore"):
            log_errors = np.log2(errors)
        sums = np.empty((units, classes), dtype=np.float64)
        for k in range(classes):
            sums[:, k] = np.bincount(unit, weights=log_errors[pair, k], minlength=units)
        return sums

    # initialisation: majority-vote proportions
    votes = np.zeros((units, classes), dtype=np.float64)
    np.add.at(votes, (unit, label), 1.0)
    posteriors = votes / votes.sum(axis=1, keepdims=True)
    priors = posteriors.mean(axis=0)
    errors = m_step(posteriors)
    per_unit = np.bincount(unit, minlength=units).astype(np.float64)
    loss = -np.inf
    iterations = 0
    converged = False
    for _ in range(max_iter):
        iterations += 1
        log_priors = np.log2(np.maximum(priors, EPS))
        sums = label_log_likelihoods(errors)
        log_likelihood = log_priors[None, :] + sums
        scaled = np.exp2(log_likelihood - log_likelihood.max(axis=1, keepdims=True))
        posteriors = scaled / scaled.sum(axis=1, keepdims=True)
        priors = posteriors.mean(axis=0)
        errors = m_step(posteriors)
        # evidence lower bound per rating, as crowd-kit computes it
        log_priors_e = np.log(np.maximum(priors, EPS))
        expectation = label_log_likelihoods(errors) * np.log(2.0)
        expectation += per_unit[:, None] * log_priors_e[None, :]
        joint = float((posteriors * expectation).sum())
        clipped = np.maximum(posteriors, EPS)
        entropy = -float((np.log(clipped) * clipped).sum())
        new_loss = (joint + entropy) / len(unit)
        if new_loss - loss < tol:
            converged = True
            break
        loss = new_loss
    confusions = errors.reshape(annotators, classes, classes).transpose(0, 2, 1).copy()
    return posteriors, priors, confusions, iterations, converged


# ------------------------------------------------------------------ consensus output


def consensus_set(
    answers: Mapping[str, tuple[Hashable, float]],
    *,
    set_id: str = "consensus",
    method: str = "majority_vote",
) -> AnnotationSet:
    """An annotation set of kind `consensus` answering each question of `answers`
    (question -> (value, score)); the score rides in each answer's `extra["score"]`."""
    classifications = []
    for question, (value, score) in answers.items():
        classifications.append(
            Classification(
                name=question,
                answers=[_answer(value, score, question)],
            )
        )
    scores = [score for _, score in answers.values()]
    return AnnotationSet(
        id=set_id,
        kind="consensus",
        score=min(scores) if scores else None,
        classifications=classifications,
        extra={"consensus_method": method},
    )


def _answer(value: Hashable, score: float, question: str) -> Answer:
    if isinstance(value, tuple):
        raise QAError(
            f"question {question!r}: a multi-answer consensus value {value!r} cannot be one answer",
            where="consensus_set",
            hint="vote each option of a checklist as its own question",
        )
    if not isinstance(value, (str, int, float, bool)):
        raise QAError(
            f"question {question!r}: {value!r} is not an answer value (text, number, yes/no)",
            where="consensus_set",
        )
    attribute: AttributeValue = value
    extra: dict[str, Any] = {"score": float(score)}
    return Answer(value=attribute, extra=extra)


def with_consensus(
    items: Iterable[Item],
    answers: Mapping[tuple[str, str], tuple[Hashable, float]],
    *,
    set_id: str = "consensus",
    method: str = "majority_vote",
) -> Iterator[Item]:
    """The items again, each with a consensus set added for its answers; `answers` maps
    (item key, question) to (value, score). Items without answers pass unchanged."""
    by_item: dict[str, dict[str, tuple[Hashable, float]]] = {}
    for (key, question), answer in answers.items():
        by_item.setdefault(key, {})[question] = answer
    for item in items:
        mine = by_item.get(item.key)
        if not mine:
            yield item
            continue
        aset = consensus_set(mine, set_id=set_id, method=method)
        yield item.model_copy(update={"annotation_sets": [*item.annotation_sets, aset]})


def vote_answers(votes: Mapping[Hashable, Vote]) -> dict[tuple[str, str], tuple[Hashable, float]]:
    """Majority votes over units `(item key, question)` as `with_consensus` answers."""
    return {_item_unit(unit): (vote.value, vote.share) for unit, vote in votes.items()}


def dawid_skene_answers(result: DawidSkeneResult) -> dict[tuple[str, str], tuple[Hashable, float]]:
    """Dawid-Skene labels over units `(item key, question)` as `with_consensus` answers,
    scored by their posterior."""
    best = result.posteriors.max(axis=1).tolist()
    return {
        _item_unit(unit): (result.labels[unit], score)
        for unit, score in zip(result.units, best, strict=True)
    }


def _item_unit(unit: Hashable) -> tuple[str, str]:
    if (
        isinstance(unit, tuple)
        and len(unit) == 2
        and isinstance(unit[0], str)
        and isinstance(unit[1], str)
    ):
        return unit[0], unit[1]
    raise QAError(
        f"unit {unit!r} is not (item key, question)",
        where="with_consensus",
        hint="item-level consensus takes the units of bridge.qa.categorical.classification_ratings",
    )
