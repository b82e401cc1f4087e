"""Region agreement: how far two annotation sets on one item marked the same objects.

Terms:

* Two sets' regions are **matched** one to one by `bridge.qa.matching.match` (IoU, or OKS
  for keypoints; optimal assignment by default), frame by frame on videos (regions with no
  frame form one group). Only regions of the kinds IoU covers take part
  (`matching.MATCHABLE_KINDS`); spans, tags and other kinds are left to their own modules.
* **Score** of an item (`RegionAgreement.score`) is the F1-style agreement
  2 · matched / (n_a + n_b): 1.0 when both sets marked the same objects, 0.0 when no region
  matched; 1.0 when neither set has a region (they agree there is nothing to mark).
* **Mean IoU** is the mean similarity over the matched pairs, **label agreement** the share of
  matched pairs whose labels are equal; both are None (not NaN) when nothing matched.
* Over a dataset (`RegionAgreementTotals`) the counts of every item of one annotator pair are
  summed: the pair's score is 2 · Σmatched / Σ(n_a + n_b) (pooled, so items with more regions
  weigh more), next to the mean of the per-item scores.
* An **annotator key** names who made a set: the annotator's email, else id, else name, else
  the model version of a prediction, else "set <id>".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations

from bridge.qa.matching import MATCHABLE_KINDS, Assignment, Size, kind_of, match
from bridge.schema import AnnotationSet, Item, Region
from bridge.select import SetSelector, SourceName, select_sets


def annotator_key(aset: AnnotationSet) -> str:
    """Who made `aset` (see the module's terms)."""
    person = aset.annotator
    if person is not None:
        for value in (person.email, person.id, person.name):
            if value:
                return value
    if aset.model_version:
        return aset.model_version
    return f"set {aset.id}"


def media_size(item: Item) -> Size | None:
    """The item's (width, height) in pixels, None when unknown."""
    if item.media.width is None or item.media.height is None:
        return None
    return item.media.width, item.media.height


def matchable_regions(aset: AnnotationSet) -> list[Region]:
    """The regions of `aset` that IoU matching covers."""
    return [r for r in aset.regions if kind_of(r.shape) in MATCHABLE_KINDS]


def by_frame(regions: Iterable[Region]) -> dict[int | None, list[Region]]:
    """`regions` grouped by frame (None: not on a frame), in their order."""
    groups: dict[int | None, list[Region]] = {}
    for region in regions:
        frame = region.frame
        if frame in groups:
            groups[frame].append(region)
        else:
            groups[frame] = [region]
    return groups


@dataclass(frozen=True)
class MatchedRegions:
    """Region `id_a` of set A matched with region `id_b` of set B."""

    id_a: str
    id_b: str
    iou: float
    label_a: str | None
    label_b: str | None
    frame: int | None = None

    @property
    def same_label(self) -> bool:
        return self.label_a == self.label_b


@dataclass(frozen=True)
class RegionAgreement:
    """Two sets' regions on one item: the matched pairs and the region ids left unmatched
    on each side (see the module's terms)."""

    pairs: tuple[MatchedRegions, ...]
    unmatched_a: tuple[str, ...]
    unmatched_b: tuple[str, ...]

    @property
    def n_a(self) -> int:
        return len(self.pairs) + len(self.unmatched_a)

    @property
    def n_b(self) -> int:
        return len(self.pairs) + len(self.unmatched_b)

    @property
    def score(self) -> float:
        """2 · matched / (n_a + n_b); 1.0 when both sets are empty."""
        total = self.n_a + self.n_b
        return 2.0 * len(self.pairs) / total if total else 1.0

    @property
    def mean_iou(self) -> float | None:
        if not self.pairs:
            return None
        return sum(p.iou for p in self.pairs) / len(self.pairs)

    @property
    def label_agreement(self) -> float | None:
        if not self.pairs:
            return None
        return sum(p.same_label for p in self.pairs) / len(self.pairs)


def regions_agreement(
    regions_a: Sequence[Region],
    regions_b: Sequence[Region],
    *,
    size: Size | None = None,
    iou_threshold: float = 0.5,
    label_aware: bool = False,
    assignment: Assignment = "optimal",
    sigmas: Mapping[str, float] | None = None,
) -> RegionAgreement:
    """Agreement of two lists of regions of one item, matched frame by frame."""
    groups_a = by_frame(r for r in regions_a if kind_of(r.shape) in MATCHABLE_KINDS)
    groups_b = by_frame(r for r in regions_b if kind_of(r.shape) in MATCHABLE_KINDS)
    pairs: list[MatchedRegions] = []
    unmatched_a: list[str] = []
    unmatched_b: list[str] = []
    frames = sorted(set(groups_a) | set(groups_b), key=lambda f: -1 if f is None else f)
    for frame in frames:
        group_a, group_b = groups_a.get(frame, []), groups_b.get(frame, [])
        matching = match(
            group_a,
            group_b,
            iou_threshold,
            label_aware,
            assignment=assignment,
            size=size,
            sigmas=sigmas,
        )
        for pair in matching.pairs:
            a, b = group_a[pair.index_a], group_b[pair.index_b]
            pairs.append(MatchedRegions(a.id, b.id, pair.iou, a.label, b.label, frame))
        unmatched_a.extend(group_a[i].id for i in matching.unmatched_a)
        unmatched_b.extend(group_b[j].id for j in matching.unmatched_b)
    return RegionAgreement(tuple(pairs), tuple(unmatched_a), tuple(unmatched_b))


def region_agreement(
    set_a: AnnotationSet,
    set_b: AnnotationSet,
    *,
    size: Size | None = None,
    iou_threshold: float = 0.5,
    label_aware: bool = False,
    assignment: Assignment = "optimal",
    sigmas: Mapping[str, float] | None = None,
) -> RegionAgreement:
    """Agreement of two annotation sets of one item (`size`: the media's (width, height)
    when known, see `bridge.qa.matching` on units)."""
    return regions_agreement(
        set_a.regions,
        set_b.regions,
        size=size,
        iou_threshold=iou_threshold,
        label_aware=label_aware,
        assignment=assignment,
        sigmas=sigmas,
    )


@dataclass
class RegionAgreementTotals:
    """One annotator pair's agreement summed over the items both worked on."""

    items: int = 0
    matched: int = 0
    n_a: int = 0
    n_b: int = 0
    iou_sum: float = 0.0
    same_label: int = 0
    score_sum: float = 0.0

    def add(self, agreement: RegionAgreement) -> None:
        self.items += 1
        self.matched += len(agreement.pairs)
        self.n_a += agreement.n_a
        self.n_b += agreement.n_b
        self.iou_sum += sum(p.iou for p in agreement.pairs)
        self.same_label += sum(p.same_label for p in agreement.pairs)
        self.score_sum += agreement.score

    @property
    def score(self) -> float:
        """Pooled 2 · Σmatched / Σ(n_a + n_b); 1.0 when neither marked anything."""
        total = self.n_a + self.n_b
        return 2.0 * self.matched / total if total else 1.0

    @property
    def mean_item_score(self) -> float | None:
        return self.score_sum / self.items if self.items else None

    @property
    def mean_iou(self) -> float | None:
        return self.iou_sum / self.matched if self.matched else None

    @property
    def label_agreement(self) -> float | None:
        return self.same_label / self.matched if self.matched else None


@dataclass
class RegionAgreementAccumulator:
    """Region agreement of every annotator pair over a stream of items, holding per-pair
    counters only. On each item every two selected sets are compared, ordered by their
    annotator keys (the pair key is (smaller key, larger key))."""

    sets: str | SetSelector = "all"
    iou_threshold: float = 0.5
    label_aware: bool = False
    assignment: Assignment = "optimal"
    sigmas: Mapping[str, float] | None = None
    source_name: SourceName | None = None
    totals: dict[tuple[str, str], RegionAgreementTotals] = field(default_factory=dict)

    def add_item(self, item: Item) -> list[tuple[str, str, RegionAgreement]]:
        """Compare the item's selected sets pairwise; return each pair's agreement."""
        chosen = select_sets(item, self.sets, source_name=self.source_name)
        keyed = sorted(((annotator_key(s), s) for s in chosen), key=lambda pair: pair[0])
        size = media_size(item)
        results = []
        for (key_a, set_a), (key_b, set_b) in combinations(keyed, 2):
            agreement = region_agreement(
                set_a,
                set_b,
                size=size,
                iou_threshold=self.iou_threshold,
                label_aware=self.label_aware,
                assignment=self.assignment,
                sigmas=self.sigmas,
            )
            self.totals.setdefault((key_a, key_b), RegionAgreementTotals()).add(agreement)
            results.append((key_a, key_b, agreement))
        return results


def dataset_region_agreement(
    items: Iterable[Item], **options: object
) -> dict[tuple[str, str], RegionAgreementTotals]:
    """Per annotator pair totals over `items`, read once (options as for
    `RegionAgreementAccumulator`)."""
    accumulator = RegionAgreementAccumulator(**options)  # type: ignore[arg-type]
    for item in items:
        accumulator.add_item(item)
    return accumulator.totals
