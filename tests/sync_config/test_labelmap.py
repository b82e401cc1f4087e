"""`bridge.sync.labelmap`: renames and merges on hand-built items and ontologies; every
expected value is written out by hand from the map below."""

from __future__ import annotations

import pytest

from bridge.errors import ConfigError
from bridge.losses import LossReport
from bridge.schema import (
    AnnotationSet,
    Answer,
    BBox,
    Classification,
    ClassificationSpec,
    Item,
    Keyframe,
    LabelClass,
    Media,
    Ontology,
    OptionSpec,
    Project,
    Region,
    Relation,
    RelationType,
    Track,
)
from bridge.sync.config import parse_config
from bridge.sync.labelmap import MERGED, LabelMap, apply_label_map, map_ontology

CONFIG = """\
sources:
  - name: a
    path: a.json
target:
  path: out.json
labels:
  Car: vehicle
  Truck: vehicle
  Person:
    to: pedestrian
    attributes:
      pose: {to: posture, values: {standing: upright, walking: moving}}
relations:
  drives: operates
"""


def box() -> BBox:
    return BBox(type="bbox", x=1, y=2, width=3, height=4)


def answer(name: str, value: str) -> Classification:
    return Classification(name=name, answers=[Answer(value=value)])


def options(*values: str) -> list[OptionSpec]:
    return [OptionSpec(value=value) for value in values]


def select(name: str, *values: str) -> ClassificationSpec:
    return ClassificationSpec(name=name, input="select", options=options(*values))


def project() -> Project:
    return Project(
        name="p",
        ontology=Ontology(
            labels=[
                LabelClass(name="Car", kinds=["bbox"], attributes=[select("color", "red")]),
                LabelClass(
                    name="Person",
                    kinds=["bbox", "points"],
                    attributes=[select("pose", "standing", "walking", "sitting")],
                ),
                LabelClass(
                    name="Truck",
                    kinds=["polygon", "bbox"],
                    color="#ff0000",
                    attributes=[select("color", "red", "blue"), select("axles", "2", "3")],
                ),
                LabelClass(name="Tree", kinds=["polygon"]),
            ],
            classifications=[select("weather", "sunny")],
            relations=[RelationType(name="drives"), RelationType(name="near")],
        ),
    )


def label_map(text: str = CONFIG) -> LabelMap:
    return LabelMap.from_config(parse_config(text, "c.yaml"))


def item() -> Item:
    regions = [
        Region(id="r1", label="Car", shape=box(), classifications=[answer("color", "red")]),
        Region(id="r2", label="Truck", shape=box()),
        Region(
            id="r3",
            label="Person",
            shape=box(),
            classifications=[answer("pose", "standing"), answer("mood", "standing")],
        ),
        Region(id="r4", label="Tree", shape=box(), classifications=[answer("pose", "standing")]),
        Region(id="r5", label=None, shape=box()),
    ]
    track = Track(
        id="t1",
        label="Person",
        classifications=[answer("pose", "walking")],
        keyframes=[
            Keyframe(frame=0, shape=box(), classifications=[answer("pose", "sitting")]),
            Keyframe(frame=3, shape=box(), classifications=[answer("pose", "standing")]),
        ],
    )
    aset = AnnotationSet(
        id="s1",
        regions=regions,
        tracks=[track],
        relations=[
            Relation(from_id="r3", to_id="r1", label="drives"),
            Relation(from_id="r3", to_id="r4", label="near"),
            Relation(from_id="r1", to_id="r2"),
        ],
        classifications=[answer("weather", "sunny")],
    )
    return Item(key="k1", media=Media(kind="video"), annotation_sets=[aset])


def test_apply_renames_merges_and_maps_attribute_values() -> None:
    losses = LossReport()
    source = item()
    mapped = apply_label_map(source, label_map(), losses)
    (aset,) = mapped.annotation_sets
    assert [region.label for region in aset.regions] == [
        "vehicle",
        "vehicle",
        "pedestrian",
        "Tree",
        None,
    ]
    # Car's attributes have no rule: unchanged
    assert aset.regions[0].classifications == [answer("color", "red")]
    # Person's pose renamed with its values; another attribute with a same-looking value not
    assert aset.regions[2].classifications == [
        answer("posture", "upright"),
        answer("mood", "standing"),
    ]
    # the pose rule is Person's only: a Tree's pose is left alone
    assert aset.regions[3].classifications == [answer("pose", "standing")]
    (track,) = aset.tracks
    assert track.label == "pedestrian"
    assert track.classifications == [answer("posture", "moving")]
    assert [kf.classifications for kf in track.keyframes] == [
        [answer("posture", "sitting")],  # a value without a rule keeps its text
        [answer("posture", "upright")],
    ]
    assert [relation.label for relation in aset.relations] == ["operates", "near", None]
    assert aset.classifications == [answer("weather", "sunny")]  # item-level: untouched
    assert [region.id for region in aset.regions] == ["r1", "r2", "r3", "r4", "r5"]
    # the two merged regions (Car, Truck) are counted, nothing else
    assert losses.count(MERGED) == 2
    assert losses[MERGED].severity == "approximated"
    # pure: the input is unchanged
    assert source == item()


def test_apply_with_an_empty_map_returns_the_item() -> None:
    empty = LabelMap()
    losses = LossReport()
    source = item()
    assert apply_label_map(source, empty, losses) == source
    assert not losses


def test_a_rename_alone_is_no_loss() -> None:
    text = CONFIG.split("labels:")[0] + "labels:\n  Car: automobile\n"
    losses = LossReport()
    mapped = apply_label_map(item(), label_map(text), losses)
    assert mapped.annotation_sets[0].regions[0].label == "automobile"
    assert mapped.annotation_sets[0].regions[1].label == "Truck"
    assert not losses


def test_nested_answers_are_mapped() -> None:
    nested = Classification(
        name="pose",
        answers=[Answer(value="walking", classifications=[answer("pose", "standing")])],
    )
    region = Region(id="r", label="Person", shape=box(), classifications=[nested])
    source = Item(
        key="k",
        media=Media(kind="image"),
        annotation_sets=[AnnotationSet(id="s", regions=[region])],
    )
    mapped = apply_label_map(source, label_map(), LossReport())
    (outer,) = mapped.annotation_sets[0].regions[0].classifications
    assert outer.name == "posture" and outer.answers[0].value == "moving"
    assert outer.answers[0].classifications == [answer("posture", "upright")]


def test_map_ontology_merges_classes() -> None:
    mapped = map_ontology(project(), label_map()).ontology
    assert [label.name for label in mapped.labels] == ["vehicle", "pedestrian", "Tree"]
    vehicle, pedestrian, tree = mapped.labels
    assert vehicle.kinds == ["bbox", "polygon"]  # Car's, then Truck's new one
    assert vehicle.color == "#ff0000"  # Car had none
    assert [(spec.name, [o.value for o in spec.options]) for spec in vehicle.attributes] == [
        ("color", ["red", "blue"]),
        ("axles", ["2", "3"]),
    ]
    assert pedestrian.kinds == ["bbox", "points"]
    assert [(spec.name, [o.value for o in spec.options]) for spec in pedestrian.attributes] == [
        ("posture", ["upright", "moving", "sitting"])
    ]
    assert tree == project().ontology.labels[3]
    assert [relation.name for relation in mapped.relations] == ["operates", "near"]
    assert mapped.classifications == project().ontology.classifications


def test_map_ontology_values_merged_onto_one_option_and_default() -> None:
    text = CONFIG.replace("walking: moving", "walking: upright")
    source = project()
    person = source.ontology.labels[1]
    person.attributes[0].default = "walking"
    mapped = map_ontology(source, label_map(text)).ontology.labels[1]
    assert [option.value for option in mapped.attributes[0].options] == ["upright", "sitting"]
    assert mapped.attributes[0].default == "upright"


def test_merged_parent_is_renamed() -> None:
    source = project()
    source.ontology.labels.append(LabelClass(name="wheel", kinds=["points"], parent="Car"))
    mapped = map_ontology(source, label_map()).ontology
    assert mapped.labels[-1].parent == "vehicle"


def test_unknown_label_names_it_the_line_and_the_known_labels() -> None:
    text = CONFIG.replace("  Truck: vehicle\n", "  Truk: vehicle\n")
    with pytest.raises(ConfigError) as caught:
        label_map(text).check(project())
    error = caught.value
    line = text.splitlines().index("  Truk: vehicle") + 1
    assert error.where == f"c.yaml:{line}:3"
    assert "'Truk'" in error.message
    assert error.hint == "did you mean 'Truck'? source labels: Car, Person, Tree, Truck"


def test_unknown_attribute_and_relation() -> None:
    text = CONFIG.replace("      pose: {", "      posee: {")
    with pytest.raises(ConfigError) as caught:
        map_ontology(project(), label_map(text), check=True)
    line = (
        text.splitlines().index(
            "      posee: {to: posture, values: {standing: upright, walking: moving}}"
        )
        + 1
    )
    assert caught.value.where == f"c.yaml:{line}:7"
    assert caught.value.hint == "did you mean 'pose'? attributes of Person: pose"
    text = CONFIG.replace("  drives: operates", "  drive: operates")
    with pytest.raises(ConfigError) as caught:
        label_map(text).check(project())
    assert caught.value.where == f"c.yaml:{len(text.splitlines())}:3"
    assert "'drive'" in caught.value.message


TWO_SOURCES = CONFIG.replace("target:", "  - name: b\n    path: b.json\ntarget:")


def split_projects() -> tuple[Project, Project]:
    """The test ontology split over two sources: Car and Person in one, Truck in the other."""
    whole = project().ontology
    first = Project(
        name="a",
        ontology=Ontology(labels=[whole.labels[0], whole.labels[1]], relations=whole.relations),
    )
    second = Project(name="b", ontology=Ontology(labels=[whole.labels[2], whole.labels[3]]))
    return first, second


def test_check_waits_for_every_source_when_given_one_at_a_time() -> None:
    first, second = split_projects()
    mapping = label_map(TWO_SOURCES)
    assert mapping.sources == 2
    mapping.check(first)  # Truck is the second source's: not refused yet
    mapping.check(second)  # now every source was seen: Truck is known
    label_map(TWO_SOURCES).check(first, second)  # the same, at once


def test_check_refuses_a_label_of_neither_source_once_both_are_seen() -> None:
    first, second = split_projects()
    mapping = label_map(TWO_SOURCES.replace("  Truck: vehicle", "  Lorry: vehicle"))
    mapping.check(first)
    with pytest.raises(ConfigError) as caught:
        mapping.check(second)
    assert "'Lorry'" in caught.value.message
    assert caught.value.hint == "source labels: Car, Person, Tree, Truck"


def test_a_single_source_map_checks_at_once() -> None:
    first, _ = split_projects()
    with pytest.raises(ConfigError) as caught:
        label_map().check(first)  # one source: Truck is unknown right away
    assert "'Truck'" in caught.value.message
