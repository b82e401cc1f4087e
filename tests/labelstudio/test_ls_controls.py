"""Label Studio's control and object tags are described once (`bridge_labelstudio.controls`)
and the ontology, reader and writer all use that table."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from bridge_labelstudio import controls, convert, files, ontology, read_results, write_results

FIXTURES = Path(__file__).parent.parent / "fixtures" / "labelstudio"


def test_every_room_reads_the_one_table():
    assert read_results.GEOMETRY_TYPES is controls.GEOMETRY_TYPES
    assert read_results.QUESTION_KEY is controls.QUESTION_KEY
    assert convert.RESULT_MEDIA is controls.RESULT_MEDIA
    assert files.TYPE_TAGS is controls.TYPE_TAGS
    assert ontology.LABEL_KIND is controls.LABEL_KIND
    assert ontology.OBJECT_MEDIA is controls.OBJECT_MEDIA
    assert write_results.DEFAULT_OBJECTS is controls.DEFAULT_OBJECTS
    assert read_results.BARE_TOOLS is controls.BARE_TOOLS is ontology.BARE_TOOLS
    assert read_results.LABEL_TAGS is controls.LABEL_TAGS


def test_bare_tools_and_their_labels_tags_derived_from_the_table():
    # Label Studio's image tools that draw without a label, and the tags naming one
    assert {"rectangle", "polygon", "keypoint", "ellipse", "brush"} == controls.BARE_TOOLS
    assert {
        "labels",
        "rectanglelabels",
        "polygonlabels",
        "keypointlabels",
        "ellipselabels",
        "brushlabels",
    } == controls.LABEL_TAGS


def test_the_real_configs_use_only_tags_of_the_table():
    seen_controls, seen_objects = set(), set()
    for path in sorted((FIXTURES / "configs").glob("*.xml")):
        for element in ET.parse(path).getroot().iter():
            if "toName" in element.attrib or element.tag == "Relations":
                seen_controls.add(element.tag)
            elif "name" in element.attrib and "value" in element.attrib:
                seen_objects.add(element.tag)
    assert {c.lower() for c in seen_controls} <= controls.CONTROLS.keys()
    assert {o.lower() for o in seen_objects} <= controls.OBJECT_MEDIA.keys()
    assert len(seen_controls) >= 10


def test_the_real_exports_use_only_result_types_of_the_table():
    types = set()
    for path in sorted(FIXTURES.glob("real_*.json")):
        tasks = json.loads(path.read_text())
        for task in [tasks] if isinstance(tasks, dict) else tasks:  # a single-task file
            for field in ("annotations", "predictions", "drafts"):
                for entry in task.get(field) or ():
                    if isinstance(entry, dict):
                        types.update(r["type"] for r in entry["result"])
    known = controls.GEOMETRY_TYPES | controls.QUESTION_TYPES | {"relation"}
    assert types <= known
    assert {"rectanglelabels", "videorectangle", "choices", "relation"} <= types


@pytest.mark.parametrize("control", [c for c in controls.CONTROL_TABLE if c.region])
def test_a_labeling_control_gives_its_region_kind(control):
    media = control.media or "image"
    tag, name, value = controls.DEFAULT_OBJECTS[media]
    xml = (
        f'<View><{tag} name="{name}" value="{value}"/>'
        f'<{control.tag} name="c" toName="{name}"><Label value="x"/></{control.tag}></View>'
    )
    result = ontology.config_to_ontology(ontology.parse_label_config(xml))
    assert [(label.name, label.kinds) for label in result.labels] == [("x", [control.region])]


@pytest.mark.parametrize("control", [c for c in controls.CONTROL_TABLE if c.input])
def test_a_question_control_gives_its_input(control):
    xml = (
        f'<View><Image name="image" value="$image"/><{control.tag} name="q" toName="image"/></View>'
    )
    [spec] = ontology.config_to_ontology(ontology.parse_label_config(xml)).classifications
    assert spec.input == control.input
