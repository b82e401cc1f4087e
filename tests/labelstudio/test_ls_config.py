"""Label config XML <-> unified ontology."""

from __future__ import annotations

from pathlib import Path

import pytest
from bridge_labelstudio.ontology import config_to_ontology, ontology_to_config, parse_label_config
from label_studio_sdk.label_interface import LabelInterface

from bridge.errors import FormatError
from bridge.schema import ClassificationSpec, LabelClass, Ontology, OptionSpec, RelationType

CONFIGS = Path(__file__).resolve().parents[1] / "fixtures" / "labelstudio" / "configs"
ALL_CONFIGS = sorted(p.stem for p in CONFIGS.glob("*.xml"))


def _config(name: str) -> str:
    return (CONFIGS / f"{name}.xml").read_text()


def _shape(config):
    def labels(defs):
        return [(d.value, d.attrs, labels(d.children)) for d in defs]

    objects = [(o.tag, o.name, o.value, o.attrs, o.children) for o in config.objects]
    controls = sorted(
        (c.tag, c.name, c.to_names, labels(c.labels), c.attrs) for c in config.controls
    )
    return objects, controls


@pytest.mark.parametrize("name", ALL_CONFIGS)
def test_ls_config_round_trip_keeps_every_label_control_and_binding(name):
    original = parse_label_config(_config(name))
    regenerated = parse_label_config(ontology_to_config(config_to_ontology(original)))
    assert _shape(regenerated) == _shape(original)


@pytest.mark.parametrize("name", ALL_CONFIGS)
def test_ls_config_generated_xml_reads_the_same_in_the_sdk(name):
    ours = LabelInterface(ontology_to_config(config_to_ontology(parse_label_config(_config(name)))))
    theirs = LabelInterface(_config(name))
    assert sorted(c.as_tuple() for c in ours.controls) == sorted(
        c.as_tuple() for c in theirs.controls
    )
    for control in theirs.controls:
        assert ours.get_control(control.name).labels == control.labels


def test_ls_config_per_region_questions_become_label_attributes():
    ontology = config_to_ontology(parse_label_config(_config("image_boxes")))
    by_name = {c.name: c for c in ontology.labels}
    assert list(by_name) == ["Car", "Person"]
    assert [a.name for a in by_name["Car"].attributes] == ["color", "note"]
    assert [a.name for a in by_name["Person"].attributes] == ["color"]  # note: whenLabelValue=Car
    color = by_name["Car"].attributes[0]
    assert (color.input, [o.value for o in color.options]) == ("select", ["red", "blue"])
    assert [q.name for q in ontology.classifications] == ["quality"]
    assert ontology.classifications[0].input == "radio"  # choice="single-radio"
    assert by_name["Car"].color == "#ff0000" and by_name["Car"].kinds == ["bbox"]


def test_ls_config_same_label_in_two_controls_is_one_class_with_two_kinds():
    ontology = config_to_ontology(parse_label_config(_config("shapes")))
    road = next(c for c in ontology.labels if c.name == "Road")
    assert road.kinds == ["polygon", "mask"]
    assert road.tool_ids["labelstudio"]["controls"] == ["poly", "brush"]
    kinds = {c.name: c.kinds for c in ontology.labels}
    assert kinds["Nose"] == ["points"] and kinds["Wheel"] == ["ellipse"]


def test_ls_config_questions_keep_their_inputs_and_bounds():
    ontology = config_to_ontology(parse_label_config(_config("text_classification")))
    questions = {q.name: q for q in ontology.classifications}
    assert questions["sentiment"].input == "select" and questions["sentiment"].required
    assert questions["topics"].input == "checklist"
    assert (questions["stars"].input, questions["stars"].min, questions["stars"].max) == (
        "number",
        0,
        10,
    )
    assert (questions["quality"].input, questions["quality"].max) == ("rating", 5)
    assert questions["when"].input == "datetime" and questions["summary"].input == "text"
    animal = questions["category"].options[0]
    assert animal.value == "Animal"
    assert [o.value for o in animal.children[0].options] == ["Mammal", "Bird"]


def test_ls_config_relations_spans_and_media_kinds():
    ner = config_to_ontology(parse_label_config(_config("ner")))
    assert [r.name for r in ner.relations] == ["works_for", "located_in"]
    assert {c.name: c.kinds for c in ner.labels} == {
        "PER": ["span"],
        "ORG": ["span"],
        "LOC": ["span"],
    }
    assert parse_label_config(_config("ner")).media_kind == "text"
    video = parse_label_config(_config("video_tracking"))
    assert video.media_kind == "video"
    assert {c.name: c.kinds for c in config_to_ontology(video).labels} == {
        "Man": ["bbox"],
        "Car": ["bbox"],
    }
    audio = config_to_ontology(parse_label_config(_config("audio_segments")))
    assert audio.labels[0].kinds == ["time_segment"]
    assert [a.name for a in audio.labels[0].attributes] == ["transcript"]
    assert parse_label_config(_config("dialogue")).media_kind == "conversation"


def test_ls_config_from_a_foreign_ontology_is_valid_for_the_sdk():
    ontology = Ontology(
        labels=[
            LabelClass(
                name="car",
                kinds=["bbox", "polygon"],
                color="#00ff00",
                attributes=[
                    ClassificationSpec(
                        name="parked", input="checkbox", options=[OptionSpec(value="yes")]
                    ),
                ],
            ),
            LabelClass(name="road", kinds=["mask"]),
            LabelClass(name="head", kinds=["points"]),
        ],
        classifications=[
            ClassificationSpec(
                name="weather",
                input="radio",
                options=[OptionSpec(value="sun"), OptionSpec(value="rain")],
            ),
            ClassificationSpec(name="count", input="number", min=0, max=9),
        ],
        relations=[RelationType(name="next_to")],
    )
    interface = LabelInterface(ontology_to_config(ontology, "image"))
    assert sorted(c.as_tuple() for c in interface.controls) == [
        "bbox|image|rectanglelabels",
        "brush|image|brushlabels",
        "count|image|number",
        "keypoints|image|keypointlabels",
        "parked|image|choices",
        "polygon|image|polygonlabels",
        "weather|image|choices",
    ]
    assert interface.get_control("bbox").labels == ["car"]
    assert interface.get_control("brush").labels == ["road"]
    assert interface.get_control("weather").labels == ["sun", "rain"]
    config = parse_label_config(ontology_to_config(ontology, "image"))
    parked = config.control("parked")
    assert parked.per_region and parked.choice == "multiple"
    relations = next(c for c in config.controls if c.tag == "Relations")
    assert (relations.to_names, relations.label_values) == ([], ["next_to"])


def test_ls_config_for_video_tracks_pairs_labels_with_a_video_rectangle():
    ontology = Ontology(labels=[LabelClass(name="person", kinds=["bbox"])])
    config = parse_label_config(ontology_to_config(ontology, "video"))
    assert [(c.tag, c.name, c.to_names) for c in config.controls] == [
        ("Labels", "videoLabels", ["video"]),
        ("VideoRectangle", "box", ["video"]),
    ]
    assert [(o.tag, o.value) for o in config.objects] == [("Video", "$video")]


@pytest.mark.parametrize("xml", ["<View><Image name='i' value='$i'>", "not xml", "<Root/>"])
def test_ls_config_bad_xml_is_a_format_error(xml):
    with pytest.raises(FormatError):
        parse_label_config(xml)


def test_ls_config_refuses_entity_expansion():
    bomb = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><View>&a;</View>'
    with pytest.raises(FormatError):
        parse_label_config(bomb)


def test_ls_config_time_series_channels_survive():
    config = parse_label_config(_config("timeseries"))
    assert config.media_kind == "timeseries"
    assert [c[1]["column"] for c in config.objects[0].children] == ["temperature", "pressure"]
    ontology = config_to_ontology(config)
    assert {c.name: c.kinds for c in ontology.labels} == {
        "Spike": ["time_segment"],
        "Drop": ["time_segment"],
    }


def test_label_without_kinds_can_be_drawn_as_any_image_shape():
    """A CVAT label of type "any" names no region kinds: the generated config must let it
    be drawn with every image tool, so none of its regions is dropped on the way."""
    from bridge_labelstudio.ontology import (
        config_to_ontology,
        ontology_to_config,
        parse_label_config,
    )

    from bridge.schema import LabelClass, Ontology

    ontology = Ontology(labels=[LabelClass(name="car")])
    config = parse_label_config(ontology_to_config(ontology, "image"))
    kinds = sorted(config_to_ontology(config).labels[0].kinds)
    assert kinds == ["bbox", "ellipse", "mask", "points", "polygon"]
