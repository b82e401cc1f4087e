"""Labelbox normalized ontology <-> unified ontology, checked against labelbox's own
OntologyBuilder."""

from __future__ import annotations

import contextlib

import pytest
from bridge_labelbox.ontology import ontology_from_normalized, ontology_to_normalized
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.errors import FormatError
from bridge.schema import ClassificationSpec, LabelClass, Ontology, OptionSpec
from tests.support.json_mutation import json_paths, replace_at

from .test_lb_malformed import json_values


def normalized() -> dict:
    severity = {
        "type": "radio",
        "name": "severity",
        "instructions": "severity",
        "required": True,
        "schemaNodeId": "n-sev",
        "featureSchemaId": "f-sev",
        "scope": "global",
        "options": [
            {
                "label": "High",
                "value": "high",
                "featureSchemaId": "f-high",
                "options": [
                    {
                        "type": "text",
                        "name": "why",
                        "instructions": "why",
                        "required": False,
                        "options": [],
                    }
                ],
            },
            {"label": "Low", "value": "low", "options": []},
        ],
    }
    return {
        "tools": [
            {
                "tool": "rectangle",
                "name": "car",
                "color": "#ff0000",
                "required": False,
                "featureSchemaId": "f-car",
                "schemaNodeId": "n-car",
                "classifications": [severity],
            },
            {
                "tool": "polygon",
                "name": "road",
                "color": "#00ff00",
                "required": False,
                "classifications": [],
            },
            {
                "tool": "raster-segmentation",
                "name": "sky",
                "color": "#0000ff",
                "required": False,
                "classifications": [],
            },
            {
                "tool": "named-entity",
                "name": "PER",
                "color": "#123456",
                "required": False,
                "classifications": [],
            },
            {
                "tool": "edge",
                "name": "near",
                "color": "#abcdef",
                "required": False,
                "classifications": [],
            },
        ],
        "classifications": [
            {
                "type": "checklist",
                "name": "tags",
                "required": False,
                "instructions": "tags",
                "options": [{"label": "night", "value": "night", "options": []}],
            },
            {
                "type": "text",
                "name": "note",
                "instructions": "note",
                "required": False,
                "options": [],
            },
        ],
    }


def test_lb_ontology_tools_questions_and_relations():
    ontology = ontology_from_normalized(normalized())
    assert [(label.name, label.kinds) for label in ontology.labels] == [
        ("car", ["bbox"]),
        ("road", ["polygon"]),
        ("sky", ["mask"]),
        ("PER", ["span"]),
    ]
    car = ontology.labels[0]
    assert car.color == "#ff0000"
    assert car.tool_ids["labelbox"]["featureSchemaId"] == "f-car"
    (severity,) = car.attributes
    assert (severity.input, severity.required) == ("radio", True)
    assert [o.value for o in severity.options] == ["High", "Low"]
    assert severity.options[0].tool_ids["labelbox"]["featureSchemaId"] == "f-high"
    assert severity.options[0].children[0].name == "why"
    assert [r.name for r in ontology.relations] == ["near"]
    assert [(q.name, q.input) for q in ontology.classifications] == [
        ("tags", "checklist"),
        ("note", "text"),
    ]


def test_lb_ontology_round_trips_exactly():
    assert ontology_to_normalized(ontology_from_normalized(normalized())) == normalized()


def test_lb_ontology_written_is_accepted_by_labelbox_builder():
    schema = pytest.importorskip("labelbox.schema.ontology")
    ontology = Ontology(
        labels=[
            LabelClass(
                name="dog",
                kinds=["polygon"],
                attributes=[
                    ClassificationSpec(
                        name="breed",
                        input="select",
                        options=[OptionSpec(value="pug"), OptionSpec(value="lab")],
                    )
                ],
            )
        ],
        classifications=[
            ClassificationSpec(name="ok", input="checkbox", options=[OptionSpec(value="yes")])
        ],
    )
    written = ontology_to_normalized(ontology)
    built = schema.OntologyBuilder.from_dict(written)
    assert [(t.tool.value, t.name) for t in built.tools] == [("polygon", "dog")]
    breed = built.tools[0].classifications[0]
    assert breed.class_type.value == "radio" and [o.label for o in breed.options] == ["pug", "lab"]
    assert built.classifications[0].class_type.value == "checklist"
    # and back: the SDK's own dict reads into the same unified names
    again = ontology_from_normalized(built.asdict())
    assert [label.name for label in again.labels] == ["dog"]
    assert [o.value for o in again.labels[0].attributes[0].options] == ["pug", "lab"]


@pytest.mark.parametrize(
    "bad", [{"tools": [{"name": "x"}]}, {"tools": "nope"}, {"classifications": [{"type": "radio"}]}]
)
def test_lb_ontology_malformed_raises_format_error(bad):
    with pytest.raises(FormatError):
        ontology_from_normalized(bad)


def _nested_ontology(depth: int) -> dict:
    question: dict = {"type": "text", "name": "leaf", "options": []}
    for level in range(depth):
        question = {
            "type": "radio",
            "name": f"q{level}",
            "options": [{"label": f"a{level}", "value": f"a{level}", "options": [question]}],
        }
    return {"tools": [], "classifications": [question]}


def test_lb_ontology_nested_too_deep_is_a_format_error_not_a_recursion_error():
    assert ontology_from_normalized(_nested_ontology(10)).classifications[0].name == "q9"
    with pytest.raises(FormatError, match="nest more than"):
        ontology_from_normalized(_nested_ontology(2000))


PATHS = [path for path in json_paths(normalized()) if path]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(PATHS), json_values)
def test_lb_ontology_fuzz_gives_an_ontology_or_a_format_error(path, value):
    """Any value anywhere: an `Ontology` or a `FormatError`, nothing else (no catch-all
    turns our own bugs into a FormatError)."""
    with contextlib.suppress(FormatError):
        ontology_from_normalized(replace_at(normalized(), path, value))
