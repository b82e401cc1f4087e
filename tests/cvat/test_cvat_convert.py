"""The shared CVAT conversion (REST-shaped dicts with label names) on hand-made inputs."""

from __future__ import annotations

import pytest
from bridge_cvat.convert import region_to_shape, shape_to_region, track_to_cvat, track_to_unified
from bridge_cvat.ontology import (
    LabelIndex,
    labels_to_ontology,
    ontology_to_labels,
    skeleton_edges,
    skeleton_svg,
)

from bridge.errors import FormatError
from bridge.geometry import bbox_corners
from bridge.losses import LossReport
from bridge.schema import BBox, Ellipse, Region, Skeleton, Span

LABELS = [
    {
        "id": 1,
        "name": "car",
        "color": "#ff0000",
        "type": "rectangle",
        "attributes": [
            {
                "id": 10,
                "name": "model",
                "mutable": False,
                "input_type": "text",
                "values": ["x"],
                "default_value": "x",
            },
            {
                "id": 11,
                "name": "moving",
                "mutable": True,
                "input_type": "checkbox",
                "values": ["false"],
                "default_value": "false",
            },
            {
                "id": 12,
                "name": "speed",
                "mutable": True,
                "input_type": "number",
                "values": ["0", "200", "0.5"],
                "default_value": "0",
            },
        ],
    },
    {
        "id": 2,
        "name": "person",
        "color": "#00ff00",
        "type": "skeleton",
        "attributes": [],
        "svg": skeleton_svg(["head", "foot"], [("head", "foot")]),
        "sublabels": [
            {"id": 3, "name": "head", "color": "#0000ff", "type": "points", "attributes": []},
            {"id": 4, "name": "foot", "color": "#00ffff", "type": "points", "attributes": []},
        ],
    },
]
INDEX = LabelIndex.from_labels(LABELS)


def test_cvat_labels_survive_the_ontology():
    ontology = labels_to_ontology(LABELS)
    assert [(label.name, label.parent) for label in ontology.labels] == [
        ("car", None),
        ("person", None),
        ("head", "person"),
        ("foot", "person"),
    ]
    speed = ontology.labels[0].attributes[2]
    assert (speed.input, speed.min, speed.max, speed.step, speed.mutable) == (
        "number",
        0,
        200,
        0.5,
        True,
    )
    assert ontology.labels[1].edges == [("head", "foot")]
    back = ontology_to_labels(ontology)
    assert back[0]["attributes"][2]["values"] == ["0", "200", "0.5"]
    assert back == LABELS


def test_cvat_rotated_box_turns_about_its_centre():
    shape = {
        "type": "rectangle",
        "label": "car",
        "frame": 0,
        "points": [0.0, 0.0, 4.0, 2.0],
        "rotation": 90.0,
    }
    region = shape_to_region(shape, INDEX, LossReport(), where="t")
    assert isinstance(region.shape, BBox)
    corners = bbox_corners(region.shape)  # centre (2, 1): the top-left corner goes to (3, -1)
    assert corners[0] == pytest.approx((3.0, -1.0))
    assert corners[2] == pytest.approx((1.0, 3.0))
    assert region_to_shape(region, INDEX, LossReport())["points"] == [0.0, 0.0, 4.0, 2.0]


def test_cvat_ellipse_points_are_centre_right_and_top():
    shape = {
        "type": "ellipse",
        "label": "car",
        "frame": 0,
        "points": [10.0, 20.0, 13.0, 18.0],
        "rotation": 5.0,
    }
    region = shape_to_region(shape, INDEX, LossReport(), where="t")
    assert isinstance(region.shape, Ellipse)
    assert (region.shape.cx, region.shape.cy, region.shape.rx, region.shape.ry) == (10, 20, 3, 2)
    out = region_to_shape(region, INDEX, LossReport())
    assert (out["points"], out["rotation"]) == ([10.0, 20.0, 13.0, 18.0], 5.0)


def test_cvat_rest_mask_comes_back_with_its_crop():
    points = [1.0, 3.0, 2.0, 2.0, 4.0, 2.0, 1.0, 5.0, 3.0]  # runs over a 4x3 crop at (2, 1)
    shape = {"type": "mask", "label": "car", "frame": 0, "points": points}
    region = shape_to_region(shape, INDEX, LossReport(), where="t", image_size=(10, 8))
    assert region_to_shape(region, INDEX, LossReport())["points"] == points


def test_cvat_attribute_values_are_typed_by_their_spec():
    shape = {
        "type": "rectangle",
        "label": "car",
        "frame": 0,
        "points": [0, 0, 1, 1],
        "attributes": [
            {"name": "model", "value": "007"},
            {"name": "moving", "value": "true"},
            {"name": "speed", "value": "2.50"},
        ],
    }
    region = shape_to_region(shape, INDEX, LossReport(), where="t")
    assert [c.answers[0].value for c in region.classifications] == ["007", True, 2.5]
    assert region_to_shape(region, INDEX, LossReport())["attributes"][1:] == [
        {"name": "moving", "value": "true"},
        {"name": "speed", "value": "2.5"},
    ]


def test_cvat_rest_track_keeps_immutable_and_mutable_attributes_apart():
    track = {
        "id": 5,
        "label": "car",
        "frame": 0,
        "group": 2,
        "source": "manual",
        "attributes": [{"name": "model", "value": "van"}],
        "shapes": [
            {
                "type": "rectangle",
                "frame": 0,
                "points": [0, 0, 4, 4],
                "rotation": 30.0,
                "outside": False,
                "occluded": False,
                "z_order": 0,
                "attributes": [{"name": "moving", "value": "false"}],
            },
            {
                "type": "rectangle",
                "frame": 9,
                "points": [1, 1, 5, 5],
                "rotation": 0.0,
                "outside": True,
                "occluded": True,
                "z_order": 1,
                "attributes": [{"name": "moving", "value": "true"}],
            },
        ],
        "elements": [],
    }
    unified = track_to_unified(track, INDEX, LossReport(), where="job 1")
    assert (unified.id, unified.group, [c.name for c in unified.classifications]) == (
        "5",
        "2",
        ["model"],
    )
    assert [
        (k.frame, k.outside, k.occluded, k.classifications[0].answers[0].value)
        for k in unified.keyframes
    ] == [(0, False, False, False), (9, True, True, True)]
    back = track_to_cvat(unified, INDEX, LossReport())
    assert back["attributes"] == [{"name": "model", "value": "van"}]
    assert [(s["frame"], s["points"], s["rotation"], s["outside"]) for s in back["shapes"]] == [
        (0, [0, 0, 4, 4], 30.0, False),
        (9, [1, 1, 5, 5], 0.0, True),
    ]
    assert (back["id"], back["group"], back["source"]) == (5, 2, "manual")


def test_cvat_rest_skeleton_track_and_shape():
    element = {
        "type": "points",
        "occluded": False,
        "outside": False,
        "z_order": 0,
        "attributes": [],
    }
    track = {
        "id": 1,
        "label": "person",
        "frame": 0,
        "attributes": [],
        "shapes": [
            {
                "type": "skeleton",
                "frame": 0,
                "points": [],
                "outside": False,
                "occluded": False,
                "z_order": 0,
                "attributes": [],
            }
        ],
        "elements": [
            {
                "label": "head",
                "frame": 0,
                "attributes": [],
                "shapes": [{**element, "frame": 0, "points": [1.0, 2.0]}],
            },
            {
                "label": "foot",
                "frame": 0,
                "attributes": [],
                "shapes": [{**element, "frame": 0, "points": [1.0, 9.0], "outside": True}],
            },
        ],
    }
    unified = track_to_unified(track, INDEX, LossReport(), where="job 1")
    skeleton = unified.keyframes[0].shape
    assert isinstance(skeleton, Skeleton)
    assert [(p.label, p.x, p.y, p.visibility) for p in skeleton.points] == [
        ("head", 1, 2, "visible"),
        ("foot", 1, 9, "absent"),
    ]
    back = track_to_cvat(unified, INDEX, LossReport())
    assert [
        (e["label"], e["shapes"][0]["points"], e["shapes"][0]["outside"]) for e in back["elements"]
    ] == [("head", [1.0, 2.0], False), ("foot", [1.0, 9.0], True)]


def test_cvat_shapes_it_cannot_hold_are_reported():
    losses = LossReport()
    assert (
        region_to_shape(Region(id="1", label="PER", shape=Span(start=0, end=3)), INDEX, losses)
        is None
    )
    assert losses.count("cvat.no_span") == 1


def test_cvat_bad_rest_values_raise_format_errors():
    with pytest.raises(FormatError, match="points must be a list of numbers"):
        shape_to_region(
            {"type": "polygon", "label": "car", "points": ["a", 1]},
            INDEX,
            LossReport(),
            where="job 2",
        )
    with pytest.raises(FormatError, match="invalid value") as caught:
        shape_to_region(
            {"type": "polygon", "label": "car", "points": [0, 0, 1, 1, 2, 0], "z_order": "top"},
            INDEX,
            LossReport(),
            where="job 2",
        )
    assert caught.value.where == "job 2"


def test_cvat_generated_skeleton_layout_names_its_edges():
    svg = skeleton_svg(["a", "b", "c"], [("a", "b"), ("b", "c")])
    assert skeleton_edges(svg) == [("a", "b"), ("b", "c")]
