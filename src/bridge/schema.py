"""The unified model: the glossary of label-bridge.

Every connector reads its tool's data into these models and writes them back out; QA and
export read nothing else. The models are plain data (pydantic v2); behaviour lives in
functions beside them (`bridge.geometry`, `bridge.losses`, the plugins).

Conventions that hold everywhere:

* **Coordinates are absolute pixels** of the original media, origin at the top-left corner,
  x to the right, y down, with the media size on the `Item`. Rotations are in degrees,
  clockwise on screen, about the shape's *centre*. When the media size is unknown (a Label
  Studio task imported without `original_width/height`) a shape keeps `units="percent"`
  (0-100 of width/height) and says so; nothing is scaled by a guessed size.
* **Percent units** (`units="percent"`): every x value is percent of the media's width,
  every y value percent of its height; with the size known, a shape becomes pixels by
  scaling x by width/100 and y by height/100 (`bridge.units`). Scaling x and y by different
  factors does not keep a rotated rectangle's centre where a rotation about the centre put
  it, so a *rotated box* in percent turns about its **top-left corner** instead: that
  corner, `bridge.geometry.coords.bbox_to_top_left_rotation` of the box computed in percent,
  is scaled to pixels with the width and height, and the pixel box turns about it (the
  unified pixel box is then rotated about its centre as always). Ellipses turn about their
  centre in both units. A tool that stores percent boxes turned about their top-left
  corner (Label Studio) maps to this without knowing the media size.
* **Text offsets** are character offsets into the item's text, `start` inclusive and `end`
  exclusive (Python slicing).
* **Frames** are 0-based indices into the media's frames as the source tool numbers them
  (CVAT's video export numbers frames in the original video: with `start_frame=10` and
  `step=3` the annotated frames are 10, 13, 16, ...).
* **Source ids**: every element carries a `SourceRef` (tool, instance, project, item,
  annotation, region ids as strings) and an `extra` dict for vendor fields with no unified
  home, so a same-tool round trip is lossless.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

SCHEMA_VERSION = 1

MediaKind = Literal[
    "image",
    "video",
    "text",
    "audio",
    "pointcloud",
    "document",
    "html",
    "timeseries",
    "conversation",
]
"""What an item's media is. `html` is rich text (Label Studio HyperText); `conversation` a
list of messages (Labelbox conversational text, Label Studio Paragraphs/dialogue)."""

RegionKind = Literal[
    "bbox",
    "polygon",
    "polyline",
    "points",
    "skeleton",
    "ellipse",
    "mask",
    "cuboid",
    "cuboid3d",
    "span",
    "time_segment",
    "tag",
]
"""The kinds of `Shape` a region (or a track keyframe) can have."""

AnnotationKind = Literal["human", "prediction", "consensus", "gold"]
"""Who made an annotation set: a person, a model (pre-annotation), a merge of several sets,
or reference answers used to score others."""

AnnotationStatus = Literal["draft", "submitted", "skipped", "in_review", "accepted", "rejected"]
"""Where an annotation set is in its workflow. `skipped` is Label Studio's `was_cancelled`;
`draft` an unsubmitted draft; `in_review`/`accepted`/`rejected` reflect review outcomes (a
CVAT job's stage/state, a Labelbox workflow status)."""

Units = Literal["px", "percent"]
Point = tuple[float, float]
"""(x, y) in the shape's units."""
Length = Annotated[float, Field(ge=0)]
"""A size, a radius or a scale: never negative."""
AttributeValue = str | int | float | bool


class Model(BaseModel):
    """Base for every unified model: unknown keys are refused and numbers must be finite
    (NaN and infinity have no JSON form). Writers leave default-valued fields out."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class SourceRef(Model):
    """Where an element came from: the tool and the ids it has there.

    `instance` names the server (base URL) or the file it was read from; `project`, `item`,
    `annotation` and `region` are the tool's own ids (Label Studio project/task/annotation/
    result id; CVAT project/task or job/frame/shape id; Labelbox project/data row/label/
    feature id), kept as strings.
    """

    tool: str
    instance: str | None = None
    project: str | None = None
    item: str | None = None
    annotation: str | None = None
    region: str | None = None


class Element(Model):
    """Something that can come from a vendor tool: it remembers its `source` and keeps the
    vendor fields that have no unified home in `extra` (JSON-compatible values)."""

    source: SourceRef | None = None
    extra: dict[str, Any] = Field(default_factory=dict)


# ---------------------------------------------------------------------------- ontology


ClassificationInput = Literal[
    "select",
    "radio",
    "checkbox",
    "checklist",
    "number",
    "text",
    "rating",
    "taxonomy",
    "datetime",
]


class OptionSpec(Element):
    """One allowed answer of a question, with the sub-questions asked when it is chosen
    (Labelbox nested classifications; Label Studio Taxonomy children)."""

    value: str
    color: str | None = None
    children: list[ClassificationSpec] = Field(default_factory=list)
    tool_ids: dict[str, dict[str, Any]] = Field(default_factory=dict)


class ClassificationSpec(Element):
    """A question asked about an item, a frame range or a region.

    It covers CVAT *attributes* (select/radio/checkbox/number/text; `mutable` ones may change
    from frame to frame along a track), Label Studio controls that are not labels (Choices,
    TextArea, Number, Rating, Taxonomy, DateTime; `perRegion` ones belong to a label class)
    and Labelbox *classifications* (radio/checklist/text, nested under options).

    `tool_ids` holds each tool's identifiers, e.g. `{"cvat": {"spec_id": 9}}`,
    `{"labelbox": {"featureSchemaId": "...", "schemaNodeId": "..."}}`,
    `{"labelstudio": {"from_name": "quality", "to_name": "image"}}`.
    """

    name: str
    input: ClassificationInput
    options: list[OptionSpec] = Field(default_factory=list)
    default: str | None = None
    mutable: bool = False
    required: bool = False
    min: float | None = None
    max: float | None = None
    step: float | None = None
    tool_ids: dict[str, dict[str, Any]] = Field(default_factory=dict)


class LabelClass(Element):
    """A class of things annotators draw or mark ("car", "PER"), with the region kinds it
    may be drawn as and the attributes asked about each region of it.

    `parent` names the enclosing class: a skeleton point's skeleton, or a hierarchy parent.
    `edges` lists the skeleton's connections as pairs of point-class names.
    """

    name: str
    kinds: list[RegionKind] = Field(default_factory=list)
    color: str | None = None
    parent: str | None = None
    edges: list[tuple[str, str]] = Field(default_factory=list)
    attributes: list[ClassificationSpec] = Field(default_factory=list)
    tool_ids: dict[str, dict[str, Any]] = Field(default_factory=dict)


class RelationType(Element):
    """A kind of link between two regions ("works_for", "part_of"); `directed` is False for
    symmetric relations."""

    name: str
    directed: bool = True
    tool_ids: dict[str, dict[str, Any]] = Field(default_factory=dict)


class Ontology(Element):
    """Everything a project lets annotators say: label classes, item-level questions and
    relation types."""

    labels: list[LabelClass] = Field(default_factory=list)
    classifications: list[ClassificationSpec] = Field(default_factory=list)
    relations: list[RelationType] = Field(default_factory=list)


class Project(Element):
    """A labeling project: a name, its ontology and the media kind it labels."""

    name: str
    description: str | None = None
    media_kind: MediaKind | None = None
    ontology: Ontology = Field(default_factory=Ontology)


# ------------------------------------------------------------------------------ shapes


class Shape(Model):
    """Base of all geometries. `type` names the kind of shape (the key that tells shapes
    apart in JSON); `units` is "px" (absolute pixels) unless the media size was unknown
    when the shape was read, in which case it is "percent" of width/height."""

    units: Units = Field(
        "px",
        description='"px": absolute pixels; "percent": 0-100 of the media width (x) and '
        "height (y), used when the media size was unknown (see the module's conventions)",
    )

    def __init__(self, /, **data: Any) -> None:
        # `type` has no default, so writers that leave defaults out still write it; in
        # Python it may be omitted: BBox(x=..) is a bbox.
        data.setdefault("type", get_args(type(self).model_fields["type"].annotation)[0])
        super().__init__(**data)

    # Tell pydantic this __init__ only serves Python callers: validation from JSON or
    # dicts (which always carry `type`) then skips it, as for a plain model (~20% faster
    # reading). tests/unit/test_jsonl_format.py checks both halves of this.
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]


class BBox(Shape):
    """An axis-aligned box (x, y = top-left corner, width, height) turned `rotation` degrees
    clockwise about its centre."""

    type: Literal["bbox"]
    x: float = Field(description="left edge of the unrotated box")
    y: float = Field(description="top edge of the unrotated box")
    width: Length
    height: Length
    rotation: float = Field(0.0, description="degrees, clockwise on screen, about the centre")


class Polygon(Shape):
    """A closed outline; the last point connects back to the first (not repeated)."""

    type: Literal["polygon"]
    points: list[Point] = Field(min_length=3, description="the outline, at least 3 points")


class Polyline(Shape):
    """An open line through its points."""

    type: Literal["polyline"]
    points: list[Point] = Field(min_length=2, description="the line, at least 2 points")


Visibility = Literal["visible", "occluded", "absent"]


class Keypoint(Element):
    """One point of a points or skeleton shape. `label` is the point's class (a skeleton
    sub-label, "nose"); `visibility` follows COCO: visible, labeled but occluded, or absent
    (CVAT `outside`)."""

    x: float
    y: float
    label: str | None = None
    visibility: Visibility = "visible"
    classifications: list[Classification] = Field(default_factory=list)


class Points(Shape):
    """A set of points of one class (CVAT points, Label Studio/Labelbox keypoints)."""

    type: Literal["points"]
    points: list[Keypoint]


class Skeleton(Shape):
    """Named keypoints of a skeleton class; the edges live on the `LabelClass`."""

    type: Literal["skeleton"]
    points: list[Keypoint]


class Ellipse(Shape):
    """An ellipse with centre (cx, cy), radii rx (along x before rotation) and ry, turned
    `rotation` degrees clockwise about its centre."""

    type: Literal["ellipse"]
    cx: float = Field(description="centre x")
    cy: float = Field(description="centre y")
    rx: Length = Field(description="radius along x before rotation")
    ry: Length = Field(description="radius along y before rotation")
    rotation: float = Field(0.0, description="degrees, clockwise on screen, about the centre")


class RLE(Model):
    """A binary mask over the whole media, run-length encoded the COCO way: `size` is
    (height, width), `counts` the compressed COCO RLE string (column-major runs, starting
    with background), as pycocotools writes it."""

    size: tuple[Annotated[int, Field(ge=0)], Annotated[int, Field(ge=0)]] = Field(
        description="(height, width) of the whole media, in pixels"
    )
    counts: str = Field(description="COCO compressed RLE (column-major runs, background first)")


class Mask(Shape):
    """A pixel mask (a brush stroke, a CVAT mask, a Labelbox mask)."""

    type: Literal["mask"]
    rle: RLE


class Cuboid(Shape):
    """A 2D-projected cuboid: 8 points, front face then back face, in CVAT's order
    (each face top-left, bottom-left, top-right, bottom-right)."""

    type: Literal["cuboid"]
    points: list[Point] = Field(description="8 points: front face then back face")


class Cuboid3D(Shape):
    """A box in 3D space (point clouds): centre position, rotation (radians about x, y, z)
    and size along each axis."""

    type: Literal["cuboid3d"]
    position: tuple[float, float, float] = Field(description="centre (x, y, z)")
    rotation: tuple[float, float, float] = Field(
        (0.0, 0.0, 0.0), description="radians about the x, y and z axes"
    )
    scale: tuple[Length, Length, Length] = Field(description="size along x, y and z")


class Span(Shape):
    """A stretch of text: character offsets `start` (inclusive) to `end` (exclusive) into
    the item's text, or into one part of it named by `container` (a Label Studio Paragraphs
    index, a Labelbox conversation message id, a document page). A span across several
    parts starts at `start` in `container` and ends at `end` in `end_container` (None: the
    same part). `text` is the covered text as the tool recorded it. Rich-text (HTML) spans
    keep their XPath anchors in the region's `extra`."""

    type: Literal["span"]
    start: int | None = Field(None, ge=0, description="first character (inclusive)")
    end: int | None = Field(
        None, ge=0, description="end character (exclusive), >= start within one part"
    )
    text: str | None = Field(None, description="the covered text as the tool recorded it")
    container: str | None = Field(None, description="the part of the item the offsets index")
    end_container: str | None = Field(
        None,
        description="the part where the span ends when it crosses parts (e.g. the last of "
        "several dialogue paragraphs); `end` then indexes that part; None: same as container",
    )

    @model_validator(mode="after")
    def _start_not_after_end(self) -> Span:
        # across parts, `end` indexes another part: any order is fine
        same_part = self.end_container is None or self.end_container == self.container
        if same_part and self.start is not None and self.end is not None and self.start > self.end:
            raise ValueError(f"start {self.start} is after end {self.end}")
        return self


class TimeSegment(Shape):
    """A stretch of audio or video time, `start` to `end` in seconds (or in frames when
    `unit` is "frames")."""

    type: Literal["time_segment"]
    start: float = Field(description="where the segment starts")
    end: float = Field(description="where it ends, >= start")
    unit: Literal["seconds", "frames"] = "seconds"

    @model_validator(mode="after")
    def _start_not_after_end(self) -> TimeSegment:
        if self.start > self.end:
            raise ValueError(f"start {self.start} is after end {self.end}")
        return self


class Tag(Shape):
    """The whole item (or one frame) carries the region's label: a CVAT tag."""

    type: Literal["tag"]


AnyShape = Annotated[
    BBox
    | Polygon
    | Polyline
    | Points
    | Skeleton
    | Ellipse
    | Mask
    | Cuboid
    | Cuboid3D
    | Span
    | TimeSegment
    | Tag,
    Field(discriminator="type"),
]


# ----------------------------------------------------------------------- annotations


class FrameRange(Model):
    """Frames `start` to `end`, both inclusive."""

    start: int = Field(ge=0, description="first frame (inclusive)")
    end: int = Field(ge=0, description="last frame (inclusive), >= start")

    @model_validator(mode="after")
    def _start_not_after_end(self) -> FrameRange:
        if self.start > self.end:
            raise ValueError(f"start {self.start} is after end {self.end}")
        return self


class Answer(Element):
    """One answer to a question, with the answers to the sub-questions it opens."""

    value: AttributeValue
    classifications: list[Classification] = Field(default_factory=list)


class Classification(Element):
    """An answered question: a CVAT attribute value, a Label Studio Choices/TextArea/Number/
    Rating/Taxonomy result, a Labelbox radio/checklist/text answer (nested).

    `name` is the question (ClassificationSpec.name); `answers` holds one value for radio/
    select/text/number questions and several for checklists or multi-choice. Video
    classifications that hold over some frames only list them in `frames`.
    """

    name: str
    answers: list[Answer]
    frames: list[FrameRange] | None = None


class Region(Element):
    """One thing an annotator marked on an item: a label and a shape, with the attributes
    answered about it. `frame` is set for a single-frame shape on a video. `group` joins
    regions that belong together (CVAT group id). `score` is a model's confidence."""

    id: str
    label: str | None = None
    shape: AnyShape
    frame: int | None = None
    occluded: bool = False
    z_order: int | None = None
    group: str | None = None
    score: float | None = None
    classifications: list[Classification] = Field(default_factory=list)


class Keyframe(Element):
    """The state of a track at one frame.

    `outside` means the object has left the view at this frame: the track's segment ends
    here and resumes at the next keyframe that is not outside. `keyframe` is False for
    frames a tool exported by interpolation rather than drew. Mutable attributes are in
    `classifications`.
    """

    frame: int
    shape: AnyShape | None = None
    outside: bool = False
    occluded: bool = False
    keyframe: bool = True
    z_order: int | None = None
    classifications: list[Classification] = Field(default_factory=list)


class Track(Element):
    """One object followed through a video: an id, a label and its keyframes in frame
    order. Frames between keyframes are interpolated (a function, not stored data).
    Immutable attributes are in `classifications`."""

    id: str
    label: str | None = None
    keyframes: list[Keyframe]
    group: str | None = None
    score: float | None = None
    classifications: list[Classification] = Field(default_factory=list)


class Relation(Element):
    """A link between two regions (or tracks) of the same annotation set, by their ids.
    `direction` is "forward" (from -> to), "backward" or "both"."""

    from_id: str
    to_id: str
    label: str | None = None
    direction: Literal["forward", "backward", "both"] = "forward"


class Annotator(Model):
    """A person or a model that made annotations: the vendor's user id, email and name."""

    id: str | None = None
    email: str | None = None
    name: str | None = None


class Review(Element):
    """A reviewer's verdict on an annotation set."""

    reviewer: Annotator | None = None
    status: Literal["accepted", "rejected", "fixed", "commented"]
    comment: str | None = None
    created_at: datetime | None = None


class AnnotationSet(Element):
    """One annotator's (or one model's) work on one item: a Label Studio annotation or
    prediction, a Labelbox label, a CVAT job's annotations for one frame or video.

    `lead_time` is the time spent, in seconds. `ground_truth` marks reference answers
    (Label Studio ground truth, CVAT ground-truth jobs, Labelbox benchmarks).
    `model_version` and `score` describe predictions.
    """

    id: str
    kind: AnnotationKind = "human"
    annotator: Annotator | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    lead_time: float | None = None
    status: AnnotationStatus | None = None
    ground_truth: bool = False
    model_version: str | None = None
    score: float | None = None
    regions: list[Region] = Field(default_factory=list)
    tracks: list[Track] = Field(default_factory=list)
    relations: list[Relation] = Field(default_factory=list)
    classifications: list[Classification] = Field(default_factory=list)
    reviews: list[Review] = Field(default_factory=list)


class Media(Model):
    """What is being labeled: its kind and where it lives (`uri`), with the facts needed to
    place shapes on it (pixel size, frames, duration) and, for text, the text itself."""

    kind: MediaKind
    uri: str | None = Field(None, description="where the media lives (URL or path)")
    width: int | None = Field(None, gt=0, description="pixels, when known")
    height: int | None = Field(None, gt=0, description="pixels, when known")
    frame_count: int | None = Field(None, ge=0, description="frames of a video, when known")
    fps: float | None = Field(None, gt=0, description="frames per second, when known")
    duration: float | None = Field(None, ge=0, description="seconds, when known")
    text: str | None = Field(None, description="the text of a text item")
    mime_type: str | None = None


class Item(Element):
    """One thing to label (a Label Studio task, a CVAT image or video, a Labelbox data row)
    with every annotation set made on it.

    `key` is the stable key items are matched by across tools (a global key, external id,
    file name, URL or content hash). `data` keeps the task's raw data fields (Label Studio
    tasks may carry several). `subset` is the split ("train", "val").
    """

    key: str
    media: Media
    data: dict[str, Any] = Field(default_factory=dict)
    subset: str | None = None
    annotation_sets: list[AnnotationSet] = Field(default_factory=list)


for _model in (OptionSpec, ClassificationSpec, Keypoint, Answer, Classification):
    _model.model_rebuild()


ModelT = TypeVar("ModelT", bound=BaseModel)


def _drop_extra_keys(data: Any) -> Any:
    if isinstance(data, dict):
        return {key: _drop_extra_keys(value) for key, value in data.items() if key != "extra"}
    if isinstance(data, list):
        return [_drop_extra_keys(value) for value in data]
    return data


def without_extras(model: ModelT) -> ModelT:
    """A copy of `model` (an annotation set, a region, ...) with every nested `extra`
    emptied: what a writer uses so that one tool's vendor fields never land in another
    tool's file. Not for an `Item`, whose free-form `data` may hold an "extra" key."""
    return type(model).model_validate(_drop_extra_keys(model.model_dump()))
