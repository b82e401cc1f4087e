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

from bridge.qa.alpha import (
    ENTRY_VALUE_LIMIT,
    Level,
    alpha_from_codes,
    alpha_from_entries,
    code_type,
    object_array,
)
from bridge.qa.errors import QAError
from bridge.qa.kappa import Weights, cohen_kappa, fleiss_from_sums, kappa_from_table
from bridge.qa.values import is_missing, value_key
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
        self._annotators: dict[Hashable, None] = {}
        self._distinct: set[Hashable] = set()

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
        self._annotators.setdefault(annotator, None)
        self._distinct.add(value)

    def __len__(self) -> int:
        return len(self._answers)

    def pairable_units(self) -> int:
        """How many units have answers from two or more annotators."""
        return sum(1 for answers in self._answers.values() if len(answers) >= 2)

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
        return list(self._annotators)

    @property
    def values(self) -> list[Hashable]:
        """Every value given, in value order."""
        return sorted(self._distinct, key=value_key)

    def answers(self, unit: Hashable) -> dict[Hashable, Hashable]:
        return dict(self._answers.get(unit, {}))

    def coded(self, value_domain: Sequence[Hashable] | None = None) -> Coded:
        """Every kept answer as arrays (annotator row, unit column, value position), units
        in order: the form every metric below computes from, built once."""
        import numpy as np

        domain_values = list(value_domain) if value_domain is not None else self.values
        index = {value: i for i, value in enumerate(domain_values)}
        row = {annotator: i for i, annotator in enumerate(self._annotators)}
        rows: list[int] = []
        columns: list[int] = []
        positions: list[int] = []
        for column, answers in enumerate(self._answers.values()):
            for annotator, value in answers.items():
                position = index.get(value)
                if position is None:
                    raise QAError(
                        f"answer {value!r} is not in value_domain",
                        where="Ratings",
                        hint="list every value given, or leave value_domain out",
                    )
                rows.append(row[annotator])
                columns.append(column)
                positions.append(position)
        return Coded(
            rows=np.asarray(rows, dtype=np.int64),
            columns=np.asarray(columns, dtype=np.int64),
            positions=np.asarray(positions, dtype=np.int64),
            values=domain_values,
            annotators=self.annotators,
            units=len(self._answers),
        )

    def codes(
        self, value_domain: Sequence[Hashable] | None = None
    ) -> tuple[npt.NDArray[np.signedinteger[Any]], npt.NDArray[Any], list[Hashable]]:
        """Reliability data: annotators x units of positions in the domain (-1: no answer),
        the domain (value order unless given) and the annotators (rows)."""
        coded = self.coded(value_domain)
        return coded.matrix(), coded.domain(), coded.annotators

    def pair_tables(
        self, value_domain: Sequence[Hashable] | None = None
    ) -> dict[tuple[Hashable, Hashable], npt.NDArray[np.int64]]:
        """For each annotator pair (in first-answer order) that shares units, the K x K
        table of their answers (first in rows), K the domain's size."""
        return self.coded(value_domain).pair_tables()

    def alpha(
        self, level: Level = "nominal", value_domain: Sequence[Hashable] | None = None
    ) -> float:
        """Krippendorff's alpha over every unit (ordinal labels need `value_domain`)."""
        unordered = _unordered_labels(self, level, value_domain)
        if unordered is not None:
            raise unordered
        return self.coded(value_domain).alpha(level)

    def fleiss(self) -> float:
        """Fleiss' kappa over the units with two or more answers."""
        return self.coded().fleiss()

    def percent_agreement(self) -> float:
        """Agreeing pairs of answers / all pairs, over the units with two or more answers."""
        return self.coded().percent_agreement()

    def kappa(self, first: Hashable, second: Hashable, weights: Weights = None) -> float:
        """Cohen's kappa of two annotators over the units both answered (categories in
        value order, so weights follow it)."""
        a: list[Hashable] = []
        b: list[Hashable] = []
        for answers in self._answers.values():
            if first in answers and second in answers:
                a.append(answers[first])
                b.append(answers[second])
        return cohen_kappa(a, b, weights, labels=self.values)

    def pairs(self) -> dict[tuple[Hashable, Hashable], int]:
        """Annotator pairs (in first-answer order) that share units, with how many."""
        return {pair: int(table.sum()) for pair, table in self.pair_tables().items()}


@dataclass(frozen=True)
class Coded:
    """A question's answers as integer arrays, one entry per kept answer, sorted by unit:
    `rows[i]` the annotator (index into `annotators`), `columns[i]` the unit (0..units-1),
    `positions[i]` the value (index into `values`)."""

    rows: npt.NDArray[np.int64]
    columns: npt.NDArray[np.int64]
    positions: npt.NDArray[np.int64]
    values: list[Hashable]
    annotators: list[Hashable]
    units: int

    def domain(self) -> npt.NDArray[Any]:
        import numpy as np

        if all(isinstance(v, (int, float)) for v in self.values):
            return np.asarray(self.values, dtype=np.float64)
        return object_array(self.values)

    def matrix(self) -> npt.NDArray[np.signedinteger[Any]]:
        """Annotators x units of value positions, -1 where an annotator gave none."""
        import numpy as np

        shape = (len(self.annotators), self.units)
        codes = np.full(shape, -1, dtype=code_type(len(self.values)))
        codes[self.rows, self.columns] = self.positions
        return codes

    def per_unit(self) -> npt.NDArray[np.int64]:
        import numpy as np

        return np.bincount(self.columns, minlength=self.units)

    def alpha(self, level: Level = "nominal") -> float:
        """Alpha from per-unit value counts (memory independent of the number of
        annotators); with very many distinct values, from the annotators x units matrix."""
        if len(self.values) <= ENTRY_VALUE_LIMIT:
            return alpha_from_entries(self.columns, self.positions, self.domain(), level)
        return alpha_from_codes(self.matrix(), self.domain(), level)

    def class_alpha(self, position: int) -> float:
        """Nominal alpha of "answered values[position]" vs "answered something else"."""
        import numpy as np

        chosen = (self.positions == position).astype(np.int64)
        return alpha_from_entries(self.columns, chosen, np.array([0.0, 1.0]), "nominal")

    def _cell_counts(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Distinct (unit, value) cells as unit * K + value, and how many answers each."""
        import numpy as np

        size = max(1, len(self.values))
        cells, counts = np.unique(self.columns * size + self.positions, return_counts=True)
        return cells, counts

    def percent_agreement(self) -> float:
        per_unit = self.per_unit()
        pairs = int((per_unit * (per_unit - 1)).sum())
        if pairs == 0:
            raise QAError(
                "no unit has answers from two annotators",
                where="percent_agreement",
                hint="agreement needs units answered at least twice",
            )
        _, counts = self._cell_counts()
        return int((counts * (counts - 1)).sum()) / pairs

    def fleiss(self) -> float:
        import numpy as np

        per_unit = self.per_unit()
        pairable = per_unit >= 2
        if not pairable.any():
            raise QAError(
                "no unit has answers from two annotators",
                where="fleiss_kappa",
                hint="Fleiss' kappa needs units answered at least twice",
            )
        size = max(1, len(self.values))
        cells, counts = self._cell_counts()
        units, values = np.divmod(cells, size)
        keep = pairable[units]
        squares = np.bincount(units[keep], weights=counts[keep] ** 2, minlength=self.units)
        totals = np.bincount(values[keep], weights=counts[keep], minlength=size)
        return fleiss_from_sums(per_unit[pairable], squares[pairable], totals)

    def pair_tables(self) -> dict[tuple[Hashable, Hashable], npt.NDArray[np.int64]]:
        """Each annotator pair's K x K table over the units they share. Vectorised: the
        pairs of answers within a unit are found by comparing the entries' units at each
        offset (entries are sorted by unit), then counted with one `np.unique`."""
        import numpy as np

        size = max(1, len(self.values))
        count = len(self.annotators)
        rows, columns, positions = self.rows, self.columns, self.positions
        keys = []
        for offset in range(1, int(self.per_unit().max(initial=0))):
            first = np.nonzero(columns[:-offset] == columns[offset:])[0]
            second = first + offset
            swap = rows[first] > rows[second]
            low = np.where(swap, second, first)
            high = np.where(swap, first, second)
            pair = rows[low] * count + rows[high]
            keys.append((pair * size + positions[low]) * size + positions[high])
        tables: dict[tuple[Hashable, Hashable], npt.NDArray[np.int64]] = {}
        if not keys:
            return tables
        unique, counts = np.unique(np.concatenate(keys), return_counts=True)
        pairs, cells = np.divmod(unique, size * size)
        starts = np.concatenate(([0], np.nonzero(np.diff(pairs))[0] + 1, [len(pairs)]))
        for start, end in zip(starts[:-1].tolist(), starts[1:].tolist(), strict=True):
            table = np.zeros(size * size, dtype=np.int64)
            table[cells[start:end]] = counts[start:end]
            first_row, second_row = divmod(int(pairs[start]), count)
            pair_names = (self.annotators[first_row], self.annotators[second_row])
            tables[pair_names] = table.reshape(size, size)
        return tables


def _numeric(values: Iterable[Hashable]) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def _unordered_labels(
    ratings: Ratings, level: Level, value_domain: Sequence[Hashable] | None
) -> QAError | None:
    """The error of ordinal alpha on labels given without their order, or None."""
    if level != "ordinal" or value_domain is not None or _numeric(ratings.values):
        return None
    return QAError(
        "ordinal alpha on labels needs their order",
        where="Ratings.alpha",
        hint="pass value_domain=[...] with the answers from lowest to highest",
    )


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
    ordinal_labels = _unordered_labels(ratings, level, value_domain)
    coded = ratings.coded(value_domain)  # checks value_domain
    pairable = ratings.pairable_units()
    pairwise = {
        pair: _score(partial(kappa_from_table, table, weights), int(table.sum()))
        for pair, table in coded.pair_tables().items()
    }
    totals: dict[Hashable, list[float]] = {annotator: [] for annotator in coded.annotators}
    shared_units: Counter[Hashable] = Counter()
    for (first_name, second_name), score in pairwise.items():
        for name in (first_name, second_name):
            shared_units[name] += score.units
            if score.value is not None:
                totals[name].append(score.value)
    per_annotator: dict[Hashable, Score] = {}
    for annotator, defined in totals.items():
        units = shared_units[annotator]
        if defined:
            per_annotator[annotator] = Score(sum(defined) / len(defined), units)
        else:
            reason = (
                "no pairwise kappa with another annotator is defined"
                if units
                else "shares no unit with another annotator"
            )
            per_annotator[annotator] = Score(None, units, reason)
    per_class = {
        value: _score(partial(coded.class_alpha, position), pairable)
        for position, value in enumerate(coded.values)
    }
    if ordinal_labels is not None:
        alpha = Score(None, pairable, ordinal_labels.message)
    else:
        alpha = _score(partial(coded.alpha, level), pairable)
    return Agreement(
        units=len(ratings),
        pairable=pairable,
        annotators=coded.annotators,
        percent=_score(coded.percent_agreement, pairable),
        alpha=alpha,
        fleiss=_score(coded.fleiss, pairable),
        pairwise=pairwise,
        per_annotator=per_annotator,
        per_class=per_class,
        repeated=ratings.repeated,
        conflicting=ratings.conflicting,
    )


# ----------------------------------------------------------------- from unified data

FRAMES_ONLY = "answers that hold for some frames only"


def _nested(
    classification: Classification, parent: str = ""
) -> Iterator[tuple[str, Classification]]:
    """`classification` and every sub-question its answers open, each with its question
    name (`parent/child`)."""
    name = f"{parent}/{classification.name}" if parent else classification.name
    yield name, classification
    for answer in classification.answers:
        for child in answer.classifications:
            yield from _nested(child, name)


def _rate_nested(
    classification: Classification,
    annotator: Hashable,
    questions: dict[str, Ratings],
    skipped: Counter[str],
    *,
    unit: Callable[[str], Hashable],
) -> None:
    """Add the answers of `classification` and its sub-questions to `questions` (one
    `Ratings` per question name; `unit(question)` names the unit); answers that hold for
    some frames only are counted in `skipped`."""
    for question, asked in _nested(classification):
        if asked.frames is not None:
            skipped[FRAMES_ONLY] += 1
        else:
            ratings = questions.setdefault(question, Ratings())
            ratings.add(unit(question), annotator, answer_value(asked))


@dataclass
class ClassificationRatings:
    """Item-level answers per question; `skipped` counts what was not rated, by reason."""

    questions: dict[str, Ratings] = field(default_factory=dict)
    skipped: Counter[str] = field(default_factory=Counter)

    def add_set(self, item_key: str, aset: AnnotationSet, annotator: Hashable) -> None:
        for classification in aset.classifications:
            _rate_nested(
                classification,
                annotator,
                self.questions,
                self.skipped,
                unit=lambda question: (item_key, question),
            )


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
            _rate_nested(
                classification, annotator, self.attributes, self.skipped, unit=lambda _: unit
            )

    def add_match(self, unit: Hashable, members: Iterable[tuple[Hashable, Region]]) -> None:
        """One group of matched regions: `(annotator, region)` for each member."""
        for annotator, region in members:
            self.add(unit, annotator, region)
