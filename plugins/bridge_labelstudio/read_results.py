"""Label Studio annotation `result` lists -> unified regions, tracks, relations, questions.

A Label Studio *result* is one answer of one control tag: `{"id", "from_name" (the control),
"to_name" (the object tag), "type" (the control tag, lower case), "value": {...}}`, plus
`original_width`/`original_height` (the image size in pixels) for image results. Geometry is
in percent (0-100) of that size; rectangles rotate about their top-left corner.

Results sharing one `id` describe one region: a rectangle and the per-region Choices/TextArea
answered about it (Label Studio repeats the region's geometry in their `value`). They become
one unified `Region` (or `Track`) with `classifications`. Results with an id of their own are
task-level answers (`AnnotationSet.classifications`).

The reader builds plain dicts (validated into pydantic models once per item by the caller):
a region dict is `{"id", "label", "shape", "score", "classifications", "extra"}` where
`extra` keeps `from_name`, `to_name`, `type` and every result key with no unified home, so
writing back (`bridge_labelstudio.write_results`) restores the result.
"""

from __future__ import annotations

import math
from typing import Any

from bridge.errors import FormatError
from bridge.geometry.coords import bbox_from_top_left_rotation
from bridge.limits import DEFAULT_MAX_PIXELS, check_pixels
from bridge.losses import SIZE_UNKNOWN, LossReport
from bridge_labelstudio import checks
from bridge_labelstudio.controls import (
    BARE_TOOLS,
    GEOMETRY_TYPES,
    LABEL_TAGS,
    QUESTION_KEY,
    QUESTION_TYPES,
    UNSUPPORTED_TYPES,
)

RESULT_KEYS = {
    "id",
    "from_name",
    "to_name",
    "type",
    "value",
    "original_width",
    "original_height",
    "score",
}
NAME_KEYS = ("from_name", "to_name", "id")
DIRECTIONS = {"right": "forward", "left": "backward", "bi": "both"}
TOLERANCE = 1e-3
INTERPOLATED = "bridge_interpolated"
"""Key label-bridge adds to a `videorectangle` sequence step it wrote for a frame that was
not drawn (Label Studio keeps unknown step keys: its sequence is stored as given)."""
KEYFRAME_ATTRIBUTES = "bridge_attributes"
"""Key of a `videorectangle` sequence step holding the keyframe's answers (unified
`Classification`s as JSON: CVAT mutable attributes, Labelbox per-frame answers), which
Label Studio's editor has no per-frame form for."""
STEP_KEYS = {
    "frame",
    "x",
    "y",
    "width",
    "height",
    "rotation",
    "enabled",
    INTERPOLATED,
    KEYFRAME_ATTRIBUTES,
}


class ReadContext:
    """What reading one task needs: where it is (for messages), the loss report, the
    config (or None), the media size, and the controls seen (to build an ontology).
    `doubtful` is set when a value passed through may be one pydantic refuses or
    coerces (see `bridge_labelstudio.checks`)."""

    __slots__ = (
        "where",
        "losses",
        "config",
        "width",
        "height",
        "seen",
        "media_kind",
        "doubtful",
        "text",
        "max_pixels",
    )

    def __init__(
        self,
        where,
        losses: LossReport,
        config,
        seen: dict | None = None,
        max_pixels: int = DEFAULT_MAX_PIXELS,
    ) -> None:
        self.max_pixels = max_pixels
        self.where = where
        self.losses = losses
        self.config = config
        self.width: int | None = None
        self.height: int | None = None
        self.seen = seen if seen is not None else {}
        self.media_kind: str | None = None
        self.doubtful = False
        self.text: Any = None  # the task's text (text media), to check span offsets

    def fail(self, message: str, hint: str | None = None):
        raise FormatError(message, where=self.where, hint=hint)


def _labels(value: dict, rtype: str, ctx: ReadContext) -> list:
    key = rtype if rtype.endswith("labels") else "labels"
    labels = value.get(key)
    if isinstance(labels, list) or labels is None:
        return labels or []
    ctx.fail(
        f"value.{key} is {labels!r}, not a list of label names",
        hint=f'Label Studio writes a list: "{key}": [{labels!r}]',
    )


def _number(value: dict, key: str, ctx: ReadContext, percent: bool = True) -> float:
    number = value.get(key)
    if type(number) is not float and type(number) is not int:
        ctx.fail(f"value.{key} is {number!r}, not a number")
    if percent:
        if not (-TOLERANCE <= number <= 100 + TOLERANCE):  # NaN fails this too
            ctx.fail(f"value.{key} = {number} is outside 0-100 (percent of the image)")
    elif not math.isfinite(number):
        ctx.fail(f"value.{key} = {number} is not a finite number")
    return number


def _result_size(result: dict, ctx: ReadContext) -> tuple[int | None, int | None]:
    width, height = result.get("original_width"), result.get("original_height")
    if width is None or height is None:
        return None, None
    if not (isinstance(width, int) and isinstance(height, int)) or width <= 0 or height <= 0:
        ctx.fail(f"original_width/original_height {width!r}x{height!r} are not a pixel size")
    if ctx.width is None:
        ctx.width, ctx.height = width, height
    return width, height


def _size_unknown(ctx: ReadContext) -> None:
    ctx.losses.record(
        SIZE_UNKNOWN,
        "media size unknown (no original_width/original_height): geometry kept in percent",
        where=ctx.where,
        severity="approximated",
    )


def rotated_box_fault(
    x: float, y: float, w: float, h: float, rotation: float, image_w: float, image_h: float
) -> str | None:
    """Why a rectangle turned `rotation` degrees about its top-left corner (x, y) cannot be
    on an image of `image_w` x `image_h` (all in one unit: pixels, or percent when the size
    is unknown), or None.

    The pivot may lie off the image: a box touching the border, turned about its centre,
    puts a corner outside. What must hold: finite numbers, a size of at least 0 and at most
    the image's diagonal, and the turned box overlapping the image. `TOLERANCE` percent of
    the image is allowed either way."""
    tol_x, tol_y = image_w * TOLERANCE / 100, image_h * TOLERANCE / 100
    if not (w >= -tol_x and h >= -tol_y):  # NaN fails this too
        return f"its size {w!r} x {h!r} is negative"
    if not (w <= image_w and h <= image_h):  # else both are within the diagonal
        diagonal = math.hypot(image_w, image_h) * (1 + TOLERANCE / 100)
        if not (w <= diagonal and h <= diagonal):
            return f"its size {w!r} x {h!r} exceeds the image's diagonal"
    if -tol_x <= x <= image_w + tol_x and -tol_y <= y <= image_h + tol_y:
        return None  # the pivot, a corner of the box, is on the image
    theta = math.radians(rotation)
    cos, sin = math.cos(theta), math.sin(theta)
    xs = (x, x + w * cos, x - h * sin, x + w * cos - h * sin)
    ys = (y, y + w * sin, y + h * cos, y + w * sin + h * cos)
    if not (
        min(xs) <= image_w + tol_x
        and max(xs) >= -tol_x
        and min(ys) <= image_h + tol_y
        and max(ys) >= -tol_y
    ):
        return "it lies entirely outside the image"
    return None


NUMBER_TYPES = (float, int)
LOW, HIGH = -TOLERANCE, 100 + TOLERANCE


def _box(value: dict, ctx: ReadContext, width, height) -> dict:
    """A Label Studio rectangle (percent, pivot top-left) as a unified bbox dict."""
    rotation = _number(value, "rotation", ctx, percent=False) if value.get("rotation") else 0
    if rotation:
        return _rotated_box(value, rotation, ctx, width, height)
    x, y, w, h = value.get("x"), value.get("y"), value.get("width"), value.get("height")
    if not (
        type(x) in NUMBER_TYPES
        and type(y) in NUMBER_TYPES
        and type(w) in NUMBER_TYPES
        and type(h) in NUMBER_TYPES
        and LOW <= x <= HIGH
        and LOW <= y <= HIGH
        and 0 <= w <= HIGH
        and 0 <= h <= HIGH
    ):
        x, y, w, h = _drawn_backwards(value, ctx)
    if width is not None:
        return {
            "type": "bbox",
            "x": x * width / 100.0,
            "y": y * height / 100.0,
            "width": w * width / 100.0,
            "height": h * height / 100.0,
            "units": "px",
        }
    return {"type": "bbox", "x": x, "y": y, "width": w, "height": h, "units": "percent"}


def _drawn_backwards(value: dict, ctx: ReadContext) -> tuple[float, float, float, float]:
    """(x, y, width, height) of an unrotated box that failed the fast range check: a box
    the editor drew upwards or leftwards (negative width/height, the pivot at its right or
    bottom edge) becomes the same box with its top-left corner as pivot; anything else
    fails with `_number`'s message (the checks one by one, in this order)."""
    w = _number(value, "width", ctx, percent=False)
    h = _number(value, "height", ctx, percent=False)
    if w >= 0 and h >= 0:
        return (
            _number(value, "x", ctx),
            _number(value, "y", ctx),
            _number(value, "width", ctx),
            _number(value, "height", ctx),
        )
    x, y = _number(value, "x", ctx, percent=False), _number(value, "y", ctx, percent=False)
    if w < 0:
        x, w = x + w, -w
    if h < 0:
        y, h = y + h, -h
    if not (LOW <= x <= HIGH and LOW <= y <= HIGH and x + w <= HIGH and y + h <= HIGH):
        ctx.fail(
            f"the rectangle drawn from {value['x']!r}, {value['y']!r} with size "
            f"{value['width']!r} x {value['height']!r} lies outside 0-100 (percent of "
            "the image)"
        )
    return x, y, w, h


def _rotated_box(value: dict, rotation, ctx: ReadContext, width, height) -> dict:
    """A rotated rectangle: its pivot (x, y) may lie off the image, the box may not (see
    `rotated_box_fault`). Without a media size the check runs in percent units.

    A negative width (height) is a box drawn leftwards (upwards) from the pivot: the same
    box has its pivot moved by width (height) along its turned x (y) axis, in pixels."""
    x, y = _number(value, "x", ctx, percent=False), _number(value, "y", ctx, percent=False)
    w = _number(value, "width", ctx, percent=False)
    h = _number(value, "height", ctx, percent=False)
    if width is not None:
        x, w, image_w = x * width / 100.0, w * width / 100.0, width
        y, h, image_h = y * height / 100.0, h * height / 100.0, height
        units = "px"
    else:
        image_w = image_h = 100.0
        units = "percent"
    if w < 0 or h < 0:
        if width is None:
            ctx.fail(
                f"a rotated rectangle with a negative size ({value.get('width')!r} x "
                f"{value.get('height')!r} %) needs original_width/original_height to be "
                "read exactly",
                hint="export the task again from Label Studio",
            )
        x, y, w, h = _pivot_forwards(x, y, w, h, rotation)
    fault = rotated_box_fault(x, y, w, h, rotation, image_w, image_h)
    if fault is not None:
        ctx.fail(
            f"rectangle {value.get('x')!r}, {value.get('y')!r}, {value.get('width')!r} x "
            f"{value.get('height')!r} % turned {rotation} degrees: {fault}"
        )
    box = bbox_from_top_left_rotation(x, y, w, h, rotation)
    return {
        "type": "bbox",
        "x": box.x,
        "y": box.y,
        "width": w,
        "height": h,
        "rotation": rotation,
        "units": units,
    }


def _pivot_forwards(x: float, y: float, w: float, h: float, rotation: float):
    """The box (pivot x, y; size w x h turned `rotation` degrees about the pivot, pixels)
    with a non-negative size: a negative side moves the pivot to its other end."""
    theta = math.radians(rotation)
    cos, sin = math.cos(theta), math.sin(theta)
    if w < 0:
        x, y, w = x + w * cos, y + w * sin, -w
    if h < 0:
        x, y, h = x - h * sin, y + h * cos, -h
    return x, y, w, h


def _scale(width, height):
    if width is None:
        return 1.0, 1.0, "percent"
    return width / 100.0, height / 100.0, "px"


def _polygon(value: dict, ctx: ReadContext, width, height) -> dict:
    points = value.get("points")
    if not isinstance(points, list):
        ctx.fail(f"value.points is {points!r}, not a list of [x, y]")
    sx, sy, units = _scale(width, height)
    out = []
    for point in points:
        if not (isinstance(point, list | tuple) and len(point) == 2):
            ctx.fail(
                f"polygon point {point!r} is not [x, y]",
                hint="Label Studio polygons are 2-D: [[x, y], ...] in percent",
            )
        pair = {"x": point[0], "y": point[1]}
        out.append((_number(pair, "x", ctx) * sx, _number(pair, "y", ctx) * sy))
    if len(out) < 3:  # an unfinished polygon the editor saved: no unified polygon
        return None
    return {"type": "polygon", "points": out, "units": units}


def _keypoint(value: dict, ctx: ReadContext, width, height) -> dict:
    sx, sy, units = _scale(width, height)
    x, y = _number(value, "x", ctx) * sx, _number(value, "y", ctx) * sy
    return {"type": "points", "points": [{"x": x, "y": y}], "units": units}


def _radius(value: dict, key: str, ctx: ReadContext) -> float:
    radius = _number(value, key, ctx)
    if radius < 0:
        ctx.fail(f"value.{key} = {radius} is negative")
    return radius


def _ellipse(value: dict, ctx: ReadContext, width, height) -> dict:
    sx, sy, units = _scale(width, height)
    return {
        "type": "ellipse",
        "cx": _number(value, "x", ctx) * sx,
        "cy": _number(value, "y", ctx) * sy,
        "rx": _radius(value, "radiusX", ctx) * sx,
        "ry": _radius(value, "radiusY", ctx) * sy,
        "rotation": _number(value, "rotation", ctx, percent=False) if value.get("rotation") else 0,
        "units": units,
    }


def _brush(value: dict, ctx: ReadContext, width, height) -> tuple[dict | None, bool]:
    """(the mask, whether the stroke is binary-exact) of a brush result; None if it is
    not RLE or the image size is unknown. The size is checked against the pixel budget
    before anything is decoded (see `brush.stroke_runs`)."""
    if value.get("format", "rle") != "rle" or not isinstance(value.get("rle"), list):
        return None, True
    if width is None:
        return None, True
    check_pixels(width, height, where=ctx.where, max_pixels=ctx.max_pixels)
    from bridge_labelstudio.brush import BrushError, runs_to_rle, stroke_runs  # numpy, here only

    try:
        runs, exact = stroke_runs(value["rle"], width, height)
    except BrushError as error:
        ctx.fail(f"brush RLE cannot be decoded: {error}")
    rle = runs_to_rle(runs, width, height)
    return {"type": "mask", "rle": {"size": list(rle.size), "counts": rle.counts}}, exact


def _offset(value: dict, key: str, ctx: ReadContext) -> int | None:
    number = value.get(key)
    if number is None:
        return None
    if type(number) is not int:
        if isinstance(number, float) and number.is_integer():
            return int(number)
        ctx.fail(f"value.{key} is {number!r}, not a character offset")
    return number


def _check_offsets(span: dict, ctx: ReadContext, length: int | None, what: str) -> None:
    """Refuse negative or reversed offsets (Label Studio never writes them); report an end
    past the text's `length` (the task's text was changed after labelling) and keep it."""
    start, end = span["start"], span["end"]
    if (start is not None and start < 0) or (end is not None and end < 0):
        ctx.fail(f"{what} offsets {start!r}-{end!r} are negative")
    if start is not None and end is not None and end < start:
        ctx.fail(
            f"{what} ends ({end}) before it starts ({start})",
            hint="Label Studio writes start <= end; was the result edited by hand?",
        )
    if length is not None and end is not None and end > length:
        ctx.losses.record(
            "span-out-of-range",
            f"a {what} ends past the end of its text ({length} characters): kept as it is "
            "(was the task's text changed after labelling?)",
            where=ctx.where,
            severity="unmapped",
        )


def _text_span(value: dict, ctx: ReadContext) -> dict:
    span = {
        "type": "span",
        "start": _offset(value, "start", ctx),
        "end": _offset(value, "end", ctx),
    }
    _check_offsets(span, ctx, len(ctx.text) if isinstance(ctx.text, str) else None, "text span")
    if "text" in value:
        span["text"] = checks.text(value["text"], ctx)
    return span


def _html_span(value: dict, ctx: ReadContext) -> dict:
    offsets = value.get("globalOffsets") or {}
    if not isinstance(offsets, dict):
        ctx.fail(f"value.globalOffsets {offsets!r} is not an object")
    span = {
        "type": "span",
        "start": _offset(offsets, "start", ctx),
        "end": _offset(offsets, "end", ctx),
    }
    _check_offsets(span, ctx, None, "hypertext span")
    if "text" in value:
        span["text"] = checks.text(value["text"], ctx)
    return span


def _paragraph(value: dict, key: str, ctx: ReadContext) -> str | None:
    """The Paragraphs index `value[key]` ("3", as Label Studio writes it) as text."""
    index = value.get(key)
    if index is None:
        return None
    if type(index) is str and index.isdigit() or type(index) is int and index >= 0:
        return str(index)
    ctx.fail(f"value.{key} is {index!r}, not a paragraph index")


def _paragraph_span(value: dict, ctx: ReadContext) -> tuple[dict, set]:
    """A span over one paragraph (`container`), or from paragraph `start` to paragraph
    `end` (`end_container`): `startOffset` is in the first, `endOffset` in the last."""
    first, last = _paragraph(value, "start", ctx), _paragraph(value, "end", ctx)
    span = {
        "type": "span",
        "container": first,
        "start": _offset(value, "startOffset", ctx),
        "end": _offset(value, "endOffset", ctx),
    }
    if last is not None and last != first:
        if first is None or int(last) < int(first):
            ctx.fail(f"the paragraph span ends in paragraph {last} before it starts ({first})")
        span["end_container"] = last
        if (
            span["start"] is not None
            and span["start"] < 0
            or span["end"] is not None
            and span["end"] < 0
        ):
            ctx.fail(f"paragraph span offsets {span['start']!r}-{span['end']!r} are negative")
    else:
        _check_offsets(span, ctx, None, "paragraph span")
    if "text" in value:
        span["text"] = checks.text(value["text"], ctx)
    # the paragraph indexes come back from the shape when Label Studio wrote them as text
    exact = all(type(value.get(k)) is str for k in ("start", "end"))
    return span, PARAGRAPH_KEYS | {"start", "end"} if exact else PARAGRAPH_KEYS


def _time_segment(value: dict, ctx: ReadContext) -> dict:
    start = _number(value, "start", ctx, percent=False)
    end = _number(value, "end", ctx, percent=False)
    if end < start:
        ctx.fail(f"the time segment ends ({end}) before it starts ({start})")
    return {"type": "time_segment", "start": start, "end": end}


SPAN_KEYS = {"start", "end", "text"}
HTML_KEYS = {"globalOffsets", "text"}
PARAGRAPH_KEYS = {"startOffset", "endOffset", "text"}
TIME_KEYS = {"start", "end"}
VALUE_KEYS = {
    "rectangle": {"x", "y", "width", "height", "rotation"},
    "polygon": {"points"},
    "keypoint": {"x", "y"},
    "ellipse": {"x", "y", "radiusX", "radiusY", "rotation"},
    "brush": {"format", "rle"},
}


TIME_MEDIA = {"audio", "video", "timeseries"}


def _is_time(result: dict, value: dict, ctx: ReadContext) -> bool:
    """Is a `labels` result an audio/video time segment rather than a text span? The
    object tag it labels says so (from the config); else the value's keys (a span keeps
    its `text`, an audio segment its `channel`), else the task's media."""
    config = ctx.config
    obj = config.object(result.get("to_name")) if config is not None else None
    if obj is not None and obj.media_kind is not None:
        return obj.media_kind in TIME_MEDIA
    if "text" in value:
        return False
    start = value.get("start")
    if "channel" in value or type(start) is float and not start.is_integer():
        return True  # no character offset
    return ctx.media_kind in TIME_MEDIA


SHAPE_READERS = {"rectangle": _box, "polygon": _polygon, "keypoint": _keypoint, "ellipse": _ellipse}
SOFT_BRUSH_KEYS = {"format"}
"""A brush stroke that is not binary-exact keeps its `rle` in the region's extra."""


def shape_of(result: dict, rtype: str, value: dict, ctx: ReadContext):
    """(shape dict or None, the value keys it used) for one geometry result."""
    base = rtype[:-6] if rtype.endswith("labels") else rtype
    if base in VALUE_KEYS:
        width, height = _result_size(result, ctx)
        if base == "brush":
            shape, exact = _brush(value, ctx, width, height)
            return shape, VALUE_KEYS[base] if exact else SOFT_BRUSH_KEYS
        if width is None:
            _size_unknown(ctx)
        return SHAPE_READERS[base](value, ctx, width, height), VALUE_KEYS[base]
    if base == "hypertext":
        return _html_span(value, ctx), HTML_KEYS
    if base == "paragraph":
        return _paragraph_span(value, ctx)
    if base == "timeseries" or (base == "" and _is_time(result, value, ctx)):
        return _time_segment(value, ctx), TIME_KEYS
    return _text_span(value, ctx), SPAN_KEYS


# -------------------------------------------------------------------------- groups


def _residual(mapping: dict, used) -> dict:
    """The entries of `mapping` whose keys are not in `used`, in their original order."""
    if mapping.keys() <= used:
        return {}
    return {k: v for k, v in mapping.items() if k not in used}


def _check_result(result: Any, ctx: ReadContext) -> tuple[str, dict]:
    if not isinstance(result, dict):
        ctx.fail(f"a result is {type(result).__name__}, not an object")
    rtype = result.get("type")
    if not isinstance(rtype, str):
        ctx.fail(f"result {result.get('id')!r} has no type")
    for key in NAME_KEYS:
        name = result.get(key)
        if name is not None and type(name) is not str and type(name) is not int:
            ctx.fail(f"result {key} {name!r} is not a name")
    value = result.get("value")
    if rtype != "relation" and not isinstance(value, dict):
        ctx.fail(f"result {result.get('id')!r} ({rtype}) has no value object")
    config = ctx.config
    if config is not None and rtype != "relation":
        name = result.get("from_name")
        if config.control(name) is None:
            ctx.fail(
                f"result {result.get('id')!r} has from_name {name!r}, which is not a control "
                "of the label config",
                hint="give the project's own label config, or none to infer it from results",
            )
    return rtype, value


def _note_seen(ctx: ReadContext, result: dict, rtype: str, answers, per_region: bool) -> None:
    key = (result.get("from_name"), result.get("to_name"), rtype)
    entry = ctx.seen.get(key)
    if entry is None:
        entry = ctx.seen[key] = {"values": {}, "per_region": per_region}
    for answer in answers:
        if isinstance(answer, str):
            entry["values"][answer] = None
        elif isinstance(answer, list) and all(isinstance(p, str) for p in answer):
            entry["values"][tuple(answer)] = None  # a taxonomy path


def read_results(results: Any, ctx: ReadContext) -> dict[str, list]:
    """Regions, tracks, relations, task-level classifications and unconverted results of
    one annotation's (prediction's, draft's) `result` list."""
    if results is None:
        results = []
    if not isinstance(results, list):
        ctx.fail(f"result is {type(results).__name__}, not a list")
    out = {"regions": [], "tracks": [], "relations": [], "classifications": [], "unconverted": []}
    groups: dict[Any, list] = {}
    for index, result in enumerate(results):
        rtype, value = _check_result(result, ctx)
        if rtype == "relation":
            out["relations"].append(_relation(result, ctx))
            continue
        rid = result.get("id")
        groups.setdefault(rid if rid is not None else ("no-id", index), []).append(
            (rtype, value, result)
        )
    for group in groups.values():
        _read_group(group, ctx, out)
    return out


def _tool_and_labels(geometry: list) -> tuple[tuple, tuple | None]:
    """(the geometry result, the `labels` result naming its label or None): a bare tool
    (`rectangle`, `polygon`, ...) labelled by a `<Labels>` control gives two results with
    one id, the second repeating the geometry with `labels` added."""
    if len(geometry) > 1:
        tool = next((g for g in geometry if g[0] in BARE_TOOLS), None)
        tag = next((g for g in geometry if g[0] in LABEL_TAGS), None)
        if tool is not None and tag is not None:
            return tool, tag
    return geometry[0], None


def _read_group(group: list, ctx: ReadContext, out: dict[str, list]) -> None:
    if len(group) == 1:
        geometry = [group[0]] if group[0][0] not in QUESTION_TYPES else []
    else:
        geometry = [g for g in group if g[0] not in QUESTION_TYPES]
    if not geometry:
        for rtype, value, result in group:
            out["classifications"].append(_question(result, rtype, value, None, ctx))
        return
    (rtype, value, result), labelled = _tool_and_labels(geometry)
    target = _geometry(result, rtype, value, ctx, out, labelled)
    if target is None:
        return
    for rtype2, value2, result2 in group:
        if result2 is result or (labelled is not None and result2 is labelled[2]):
            continue
        if rtype2 in QUESTION_TYPES:
            target["classifications"].append(_question(result2, rtype2, value2, value, ctx))
        else:
            _unconverted(result2, ctx, out, "second geometry result with the same region id")


def _unconverted(result: dict, ctx: ReadContext, out: dict, why: str) -> None:
    out["unconverted"].append(result)
    ctx.losses.record(
        f"unsupported-{result.get('type')}",
        f"{result.get('type')} results are not converted ({why}); kept verbatim in the "
        "annotation set's extra['unconverted_results']",
        where=ctx.where,
        severity="unmapped",
    )


def _label_source(labelled: tuple, value: dict, ctx: ReadContext) -> tuple[list, dict]:
    """(labels, the `labels_result` entry of the region's extra) of the `labels` result
    that names a bare tool's label: its control, and its value unless it only repeats the
    tool's geometry (what Label Studio writes)."""
    rtype, value2, result2 = labelled
    labels = _labels(value2, rtype, ctx)
    _note_seen(ctx, result2, rtype, labels, False)
    key = rtype if rtype.endswith("labels") else "labels"
    entry = {"from_name": result2.get("from_name"), "type": rtype}
    entry.update(_residual(result2, {"id", "from_name", "type", "value"}))
    rest = {k: v for k, v in value2.items() if k != key}
    if rest != {k: v for k, v in value.items() if k in rest} or rest.keys() != value.keys():
        entry["value"] = rest
    return labels, entry


def _geometry(result, rtype, value, ctx, out, labelled=None) -> dict | None:
    if rtype not in GEOMETRY_TYPES:
        if rtype in UNSUPPORTED_TYPES:  # kept verbatim in extra["unconverted_results"]
            _unconverted(result, ctx, out, "no unified form")
            return None
        ctx.fail(
            f"result {result.get('id')!r} has unknown type {rtype!r}",
            hint="this looks like a newer or custom Label Studio tag; report it",
        )
    if rtype == "videorectangle":
        track = _track(result, value, ctx)
        out["tracks"].append(track)
        return track
    shape, used = shape_of(result, rtype, value, ctx)
    if shape is None:
        if rtype.startswith("polygon"):
            why = "an unfinished polygon of fewer than 3 points"
        else:
            why = "media size unknown" if value.get("format", "rle") == "rle" else "not RLE"
        _unconverted(result, ctx, out, why)
        if labelled is not None:
            _unconverted(labelled[2], ctx, out, "the labels of an unconverted region")
        return None
    labels = _labels(value, rtype, ctx)
    _note_seen(ctx, result, rtype, labels, False)
    extra = _residual(result, RESULT_KEYS)
    if labelled is not None:
        labels, extra["labels_result"] = _label_source(labelled, value, ctx)
    extra["from_name"], extra["to_name"], extra["type"] = (
        result.get("from_name"),
        result.get("to_name"),
        rtype,
    )
    rest = _value_rest(value, used, rtype)
    if rest:
        extra["value"] = rest
        if used is SOFT_BRUSH_KEYS:
            _soft_brush(extra, shape, ctx)
    if len(labels) > 1:
        extra["labels"] = labels
    size = result.get("original_width"), result.get("original_height")
    if size[0] is not None and size != (ctx.width, ctx.height):
        extra["original_width"], extra["original_height"] = size
    rid = result.get("id")
    if rid is None:  # Label Studio always sets one; hand-made imports may not
        extra["no_id"] = True
        rid = f"_{len(out['regions'])}"
    region = {
        "id": str(rid),
        "label": checks.text(labels[0], ctx) if labels else None,
        "shape": shape,
        "classifications": [],
        "extra": extra,
    }
    if result.get("score") is not None:
        region["score"] = checks.number(result["score"], ctx)
    out["regions"].append(region)
    return region


def _soft_brush(extra: dict, shape: dict, ctx: ReadContext) -> None:
    """A brush stroke with alpha levels other than 0/255 (the editor's anti-aliased
    edges): the unified mask is its threshold (alpha > 0); the original RLE stays in
    `extra["value"]` and is written back to Label Studio while the mask is unchanged
    (`brush_mask`: the mask it belongs to)."""
    extra["brush_mask"] = shape["rle"]["counts"]
    ctx.losses.record(
        "brush-alpha-thresholded",
        "a brush stroke with soft (anti-aliased) alpha became a binary mask (alpha > 0); "
        "its original RLE is kept and written back unchanged to Label Studio",
        where=ctx.where,
        severity="approximated",
    )


def _value_rest(value: dict, used, rtype: str) -> dict:
    """The value keys a shape does not use, the label list aside."""
    rest = value.keys() - used
    rest.discard(rtype if rtype.endswith("labels") else "labels")
    return {k: value[k] for k in rest} if rest else {}


def _relation(result: dict, ctx: ReadContext) -> dict:
    source, target = result.get("from_id"), result.get("to_id")
    if not (isinstance(source, str | int) and isinstance(target, str | int)):
        ctx.fail(f"a relation result has no from_id/to_id ({source!r} -> {target!r})")
    if not isinstance(result.get("direction", "right"), str):
        ctx.fail(f"relation direction {result.get('direction')!r} is not right/left/bi")
    labels = result.get("labels") or []
    if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
        ctx.fail(f"relation labels {labels!r} are not a list of names")
    relation = {
        "from_id": str(source),
        "to_id": str(target),
        "direction": DIRECTIONS.get(result.get("direction", "right"), "forward"),
    }
    if labels:
        relation["label"] = labels[0]
    extra = _residual(result, {"from_id", "to_id", "type", "direction", "labels"})
    if len(labels) > 1:
        extra["labels"] = labels
    if result.get("direction", "right") not in DIRECTIONS:
        extra["direction"] = result.get("direction")
    if extra:
        relation["extra"] = extra
    _note_seen(ctx, result, "relation", labels, False)
    return relation


def _answers(rtype: str, raw: Any, ctx: ReadContext) -> list[dict]:
    if rtype == "taxonomy":
        if not isinstance(raw, list):
            ctx.fail(f"taxonomy value {raw!r} is not a list of paths")
        return [_taxonomy_answer(path, ctx) for path in raw]
    values = raw if isinstance(raw, list) else [raw]
    for value in values:
        if not isinstance(value, str | int | float | bool):
            ctx.fail(f"{rtype} answer {value!r} is not a string or number")
        if type(value) is float:
            checks.number(value, ctx)
    return [{"value": value} for value in values]


MAX_TAXONOMY_DEPTH = 50


def _taxonomy_answer(path: Any, ctx: ReadContext) -> dict:
    if not isinstance(path, list) or not path or not all(isinstance(p, str) for p in path):
        ctx.fail(f"taxonomy path {path!r} is not a list of strings")
    if len(path) > MAX_TAXONOMY_DEPTH:
        ctx.fail(
            f"a taxonomy path {len(path)} levels deep (more than {MAX_TAXONOMY_DEPTH})",
            hint="the path is nested as classifications in the unified schema",
        )
    answer: dict = {"value": path[-1]}
    for parent in reversed(path[:-1]):
        answer = {"value": parent, "classifications": [{"name": parent, "answers": [answer]}]}
    return answer


def _question(result: dict, rtype: str, value: dict, region_value, ctx: ReadContext) -> dict:
    key = QUESTION_KEY[rtype]
    raw = value.get(key)
    answers = _answers(rtype, raw, ctx)
    _note_seen(ctx, result, rtype, raw if isinstance(raw, list) else [], region_value is not None)
    extra = _residual(result, RESULT_KEYS)
    extra["to_name"], extra["type"] = result.get("to_name"), rtype
    if region_value is None:
        extra["id"] = result.get("id")
    for size_key in ("original_width", "original_height"):
        if size_key in result:
            extra[size_key] = result[size_key]
    rest = {k: v for k, v in value.items() if k != key}
    if region_value is not None and rest and all(region_value.get(k) == v for k, v in rest.items()):
        extra["region_value"] = sorted(rest)  # Label Studio repeats the region's geometry
    elif rest:
        extra["value"] = rest
    if not isinstance(raw, list):
        extra["scalar"] = True
    return {"name": checks.name(result.get("from_name"), ctx), "answers": answers, "extra": extra}


# -------------------------------------------------------------------------- tracks


def _track(result: dict, value: dict, ctx: ReadContext) -> dict:
    """A `videorectangle` result as a track.

    Label Studio numbers video frames from 1; unified frames are 0-based (frame - 1).
    A keyframe with `enabled: false` is the last frame the object is shown (until the next
    keyframe): unified marks the frame after it `outside` (see docs/labelstudio-files.md).
    A step marked `"bridge_interpolated": true` was written by `write_results` for a frame
    that was not drawn (Label Studio needs a step there): it reads back with `keyframe`
    False.
    """
    sequence = value.get("sequence")
    if not isinstance(sequence, list):
        ctx.fail(f"videorectangle {result.get('id')!r} has no sequence list")
    width, height = _result_size(result, ctx)
    if width is None:
        _size_unknown(ctx)
    keyframes = []
    for index, step in enumerate(sequence):
        if not isinstance(step, dict):
            ctx.fail(f"videorectangle {result.get('id')!r} sequence item {step!r} is not an object")
        frame = _frame(step, ctx)
        keyframe = {"frame": frame, "shape": _box(step, ctx, width, height)}
        if KEYFRAME_ATTRIBUTES in step:
            keyframe["classifications"] = _step_answers(step[KEYFRAME_ATTRIBUTES], ctx)
        extra = _residual(step, STEP_KEYS)
        if step.get(INTERPOLATED) is True:
            keyframe["keyframe"] = False
        elif INTERPOLATED in step:
            extra[INTERPOLATED] = step[INTERPOLATED]
        if step.get("enabled", True) is False:
            following = sequence[index + 1] if index + 1 < len(sequence) else None
            if following is None or _frame(following, ctx) > frame + 1:
                keyframes.append({**keyframe, "extra": extra})
                keyframes.append({"frame": frame + 1, "outside": True})
                continue
            extra["enabled"] = False
        if extra:
            keyframe["extra"] = extra
        keyframes.append(keyframe)
    labels = _labels(value, "videorectangle", ctx)
    _note_seen(ctx, result, "videorectangle", labels, False)
    extra = _residual(result, RESULT_KEYS)
    extra.update(
        from_name=result.get("from_name"), to_name=result.get("to_name"), type="videorectangle"
    )
    rest = {k: v for k, v in value.items() if k not in ("sequence", "labels")}
    if rest:
        extra["value"] = rest
    if len(labels) > 1:
        extra["labels"] = labels
    label = checks.text(labels[0], ctx) if labels else None
    track = {
        "id": str(result.get("id")),
        "label": label,
        "keyframes": keyframes,
        "classifications": [],
        "extra": extra,
    }
    if result.get("score") is not None:
        track["score"] = checks.number(result["score"], ctx)
    return track


def _step_answers(answers: Any, ctx: ReadContext) -> list:
    """A step's `bridge_attributes` (see `KEYFRAME_ATTRIBUTES`): a list of classification
    objects, validated with the item (`doubtful`)."""
    if not isinstance(answers, list) or not all(isinstance(a, dict) for a in answers):
        ctx.fail(
            f"videorectangle step {KEYFRAME_ATTRIBUTES} {answers!r} is not a list of "
            "classification objects"
        )
    ctx.doubtful = True
    return answers


def _frame(step: Any, ctx: ReadContext) -> int:
    frame = step.get("frame") if isinstance(step, dict) else None
    if type(frame) is not int or frame < 1:
        ctx.fail(f"videorectangle keyframe frame {frame!r} is not a frame number (from 1)")
    return frame - 1
