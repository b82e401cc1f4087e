"""Label Studio's tags, described once: what each control tag draws or asks, and what each
object tag shows. The ontology (label configs), the reader and the writer take their
views of these tables from here.

A result's `type` is its control tag in lower case ("rectanglelabels"), except relations
(`type: "relation"`, tag `<Relations>`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Control:
    """A control tag. `region`: the unified region kind it draws (None for questions and
    relations; `<Labels>` draws spans, time segments or labels video boxes, depending on
    its object: see `ontology.labels_kind`). `media`: the media kind a result of this type
    implies. `answer_key`: for questions, the key of the answer in a result's `value`;
    `input`: the unified `ClassificationInput` of a question (Choices: from its `choice`
    attribute, see `CHOICE_INPUT`)."""

    tag: str
    region: str | None = None
    media: str | None = None
    answer_key: str | None = None
    input: str | None = None


CONTROL_TABLE = (
    Control("RectangleLabels", "bbox", "image"),
    Control("Rectangle", "bbox", "image"),
    Control("PolygonLabels", "polygon", "image"),
    Control("Polygon", "polygon", "image"),
    Control("KeyPointLabels", "points", "image"),
    Control("KeyPoint", "points", "image"),
    Control("EllipseLabels", "ellipse", "image"),
    Control("Ellipse", "ellipse", "image"),
    Control("BrushLabels", "mask", "image"),
    Control("Brush", "mask", "image"),
    Control("HyperTextLabels", "span", "html"),
    Control("ParagraphLabels", "span", "conversation"),
    Control("TimeSeriesLabels", "time_segment", "timeseries"),
    Control("VideoRectangle", "bbox", "video"),
    Control("Labels"),
    Control("Choices", answer_key="choices"),
    Control("TextArea", answer_key="text", input="text"),
    Control("Number", answer_key="number", input="number"),
    Control("Rating", answer_key="rating", input="rating"),
    Control("Taxonomy", answer_key="taxonomy", input="taxonomy"),
    Control("DateTime", answer_key="datetime", input="datetime"),
    Control("Relations"),
)
CONTROLS = {control.tag.lower(): control for control in CONTROL_TABLE}
"""Control tag (lower case: a result's `type`) -> its description."""

CHOICE_INPUT = {"single": "select", "single-radio": "radio", "multiple": "checklist"}
"""A Choices control's `choice` attribute -> the unified input."""

UNSUPPORTED_TYPES = frozenset(
    {
        "vectorlabels",
        "vector",
        "bitmasklabels",
        "bitmask",
        "magicwand",
        "ocrlabels",
        "ranker",
        "pairwise",
        "timelinelabels",
        "videovectorlabels",
        "videovector",
        "chatmessage",
        "reactcode",
        "list",
        "polylinelabels",
        "polyline",
        "custom_interface",
    }
)
"""Result types Label Studio writes that have no unified form yet (kept verbatim)."""

# ------------------------------------------------------------- views of the table

LABEL_KIND = {name: c.region for name, c in CONTROLS.items() if c.region is not None}
"""Labeling control tag -> the region kind it draws (`labels` depends on its object)."""
GEOMETRY_TYPES = frozenset({*LABEL_KIND, "labels"})
"""Result types that draw a region (or a track)."""
BARE_TOOLS = frozenset(
    name for name, c in CONTROLS.items() if c.media == "image" and not name.endswith("labels")
)
"""Image tools that draw without naming a label: a `labels` result with the same id names it."""
LABEL_TAGS = frozenset({"labels", *(f"{name}labels" for name in BARE_TOOLS)})
"""Result types that may name the label of a bare image tool's region with the same id."""
QUESTION_KEY = {name: c.answer_key for name, c in CONTROLS.items() if c.answer_key is not None}
"""Question result type -> the key of its answer in `value`."""
QUESTION_TYPES = frozenset(QUESTION_KEY)
QUESTION_INPUT = {name: c.input for name, c in CONTROLS.items() if c.input is not None}
"""Question control (but Choices) -> the unified input."""
RESULT_MEDIA = {name: c.media for name, c in CONTROLS.items() if c.media is not None}
"""Result type -> the media kind it implies."""
TYPE_TAGS = {name: c.tag for name, c in CONTROLS.items() if name != "relations"}
TYPE_TAGS["relation"] = "Relations"
"""Result type -> the control tag as written in a config."""

# ------------------------------------------------------------------ object tags


@dataclass(frozen=True)
class ObjectKind:
    """An object tag: the media kind it shows and, for generated configs, its default name
    and the task data key it shows."""

    tag: str
    media: str
    name: str | None = None
    data_key: str | None = None


OBJECT_TABLE = (
    ObjectKind("Image", "image", "image", "image"),
    ObjectKind("Text", "text", "text", "text"),
    ObjectKind("HyperText", "html", "html", "html"),
    ObjectKind("Audio", "audio", "audio", "audio"),
    ObjectKind("AudioPlus", "audio"),
    ObjectKind("Video", "video", "video", "video"),
    ObjectKind("Paragraphs", "conversation", "dialogue", "dialogue"),
    ObjectKind("TimeSeries", "timeseries", "ts", "timeseries"),
    ObjectKind("PDF", "document"),
)
OBJECT_MEDIA = {o.tag.lower(): o.media for o in OBJECT_TABLE}
"""Object tag (lower case) -> unified media kind."""
DEFAULT_OBJECTS = {o.media: (o.tag, o.name, f"${o.data_key}") for o in OBJECT_TABLE if o.name}
"""Media kind -> (tag, name, value) of the object tag a generated config shows it with."""
MEDIA_TAGS = {media: tag for media, (tag, _, _) in DEFAULT_OBJECTS.items()}
"""Media kind -> object tag."""

DRAWABLE = {
    "image": ["bbox", "polygon", "points", "ellipse", "mask"],
    "video": ["bbox"],
    "text": ["span"],
    "html": ["span"],
    "conversation": ["span"],
    "audio": ["time_segment"],
    "timeseries": ["time_segment"],
}
"""Media kind -> the region kinds Label Studio's editor draws on it (tags, written as
Choices answers, go on any; a video's `<Labels>` can also mark time segments)."""
