"""Review sampling: a reproducible, stratified sample of the human annotation sets.

* The *population* is every human set (not gold, predictions or consensus).
* A set's *stratum* is (annotator name, class), its class being `items.main_class` (its
  most frequent label, else its first item-level answer, else `(none)`).
* The *sample size* is `round(percent/100 * population)`, at least 1 when the population
  and the percentage are not empty.
* *Allocation*: when the sample is at least as large as the number of strata, every
  stratum gets one set, and the rest is shared in proportion to what each stratum has
  left (largest remainder; ties to the larger stratum, then by name); a stratum never gets
  more than it has. When the sample is smaller, the largest strata get one each.
* *Which sets*: in each stratum, those with the smallest *priority*, a 63-bit hash of
  (seed, item key, set id) (BLAKE2b). The same seed gives the same sample whatever order
  the items come in; another seed, another sample.

The units wait in the run's SQLite scratch database; the chosen ones are streamed from it
(a window query), so the sample is never held in memory.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from bridge.qa.workflows.items import ItemView, main_class
from bridge.qa.workflows.scratch import Scratch

Stratum = tuple[str, str]


def priority(seed: int, key: str, set_id: str) -> int:
    digest = hashlib.blake2b(f"{seed}\0{key}\0{set_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


def sample_size(population: int, percent: float) -> int:
    if population == 0 or percent <= 0:
        return 0
    return min(population, max(1, math.floor(population * percent / 100 + 0.5)))


def allocate(sizes: dict[Stratum, int], n: int) -> dict[Stratum, int]:
    """How many sets each stratum gives to a sample of `n` (see the module docstring)."""
    strata = sorted(sizes, key=lambda s: (-sizes[s], s))
    if n <= 0 or not strata:
        return {s: 0 for s in sizes}
    if n < len(strata):
        return {s: (1 if rank < n else 0) for rank, s in enumerate(strata)}
    shares = {s: 1 for s in strata}
    left = {s: sizes[s] - 1 for s in strata}
    rest = n - len(strata)
    total_left = sum(left.values())
    if rest and total_left:
        exact = {s: rest * left[s] / total_left for s in strata}
        floors = {s: min(left[s], math.floor(exact[s])) for s in strata}
        for s in strata:
            shares[s] += floors[s]
        remaining = rest - sum(floors.values())
        order = sorted(strata, key=lambda s: (-(exact[s] - floors[s]), -sizes[s], s))
        while remaining > 0:
            progressed = False
            for s in order:
                if remaining and shares[s] < sizes[s]:
                    shares[s] += 1
                    remaining -= 1
                    progressed = True
            if not progressed:
                break
    return shares


@dataclass
class SampledSet:
    key: str
    set_id: str
    annotator: str
    label_class: str
    origin: str


class Sampling:
    """The sampling accumulator: units go to the scratch database, the choice is made at
    the end (see the module docstring)."""

    def __init__(self, scratch: Scratch, percent: float = 20.0, seed: int = 0):
        self.scratch = scratch
        self.percent = percent
        self.seed = seed
        self.population = 0
        scratch.table(
            "units",
            "key TEXT, set_id TEXT, who TEXT, cls TEXT, origin TEXT, priority INTEGER",
            index="who, cls, priority",
        )
        self._allocated = False
        self.size = 0
        self._strata: list[dict[str, Any]] = []

    def add(self, view: ItemView) -> None:
        for sub in view.human:
            self.population += 1
            self.scratch.insert(
                "units",
                (
                    view.key,
                    sub.id,
                    sub.who,
                    main_class(sub.aset),
                    sub.origin,
                    priority(self.seed, view.key, sub.id),
                ),
            )

    def _allocate(self) -> None:
        """Decide each stratum's share (once) and mark the chosen units in the database."""
        if self._allocated:
            return
        self._allocated = True
        sizes = {
            (who, cls): n
            for who, cls, n in self.scratch.query(
                "SELECT who, cls, COUNT(*) FROM units GROUP BY who, cls"
            )
        }
        shares = allocate(sizes, sample_size(self.population, self.percent))
        self.scratch.table("shares", "who TEXT, cls TEXT, share INTEGER")
        for (who, cls), share in sorted(shares.items()):
            self._strata.append(
                {"annotator": who, "class": cls, "population": sizes[(who, cls)], "sampled": share}
            )
            self.scratch.insert("shares", (who, cls, share))
        self.size = sum(shares.values())

    def chosen(self) -> Iterator[SampledSet]:
        """The sampled sets, in the order the items came, streamed from the database."""
        self._allocate()
        rows = self.scratch.query(
            "SELECT u.key, u.set_id, u.who, u.cls, u.origin FROM ("
            "  SELECT rowid AS r, key, set_id, who, cls, origin, ROW_NUMBER() OVER ("
            "    PARTITION BY who, cls ORDER BY priority, rowid) AS n FROM units"
            ") u JOIN shares s ON s.who = u.who AND s.cls = u.cls "
            "WHERE u.n <= s.share ORDER BY u.r"
        )
        for key, set_id, who, cls, origin in rows:
            yield SampledSet(key, set_id, who, cls, origin)

    def rows(self) -> Iterator[dict[str, str]]:
        for entry in self.chosen():
            yield {
                "item": entry.key,
                "set": entry.set_id,
                "annotator": entry.annotator,
                "class": entry.label_class,
                "source": entry.origin,
            }

    def result(self) -> dict[str, Any]:
        self._allocate()
        return {
            "percent": self.percent,
            "seed": self.seed,
            "population": self.population,
            "size": self.size,
            "strata": self._strata,
        }
