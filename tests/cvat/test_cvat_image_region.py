"""`image_region` (an `<image>`'s shape element read straight into a unified region) must
agree with the general path the REST pull also takes: `shape_dict` (XML attributes -> CVAT
shape dict) then `shape_to_region_dict`. Ellipses differ on purpose: their radii are taken
as written instead of through CVAT's corner point, so only they are compared with a
tolerance."""

from __future__ import annotations

import math

from bridge_cvat.convert import shape_to_region_dict
from bridge_cvat.ontology import CUBOID_KEYS, LabelIndex
from bridge_cvat.xml_read import image_region, shape_dict
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.errors import FormatError
from bridge.losses import LossReport

LABELS = LabelIndex.from_labels(
    [{"name": "car", "attributes": []}, {"name": "road", "attributes": []}]
)
coordinate = st.floats(-5000, 5000, allow_nan=False).map(lambda v: f"{v:.2f}")
flag = st.sampled_from(["0", "1"])


def _pairs(count: int):
    return st.lists(st.tuples(coordinate, coordinate), min_size=count, max_size=count + 4).map(
        lambda pairs: ";".join(f"{x},{y}" for x, y in pairs)
    )


shape_attrs = st.one_of(
    st.tuples(
        st.just("box"),
        st.fixed_dictionaries(
            {"xtl": coordinate, "ytl": coordinate, "xbr": coordinate, "ybr": coordinate}
        ),
    ),
    st.tuples(
        st.just("ellipse"),
        st.fixed_dictionaries(
            {"cx": coordinate, "cy": coordinate, "rx": coordinate, "ry": coordinate}
        ),
    ),
    st.tuples(
        st.sampled_from(["polygon", "polyline", "points"]),
        st.fixed_dictionaries({"points": _pairs(1)}),
    ),
    st.tuples(
        st.just("cuboid"),
        st.fixed_dictionaries({k: coordinate for k in CUBOID_KEYS}),
    ),
    st.tuples(
        st.just("mask"),
        st.just({"rle": "2, 2, 2", "left": "1", "top": "1", "width": "2", "height": "3"}),
    ),
)
common = st.fixed_dictionaries(
    {},
    optional={
        "label": st.sampled_from(["car", "road", "", "bus"]),
        "occluded": flag,
        "outside": flag,
        "keyframe": flag,
        "z_order": st.sampled_from(["0", "3", "-1", "x"]),
        "group_id": st.sampled_from(["0", "7", "x"]),
        "source": st.sampled_from(["manual", "auto", ""]),
        "rotation": st.sampled_from(["0", "0.0", "15.5", "359.99", "nan"]),
    },
)


def _outcome(build):
    try:
        return build()
    except FormatError as error:
        return ("error", error.message.split(":")[0])


@settings(max_examples=400, deadline=None)
@given(shape=shape_attrs, extra=common)
def test_cvat_image_region_agrees_with_shape_dict_then_shape_to_region_dict(shape, extra):
    tag, attrs = shape
    attrs = {**attrs, **extra}
    size = (8, 8)
    direct = _outcome(lambda: image_region(tag, attrs, size, LABELS, "f:1"))
    general = _outcome(
        lambda: shape_to_region_dict(
            shape_dict(tag, attrs, "f:1"),
            LABELS,
            LossReport(),
            where="f:1",
            region_id="0",
            image_size=size,
        )
    )
    if isinstance(general, tuple) or isinstance(direct, tuple):
        assert isinstance(direct, tuple) and isinstance(general, tuple)
        return
    general.pop("id")
    assert general.pop("classifications", []) == []
    if tag == "ellipse":
        for key in ("rx", "ry"):
            assert math.isclose(
                direct["shape"][key], general["shape"][key], rel_tol=1e-9, abs_tol=1e-9
            )
            direct["shape"][key] = general["shape"][key]
    assert direct == general
