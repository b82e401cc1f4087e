"""The ontology room: CVAT labels (with their attribute specs) <-> the unified ontology,
`LabelIndex`, and label dicts as they cross the REST API.

Vendor terms:

* a CVAT **label** is a class ("car") with a `type` (rectangle, polygon, ..., skeleton,
  tag, or "any"), a `color`, and **attributes**: questions asked about each shape of the
  label. A **skeleton** label has **sublabels** (its points) and an `svg` that lays them out
  and draws the edges (`<line data-node-from="1" data-node-to="2">` between
  `<circle data-node-id="1" data-label-name="nose">`).
* an **attribute spec** has an `input_type` (checkbox, radio, select, number, text),
  `values` (the options; for numbers `[min, max, step]`), a `default_value`, and `mutable`:
  a mutable attribute may change from frame to frame along a track, an immutable one is
  fixed for the whole track.

The dicts here are CVAT REST `Label` shapes without ids required: `{"name", "color", "type",
"svg", "attributes": [{"name", "mutable", "input_type", "values", "default_value"}],
"sublabels": [...]}`. Keys with no unified home ride in `extra` and come back.

Labels pulled over REST carry fields that place them on one server (`server_free` drops
them); labels sent to create a task or project may carry only the request model's fields
and no ids (`label_requests`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, get_args

from bridge.errors import FormatError
from bridge.schema import ClassificationSpec, LabelClass, Ontology, OptionSpec, RegionKind

CVAT_TO_KIND = {
    "rectangle": "bbox",
    "polygon": "polygon",
    "polyline": "polyline",
    "points": "points",
    "ellipse": "ellipse",
    "cuboid": "cuboid",
    "mask": "mask",
    "skeleton": "skeleton",
    "tag": "tag",
}
"""CVAT label types and shape types -> unified region kinds ("any" allows every kind)."""
KIND_TO_CVAT = {kind: cvat for cvat, kind in CVAT_TO_KIND.items()}
REGIONS: list[RegionKind] = [kind for kind in get_args(RegionKind) if kind in KIND_TO_CVAT]
"""The unified region kinds CVAT has, in `RegionKind` order (for connector capabilities)."""
CUBOID_KEYS = tuple(
    f"{axis}{corner}{face}" for face in "12" for corner in ("tl", "bl", "tr", "br") for axis in "xy"
)
"""A cuboid's XML attributes, in the order of its 16 REST `points`: xtl1, ytl1, xbl1, ...,
ybr1, then the same with 2."""
INPUT_TYPES = ("checkbox", "radio", "select", "number", "text")
LABEL_KEYS = {"name", "color", "type", "svg", "attributes", "sublabels", "id"}
SPEC_KEYS = {"name", "mutable", "input_type", "values", "default_value", "id"}


@dataclass
class LabelIndex:
    """The attribute specs of every label (sublabels included), by label name, so shapes
    can be checked against their label and attribute values typed by input type.

    `specs[label][attribute]` is the REST attribute dict; `types[label]` the CVAT label
    type; `parents[sublabel]` the skeleton a point label belongs to."""

    specs: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)
    parents: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_labels(cls, labels: list[dict[str, Any]]) -> LabelIndex:
        index = cls()
        for label in labels:
            index._add(label, parent=None)
        return index

    @classmethod
    def from_ontology(cls, ontology: Ontology) -> LabelIndex:
        return cls.from_labels(ontology_to_labels(ontology))

    def _add(self, label: dict[str, Any], parent: str | None) -> None:
        name = label["name"]
        self.specs[name] = {spec["name"]: spec for spec in label.get("attributes") or []}
        self.types[name] = label.get("type") or "any"
        if parent is not None:
            self.parents[name] = parent
        for sub in label.get("sublabels") or []:
            self._add(sub, parent=name)

    def __contains__(self, name: str) -> bool:
        return name in self.specs

    def spec(self, label: str | None, attribute: str) -> dict[str, Any] | None:
        return self.specs.get(label or "", {}).get(attribute)

    def is_mutable(self, label: str | None, attribute: str) -> bool:
        spec = self.spec(label, attribute)
        return bool(spec and spec.get("mutable"))


# ------------------------------------------------------------------ numbers as text


def format_number(value: float) -> str:
    """Shortest text that reads back as `value` ("4" for 4.0, "2.5", "0.1")."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) or (math.isfinite(value) and float(value).is_integer()):
        return str(int(value))
    return repr(float(value))


def number_or_none(text: str) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


# ------------------------------------------------------------------ CVAT -> unified


def _spec_from_cvat(attribute: dict[str, Any]) -> ClassificationSpec:
    input_type = attribute.get("input_type") or "text"
    values = [str(v) for v in attribute.get("values") or []]
    spec = ClassificationSpec(
        name=attribute["name"],
        input=input_type if input_type in INPUT_TYPES else "text",
        default=attribute.get("default_value"),
        mutable=bool(attribute.get("mutable", False)),
        extra={k: v for k, v in attribute.items() if k not in SPEC_KEYS},
    )
    if (
        input_type == "number"
        and len(values) == 3
        and all(number_or_none(v) is not None for v in values)
    ):
        spec.min, spec.max, spec.step = (float(v) for v in values)
    else:
        spec.options = [OptionSpec(value=v) for v in values]
    if attribute.get("id") is not None:
        spec.tool_ids["cvat"] = {"spec_id": attribute["id"]}
    return spec


def _label_class(label: dict[str, Any], parent: str | None) -> LabelClass:
    cvat_type = label.get("type") or "any"
    cvat_ids: dict[str, Any] = {"type": label.get("type") or None}  # None: CVAT said nothing
    if label.get("id") is not None:
        cvat_ids["id"] = label["id"]
    if label.get("svg"):
        cvat_ids["svg"] = label["svg"]
    kind = CVAT_TO_KIND.get(cvat_type)
    return LabelClass(
        name=label["name"],
        kinds=[kind] if kind else [],
        color=label.get("color") or None,
        parent=parent,
        edges=skeleton_edges(label.get("svg") or ""),
        attributes=[_spec_from_cvat(a) for a in label.get("attributes") or []],
        tool_ids={"cvat": cvat_ids},
        extra={k: v for k, v in label.items() if k not in LABEL_KEYS},
    )


def labels_to_ontology(labels: list[dict[str, Any]]) -> Ontology:
    """CVAT REST `Label` dicts (sublabels nested) -> unified `Ontology`. A skeleton's
    points become label classes with `parent` set to the skeleton, right after it."""
    classes: list[LabelClass] = []

    def add(label: dict[str, Any], parent: str | None) -> None:
        classes.append(_label_class(label, parent))
        for sub in label.get("sublabels") or []:
            add(sub, label["name"])

    for label in labels:
        add(label, None)
    return Ontology(labels=classes)


_NODE = re.compile(r"<circle\b[^>]*>")
_EDGE = re.compile(r"<line\b[^>]*>")
_ATTR = re.compile(r'([\w-]+)="([^"]*)"')


def skeleton_edges(svg: str) -> list[tuple[str, str]]:
    """The (point label, point label) pairs a skeleton `svg` connects with edges."""
    names: dict[str, str] = {}
    for tag in _NODE.findall(svg):
        attrs = dict(_ATTR.findall(tag))
        if "data-node-id" in attrs and "data-label-name" in attrs:
            names[attrs["data-node-id"]] = attrs["data-label-name"]
    edges = []
    for tag in _EDGE.findall(svg):
        attrs = dict(_ATTR.findall(tag))
        a, b = attrs.get("data-node-from"), attrs.get("data-node-to")
        if a in names and b in names:
            edges.append((names[a], names[b]))
    return edges


# ------------------------------------------------------------------ unified -> CVAT


def _cvat_values(spec: ClassificationSpec) -> list[str]:
    if spec.input == "number" and not spec.options:
        bounds = [spec.min or 0.0, spec.max if spec.max is not None else 100.0, spec.step or 1.0]
        return [format_number(v) for v in bounds]
    return [option.value for option in spec.options]


def _cvat_input_type(spec: ClassificationSpec) -> str:
    if spec.input in INPUT_TYPES:
        return spec.input
    return {"checklist": "select", "rating": "number"}.get(spec.input, "text")


def _attribute_dict(spec: ClassificationSpec) -> dict[str, Any]:
    values = _cvat_values(spec)
    attribute: dict[str, Any] = {
        "name": spec.name,
        "mutable": spec.mutable,
        "input_type": _cvat_input_type(spec),
        "values": values,
        "default_value": spec.default
        if spec.default is not None
        else (values[0] if values else ""),
    }
    spec_id = spec.tool_ids.get("cvat", {}).get("spec_id")
    if spec_id is not None:
        attribute["id"] = spec_id
    attribute.update(spec.extra)
    return attribute


def _cvat_label_type(label: LabelClass) -> str | None:
    """The label's CVAT type: as read from CVAT (None if CVAT gave none), else from its
    one region kind, else none (CVAT then takes "any")."""
    cvat_ids = label.tool_ids.get("cvat", {})
    if "type" in cvat_ids:
        return cvat_ids["type"]
    if len(label.kinds) == 1 and label.kinds[0] in KIND_TO_CVAT:
        return KIND_TO_CVAT[label.kinds[0]]
    return "points" if label.parent else None


def _label_dict(label: LabelClass, children: list[LabelClass]) -> dict[str, Any]:
    cvat_ids = label.tool_ids.get("cvat", {})
    out: dict[str, Any] = {"name": label.name}
    if cvat_ids.get("id") is not None:
        out["id"] = cvat_ids["id"]
    if label.color:
        out["color"] = label.color
    label_type = _cvat_label_type(label)
    if label_type:
        out["type"] = label_type
    out["attributes"] = [_attribute_dict(spec) for spec in label.attributes]
    if label_type == "skeleton":
        out["svg"] = cvat_ids.get("svg") or skeleton_svg([c.name for c in children], label.edges)
    if children:
        out["sublabels"] = [_label_dict(child, []) for child in children]
    out.update(label.extra)
    return out


def ontology_to_labels(ontology: Ontology) -> list[dict[str, Any]]:
    """Unified `Ontology` -> CVAT label dicts (PatchedLabelRequest-shaped; `id`/`spec_id`
    only when the ontology came from CVAT). Classes with a `parent` become sublabels."""
    children: dict[str, list[LabelClass]] = {}
    for label in ontology.labels:
        if label.parent:
            children.setdefault(label.parent, []).append(label)
    return [
        _label_dict(label, children.get(label.name, []))
        for label in ontology.labels
        if not label.parent
    ]


def named_labels(ontology: Ontology, losses: Any, where: str) -> list[dict[str, Any]]:
    """`ontology_to_labels` for a writer: a label class (or skeleton point) without a
    name has no CVAT form; it is left out and reported, never written as `<name></name>`."""
    unnamed = [label for label in ontology.labels if not label.name]
    if unnamed:
        losses.record(
            "cvat.unnamed_label",
            "a label class without a name; CVAT needs one; left out of the labels",
            where=where,
            count=len(unnamed),
        )
        ontology = Ontology(labels=[label for label in ontology.labels if label.name])
    return ontology_to_labels(ontology)


def skeleton_svg(points: list[str], edges: list[tuple[str, str]]) -> str:
    """A CVAT skeleton layout for `points` (on a circle in a 100x100 box) and `edges`."""
    position: dict[str, tuple[float, float]] = {}
    node_id: dict[str, int] = {}
    parts = []
    for number, name in enumerate(points, start=1):
        angle = 2 * math.pi * (number - 1) / max(len(points), 1)
        position[name] = (50 + 40 * math.cos(angle), 50 + 40 * math.sin(angle))
        node_id[name] = number
    for a, b in edges:
        if a in position and b in position:
            (x1, y1), (x2, y2) = position[a], position[b]
            parts.append(
                f'<line x1="{x1:.3f}" y1="{y1:.3f}" x2="{x2:.3f}" y2="{y2:.3f}" stroke="black" '
                f'data-type="edge" data-node-from="{node_id[a]}" stroke-width="0.5" '
                f'data-node-to="{node_id[b]}"></line>'
            )
    for name in points:
        x, y = position[name]
        parts.append(
            f'<circle r="1.5" stroke="black" fill="#b3b3b3" cx="{x:.3f}" cy="{y:.3f}" '
            f'stroke-width="0.1" data-type="element node" data-element-id="{node_id[name]}" '
            f'data-node-id="{node_id[name]}" data-label-name="{name}"></circle>'
        )
    return "".join(parts)


# ------------------------------------------------------------------ REST label dicts


def _label_problem(label: Any, sub: bool) -> str | None:
    """What is wrong with one REST label (None if nothing): the types the fields must have."""
    if not isinstance(label, dict):
        return f"a label is {type(label).__name__}, not an object"
    if not isinstance(label.get("name"), str) or not label["name"]:
        return f"a label's name is {label.get('name')!r}"
    name = label["name"]
    for key in ("id", "parent_id", "project_id", "task_id"):
        value = label.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            return f"label {name!r}: {key} {value!r} is not an integer"
    for key in ("type", "color", "svg"):
        if label.get(key) is not None and not isinstance(label[key], str):
            return f"label {name!r}: {key} {label[key]!r} is not text"
    for key in ("attributes", "sublabels"):
        if label.get(key) is not None and not isinstance(label[key], list):
            return f"label {name!r}: {key} is not a list"
    for attribute in label.get("attributes") or []:
        problem = _attribute_problem(attribute)
        if problem:
            return f"label {name!r}: {problem}"
    if sub and label.get("sublabels"):
        return f"label {name!r}: a skeleton point has sublabels"
    for sublabel in label.get("sublabels") or []:
        problem = _label_problem(sublabel, sub=True)
        if problem:
            return problem
    return None


def _attribute_problem(attribute: Any) -> str | None:
    if not isinstance(attribute, dict) or not isinstance(attribute.get("name"), str):
        return f"attribute {attribute!r} has no name"
    name = attribute["name"]
    spec_id = attribute.get("id")
    if spec_id is not None and (not isinstance(spec_id, int) or isinstance(spec_id, bool)):
        return f"attribute {name!r}: id {spec_id!r} is not an integer"
    if attribute.get("mutable") is not None and not isinstance(attribute["mutable"], bool):
        return f"attribute {name!r}: mutable {attribute['mutable']!r} is not true/false"
    for key in ("input_type", "default_value"):
        if attribute.get(key) is not None and not isinstance(attribute[key], str):
            return f"attribute {name!r}: {key} {attribute[key]!r} is not text"
    values = attribute.get("values")
    if values is not None and (
        not isinstance(values, list) or not all(isinstance(v, str) for v in values)
    ):
        return f"attribute {name!r}: values {values!r} are not a list of texts"
    return None


def check_rest_labels(labels: Any, where: str) -> list[dict[str, Any]]:
    """REST labels (`/api/labels` results), checked: a list of label objects whose fields
    have the types CVAT's `Label` model gives them (FormatError at `where` otherwise)."""
    if not isinstance(labels, list):
        raise FormatError(f"labels are {type(labels).__name__}, not a list", where=where)
    for label in labels:
        problem = _label_problem(label, sub=False)
        if problem:
            raise FormatError(
                f"malformed CVAT label: {problem}",
                where=where,
                hint="the server sent something this CVAT version should not",
            )
    return labels


SERVER_FIELDS = ("project_id", "task_id", "parent_id", "has_parent")
"""Label fields that say where a label lives on the server, not what it is."""


def server_free(labels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """REST labels without the fields that place them on one server (project_id, ...),
    and skeleton layouts naming their points (`data-label-name`) instead of the server's
    sublabel ids (`data-label-id`), as CVAT's XML export and label editor do."""
    clean = []
    for label in labels:
        if label.get("parent_id") is not None:
            continue
        out = {k: v for k, v in label.items() if k not in SERVER_FIELDS}
        subs = label.get("sublabels") or []
        out["sublabels"] = [
            {k: v for k, v in sub.items() if k not in SERVER_FIELDS} for sub in subs
        ]
        if out.get("svg"):
            out["svg"] = svg_with_names(
                out["svg"], {sub.get("id"): sub.get("name") for sub in subs}
            )
        clean.append(out)
    return clean


SVG_LABEL_ID = re.compile(r'data-label-id="(\d+)"')


def svg_with_names(svg: str, names: dict[Any, Any]) -> str:
    """`svg` with each `data-label-id="13"` replaced by `data-label-name="head"`."""

    def name_for(match: re.Match) -> str:
        name = names.get(int(match.group(1)))
        return f'data-label-name="{name}"' if name else match.group(0)

    return SVG_LABEL_ID.sub(name_for, svg)


LABEL_REQUEST_FIELDS = frozenset({"name", "color", "attributes", "type", "svg", "sublabels"})
SUBLABEL_REQUEST_FIELDS = frozenset({"name", "color", "attributes", "type"})
ATTRIBUTE_REQUEST_FIELDS = frozenset({"name", "mutable", "input_type", "values", "default_value"})


def label_requests(labels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """CVAT label dicts as PatchedLabelRequests for a *new* task or project: no ids (the
    server assigns them), only fields the request model has."""

    def attributes(label):
        return [
            {k: v for k, v in a.items() if k in ATTRIBUTE_REQUEST_FIELDS}
            for a in label.get("attributes") or []
        ]

    requests = []
    for label in labels:
        out = {k: v for k, v in label.items() if k in LABEL_REQUEST_FIELDS}
        out["attributes"] = attributes(label)
        if label.get("sublabels"):
            out["sublabels"] = [
                {
                    **{k: v for k, v in sub.items() if k in SUBLABEL_REQUEST_FIELDS},
                    "attributes": attributes(sub),
                }
                for sub in label["sublabels"]
            ]
        else:
            out.pop("sublabels", None)
        requests.append(out)
    return requests
