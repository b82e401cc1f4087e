"""The unified model documents its fields in `bridge schema` (pydantic field descriptions)
and enforces its simple invariants (the readers' record paths check the same)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bridge.schema import (
    RLE,
    BBox,
    Cuboid3D,
    Ellipse,
    FrameRange,
    Item,
    Media,
    Polygon,
    Polyline,
    Span,
    TimeSegment,
)


def field_description(model, name):
    return model.model_json_schema()["properties"][name].get("description", "")


def test_bridge_schema_documents_units_geometry_and_media():
    item = Item.model_json_schema()
    defs = item["$defs"]
    assert "percent" in defs["BBox"]["properties"]["units"]["description"]
    assert "clockwise" in defs["BBox"]["properties"]["rotation"]["description"]
    assert "(height, width)" in defs["RLE"]["properties"]["size"]["description"]
    assert "exclusive" in defs["Span"]["properties"]["end"]["description"]
    assert "inclusive" in defs["FrameRange"]["properties"]["end"]["description"]
    assert "pixels" in defs["Media"]["properties"]["width"]["description"]
    assert "at least 3" in field_description(Polygon, "points")
    assert "at least 2" in field_description(Polyline, "points")


BROKEN = [
    (BBox, {"x": 0, "y": 0, "width": -1, "height": 1}),
    (BBox, {"x": 0, "y": 0, "width": 1, "height": -0.5}),
    (Ellipse, {"cx": 0, "cy": 0, "rx": -1, "ry": 1}),
    (Cuboid3D, {"position": (0, 0, 0), "scale": (1, -1, 1)}),
    (RLE, {"size": (-1, 4), "counts": ""}),
    (Polygon, {"points": [(0, 0), (1, 1)]}),
    (Polyline, {"points": [(0, 0)]}),
    (Span, {"start": 5, "end": 4}),
    (Span, {"start": -1, "end": 4}),
    (Span, {"start": 5, "end": 4, "container": "2", "end_container": "2"}),
    (TimeSegment, {"start": 2.5, "end": 2.25}),
    (FrameRange, {"start": 3, "end": 2}),
    (Media, {"kind": "image", "width": 0, "height": 10}),
    (Media, {"kind": "video", "fps": 0}),
    (Media, {"kind": "video", "frame_count": -1}),
]
FINE = [
    (BBox, {"x": -5, "y": -5, "width": 0, "height": 0}),
    (Polygon, {"points": [(0, 0), (1, 0), (0, 1)]}),
    (Polyline, {"points": [(0, 0), (1, 1)]}),
    (Span, {"start": 4, "end": 4}),
    (Span, {"start": None, "end": 3}),
    # across dialogue paragraphs `end` indexes the last paragraph: it may be below `start`
    (Span, {"start": 5, "end": 4, "container": "0", "end_container": "2"}),
    (TimeSegment, {"start": 1.0, "end": 1.0}),
    (FrameRange, {"start": 2, "end": 2}),
    (Media, {"kind": "image", "width": 1, "height": 1}),
]


def typed(model, data):
    """`data` as JSON gives it: a shape carries its `type`."""
    if "type" in model.model_fields:
        return {"type": model.model_fields["type"].annotation.__args__[0], **data}
    return data


@pytest.mark.parametrize(("model", "data"), FINE)
def test_edge_values_are_valid(model, data):
    validated = model.model_validate(typed(model, data))
    assert {key: getattr(validated, key) for key in data} == data


@pytest.mark.parametrize(("model", "data"), BROKEN)
def test_broken_invariants_are_refused(model, data):
    with pytest.raises(ValidationError):
        model.model_validate(typed(model, data))
