"""Label Studio label configs (the project's `<View>` XML) <-> the unified ontology.

Terms:

* An **object tag** shows the data: `<Image name="image" value="$image"/>` shows the task's
  `data["image"]`. Kinds used here: Image, Text, HyperText, Audio, Video, Paragraphs,
  TimeSeries (others are kept as they are).
* A **control tag** is what annotators answer with, bound to object tags by `toName`
  (comma-separated): labeling controls (RectangleLabels, PolygonLabels, KeyPointLabels,
  EllipseLabels, BrushLabels, Labels, HyperTextLabels, ParagraphLabels, TimeSeriesLabels and
  the unlabeled Rectangle, Polygon, KeyPoint, Ellipse, Brush, VideoRectangle), questions
  (Choices, TextArea, Number, Rating, Taxonomy, DateTime) and Relations.
* A question with `perRegion="true"` is asked about each region, not the whole task: it
  becomes an attribute of the label classes drawn on the same object (only of those named in
  `whenLabelValue` when that is set).

The ontology keeps what it has no field for in `Ontology.extra["labelstudio"]` (object tags,
each labeling control's tag, binding and attributes, the control order) and in each label
class's / question's `tool_ids["labelstudio"]`, so config -> ontology -> config keeps every
label, control name and binding.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any
from xml.parsers import expat

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET

from bridge.errors import FormatError
from bridge.schema import ClassificationSpec, LabelClass, Ontology, OptionSpec, RelationType
from bridge_labelstudio.controls import (
    BARE_TOOLS,
    CHOICE_INPUT,
    DEFAULT_OBJECTS,
    DRAWABLE,
    LABEL_KIND,
    OBJECT_MEDIA,
    QUESTION_INPUT,
)

OPTION_TAGS = {"label", "choice", "relation"}


@dataclass
class LabelDef:
    """One `<Label>`, `<Choice>` or `<Relation>` child: its value, other XML attributes and,
    for Taxonomy, the nested choices."""

    value: str
    attrs: dict[str, str] = field(default_factory=dict)
    children: list[LabelDef] = field(default_factory=list)


@dataclass
class ObjectTag:
    """A tag that shows task data: `tag` as written ("Image"), `name`, `value` ("$image")."""

    tag: str
    name: str
    value: str
    attrs: dict[str, str] = field(default_factory=dict)
    children: list = field(default_factory=list)
    """Child elements kept as (tag, attrs, children), e.g. TimeSeries `<Channel>`s."""

    @property
    def data_key(self) -> str | None:
        """The task data field shown ("image" for value "$image")."""
        return self.value[1:] if self.value.startswith("$") else None

    @property
    def media_kind(self) -> str | None:
        return OBJECT_MEDIA.get(self.tag.lower())


@dataclass
class ControlTag:
    """A tag annotators answer with: `tag` as written, `name` (results' `from_name`),
    `to_names` (results' `to_name`), its labels/choices and other XML attributes."""

    tag: str
    name: str
    to_names: list[str]
    labels: list[LabelDef] = field(default_factory=list)
    attrs: dict[str, str] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return self.tag.lower()

    @property
    def per_region(self) -> bool:
        return self.attrs.get("perRegion", "").lower() == "true"

    @property
    def choice(self) -> str | None:
        return self.attrs.get("choice")

    @property
    def label_values(self) -> list[str]:
        return [label.value for label in self.labels]


@dataclass
class LabelConfig:
    """A parsed label config: its object tags, control tags and the XML it came from."""

    objects: list[ObjectTag]
    controls: list[ControlTag]
    xml: str = ""

    def control(self, name: str) -> ControlTag | None:
        return next((c for c in self.controls if c.name == name), None)

    def object(self, name: str) -> ObjectTag | None:
        return next((o for o in self.objects if o.name == name), None)

    def region_kind(self, control: ControlTag) -> str | None:
        """The region kind `control` draws (None for questions and relations)."""
        if control.kind == "labels":
            return labels_kind(self, control)
        return LABEL_KIND.get(control.kind)

    @property
    def media_kind(self) -> str | None:
        return next((o.media_kind for o in self.objects if o.media_kind), None)


def labels_kind(config: LabelConfig, control: ControlTag) -> str:
    """A `<Labels>` control marks text spans, audio/time segments, or labels video tracks."""
    obj = config.object(control.to_names[0]) if control.to_names else None
    media = obj.media_kind if obj else None
    if media == "audio" or media == "timeseries":
        return "time_segment"
    if media == "video":
        video_boxes = any(
            c.kind == "videorectangle" and obj.name in c.to_names for c in config.controls
        )
        return "bbox" if video_boxes else "time_segment"
    if media == "image":
        return "bbox"
    return "span"


# ------------------------------------------------------------------------- parsing


def _options(element: ET.Element) -> list[LabelDef]:
    result = []
    for child in element:
        if not isinstance(child.tag, str) or child.tag.lower() not in OPTION_TAGS:
            continue
        attrs = dict(child.attrib)
        value = attrs.pop("value", None) or attrs.pop("alias", None)
        if value is None:
            continue
        result.append(LabelDef(value=value, attrs=attrs, children=_options(child)))
    return result


def _walk(element: ET.Element, objects: list[ObjectTag], controls: list[ControlTag]) -> None:
    for child in element:
        if not isinstance(child.tag, str):
            continue
        attrs = dict(child.attrib)
        tag = child.tag
        if tag.lower() in OPTION_TAGS:
            continue
        if "toName" in attrs or tag.lower() == "relations":
            name = attrs.pop("name", "")
            to_names = [t.strip() for t in attrs.pop("toName", "").split(",") if t.strip()]
            controls.append(ControlTag(tag, name, to_names, _options(child), attrs))
            continue
        if "name" in attrs and "value" in attrs:
            name, value = attrs.pop("name"), attrs.pop("value")
            children = [_raw_element(c) for c in child if isinstance(c.tag, str)]
            objects.append(ObjectTag(tag, name, value, attrs, children))
            continue
        _walk(child, objects, controls)


def _raw_element(element: ET.Element) -> tuple[str, dict[str, str], list]:
    return (
        element.tag,
        dict(element.attrib),
        [_raw_element(c) for c in element if isinstance(c.tag, str)],
    )


MAX_DEPTH = 64
"""Deepest tag nesting a label config may have (Label Studio's own are under 10 deep)."""


def _check_depth(xml: str) -> None:
    """A `FormatError` naming the line where tags nest deeper than `MAX_DEPTH` (the
    parsing and the ontology below walk the tree recursively). Runs on XML defusedxml
    has accepted."""
    parser = expat.ParserCreate()
    depth = 0

    def start(name, attrs):
        nonlocal depth
        depth += 1
        if depth > MAX_DEPTH:
            raise FormatError(
                f"the label config nests tags more than {MAX_DEPTH} deep (<{name}>)",
                where=f"label config, line {parser.CurrentLineNumber}",
                hint="a Label Studio config is a shallow <View> of object and control tags",
            )

    def end(name):
        nonlocal depth
        depth -= 1

    parser.StartElementHandler, parser.EndElementHandler = start, end
    parser.Parse(xml, True)


def parse_label_config(xml: str) -> LabelConfig:
    """Parse a label config; `FormatError` if it is not well-formed XML or has no `<View>`."""
    try:
        root = SafeET.fromstring(xml)
    except (ET.ParseError, DefusedXmlException) as error:
        raise FormatError(
            f"the label config is not valid XML ({error})",
            where="label config",
            hint="it must be Label Studio's <View>...</View> XML",
        ) from None
    _check_depth(xml)
    if root.tag.lower() != "view":
        raise FormatError(
            f"the label config's root is <{root.tag}>, not <View>",
            where="label config",
            hint="-O label_config names the project's Label Studio config (Settings > Labeling Interface > Code)",
        )
    objects: list[ObjectTag] = []
    controls: list[ControlTag] = []
    _walk(root, objects, controls)
    names = [c.name for c in controls if c.name]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise FormatError(f"control names used twice: {duplicates}", where="label config")
    return LabelConfig(objects, controls, xml)


# ------------------------------------------------------------------ config -> ontology


def _option_spec(label: LabelDef) -> OptionSpec:
    children = []
    if label.children:
        children = [
            ClassificationSpec(
                name=label.value,
                input="taxonomy",
                options=[_option_spec(c) for c in label.children],
            )
        ]
    extra = {"labelstudio": dict(label.attrs)} if label.attrs else {}
    return OptionSpec(
        value=label.value, color=label.attrs.get("background"), children=children, extra=extra
    )


def question_spec(control: ControlTag) -> ClassificationSpec:
    """A Choices/TextArea/Number/Rating/Taxonomy/DateTime control as a question."""
    attrs = control.attrs
    if control.kind == "choices":
        kind = CHOICE_INPUT.get(attrs.get("choice", "single"), "select")
    else:
        kind = QUESTION_INPUT[control.kind]
    bounds = {}
    for key, attr in (("min", "min"), ("max", "max"), ("step", "step")):
        if attr in attrs:
            bounds[key] = _number(attrs[attr])
    if control.kind == "rating":
        bounds = {"min": 1.0, "max": _number(attrs.get("maxRating", "5")), "step": 1.0}
    return ClassificationSpec(
        name=control.name,
        input=kind,
        options=[_option_spec(label) for label in control.labels],
        required=attrs.get("required", "").lower() == "true",
        tool_ids={"labelstudio": _control_ids(control)},
        **{k: v for k, v in bounds.items() if v is not None},
    )


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _control_ids(control: ControlTag) -> dict[str, Any]:
    return {
        "from_name": control.name,
        "tag": control.tag,
        "to_name": list(control.to_names),
        "attrs": dict(control.attrs),
    }


def _bare_tool_kinds(config: LabelConfig, control: ControlTag) -> list[str]:
    """The region kinds a `<Labels>` control names on an image: those of the bare tools
    (`<Rectangle>`, `<Polygon>`, ...) bound to the same image, which it labels."""
    if control.kind != "labels" or not control.to_names:
        return []
    target = control.to_names[0]
    return list(
        dict.fromkeys(
            LABEL_KIND[c.kind]
            for c in config.controls
            if c.kind in BARE_TOOLS and target in c.to_names
        )
    )


def _add_label(classes: dict[str, LabelClass], control: ControlTag, label: LabelDef, kind: str):
    cls = classes.get(label.value)
    if cls is None:
        cls = classes[label.value] = LabelClass(
            name=label.value,
            color=label.attrs.get("background"),
            tool_ids={"labelstudio": {"controls": []}},
        )
    if kind not in cls.kinds:
        cls.kinds.append(kind)
    ids = cls.tool_ids.setdefault("labelstudio", {"controls": []})
    ids["controls"].append(control.name)
    if label.attrs:
        ids.setdefault("label_attrs", {})[control.name] = dict(label.attrs)


def _attach_per_region(config: LabelConfig, control: ControlTag, classes, placed) -> bool:
    spec = question_spec(control)
    wanted = {v.strip() for v in control.attrs.get("whenLabelValue", "").split(",") if v.strip()}
    attached = False
    for other in config.controls:
        if not (set(other.to_names) & set(control.to_names)) or other.name not in placed:
            continue
        for label in other.labels:
            cls = classes[label.value]
            if (wanted and label.value not in wanted) or any(
                a.name == spec.name for a in cls.attributes
            ):
                continue
            cls.attributes.append(spec)
            attached = True
    return attached


def config_to_ontology(config: LabelConfig) -> Ontology:
    """The unified ontology of a label config (see the module docstring)."""
    classes: dict[str, LabelClass] = {}
    questions: list[ClassificationSpec] = []
    relations: list[RelationType] = []
    controls_meta: dict[str, dict[str, Any]] = {}
    placed: set[str] = set()
    for control in config.controls:
        controls_meta[control.name] = _control_meta(control)
        kind = config.region_kind(control)
        if kind is not None:
            placed.add(control.name)
            tools = _bare_tool_kinds(config, control)
            for label in control.labels:
                _add_label(classes, control, label, tools[0] if tools else kind)
                classes[label.value].kinds.extend(
                    k for k in tools[1:] if k not in classes[label.value].kinds
                )
    for control in config.controls:
        if control.kind == "relations":
            relations.extend(
                RelationType(name=r.value, tool_ids={"labelstudio": {"control": control.name}})
                for r in control.labels
            )
        elif (control.kind == "choices" or control.kind in QUESTION_INPUT) and not (
            control.per_region and _attach_per_region(config, control, classes, placed)
        ):
            questions.append(question_spec(control))
    extra = {
        "objects": [
            {
                "tag": o.tag,
                "name": o.name,
                "value": o.value,
                "attrs": o.attrs,
                **({"children": o.children} if o.children else {}),
            }
            for o in config.objects
        ],
        "controls": controls_meta,
    }
    return Ontology(
        labels=list(classes.values()),
        classifications=questions,
        relations=relations,
        extra={"labelstudio": extra},
    )


def _control_meta(control: ControlTag) -> dict[str, Any]:
    meta = {"tag": control.tag, "to_name": list(control.to_names), "attrs": dict(control.attrs)}
    if control.kind in LABEL_KIND or control.kind == "labels":
        meta["labels"] = control.label_values
    elif control.kind not in QUESTION_INPUT and control.kind not in ("choices", "relations"):
        meta["raw_children"] = [_raw(label) for label in control.labels]
    return meta


def _raw(label: LabelDef) -> tuple[str, dict[str, str], list]:
    return "Label", {"value": label.value, **label.attrs}, [_raw(c) for c in label.children]


# ------------------------------------------------------------------ ontology -> config

KIND_CONTROLS = {
    "bbox": ("RectangleLabels", "bbox"),
    "polygon": ("PolygonLabels", "polygon"),
    "points": ("KeyPointLabels", "keypoints"),
    "skeleton": ("KeyPointLabels", "keypoints"),
    "ellipse": ("EllipseLabels", "ellipse"),
    "mask": ("BrushLabels", "brush"),
    "tag": ("Choices", "tags"),
}
SPAN_CONTROLS = {"html": "HyperTextLabels", "conversation": "ParagraphLabels"}
INPUT_TAGS = {
    "select": "Choices",
    "radio": "Choices",
    "checkbox": "Choices",
    "checklist": "Choices",
    "text": "TextArea",
    "number": "Number",
    "rating": "Rating",
    "taxonomy": "Taxonomy",
    "datetime": "DateTime",
}
INPUT_CHOICE = {
    "select": "single",
    "radio": "single-radio",
    "checklist": "multiple",
    "checkbox": "multiple",
}
SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


def any_kinds(media_kind: str | None) -> list[str]:
    """The region kinds of a label class that names none (a CVAT label of type "any"):
    every kind Label Studio can draw on `media_kind`."""
    return DRAWABLE.get(media_kind or "image", ["bbox"])


def default_control(kind: str, media_kind: str | None) -> tuple[str, str] | None:
    """(tag, name) of the control a label of region `kind` gets in a generated config."""
    if kind == "span":
        return SPAN_CONTROLS.get(media_kind or "", "Labels"), "label"
    if kind == "time_segment":
        return ("TimeSeriesLabels", "label") if media_kind == "timeseries" else ("Labels", "label")
    if kind == "bbox" and media_kind == "video":
        return "Labels", "videoLabels"
    return KIND_CONTROLS.get(kind)


def _default_objects(media_kind: str | None) -> list[dict[str, Any]]:
    tag, name, value = DEFAULT_OBJECTS.get(media_kind or "image", DEFAULT_OBJECTS["image"])
    return [{"tag": tag, "name": name, "value": value, "attrs": {}}]


class _ConfigBuilder:
    """Collects controls (in order) for `ontology_to_config`."""

    def __init__(self, ontology: Ontology, media_kind: str | None) -> None:
        ls = ontology.extra.get("labelstudio") or {}
        self.objects = ls.get("objects") or _default_objects(media_kind)
        self.media_kind = media_kind or _media_of(self.objects)
        self.first_object = self.objects[0]["name"]
        self.controls: dict[str, dict[str, Any]] = {}
        for name, meta in (ls.get("controls") or {}).items():
            self.controls[name] = {**meta, "children": [], "used": False}

    def control(self, name: str, tag: str, to_name: list[str] | None = None) -> dict[str, Any]:
        if name not in self.controls:
            self.controls[name] = {
                "tag": tag,
                "to_name": [self.first_object] if to_name is None else to_name,
                "attrs": {},
                "children": [],
                "used": False,
            }
        entry = self.controls[name]
        entry["used"] = True
        return entry

    def add_label(self, cls: LabelClass) -> None:
        ids = cls.tool_ids.get("labelstudio") or {}
        names = [n for n in ids.get("controls", []) if n in self.controls]
        if not names:
            names = []
            drawable = any_kinds(self.media_kind)
            kinds = [k for k in cls.kinds or drawable if k in drawable or k == "tag"]
            for kind in kinds:
                tag_name = default_control(kind, self.media_kind)
                if tag_name is not None and tag_name[1] not in names:
                    entry = self.control(tag_name[1], tag_name[0])
                    if kind == "tag":  # an image may have several tags
                        entry["attrs"].setdefault("choice", "multiple")
                    names.append(tag_name[1])
            if self.media_kind == "video" and "bbox" in kinds:
                self.control("box", "VideoRectangle")
        for name in names:
            attrs = {"value": cls.name}
            attrs.update((ids.get("label_attrs") or {}).get(name, {}))
            if cls.color and "background" not in attrs:
                attrs["background"] = cls.color
            tag = "Choice" if self.controls[name]["tag"].lower() == "choices" else "Label"
            entry = self.control(name, self.controls[name]["tag"])
            entry["children"].append((tag, attrs, []))

    def add_question(self, spec: ClassificationSpec, per_region: bool) -> None:
        ids = spec.tool_ids.get("labelstudio") or {}
        name = ids.get("from_name") or SAFE_NAME.sub("_", spec.name)
        if name in self.controls and self.controls[name]["used"]:
            return  # a per-region question shared by several label classes
        tag = ids.get("tag") or INPUT_TAGS[spec.input]
        entry = self.control(name, tag, ids.get("to_name"))
        attrs = ids["attrs"] if "attrs" in ids else _question_attrs(spec, per_region)
        entry["attrs"] = dict(attrs)
        entry["children"] = [_option_xml(option) for option in spec.options]

    def add_relations(self, relations: list[RelationType]) -> None:
        for relation in relations:
            name = (relation.tool_ids.get("labelstudio") or {}).get("control", "")
            entry = self.control(name, "Relations", [])
            entry["children"].append(("Relation", {"value": relation.name}, []))


def _media_of(objects: list[dict[str, Any]]) -> str | None:
    return next((OBJECT_MEDIA.get(o["tag"].lower()) for o in objects), None)


def _question_attrs(spec: ClassificationSpec, per_region: bool) -> dict[str, str]:
    attrs: dict[str, str] = {}
    if spec.input in INPUT_CHOICE:
        attrs["choice"] = INPUT_CHOICE[spec.input]
    if spec.input == "number":
        for key in ("min", "max", "step"):
            value = getattr(spec, key)
            if value is not None:
                attrs[key] = f"{value:g}"
    if spec.input == "rating" and spec.max is not None:
        attrs["maxRating"] = f"{spec.max:g}"
    if spec.required:
        attrs["required"] = "true"
    if per_region:
        attrs["perRegion"] = "true"
    return attrs


def _option_xml(option: OptionSpec) -> tuple[str, dict[str, str], list]:
    attrs = {"value": option.value, **(option.extra.get("labelstudio") or {})}
    if option.color and "background" not in attrs:
        attrs["background"] = option.color
    children = [_option_xml(o) for spec in option.children for o in spec.options]
    return "Choice", attrs, children


def _emitted(entry: dict[str, Any]) -> bool:
    """Used controls, unlabeled drawing tools (Rectangle, VideoRectangle, ...) and controls
    this module does not interpret (kept verbatim) go into the config."""
    kind = entry["tag"].lower()
    if entry["used"] or "raw_children" in entry:
        return True
    return kind in LABEL_KIND and not entry.get("labels")


def _ordered_children(entry: dict[str, Any]) -> list:
    if "raw_children" in entry:
        return entry["raw_children"]
    order = {value: i for i, value in enumerate(entry.get("labels") or [])}
    children = entry["children"]
    return sorted(children, key=lambda c: order.get(c[1].get("value"), len(order)))


def _element(parent: ET.Element, tag: str, attrs: dict[str, str], children: list) -> None:
    element = ET.SubElement(parent, tag, {k: str(v) for k, v in attrs.items()})
    for child in children:
        _element(element, *child)


def ontology_to_config(ontology: Ontology, media_kind: str | None = None) -> str:
    """A Label Studio label config for `ontology` (objects for `media_kind` unless the
    ontology came from Label Studio and remembers its own). Region kinds Label Studio has no
    control for (polyline, cuboid, cuboid3d) get none."""
    builder = _ConfigBuilder(ontology, media_kind)
    for cls in ontology.labels:
        builder.add_label(cls)
    for spec in ontology.classifications:
        builder.add_question(spec, per_region=False)
    for cls in ontology.labels:
        for spec in cls.attributes:
            builder.add_question(spec, per_region=True)
    builder.add_relations(ontology.relations)
    root = ET.Element("View")
    for obj in builder.objects:
        attrs = {"name": obj["name"], "value": obj["value"], **obj["attrs"]}
        _element(root, obj["tag"], attrs, obj.get("children") or [])
    for name, entry in builder.controls.items():
        if not _emitted(entry):
            continue
        attrs = {"name": name} if name else {}
        if entry["tag"].lower() != "relations" or entry["to_name"]:
            attrs["toName"] = ",".join(entry["to_name"])
        attrs.update(entry["attrs"])
        _element(root, entry["tag"], attrs, _ordered_children(entry))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode")
