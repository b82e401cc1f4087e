"""The label map of a sync config: how the sources' ontology becomes the target's.

A *label map* renames source labels (`Person -> pedestrian`), *merges* them (two or more
source labels mapped onto one target label: `Car -> vehicle`, `Truck -> vehicle`), renames
attributes of a label and their values (`pose: standing -> upright`), and renames relation
labels. Labels, attributes and values it does not name pass through unchanged.

`apply_label_map(item, label_map, losses)` maps one item's regions, tracks (and their
keyframes), relations and their attribute answers; `map_ontology(project, label_map)` maps
the ontology the target is created with (a merged class has the union of its sources'
kinds, attributes and attribute options). Both are pure: they return copies.

`LabelMap.check(*projects)` refuses a map naming a label, an attribute or a relation that no
source ontology has, with the config's `FILE:LINE:COLUMN` and the known names; it checks
against the union of every source's project (given at once, or one call per source:
see its docstring). `map_ontology(..., check=True)` checks against that one project.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bridge.errors import ConfigError
from bridge.losses import LossReport
from bridge.schema import (
    Answer,
    Classification,
    ClassificationSpec,
    Item,
    LabelClass,
    OptionSpec,
    Project,
    Region,
    RelationType,
    Track,
)

if TYPE_CHECKING:
    from bridge.sync.config import SyncConfig

MERGED = "label-merged"
"""Loss code: regions/tracks whose label was merged with another (the distinction is gone)."""


@dataclass(frozen=True)
class AttributeRule:
    """One attribute of one label: its target name and value renames."""

    name: str
    to: str
    values: dict[str, str] = field(default_factory=dict)
    where: str | None = None


@dataclass(frozen=True)
class LabelRule:
    """One source label: its target name and its attribute rules (by source attribute name)."""

    name: str
    to: str
    attributes: dict[str, AttributeRule] = field(default_factory=dict)
    where: str | None = None


@dataclass(frozen=True)
class LabelMap:
    """Label rules by source label name and relation renames (source -> target name)."""

    labels: dict[str, LabelRule] = field(default_factory=dict)
    relations: dict[str, str] = field(default_factory=dict)
    relation_where: dict[str, str] = field(default_factory=dict)
    sources: int = 1
    """How many source projects `check` waits for before checking (one per source)."""
    _seen: list[Project] = field(default_factory=list, compare=False, repr=False)

    @classmethod
    def from_config(cls, config: SyncConfig) -> LabelMap:
        """The label map of a loaded sync config, with each entry's YAML position."""
        labels: dict[str, LabelRule] = {}
        for name, rule in config.labels.items():
            if isinstance(rule, str):
                labels[name] = LabelRule(name, rule, where=config.where("labels", name))
                continue
            attributes = {
                attr: AttributeRule(
                    attr,
                    spec.to or attr,
                    dict(spec.values),
                    where=config.where("labels", name, "attributes", attr),
                )
                for attr, spec in rule.attributes.items()
            }
            labels[name] = LabelRule(
                name, rule.to or name, attributes, where=config.where("labels", name)
            )
        return cls(
            labels=labels,
            relations=dict(config.relations),
            relation_where={name: config.where("relations", name) for name in config.relations},
            sources=len(config.sources),
        )

    def __bool__(self) -> bool:
        return bool(self.labels or self.relations)

    def label(self, name: str | None) -> str | None:
        """The target name of source label `name` (unchanged when the map does not name it)."""
        if name is None:
            return None
        rule = self.labels.get(name)
        return rule.to if rule else name

    def merged(self) -> set[str]:
        """Target labels that two or more source labels (named or passing through) map to,
        among the labels the map names."""
        sources_of: dict[str, set[str]] = {}
        for rule in self.labels.values():
            sources_of.setdefault(rule.to, set()).add(rule.name)
        return {target for target, names in sources_of.items() if len(names) > 1}

    def check(self, *projects: Project) -> None:
        """ConfigError if the map names a label, attribute or relation that no source has.

        Give every source's project at once (`check(a, b)`), or one per call as each source
        is opened: the map remembers what it was shown and checks once it has seen
        `sources` projects (the config's number of sources, 1 by default), so a label that
        only the second source has is not refused while the first is checked."""
        self._seen.extend(projects)
        if len(self._seen) < self.sources:
            return
        self._check_union(self._seen)

    def _check_union(self, projects: list[Project]) -> None:
        known: dict[str, set[str]] = {}
        relation_names: set[str] = set()
        for project in projects:
            for label in project.ontology.labels:
                known.setdefault(label.name, set()).update(a.name for a in label.attributes)
            relation_names.update(relation.name for relation in project.ontology.relations)
        for rule in self.labels.values():
            if rule.name not in known:
                raise ConfigError(
                    f"label map: {rule.name!r} is a label of no source",
                    where=rule.where,
                    hint=_known_hint(rule.name, known, "source labels"),
                )
            attributes = known[rule.name]
            for attr in rule.attributes.values():
                if attr.name not in attributes:
                    raise ConfigError(
                        f"label map: label {rule.name!r} has no attribute {attr.name!r}",
                        where=attr.where,
                        hint=_known_hint(attr.name, attributes, f"attributes of {rule.name}"),
                    )
        for name in self.relations:
            if name not in relation_names:
                raise ConfigError(
                    f"label map: {name!r} is a relation of no source",
                    where=self.relation_where.get(name),
                    hint=_known_hint(name, relation_names, "source relations"),
                )


def _known_hint(name: str, known: Iterable[str], what: str) -> str:
    names = sorted(known)
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    listed = ", ".join(names[:30]) + (" ..." if len(names) > 30 else "") if names else "none"
    prefix = f"did you mean {close[0]!r}? " if close else ""
    return f"{prefix}{what}: {listed}"


# --------------------------------------------------------------------------- items


def _map_answer(answer: Answer, rule: AttributeRule | None) -> Answer:
    value = answer.value
    if rule is not None and isinstance(value, str) and value in rule.values:
        value = rule.values[value]
    return answer.model_copy(update={"value": value})


def _map_classifications(
    classifications: list[Classification], rule: LabelRule | None
) -> list[Classification]:
    """Attribute answers renamed by `rule` (nested answers included, by attribute name)."""
    if rule is None or not rule.attributes:
        return classifications
    mapped: list[Classification] = []
    for classification in classifications:
        attr = rule.attributes.get(classification.name)
        answers = [
            _map_answer(answer, attr).model_copy(
                update={"classifications": _map_classifications(answer.classifications, rule)}
            )
            for answer in classification.answers
        ]
        name = attr.to if attr else classification.name
        mapped.append(classification.model_copy(update={"name": name, "answers": answers}))
    return mapped


def _map_region(region: Region, label_map: LabelMap) -> Region:
    rule = label_map.labels.get(region.label) if region.label is not None else None
    return region.model_copy(
        update={
            "label": label_map.label(region.label),
            "classifications": _map_classifications(region.classifications, rule),
        }
    )


def _map_track(track: Track, label_map: LabelMap) -> Track:
    rule = label_map.labels.get(track.label) if track.label is not None else None
    keyframes = [
        keyframe.model_copy(
            update={"classifications": _map_classifications(keyframe.classifications, rule)}
        )
        for keyframe in track.keyframes
    ]
    return track.model_copy(
        update={
            "label": label_map.label(track.label),
            "classifications": _map_classifications(track.classifications, rule),
            "keyframes": keyframes,
        }
    )


def apply_label_map(item: Item, label_map: LabelMap, losses: LossReport) -> Item:
    """A copy of `item` with every annotation set's region, track and relation labels and
    attribute answers mapped. Each region or track whose label was merged with another is
    counted under `label-merged` (approximated: the target no longer tells them apart)."""
    if not label_map:
        return item
    merged = label_map.merged()
    sets = []
    for aset in item.annotation_sets:
        labels = [region.label for region in aset.regions] + [t.label for t in aset.tracks]
        merged_count = sum(
            1 for label in labels if label in label_map.labels and label_map.label(label) in merged
        )
        if merged_count:
            losses.record(
                MERGED,
                "labels merged by the label map (the target no longer tells them apart)",
                where=f"item {item.key}",
                severity="approximated",
                count=merged_count,
            )
        relations = [
            relation.model_copy(
                update={"label": label_map.relations.get(relation.label, relation.label)}
            )
            if relation.label is not None
            else relation
            for relation in aset.relations
        ]
        sets.append(
            aset.model_copy(
                update={
                    "regions": [_map_region(region, label_map) for region in aset.regions],
                    "tracks": [_map_track(track, label_map) for track in aset.tracks],
                    "relations": relations,
                }
            )
        )
    return item.model_copy(update={"annotation_sets": sets})


# --------------------------------------------------------------------------- ontology


def _union(first: list[str], second: list[str]) -> list[str]:
    return first + [value for value in second if value not in first]


def _map_options(options: list[OptionSpec], rule: AttributeRule | None) -> list[OptionSpec]:
    """Options with values renamed; two options renamed onto one value become one."""
    mapped: dict[str, OptionSpec] = {}
    for option in options:
        value = rule.values.get(option.value, option.value) if rule else option.value
        if value in mapped:
            continue
        mapped[value] = option.model_copy(update={"value": value})
    return list(mapped.values())


def _map_spec(spec: ClassificationSpec, rule: LabelRule | None) -> ClassificationSpec:
    attr = rule.attributes.get(spec.name) if rule else None
    default = spec.default
    if attr is not None and default is not None:
        default = attr.values.get(default, default)
    return spec.model_copy(
        update={
            "name": attr.to if attr else spec.name,
            "options": _map_options(spec.options, attr),
            "default": default,
        }
    )


def _merge_spec(kept: ClassificationSpec, other: ClassificationSpec) -> ClassificationSpec:
    options = list(kept.options)
    values = {option.value for option in options}
    options += [option for option in other.options if option.value not in values]
    return kept.model_copy(update={"options": options})


def _merge_class(kept: LabelClass, other: LabelClass) -> LabelClass:
    """`kept` with `other`'s kinds, edges and attributes added (same-named attributes get
    their options unioned)."""
    attributes = {spec.name: spec for spec in kept.attributes}
    for spec in other.attributes:
        attributes[spec.name] = (
            _merge_spec(attributes[spec.name], spec) if spec.name in attributes else spec
        )
    edges = list(kept.edges) + [edge for edge in other.edges if edge not in kept.edges]
    return kept.model_copy(
        update={
            "kinds": _union(list(kept.kinds), list(other.kinds)),
            "edges": edges,
            "attributes": list(attributes.values()),
            "color": kept.color or other.color,
        }
    )


def map_ontology(project: Project, label_map: LabelMap, *, check: bool = False) -> Project:
    """A copy of `project` whose ontology is mapped: classes renamed and merged (in the
    order of their first source class), attributes and options renamed, relation types
    renamed and merged. With `check`, the map is first checked against `project` alone
    (`LabelMap.check` of this one project, whatever the number of sources)."""
    if check:
        label_map._check_union([project])
    if not label_map:
        return project
    ontology = project.ontology
    classes: dict[str, LabelClass] = {}
    for label in ontology.labels:
        rule = label_map.labels.get(label.name)
        mapped = label.model_copy(
            update={
                "name": label_map.label(label.name),
                "parent": label_map.label(label.parent),
                "attributes": [_map_spec(spec, rule) for spec in label.attributes],
            }
        )
        name = mapped.name
        classes[name] = _merge_class(classes[name], mapped) if name in classes else mapped
    relations: dict[str, RelationType] = {}
    for relation in ontology.relations:
        name = label_map.relations.get(relation.name, relation.name)
        if name not in relations:
            relations[name] = relation.model_copy(update={"name": name})
    mapped_ontology = ontology.model_copy(
        update={"labels": list(classes.values()), "relations": list(relations.values())}
    )
    return project.model_copy(update={"ontology": mapped_ontology})
