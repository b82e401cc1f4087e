"""Which annotation sets of an item a push, an export or a QA run takes: `--sets SPEC`.

A *set selector* is a comma-separated union of terms:

| term | the sets it takes |
|---|---|
| `all` | every set |
| `human` / `predictions` / `consensus` | sets of that `kind` |
| `gold` | reference answers: `kind == "gold"` or `ground_truth` |
| `accepted` | sets whose `status` is accepted, or whose last review accepted (or fixed) them |
| `latest` | per item, the newest human, gold or consensus set (by `updated_at`, else `created_at`; a set with neither counts as oldest; on a tie the later one in the item) |
| `latest-accepted` | per item, the newest of the accepted sets |
| `annotator=WHO` | sets whose annotator's email (case-insensitive), id or name is `WHO` |
| `source=NAME` | sets whose source tool, instance or project is `NAME`, or whose workspace source is `NAME` (given by the caller, else recorded in the set's `extra["workspace_source"]` by the workspace reader) |

`select_sets(item, "gold,annotator=ann@example.com")` keeps the item's order and never
returns a set twice. A term that is not in the table is a `ConfigError` naming it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from bridge.errors import ConfigError
from bridge.schema import AnnotationSet, Item

KIND_TERMS = {"human": "human", "predictions": "prediction", "consensus": "consensus"}
PLAIN_TERMS = ("all", "gold", "accepted", "latest", "latest-accepted", *KIND_TERMS)
VALUE_TERMS = ("annotator", "source")
HINT = (
    "use all, gold, accepted, latest, latest-accepted, human, predictions, consensus, "
    "annotator=EMAIL or source=NAME, comma-separated"
)

SourceName = Callable[[AnnotationSet], str | None]
"""The workspace source a set was pulled from (None when unknown)."""

WORKSPACE_SOURCE = "workspace_source"
"""The key of a set's `extra` under which the workspace reader (`bridge.store.format`)
records the name of the workspace source the set was pulled from: it travels with the
set through unified JSONL, so `source=NAME` still selects it there."""


@dataclass(frozen=True)
class SetSelector:
    """A parsed `--sets` value: `terms` are `(name, value)` pairs (value "" for plain terms)."""

    terms: tuple[tuple[str, str], ...]

    @classmethod
    def parse(cls, spec: str | SetSelector) -> SetSelector:
        if isinstance(spec, SetSelector):
            return spec
        terms: list[tuple[str, str]] = []
        for raw in spec.split(","):
            term = raw.strip()
            name, sep, value = term.partition("=")
            name = name.strip().lower()
            if sep and name in VALUE_TERMS and value.strip():
                terms.append((name, value.strip()))
            elif not sep and name in PLAIN_TERMS:
                terms.append((name, ""))
            else:
                raise ConfigError(f"--sets: {term!r} is not a set selector", hint=HINT)
        return cls(tuple(terms))

    def __str__(self) -> str:
        return ",".join(f"{name}={value}" if value else name for name, value in self.terms)


def is_gold(aset: AnnotationSet) -> bool:
    return aset.kind == "gold" or aset.ground_truth


def is_accepted(aset: AnnotationSet) -> bool:
    """Accepted by its status, or by its last review (a "fixed" review also accepts)."""
    if aset.status == "accepted":
        return True
    verdicts = [review for review in aset.reviews if review.status != "commented"]
    return bool(verdicts) and verdicts[-1].status in ("accepted", "fixed")


def made_by(aset: AnnotationSet, who: str) -> bool:
    person = aset.annotator
    if person is None:
        return False
    if person.email and person.email.lower() == who.lower():
        return True
    return who in (person.id, person.name)


def from_source(aset: AnnotationSet, name: str, source_name: SourceName | None) -> bool:
    if source_name is not None and source_name(aset) == name:
        return True
    if aset.extra.get(WORKSPACE_SOURCE) == name:
        return True
    ref = aset.source
    return ref is not None and name in (ref.tool, ref.instance, ref.project)


_OLDEST = datetime.min.replace(tzinfo=UTC)


def _when(aset: AnnotationSet) -> datetime:
    moment = aset.updated_at or aset.created_at
    if moment is None:
        return _OLDEST
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def newest(sets: list[AnnotationSet]) -> AnnotationSet | None:
    """The newest of `sets` (the later one in the list on a tie), None for none."""
    best: AnnotationSet | None = None
    for aset in sets:
        if best is None or _when(aset) >= _when(best):
            best = aset
    return best


def select_sets(
    item: Item, spec: str | SetSelector, *, source_name: SourceName | None = None
) -> list[AnnotationSet]:
    """The annotation sets of `item` that `spec` selects, in the item's order."""
    selector = SetSelector.parse(spec)
    chosen: set[int] = set()
    sets = item.annotation_sets
    for name, value in selector.terms:
        if name in ("latest", "latest-accepted"):
            pool = [a for a in sets if a.kind != "prediction"]
            if name == "latest-accepted":
                pool = [a for a in pool if is_accepted(a)]
            pick = newest(pool)
            if pick is not None:
                chosen.add(id(pick))
            continue
        for aset in sets:
            if (
                name == "all"
                or (name in KIND_TERMS and aset.kind == KIND_TERMS[name])
                or (name == "gold" and is_gold(aset))
                or (name == "accepted" and is_accepted(aset))
                or (name == "annotator" and made_by(aset, value))
                or (name == "source" and from_source(aset, value, source_name))
            ):
                chosen.add(id(aset))
    return [aset for aset in sets if id(aset) in chosen]


def selected(item: Item, spec: str | SetSelector, *, source_name: SourceName | None = None) -> Item:
    """A copy of `item` holding only the selected annotation sets."""
    sets = select_sets(item, spec, source_name=source_name)
    if len(sets) == len(item.annotation_sets):
        return item
    return item.model_copy(update={"annotation_sets": sets})
