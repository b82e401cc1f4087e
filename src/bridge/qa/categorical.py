"""Categorical agreement on unified data: who answered what, per unit, and how well the
annotators agree.

**Unit**: one thing several annotators answered. For item-level classifications a unit is
`(item key, question)`; for region labels and attributes it is whatever the caller names a
group of matched regions (the matching is `bridge.qa.matching`'s job: pass its groups to
`RegionRatings.add_match`). Nested questions (a sub-question opened by an answer) are the
question `parent/child`.

**Annotator identity** (`annotator_of`): the set's annotator email (lower-cased), else the
annotator id, else the name, else the set's source (the workspace source name when the
caller knows it, else `tool/instance/project` from the set's `SourceRef`), else `set <id>`.
An id is the tool's own user id: the same person in two tools is one annotator only when
the email is known.

**Answer value** (`answer_value`): a single answer is its value; several answers (a
checklist) are one nominal value, the tuple of the distinct answers in value order (so two
checklists agree only when they tick the same options); no answer is missing.

**Ratings** streams: it keeps one value per (unit, annotator) (never whole regions or
items). A second answer by the same annotator to the same unit (two sets by one person) is
not used: the first is kept, and `repeated` / `conflicting` count them.

**Agreement** (`agreement`): for one question,

* `percent`: the share of agreeing pairs of answers among units with two or more answers;
* `alpha`: Krippendorff's alpha at the given level (`bridge.qa.alpha`);
* `fleiss`: Fleiss' kappa over the units with two or more answers, when they all have the
  same number of answers (else no value, with the reason);
* `pairwise[(a, b)]`: Cohen's kappa of each annotator pair over the units both answered;
* `per_annotator[a]`: the mean of a's defined pairwise kappas with the others;
* `per_class[value]`: alpha (nominal) of "answered `value`" vs "answered something else",
  i.e. the agreement on that one class.

A metric the data cannot give is a `Score` with `value=None` and the `QAError` message as
`reason`: one degenerate question does not stop a report, and no NaN is passed along.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from bridge.qa.alpha import Level, alpha_from_codes, code_type
from bridge.qa.errors import QAError
from bridge.qa.kappa import Weights, cohen_kappa, fleiss_kappa
from bridge.qa.values import is_missing, ordered_values, value_key
from bridge.schema import AnnotationSet, Classification, Item, Region
from bridge.select import SetSelector, SourceName, select_sets

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

Triple = tuple[Hashable, Hashable, Hashable]


def annotator_of(aset: AnnotationSet, source_name: SourceName | None = None) -> str:
    """Who made `aset` (module docstring: email, id, name, source, set id)."""
    person = aset.annotator
    if person is not None:
        if person.email:
            return person.email.lower()
        if person.id:
            return person.id
        if person.name:
            return person.name
    if source_name is not None:
        named = source_name(aset)
        if named:
            return named
    ref = aset.source
    if ref is not None:
        return "/".join(part for part in (ref.tool, ref.instance, ref.project) if part)
    return f"set {aset.id}"


def answer_value(classification: Classification) -> Hashable | None:
    """The nominal value of an answered question (module docstring)."""
    values = [answer.value for answer in classification.answers]
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return tuple(sorted(set(values), key=value_key))


class Ratings:
    """Answers to one question: per unit, per annotator, one value (first one kept)."""

    def __init__(self) -> None:
        self._answers: dict[Hashable, dict[Hashable, Hashable]] = {}
        self.repeated = 0
        """Answers to a unit the same annotator had already answered (not used)."""
        self.conflicting = 0
        """Of those, the ones that differed from the kept answer."""

    def add(self, unit: Hashable, annotator: Hashable, value: Hashable) -> None:
        if is_missing(value):
            return
        answers = self._answers.setdefault(unit, {})
        if annotator in answers:
            self.repeated += 1
            if answers[annotator] != value:
                self.conflicting += 1
            return
        answers[annotator] = value

    def __len__(self) -> int:
        return len(self._answers)

    def triples(self) -> Iterator[Triple]:
        """(unit, annotator, value) for every kept answer: what `bridge.qa.consensus` takes."""
        for unit, answers in self._answers.items():
            for annotator, value in answers.items():
                yield unit, annotator, value

    @property
    def units(self) -> list[Hashable]:
        return list(self._answers)

    @property
    def annotators(self) -> list[Hashable]:
        """Every annotator, in the order they first answered."""
        seen: dict[Hashable, None] = {}
        for answers in self._answers.values():
            for annotator in answers:
                seen.setdefault(annotator, None)
        return list(seen)

    @property
    def values(self) -> list[Hashable]:
        """Every value given, in value order."""
        return ordered_values(v for answers in self._answers.values() for v in answers.values())

    def answers(self, unit: Hashable) -> dict[Hashable, Hashable]:
        return dict(self._answers.get(unit, {}))

    def codes(
        self, value_domain: Sequence[Hashable] | None = None
    ) -> tuple[npt.NDArray[np.signedinteger[Any]], npt.NDArray[Any], list[Hashable]]:
        """Reliability data: annotators x units of positions in the domain (-1: no answer),
        the domain (value order unless given) and the annotators (rows)."""
        import numpy as np

        annotators = self.annotators
        domain_values = list(value_domain) if value_domain is not None else self.values
        index = {value: i for i, value in enumerate(domain_values)}
        row = {annotator: i for i, annotator in enumerate(annotators)}
        size = len(domain_values)
        codes = np.full((len(annotators), len(self._answers)), -1, dtype=code_type(size))
        for column, answers in enumerate(self._answers.values()):
            for annotator, value in answers.items():
                if value not in index:
                    raise QAError(
                        f"answer {value!r} is not in value_domain",
                        where="Ratings.codes",
                        hint="list every value given, or leave value_domain out",
                    )
                codes[row[annotator], column] = index[value]
        if all(isinstance(v, (int, float)) for v in domain_values):
            domain = np.asarray(domain_values, dtype=np.float64)
        else:
            labels: Any = np.empty(len(domain_values), dtype=object)
            for position, value in enumerate(domain_values):
                labels[position] = value  # one by one: a tuple value stays one cell
            domain = labels
        return codes, domain, annotators

    def alpha(
        self, level: Level = "nominal", value_domain: Sequence[Hashable] | None = None
    ) -> float:
        """Krippendorff's alpha over every unit (ordinal labels need `value_domain`)."""
        if level == "ordinal" and value_domain is None and not _numeric(self.values):
            raise QAError(
                "ordinal alpha on labels needs their order",
                where="Ratings.alpha",
                hint="pass value_domain=[...] with the answers from lowest to highest",
            )
        codes, domain, _ = self.codes(value_domain)
        return alpha_from_codes(codes, domain, level)

    def fleiss(self) -> float:
        """Fleiss' kappa over the units with two or more answers."""
        values = self.values
        index = {value: i for i, value in enumerate(values)}
        table = []
        for answers in self._answers.values():
            if len(answers) < 2:
                continue
            row = [0] * len(values)
            for value in answers.values():
                row[index[value]] += 1
            table.append(row)
        if not table:
            raise QAError(
                "no unit has answers from two annotators",
                where="fleiss_kappa",
                hint="Fleiss' kappa needs units answered at least twice",
            )
        return fleiss_kappa(table)

    def kappa(self, first: Hashable, second: Hashable, weights: Weights = None) -> float:
        """Cohen's kappa of two annotators over the units both answered (categories in
        value order, so weights follow it)."""
        a, b = self._shared(first, second)
        return cohen_kappa(a, b, weights, labels=self.values)

    def percent_agreement(self) -> float:
        """Agreeing pairs of answers / all pairs, over the units with two or more answers."""
        agreeing = 0
        pairs = 0
        for answers in self._answers.values():
            count = len(answers)
            if count < 2:
                continue
            tally = Counter(answers.values())
            agreeing += sum(n * (n - 1) for n in tally.values())
            pairs += count * (count - 1)
        if pairs == 0:
            raise QAError(
                "no unit has answers from two annotators",
                where="percent_agreement",
                hint="agreement needs units answered at least twice",
            )
        return agreeing / pairs

    def _shared(self, first: Hashable, second: Hashable) -> tuple[list[Hashable], list[Hashable]]:
        a: list[Hashable] = []
        b: list[Hashable] = []
        for answers in self._answers.values():
            if first in answers and second in answers:
                a.append(answers[first])
                b.append(answers[second])
        return a, b

    def pairs(self) -> dict[tuple[Hashable, Hashable], int]:
        """Annotator pairs (in first-answer order) that share units, with how many."""
        order = {annotator: i for i, annotator in enumerate(self.annotators)}
        shared: Counter[tuple[Hashable, Hashable]] = Counter()
        for answers in self._answers.values():
            names = sorted(answers, key=order.__getitem__)
            for i, first in enumerate(names):
                for second in names[i + 1 :]:
                    shared[(first, second)] += 1
        return dict(shared)


def _numeric(values: Iterable[Hashable]) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


# --------------------------------------------------------------------------- reports


@dataclass(frozen=True)
class Score:
    """A metric's value over `units` units, or None with the `reason` it has none."""

    value: float | None
    units: int
    reason: str | None = None


def _score(compute: Callable[[], float], units: int) -> Score:
    try:
        return Score(compute(), units)
    except QAError as error:
        return Score(None, units, error.message)


@dataclass
class Agreement:
    """The agreement on one question (module docstring)."""

    units: int
    pairable: int
    annotators: list[Hashable]
    percent: Score
    alpha: Score
    fleiss: Score
    pairwise: dict[tuple[Hashable, Hashable], Score] = field(default_factory=dict)
    per_annotator: dict[Hashable, Score] = field(default_factory=dict)
    per_class: dict[Hashable, Score] = field(default_factory=dict)
    repeated: int = 0
    conflicting: int = 0


def agreement(
    ratings: Ratings,
    level: Level = "nominal",
    *,
    weights: Weights = None,
    value_domain: Sequence[Hashable] | None = None,
) -> Agreement:
    """Pairwise, overall, per-annotator and per-class agreement of one question."""
    import numpy as np

    pairable = sum(1 for unit in ratings.units if len(ratings.answers(unit)) >= 2)
    pairs = ratings.pairs()
    pairwise = {
        pair: _score(partial(ratings.kappa, pair[0], pair[1], weights), shared)
        for pair, shared in pairs.items()
    }
    per_annotator: dict[Hashable, Score] = {}
    for annotator in ratings.annotators:
        mine = [(pair, s) for pair, s in pairwise.items() if annotator in pair]
        defined = [s.value for _, s in mine if s.value is not None]
        units = sum(s.units for _, s in mine)
        if defined:
            per_annotator[annotator] = Score(sum(defined) / len(defined), units)
        else:
            reason = (
                "no pairwise kappa with another annotator is defined"
                if mine
                else "shares no unit with another annotator"
            )
            per_annotator[annotator] = Score(None, units, reason)
    per_class: dict[Hashable, Score] = {}
    if ratings.units:
        codes, _, _ = ratings.codes(value_domain)
        binary_domain = np.array([0.0, 1.0])
        classes = list(value_domain) if value_domain is not None else ratings.values
        for position, value in enumerate(classes):
            is_value = np.where(codes < 0, -1, (codes == position).astype(np.int8))
            per_class[value] = _score(
                partial(alpha_from_codes, is_value.astype(np.int8), binary_domain, "nominal"),
                pairable,
            )
    return Agreement(
        units=len(ratings),
        pairable=pairable,
        annotators=ratings.annotators,
        percent=_score(ratings.percent_agreement, pairable),
        alpha=_score(lambda: ratings.alpha(level, value_domain), pairable),
        fleiss=_score(ratings.fleiss, pairable),
        pairwise=pairwise,
        per_annotator=per_annotator,
        per_class=per_class,
        repeated=ratings.repeated,
        conflicting=ratings.conflicting,
    )


# ----------------------------------------------------------------- from unified data


@dataclass
class ClassificationRatings:
    """Item-level answers per question; `skipped` counts what was not rated, by reason."""

    questions: dict[str, Ratings] = field(default_factory=dict)
    skipped: Counter[str] = field(default_factory=Counter)

    def add_set(self, item_key: str, aset: AnnotationSet, annotator: Hashable) -> None:
        for classification in aset.classifications:
            self._add(item_key, classification, annotator, "")

    def _add(
        self, item_key: str, classification: Classification, annotator: Hashable, parent: str
    ) -> None:
        question = f"{parent}/{classification.name}" if parent else classification.name
        if classification.frames is not None:
            self.skipped["answers that hold for some frames only"] += 1
        else:
            ratings = self.questions.setdefault(question, Ratings())
            ratings.add((item_key, question), annotator, answer_value(classification))
        for answer in classification.answers:
            for child in answer.classifications:
                self._add(item_key, child, annotator, question)


def classification_ratings(
    items: Iterable[Item],
    sets: str | SetSelector = "all",
    *,
    source_name: SourceName | None = None,
) -> ClassificationRatings:
    """Gather the item-level answers of the selected sets (`bridge.select`), streaming:
    items are read once and only (unit, annotator, value) is kept."""
    gathered = ClassificationRatings()
    selector = SetSelector.parse(sets)
    for item in items:
        for aset in select_sets(item, selector, source_name=source_name):
            gathered.add_set(item.key, aset, annotator_of(aset, source_name))
    return gathered


@dataclass
class RegionRatings:
    """Labels and attribute answers of matched regions: a unit is a group of regions the
    matching paired across annotators (`add_match`), named by the caller."""

    labels: Ratings = field(default_factory=Ratings)
    attributes: dict[str, Ratings] = field(default_factory=dict)
    skipped: Counter[str] = field(default_factory=Counter)

    def add(self, unit: Hashable, annotator: Hashable, region: Region) -> None:
        self.labels.add(unit, annotator, region.label)
        for classification in region.classifications:
            self._add_attribute(unit, annotator, classification, "")

    def _add_attribute(
        self, unit: Hashable, annotator: Hashable, classification: Classification, parent: str
    ) -> None:
        name = f"{parent}/{classification.name}" if parent else classification.name
        if classification.frames is not None:
            self.skipped["answers that hold for some frames only"] += 1
        else:
            ratings = self.attributes.setdefault(name, Ratings())
            ratings.add(unit, annotator, answer_value(classification))
        for answer in classification.answers:
            for child in answer.classifications:
                self._add_attribute(unit, annotator, child, name)

    def add_match(self, unit: Hashable, members: Iterable[tuple[Hashable, Region]]) -> None:
        """One group of matched regions: `(annotator, region)` for each member."""
        for annotator, region in members:
            self.add(unit, annotator, region)
