"""Unified regions, tracks, relations and questions -> a Label Studio `result` list.

The inverse of `read_results`: pixel geometry goes back to percent of the media size
(`original_width`/`original_height`), rotations back to the top-left pivot, masks to brush
RLE, tracks to a `videorectangle` `sequence`. Control names come from the region's `extra`
(a same-tool round trip), else from the label config, else from the names
`ontology_to_config` gives generated configs. What Label Studio cannot hold is recorded in
the loss report.
"""

from __future__ import annotations

import math
from typing import Any

from bridge.geometry.coords import bbox_to_top_left_rotation
from bridge.losses import LossReport
from bridge.schema import (
    BBox,
    Classification,
    Ellipse,
    Keyframe,
    Mask,
    Points,
    Polygon,
    Region,
    Relation,
    Span,
    Tag,
    TimeSegment,
    Track,
)
from bridge_labelstudio.controls import DEFAULT_OBJECTS, DRAWABLE, QUESTION_KEY
from bridge_labelstudio.ontology import SAFE_NAME, LabelConfig, default_control
from bridge_labelstudio.read_results import (
    INTERPOLATED,
    KEYFRAME_ATTRIBUTES,
    TOLERANCE,
    rotated_box_fault,
)

WRITER_KEYS = {
    "from_name",
    "to_name",
    "type",
    "value",
    "labels",
    "original_width",
    "original_height",
    "region_value",
    "scalar",
    "id",
    "no_id",
    "labels_result",
    "brush_mask",
}
DIRECTION_NAMES = {"forward": "right", "backward": "left", "both": "bi"}
SHAPE_KIND = {
    BBox: "bbox",
    Polygon: "polygon",
    Points: "points",
    Ellipse: "ellipse",
    Mask: "mask",
    Span: "span",
    TimeSegment: "time_segment",
    Tag: "tag",
}


class WriteContext:
    """What writing one item's results needs."""

    def __init__(
        self,
        losses: LossReport,
        where: str,
        config: LabelConfig | None,
        media_kind: str,
        width: int | None,
        height: int | None,
        duration: float | None = None,
        frame_count: int | None = None,
    ) -> None:
        self.losses = losses
        self.where = where
        self.config = config
        self.media_kind = media_kind
        self.width = width
        self.height = height
        self.fps = frame_count / duration if duration and frame_count else None
        self.frame_count = frame_count
        self.duration = duration
        self.users: dict[str, int] | None = None  # e-mail -> Label Studio user id

    def object_name(self) -> str:
        if self.config is not None and self.config.objects:
            return self.config.objects[0].name
        return DEFAULT_OBJECTS.get(self.media_kind, DEFAULT_OBJECTS["image"])[1]

    def lose(self, code: str, message: str, severity: str = "dropped") -> None:
        self.losses.record(code, message, where=self.where, severity=severity)


def _names(kind: str, label: str | None, ctx: WriteContext) -> tuple[str, str, str] | None:
    """(from_name, to_name, type) for a region of `kind` (not a tag: `_tag_names`) with
    `label`."""
    video = ctx.media_kind == "video" and kind == "bbox"
    config = ctx.config
    if config is not None:
        candidates = [
            c
            for c in config.controls
            if (c.kind == "videorectangle") == video and config.region_kind(c) == kind
        ]
        best = next((c for c in candidates if label in c.label_values), None)
        best = best or (candidates[0] if candidates else None)
        if best is not None:
            to_name = best.to_names[0] if best.to_names else ctx.object_name()
            return best.name, to_name, best.kind
        return None
    if video:
        return "box", ctx.object_name(), "videorectangle"
    tag_name = default_control(kind, ctx.media_kind)
    if tag_name is None:
        return None
    return tag_name[1], ctx.object_name(), tag_name[0].lower()


def _drawable(kind: str, media_kind: str) -> bool:
    """Can Label Studio's editor show a region of `kind` (not a tag: those are Choices
    answers, see `tag_results`) on `media_kind`? A video's `<Labels>` also marks time
    segments; documents and point clouds hold none."""
    if media_kind == "video" and kind == "time_segment":
        return True
    return kind in DRAWABLE.get(media_kind, ())


def _tag_names(label: str | None, ctx: WriteContext) -> tuple[str, str, str] | None:
    """(from_name, to_name, "choices") of the Choices control a tag is written to: the
    task-level one that lists `label` (generated configs call it "tags")."""
    config = ctx.config
    if config is None:
        tag, name = default_control("tag", ctx.media_kind) or ("Choices", "tags")
        return name, ctx.object_name(), tag.lower()
    control = next(
        (
            c
            for c in config.controls
            if c.kind == "choices" and not c.per_region and label in c.label_values
        ),
        None,
    )
    if control is None:
        return None
    return control.name, control.to_names[0] if control.to_names else ctx.object_name(), "choices"


def _size(extra: dict, ctx: WriteContext) -> tuple[int | None, int | None]:
    return extra.get("original_width", ctx.width), extra.get("original_height", ctx.height)


def _percent(shape, extra: dict, ctx: WriteContext):
    """(x-scale, y-scale, size keys) to turn the shape's units into percent, or None."""
    if shape.units == "percent":
        return 1.0, 1.0, {}
    width, height = _size(extra, ctx)
    if not width or not height:
        return None
    return 100.0 / width, 100.0 / height, {"original_width": width, "original_height": height}


def box_value(box: BBox, sx: float, sy: float) -> dict[str, float]:
    """A unified box as Label Studio's rectangle value (percent, pivot top-left)."""
    x, y = box.x, box.y
    if box.rotation:
        x, y, *_ = bbox_to_top_left_rotation(box)
    return {
        "x": x * sx,
        "y": y * sy,
        "width": box.width * sx,
        "height": box.height * sy,
        "rotation": box.rotation,
    }


# ------------------------------------------------------------------ fitting the image


def _clamp(value: float, low: float, high: float) -> float:
    """`value` moved into [low, high] (NaN becomes `low`)."""
    if not value >= low:
        return low
    return high if value > high else value


def _inside(value: float, size: float) -> bool:
    """Does `value` (in the shape's units) pass the reader's 0-100 % check on `size`?"""
    slack = size * TOLERANCE / 100
    return -slack <= value <= size + slack


def _fit_box(box: BBox, image_w: float, image_h: float) -> BBox | None:
    """`box` changed so that the reader accepts it, or None if it already does.

    An unrotated box is cut to the image. A rotated one (its pivot may be off the image, see
    `read_results.rotated_box_fault`) keeps its rotation: its size is cut to the image's
    diagonal and its centre moved onto the image."""
    if not math.isfinite(box.rotation):
        box = box.model_copy(update={"rotation": 0.0})
        return _fit_box(box, image_w, image_h) or box
    if not box.rotation:
        if all(
            _inside(v, s)
            for v, s in (
                (box.x, image_w),
                (box.y, image_h),
                (box.width, image_w),
                (box.height, image_h),
            )
        ):
            return None
        x1, x2 = _clamp(box.x, 0, image_w), _clamp(box.x + box.width, 0, image_w)
        y1, y2 = _clamp(box.y, 0, image_h), _clamp(box.y + box.height, 0, image_h)
        return box.model_copy(
            update={"x": x1, "y": y1, "width": max(x2 - x1, 0.0), "height": max(y2 - y1, 0.0)}
        )
    x, y, w, h, rotation = bbox_to_top_left_rotation(box)
    if rotated_box_fault(x, y, w, h, rotation, image_w, image_h) is None:
        return None
    diagonal = math.hypot(image_w, image_h)
    w, h = _clamp(box.width, 0, diagonal), _clamp(box.height, 0, diagonal)
    cx = _clamp(box.x + box.width / 2, 0, image_w)
    cy = _clamp(box.y + box.height / 2, 0, image_h)
    return box.model_copy(update={"x": cx - w / 2, "y": cy - h / 2, "width": w, "height": h})


def _fit_points(points, image_w: float, image_h: float):
    """`points` ((x, y) pairs) moved onto the image, or None if all are on it."""
    if all(_inside(x, image_w) and _inside(y, image_h) for x, y in points):
        return None
    return [(_clamp(x, 0, image_w), _clamp(y, 0, image_h)) for x, y in points]


def _fit_ellipse(shape: Ellipse, image_w: float, image_h: float) -> Ellipse | None:
    values = ((shape.cx, image_w), (shape.cy, image_h), (shape.rx, image_w), (shape.ry, image_h))
    if all(_inside(v, s) for v, s in values):
        return None
    return shape.model_copy(
        update={
            "cx": _clamp(shape.cx, 0, image_w),
            "cy": _clamp(shape.cy, 0, image_h),
            "rx": _clamp(shape.rx, 0, image_w),
            "ry": _clamp(shape.ry, 0, image_h),
        }
    )


def fitted(shape, sx: float, sy: float, ctx: WriteContext):
    """`shape` as Label Studio can hold it on the image (`sx`, `sy` turn its units into
    percent): shapes reaching off the image are clamped onto it, and the loss recorded."""
    image_w, image_h = 100.0 / sx, 100.0 / sy
    if isinstance(shape, BBox):
        fixed = _fit_box(shape, image_w, image_h)
    elif isinstance(shape, Ellipse):
        fixed = _fit_ellipse(shape, image_w, image_h)
    elif isinstance(shape, Polygon):
        points = _fit_points(shape.points, image_w, image_h)
        fixed = None if points is None else shape.model_copy(update={"points": points})
    elif isinstance(shape, Points):
        pairs = _fit_points([(p.x, p.y) for p in shape.points], image_w, image_h)
        fixed = (
            None
            if pairs is None
            else shape.model_copy(
                update={
                    "points": [
                        p.model_copy(update={"x": x, "y": y})
                        for p, (x, y) in zip(shape.points, pairs, strict=True)
                    ]
                }
            )
        )
    else:
        return shape
    if fixed is None:
        return shape
    ctx.lose(
        "clamped-to-image",
        "a shape reaching off the image was clamped onto it (Label "
        "Studio keeps coordinates in 0-100 % of the image; a rotated box keeps its "
        "rotation, its centre is moved onto the image)",
        severity="approximated",
    )
    return fixed


def _span_value(shape: Span, rest: dict, rtype: str, ctx: WriteContext) -> dict | None:
    """A span's value: paragraph spans name their paragraphs (`start`/`end`) and offsets in
    them; HyperText spans need the XPath ranges Label Studio wrote (`globalOffsets` only
    where the offsets are known); text spans need both offsets. None (and the loss
    recorded) for a span the editor could not place."""
    known = shape.start is not None and shape.end is not None
    if shape.container is not None or rtype == "paragraphlabels":
        if not known or shape.container is None:
            return _unplaceable(ctx, "a dialogue span without its paragraph and offsets")
        rest.setdefault("start", shape.container)
        rest.setdefault("end", shape.end_container or shape.container)
        value = {**rest, "startOffset": shape.start, "endOffset": shape.end}
    elif rtype == "hypertextlabels":
        if not all(isinstance(rest.get(k), str) for k in ("start", "end")):
            return _unplaceable(
                ctx,
                "a HyperText span without Label Studio's XPath range "
                "(start/end/startOffset/endOffset)",
            )
        value = dict(rest)
        if known:
            value["globalOffsets"] = {"start": shape.start, "end": shape.end}
    else:
        if not known:
            return _unplaceable(ctx, "a text span without character offsets")
        value = {**rest, "start": shape.start, "end": shape.end}
    if shape.text is not None:
        value["text"] = shape.text
    return value


def _unplaceable(ctx: WriteContext, what: str) -> None:
    ctx.lose(
        "span-unplaceable",
        f"{what} cannot be shown by Label Studio's editor; the region was left out",
    )
    return None


def _geometry_value(region: Region, rtype: str, ctx: WriteContext) -> tuple[dict, dict] | None:
    """(value without labels, size keys) of a region's shape, or None if impossible."""
    shape, extra = region.shape, region.extra
    rest = dict(extra.get("value") or {})
    if isinstance(shape, Span):
        value = _span_value(shape, rest, rtype, ctx)
        return None if value is None else (value, {})
    if isinstance(shape, TimeSegment):
        return {**rest, "start": shape.start, "end": shape.end}, {}
    if isinstance(shape, Tag):
        return rest, {}
    if isinstance(shape, Mask):
        height, width = shape.rle.size
        kept = rest.pop("rle", None)  # a soft brush's original RLE, while its mask is unchanged
        if kept is None or extra.get("brush_mask") != shape.rle.counts:
            from bridge_labelstudio.brush import rle_to_ls_rle  # numpy, here only

            kept = rle_to_ls_rle(shape.rle)
        return {"format": "rle", "rle": kept, **rest}, {
            "original_width": width,
            "original_height": height,
        }
    scale = _percent(shape, extra, ctx)
    if scale is None:
        ctx.lose(
            "size-unknown",
            "a pixel shape on an item without width/height cannot be "
            "written in percent; the region was left out",
        )
        return None
    sx, sy, sizes = scale
    shape = fitted(shape, sx, sy, ctx)
    if isinstance(shape, BBox):
        return {**box_value(shape, sx, sy), **rest}, sizes
    if isinstance(shape, Polygon):
        return {"points": [[x * sx, y * sy] for x, y in shape.points], **rest}, sizes
    if isinstance(shape, Ellipse):
        return {
            "x": shape.cx * sx,
            "y": shape.cy * sy,
            "radiusX": shape.rx * sx,
            "radiusY": shape.ry * sy,
            "rotation": shape.rotation,
            **rest,
        }, sizes
    if isinstance(shape, Points):
        point = shape.points[0]
        return {"x": point.x * sx, "y": point.y * sy, **rest}, sizes
    return None


def _labels(extra: dict, label: str | None) -> list[str]:
    labels = extra.get("labels")
    if labels and labels[0] == label:
        return list(labels)
    return [label] if label is not None else []


def region_results(region: Region, ctx: WriteContext) -> list[dict[str, Any]]:
    """The results of one region: its geometry result, then its per-region answers."""
    shape = region.shape
    kind = SHAPE_KIND.get(type(shape))
    if kind is None:
        ctx.lose(
            f"unsupported-{shape.type}",
            f"Label Studio has no {shape.type} tool; the region was left out",
        )
        return []
    if isinstance(shape, Tag):
        return tag_results([region], ctx)
    if isinstance(shape, Points) and len(shape.points) != 1:
        return _split_points(region, ctx)
    if region.frame is not None:
        ctx.lose(
            "single-frame-shape",
            "Label Studio has no single-frame video shapes; the region was left out",
        )
        return []
    extra = region.extra
    if "from_name" in extra:
        names = extra["from_name"], extra.get("to_name"), extra.get("type")
    else:
        if not _drawable(kind, ctx.media_kind):
            ctx.lose(
                f"unsupported-{kind}-on-{ctx.media_kind}",
                f"Label Studio cannot show "
                f"{kind} regions on {ctx.media_kind} items; the region was left out",
            )
            return []
        names = _names(kind, region.label, ctx)
        if names is None:
            ctx.lose(f"no-control-{kind}", f"the label config has no control for {kind} regions")
            return []
    labels = _labels(extra, region.label)
    if not named(labels, ctx):
        return []
    rtype = names[2]
    geometry = _geometry_value(region, rtype, ctx)
    if geometry is None:
        return []
    value, sizes = geometry
    labelled = extra.get("labels_result")  # a bare tool labelled by a <Labels> control
    if rtype.endswith("labels"):
        value[rtype] = labels
    elif labels and labelled is None:
        value["labels"] = labels
    result = {
        "id": region.id,
        "type": rtype,
        "from_name": names[0],
        "to_name": names[1],
        "value": value,
        **sizes,
    }
    result.update((k, v) for k, v in extra.items() if k not in WRITER_KEYS)
    if extra.get("no_id"):
        del result["id"]
    if region.score is not None:
        result["score"] = region.score
    if region.occluded:
        ctx.lose("occluded", "Label Studio has no occluded flag", severity="dropped")
    answers = [
        question_result(c, ctx, region.id, names[1], value, sizes) for c in region.classifications
    ]
    head = [result] if labelled is None else [result, _labels_result(result, labelled, labels)]
    return [*head, *(a for a in answers if a is not None)]


def named(labels: list, ctx: WriteContext) -> bool:
    """Are all `labels` names? An empty or null label name is never written: the loss is
    recorded and the element left out."""
    if all(isinstance(label, str) and label.strip() for label in labels):
        return True
    ctx.lose(
        "empty-label",
        "an element whose label name is empty or null cannot be written "
        "to Label Studio (its editor shows no such label); it was left out",
    )
    return False


def tag_results(tags: list[Region], ctx: WriteContext) -> list[dict[str, Any]]:
    """Tags (labels of the whole image) as Label Studio Choices answers: one result per
    Choices control, its choices the tags' labels in order (see `_tag_names`)."""
    by_control: dict[tuple, dict[str, Any]] = {}
    written = 0
    for region in tags:
        if region.frame is not None:
            ctx.lose(
                "single-frame-shape",
                "Label Studio has no single-frame video shapes; the region was left out",
            )
            continue
        if not named([region.label], ctx):
            continue
        names = _tag_names(region.label, ctx)
        if names is None:
            ctx.lose(
                "no-control-tag",
                "the label config has no Choices control listing this "
                "tag's label; the tag was left out",
            )
            continue
        result = by_control.get(names)
        if result is None:
            result = by_control[names] = {
                "id": region.id,
                "type": "choices",
                "from_name": names[0],
                "to_name": names[1],
                "value": {"choices": []},
            }
        choices = result["value"]["choices"]
        if region.label in choices:
            ctx.lose(
                "duplicate-tag",
                "a tag repeating another tag's label on the same item is "
                "one Label Studio choice; the repeat was left out",
            )
        else:
            choices.append(region.label)
            written += 1
        if region.classifications:
            ctx.losses.record(
                "tag-attributes-dropped",
                "Label Studio asks no questions about "
                "a Choices answer: a tag's attributes were left out",
                where=ctx.where,
                count=len(region.classifications),
            )
    if written:
        ctx.losses.record(
            "tag-as-choices",
            "tags became answers of a Label Studio Choices "
            "control (Label Studio has no tag regions): they read back as "
            "task-level classifications",
            where=ctx.where,
            severity="approximated",
            count=written,
        )
    return list(by_control.values())


def _labels_result(tool: dict[str, Any], entry: dict[str, Any], labels: list) -> dict[str, Any]:
    """The `labels` result naming a bare tool's label (`entry`: its control and the keys
    the reader kept), its value the tool's geometry unless the reader kept another."""
    rtype = entry["type"]
    key = rtype if rtype.endswith("labels") else "labels"
    geometry = entry.get("value", tool["value"])
    rest = {k: v for k, v in entry.items() if k not in ("type", "value")}
    ident = {"id": tool["id"]} if "id" in tool else {}
    return {**ident, "type": rtype, **rest, "value": {**geometry, key: labels}}


def _split_points(region: Region, ctx: WriteContext) -> list[dict[str, Any]]:
    ctx.lose(
        "points-split",
        "a multi-point shape became one Label Studio keypoint per point",
        severity="approximated",
    )
    results = []
    for index, point in enumerate(region.shape.points):
        label = point.label or region.label
        single = region.model_copy(
            update={
                "id": region.id if index == 0 else f"{region.id}-{index}",
                "label": label,
                "shape": Points(points=[point], units=region.shape.units),
            }
        )
        results.extend(region_results(single, ctx))
    return results


# ------------------------------------------------------------------------ questions


def _flatten_taxonomy(answer) -> list[list[str]]:
    if not answer.classifications:
        return [[str(answer.value)]]
    paths = []
    for child in answer.classifications:
        for sub in child.answers:
            paths.extend([str(answer.value), *p] for p in _flatten_taxonomy(sub))
    return paths


def question_control(name: str, ctx: WriteContext):
    """The config's control for question `name` (generated configs make names safe, see
    `ontology.SAFE_NAME`), or None."""
    if ctx.config is None:
        return None
    return ctx.config.control(name) or ctx.config.control(SAFE_NAME.sub("_", name))


def _question_type(cls: Classification, ctx: WriteContext) -> str:
    """The result type of an answer: as read from Label Studio, else its control's, else
    "number" for numbers, else "choices"."""
    if "type" in cls.extra:
        return cls.extra["type"]
    control = question_control(cls.name, ctx)
    if control is not None:
        return control.kind
    if cls.answers and all(
        isinstance(a.value, int | float) and not isinstance(a.value, bool) for a in cls.answers
    ):
        return "number"
    return "choices"


def _nested_answers_lost(cls: Classification, ctx: WriteContext) -> None:
    nested = sum(len(answer.classifications) for answer in cls.answers)
    if nested:
        ctx.losses.record(
            "nested-answers-dropped",
            "Label Studio has no sub-questions under "
            "an answer (outside Taxonomy): the nested answers were left out",
            where=ctx.where,
            count=nested,
        )


def question_result(
    cls: Classification,
    ctx: WriteContext,
    region_id: str | None,
    to_name: str | None,
    region_value: dict | None,
    sizes: dict | None = None,
) -> dict[str, Any] | None:
    """A per-region (region_id given) or task-level answer as a result; None (the loss
    recorded) for another tool's answer the label config has no control for."""
    if (
        "type" not in cls.extra
        and ctx.config is not None
        and question_control(cls.name, ctx) is None
    ):
        ctx.lose(
            "no-control-question",
            "the label config has no control for this question "
            "(its ontology does not list it); the answer was left out",
        )
        return None
    rtype = _question_type(cls, ctx)
    if rtype == "taxonomy":
        raw: Any = [path for answer in cls.answers for path in _flatten_taxonomy(answer)]
    else:
        _nested_answers_lost(cls, ctx)
        raw = [answer.value for answer in cls.answers]
        if rtype == "textarea":
            raw = [str(value) for value in raw]
        if cls.extra.get("scalar") or rtype in ("number", "rating", "datetime"):
            raw = raw[0] if raw else None
    extra = cls.extra
    value = dict(extra.get("value") or {})
    if region_value is not None:
        keys = extra.get("region_value")
        if keys is None and "type" not in extra:  # a foreign answer: repeat the geometry
            keys = [k for k in region_value if not k.endswith("labels")]
        value.update((k, region_value[k]) for k in keys or () if k in region_value)
    value[QUESTION_KEY.get(rtype, rtype)] = raw
    rid = region_id if region_id is not None else extra.get("id") or f"{cls.name}"
    control = question_control(cls.name, ctx) if "type" not in extra else None
    if control is not None and rtype == "choices" and control.kind == "choices":
        _strays(raw, control, ctx)
    result = {
        "id": rid,
        "type": rtype,
        "from_name": control.name if control else cls.name,
        "to_name": extra.get("to_name") or to_name or _control_to_name(cls.name, ctx),
        "value": value,
    }
    if region_id is not None and sizes and "original_width" not in extra and "type" not in extra:
        result.update(sizes)
    result.update((k, v) for k, v in extra.items() if k not in WRITER_KEYS)
    if region_id is None and "id" in extra and extra["id"] is None:
        del result["id"]  # it had none
    for size_key in ("original_width", "original_height"):
        if size_key in extra:
            result[size_key] = extra[size_key]
    return result


def _strays(answers: list, control, ctx: WriteContext) -> None:
    """Record the answers its Choices control does not offer (the editor shows none)."""
    offered = set(control.label_values)
    strays = sum(
        (str(v).lower() if isinstance(v, bool) else str(v)) not in offered for v in answers
    )
    if strays:
        ctx.losses.record(
            "answer-not-in-config",
            "a Choices answer that is not one of its "
            "control's choices is written, but Label Studio's editor shows only "
            "the choices its config lists",
            where=ctx.where,
            severity="unmapped",
            count=strays,
        )


def _control_to_name(name: str, ctx: WriteContext) -> str:
    control = question_control(name, ctx)
    if control is not None and control.to_names:
        return control.to_names[0]
    return ctx.object_name()


def relation_result(relation: Relation, ctx: WriteContext) -> dict[str, Any] | None:
    """A relation as a `relation` result (None, the loss recorded, if a label is empty)."""
    extra = relation.extra
    labels = _labels(extra, relation.label)
    if not named(labels, ctx):
        return None
    result = {
        "from_id": relation.from_id,
        "to_id": relation.to_id,
        "type": "relation",
        "direction": extra.get("direction") or DIRECTION_NAMES[relation.direction],
        "labels": labels,
    }
    result.update((k, v) for k, v in extra.items() if k not in ("labels", "direction"))
    return result


# --------------------------------------------------------------------------- tracks


def _sequence_step(keyframe, sizes_scale, ctx: WriteContext, enabled: bool) -> dict[str, Any]:
    sx, sy = sizes_scale
    box = fitted(keyframe.shape, sx, sy, ctx)
    step = {"frame": keyframe.frame + 1, "enabled": enabled, **box_value(box, sx, sy)}
    step.update(keyframe.extra)
    if keyframe.classifications:
        step[KEYFRAME_ATTRIBUTES] = [
            c.model_dump(mode="json", exclude_defaults=True) for c in keyframe.classifications
        ]
        ctx.losses.record(
            "keyframe-attributes-hidden",
            "Label Studio's video editor has no per-frame attributes: the answers of a "
            "keyframe (CVAT mutable attributes, Labelbox per-frame answers) are kept in its "
            f"sequence step's `{KEYFRAME_ATTRIBUTES}`, which label-bridge reads back but the "
            "editor does not show",
            where=ctx.where,
            severity="unmapped",
            count=len(keyframe.classifications),
        )
    step.pop("enabled", None)
    step["enabled"] = enabled and keyframe.extra.get("enabled", True)
    if not keyframe.keyframe:
        step[INTERPOLATED] = True
    if "time" not in step and ctx.fps:
        step["time"] = (keyframe.frame + 1) / ctx.fps
    return step


def _interpolate(a: BBox, b: BBox | None, t: float) -> BBox:
    if b is None:
        return a
    mix = {
        k: getattr(a, k) + (getattr(b, k) - getattr(a, k)) * t
        for k in ("x", "y", "width", "height", "rotation")
    }
    return BBox(units=a.units, **mix)


def _end_segment(
    sequence: list, shown: Keyframe, written: bool, outside: Keyframe, scale, ctx: WriteContext
) -> None:
    """End the object's visible segment before `outside`: Label Studio hides it after a
    step with `enabled: false`, so the last shown frame (outside.frame - 1) needs a step.
    It is the last written keyframe if that is there, else the unified frame there (an
    interpolated one), else a box interpolated towards the outside keyframe's (held if it
    has none); the last two are marked so they read back as interpolated frames."""
    last = outside.frame - 1
    if shown.frame >= last and written:
        sequence[-1]["enabled"] = False
        return
    if shown.frame < last:
        gap = outside.frame - shown.frame
        box = _interpolate(shown.shape, outside.shape, (gap - 1) / gap)
        shown = Keyframe(frame=last, shape=box, keyframe=False)
    sequence.append(_sequence_step(shown, scale, ctx, False))


def _outside_while_hidden(ctx: WriteContext) -> None:
    ctx.lose(
        "outside-while-hidden",
        "an outside keyframe while the object is already out of "
        "view (after another outside keyframe, or before the track's first visible frame) "
        "has no form in Label Studio's sequence (a step always shows the object at its "
        "frame); it was left out, the frames shown are the same",
    )


def _frame_answers_dropped(keyframe: Keyframe, ctx: WriteContext) -> None:
    ctx.losses.record(
        "keyframe-attributes-dropped",
        "answers on a frame that has no step in "
        "Label Studio's sequence (an interpolated frame, an outside keyframe) "
        "that differ from the last step's were left out",
        where=ctx.where,
        count=len(keyframe.classifications),
    )


def _sequence(track: Track, scale, ctx: WriteContext) -> list[dict[str, Any]]:
    """The `sequence` of a box track: its drawn keyframes, and `enabled: false` where the
    object leaves the view (see `_end_segment`).

    Label Studio's sequence holds keyframes only; its player interpolates between them. So
    frames another tool exported as interpolated (`Keyframe.keyframe` False) are left out
    (`interpolated-frames-dropped`, approximated), except where Label Studio needs a step:
    where the object appears (the track's start, after an outside keyframe) and the last
    frame shown. Those are written marked `bridge_interpolated` and read back as
    interpolated frames. An outside keyframe while the object is already hidden cannot be
    written (`outside-while-hidden`)."""
    sequence: list[dict[str, Any]] = []
    shown, written, dropped = None, False, 0  # the last visible frame; is it a step?
    answers: list = []  # the answers of the last step written
    for keyframe in sorted(track.keyframes, key=lambda k: k.frame):
        if keyframe.occluded:
            ctx.lose("occluded", "Label Studio has no occluded flag")
        if keyframe.outside:
            if keyframe.classifications and keyframe.classifications != answers:
                _frame_answers_dropped(keyframe, ctx)
            if shown is None:
                _outside_while_hidden(ctx)
                continue
            dropped += not written and shown.frame < keyframe.frame - 1
            _end_segment(sequence, shown, written, keyframe, scale, ctx)
            shown = None
            continue
        if keyframe.shape is None:
            continue
        dropped += shown is not None and not written
        written = keyframe.keyframe or shown is None
        if written:
            sequence.append(_sequence_step(keyframe, scale, ctx, True))
            answers = keyframe.classifications
        elif keyframe.classifications and keyframe.classifications != answers:
            _frame_answers_dropped(keyframe, ctx)
        shown = keyframe
    dropped += shown is not None and not written
    if dropped:
        ctx.losses.record(
            "interpolated-frames-dropped",
            "Label Studio's video sequence holds keyframes only and its player interpolates "
            "between them: frames exported as interpolated were left out (Label Studio shows "
            "its own linear interpolation there)",
            where=ctx.where,
            severity="approximated",
            count=dropped,
        )
    return sequence


def track_result(track: Track, ctx: WriteContext) -> dict[str, Any] | None:
    """A track as a `videorectangle` result (see `_sequence`)."""
    extra = track.extra
    names = (
        (extra["from_name"], extra.get("to_name"), "videorectangle")
        if "from_name" in extra
        else _names("bbox", track.label, ctx)
        if ctx.media_kind == "video"
        else None
    )
    boxes = [k for k in track.keyframes if isinstance(k.shape, BBox)]
    if names is None or len(boxes) < len([k for k in track.keyframes if k.shape is not None]):
        ctx.lose(
            "unsupported-track",
            "Label Studio tracks only boxes, on videos, with a "
            "VideoRectangle control: a track of another shape (points, polygon, ...) or "
            "on another media was left out",
        )
        return None
    if not named(_labels(extra, track.label), ctx):
        return None
    scale = _percent(boxes[0].shape, extra, ctx) if boxes else (1.0, 1.0, {})
    if scale is None:
        ctx.lose(
            "size-unknown",
            "a pixel track on a video without width/height cannot be "
            "written in percent; the track was left out",
        )
        return None
    sequence = _sequence(track, scale[:2], ctx)
    value = {
        **(extra.get("value") or {}),
        "sequence": sequence,
        "labels": _labels(extra, track.label),
    }
    if "framesCount" not in value and ctx.frame_count is not None:
        value["framesCount"] = ctx.frame_count
    if "duration" not in value and ctx.duration is not None:
        value["duration"] = ctx.duration
    result = {
        "id": track.id,
        "type": "videorectangle",
        "from_name": names[0],
        "to_name": names[1] or ctx.object_name(),
        "value": value,
        **scale[2],
    }
    result.update((k, v) for k, v in extra.items() if k not in WRITER_KEYS)
    if track.score is not None:
        result["score"] = track.score
    return result
