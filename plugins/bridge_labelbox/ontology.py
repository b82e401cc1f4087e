"""Labelbox ontologies ("normalized" JSON) <-> the unified `Ontology`.

A Labelbox ontology is `{"tools": [...], "classifications": [...]}`:

* a *tool* is something annotators draw: `{"tool": "rectangle" | "polygon" | "line" |
  "point" | "raster-segmentation" | "superpixel" | "named-entity" | "edge" | ...,
  "name", "color", "required", "classifications": [...], "featureSchemaId",
  "schemaNodeId"}`; an `edge` tool is a relationship;
* a *classification* is a question: `{"type": "radio" | "checklist" | "text" | "dropdown" (older; written back as radio),
  "name" (older files: "instructions"), "required", "scope", "options": [{"label", "value",
  "options": [nested classifications], "featureSchemaId", "schemaNodeId"}], ...}`.

Unified: tools are `LabelClass`es (their region kinds below), edges `RelationType`s,
questions `ClassificationSpec`s with `OptionSpec` children. Labelbox identifiers and any
other Labelbox keys ride in `tool_ids["labelbox"]` and come back on the way out.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from bridge.errors import FormatError, describe_validation_error
from bridge.schema import (
    ClassificationSpec,
    LabelClass,
    Ontology,
    OptionSpec,
    RegionKind,
    RelationType,
)

from .checks import MAX_NESTING, a_list, an_object, identifier, optional_text, required, show

TOOL = "labelbox"
TOOL_KINDS: dict[str, list[RegionKind]] = {
    "rectangle": ["bbox"],
    "polygon": ["polygon"],
    "line": ["polyline"],
    "point": ["points"],
    "raster-segmentation": ["mask"],
    "superpixel": ["mask"],
    "named-entity": ["span"],
}
KIND_TOOLS: dict[str, str] = {
    "bbox": "rectangle",
    "polygon": "polygon",
    "polyline": "line",
    "points": "point",
    "mask": "raster-segmentation",
    "span": "named-entity",
}
QUESTION_INPUTS = {"radio": "radio", "checklist": "checklist", "text": "text", "dropdown": "select"}
INPUT_QUESTIONS = {
    "radio": "radio",
    "checklist": "checklist",
    "text": "text",
    "select": "radio",
    "checkbox": "checklist",
    "number": "text",
    "rating": "radio",
    "taxonomy": "checklist",
    "datetime": "text",
}
RELATIONSHIP_TOOL = "edge"


ONTOLOGY_HINT = 'expected {"tools": [{"tool", "name", ...}], "classifications": [...]}'


def _ids(raw: dict, consumed: set[str]) -> dict[str, dict[str, Any]]:
    rest = {key: value for key, value in raw.items() if key not in consumed}
    return {TOOL: rest} if rest else {}


def _option(raw: Any, depth: int) -> OptionSpec:
    an_object(raw, "an option")
    value = (
        raw.get("label") if raw.get("label") is not None else required(raw, "value", "an option")
    )
    return OptionSpec(
        value=identifier(value, "an option's label"),
        children=[
            _question(child, depth + 1) for child in a_list(raw.get("options") or [], "options")
        ],
        tool_ids=_ids(raw, {"label", "options"}),
    )


def _question(raw: Any, depth: int = 0) -> ClassificationSpec:
    an_object(raw, "a classification")
    if depth > MAX_NESTING:
        raise FormatError(
            f"the ontology's classifications nest more than {MAX_NESTING} levels deep"
        )
    kind = raw.get("type", "radio")
    name = raw.get("name") or raw.get("instructions")
    if not name:
        raise FormatError("an ontology classification has no name (nor instructions)")
    return ClassificationSpec(
        name=identifier(name, "a classification's name"),
        input=QUESTION_INPUTS.get(kind, "text") if type(kind) is str else "text",  # type: ignore[arg-type]
        required=bool(raw.get("required", False)),
        options=[_option(option, depth) for option in a_list(raw.get("options") or [], "options")],
        tool_ids=_ids(raw, {"name", "required", "options"}),
    )


def _tool(raw: dict) -> LabelClass:
    color = raw.get("color")
    return LabelClass(
        name=identifier(required(raw, "name", "a tool"), "a tool's name"),
        kinds=list(TOOL_KINDS.get(raw["tool"], [])),
        color=optional_text(color, "a tool's color"),
        attributes=[
            _question(q) for q in a_list(raw.get("classifications") or [], "classifications")
        ],
        tool_ids=_ids(raw, {"name", "color", "classifications"}),
    )


def _tool_kind(raw: Any) -> str:
    an_object(raw, "a tool")
    kind = required(raw, "tool", "a tool")
    if type(kind) is not str:
        raise FormatError(f"a tool's kind must be a string, not {show(kind)}")
    return kind


def ontology_from_normalized(normalized: Any) -> Ontology:
    """A Labelbox normalized ontology as a unified `Ontology` (a malformed one raises
    `FormatError`, checked where it is read)."""
    try:
        an_object(normalized, "the ontology")
        tools = a_list(normalized.get("tools") or [], "tools")
        kinds = [_tool_kind(tool) for tool in tools]
        labels = [
            _tool(tool)
            for tool, kind in zip(tools, kinds, strict=True)
            if kind != RELATIONSHIP_TOOL
        ]
        relations = [
            RelationType(
                name=identifier(required(tool, "name", "an edge tool"), "a tool's name"),
                tool_ids=_ids(tool, {"name"}),
            )
            for tool, kind in zip(tools, kinds, strict=True)
            if kind == RELATIONSHIP_TOOL
        ]
        questions = [
            _question(raw)
            for raw in a_list(normalized.get("classifications") or [], "classifications")
        ]
        return Ontology(labels=labels, classifications=questions, relations=relations)
    except FormatError as error:
        error.message = f"malformed Labelbox ontology: {error.message}"
        error.hint = error.hint or ONTOLOGY_HINT
        raise
    except ValidationError as error:  # the schema's own checks on what was read
        raise FormatError(
            f"malformed Labelbox ontology: {describe_validation_error(error)}", hint=ONTOLOGY_HINT
        ) from None


# ------------------------------------------------------------------------------ writing


def _option_out(option: OptionSpec) -> dict[str, Any]:
    ids = option.tool_ids.get(TOOL, {})
    out = {"label": option.value, "value": ids.get("value", option.value), **ids}
    out["options"] = [_question_out(child) for child in option.children]
    return out


def _question_out(spec: ClassificationSpec) -> dict[str, Any]:
    ids = spec.tool_ids.get(TOOL, {})
    out: dict[str, Any] = {
        "type": INPUT_QUESTIONS.get(spec.input, "text"),
        "instructions": spec.name,
        **ids,
        "name": spec.name,
        "required": spec.required,
    }
    out["options"] = [_option_out(option) for option in spec.options]
    return out


PALETTE = ["#ff0000", "#00b050", "#0070c0", "#ffc000", "#7030a0", "#00b0f0", "#ff66cc", "#808000"]
"""Colours for classes that have none (Labelbox requires one per tool)."""


def _tool_out(label: LabelClass, index: int) -> dict[str, Any]:
    ids = label.tool_ids.get(TOOL, {})
    kind = next((KIND_TOOLS[k] for k in label.kinds if k in KIND_TOOLS), "rectangle")
    out: dict[str, Any] = {"tool": kind, "required": False, **ids, "name": label.name}
    out["color"] = label.color or PALETTE[index % len(PALETTE)]
    out["classifications"] = [_question_out(spec) for spec in label.attributes]
    return out


def ontology_to_normalized(ontology: Ontology) -> dict:
    """A unified `Ontology` as Labelbox normalized JSON (for `createOntology`)."""
    tools = [_tool_out(label, index) for index, label in enumerate(ontology.labels)]
    tools += [
        {**relation.tool_ids[TOOL], "name": relation.name}
        if TOOL in relation.tool_ids
        else {
            "tool": RELATIONSHIP_TOOL,
            "name": relation.name,
            "required": False,
            "color": PALETTE[index % len(PALETTE)],
            "classifications": [],
        }
        for index, relation in enumerate(ontology.relations)
    ]
    return {"tools": tools, "classifications": [_question_out(q) for q in ontology.classifications]}
