"""Pascal VOC annotation XML <-> unified `Item` (pure: no disk, no network).

One VOC annotation file describes one image: `folder`, `filename`, `size` (width, height,
depth) and one `object` per box: `name` (the class), `pose`, `truncated`, `difficult`,
`occluded` and `bndbox` (`xmin ymin xmax ymax`).

**Coordinates**: VOC boxes are integer *pixel indices*, 1-based, with `xmax`/`ymax`
inclusive (the VOC devkit; detectron2's `load_voc_instances` subtracts 1 from xmin/ymin to
reach 0-based continuous coordinates). So a unified box (continuous pixels, top-left origin)
is `x = xmin - 1`, `y = ymin - 1`, `width = xmax - xmin + 1`, `height = ymax - ymin + 1`,
and back `xmin = x + 1`, `xmax = x + width` (rounded to whole pixels; a box that was not
on whole pixels is reported as `voc-rounded`).

`pose`, `truncated` and `difficult` become region classifications of those names (as
Datumaro reads them) unless they hold VOC's defaults (`Unspecified`, 0, 0: what the writer
puts when there is no answer, so a read and write gives the file back), `occluded` the
region's `occluded`; other per-object attributes ride
in an `<attributes><attribute><name/><value/></attribute></attributes>` block (CVAT's and
Datumaro's VOC extension), read back as classifications. So does a `truncated` or
`difficult` answer that is not a flag, and a `pose`, `truncated` or `difficult` with several
answers or sub-questions (VOC's own fields hold one value).

What VOC cannot hold, the writer reports (`LossReport`), never drops silently:

| unified | in VOC | loss code |
|---|---|---|
| rotated box | the axis-aligned box around it | `voc-rotation` (approximated) |
| polygon, polyline, points, skeleton, ellipse, cuboid, mask | the box around it (`-O shapes=bbox`, default) or nothing (`-O shapes=drop`) | `voc-shape-as-bbox` (approximated) / `voc-shape-dropped` |
| box partly outside the image | clipped to the image | `voc-box-clipped` (approximated) |
| fractional pixel coordinates | rounded | `voc-rounded` (approximated) |
| control characters in names and values | removed (XML 1.0 cannot hold them) | `voc-xml-characters` (approximated) |
| spans, time segments, tags, 3D cuboids | nothing | `voc-region-kind` |
| a region without a label | nothing (`<name>` is required) | `voc-unlabeled` |
| tracks, relations, set-level classifications, reviews | nothing | `voc-tracks`, `voc-relations`, `voc-set-classifications`, `voc-reviews` |
| a second (third, ...) annotation set of an image | nothing (one file per image) | `voc-extra-sets` |
| text, audio, video items | nothing | `voc-media` |
| a shape in percent of an unknown image size | nothing | `voc-size-unknown` |
"""

from __future__ import annotations

import math
import re
from typing import Any
from xml.etree.ElementTree import Element, SubElement, indent, tostring

from bridge.errors import FormatError
from bridge.geometry.coords import bbox_corners
from bridge.losses import LossReport
from bridge.schema import (
    AnnotationSet,
    Answer,
    BBox,
    Classification,
    Cuboid,
    Ellipse,
    Item,
    Mask,
    Media,
    Points,
    Polygon,
    Polyline,
    Region,
    Shape,
    Skeleton,
)
from bridge.units import shape_to_pixels

TOOL = "voc"
OBJECT_FIELDS = ("pose", "truncated", "difficult")
"""Per-object VOC fields that become classifications of the same name."""
FLAG_FIELDS = ("truncated", "difficult")
DEFAULT_POSE = "Unspecified"
OUTLINE_KINDS = ("polygon", "polyline", "points", "skeleton", "ellipse", "cuboid", "mask")
"""Shapes whose enclosing box VOC can hold (`-O shapes=bbox`)."""
SHAPE_CHOICES = ("bbox", "drop")
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
"""A character XML 1.0 cannot hold, even escaped."""


# ------------------------------------------------------------------------------ read


def _text(node: Element | None) -> str | None:
    if node is None or node.text is None:
        return None
    return node.text.strip()


def _number(node: Element, tag: str, where: str) -> float:
    raw = _text(node.find(tag))
    try:
        value = float(raw) if raw is not None else math.nan
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise FormatError(
            f"<{tag}> is {raw!r}, not a number",
            where=where,
            hint="VOC coordinates and sizes are pixel numbers",
        )
    return value


def _size(root: Element, where: str) -> tuple[int | None, int | None, int | None]:
    size = root.find("size")
    if size is None:
        return None, None, None
    values: list[int | None] = []
    for tag in ("width", "height", "depth"):
        if _text(size.find(tag)) in (None, ""):
            values.append(None)
            continue
        value = _number(size, tag, f"{where} <size>")
        if value != int(value) or value < 0:
            raise FormatError(
                f"<size><{tag}> is {value}, not a whole number of pixels",
                where=where,
                hint="VOC sizes are whole, non-negative numbers",
            )
        values.append(int(value) or None)  # 0 means unknown (some writers put 0)
    return values[0], values[1], values[2]


def _flag(raw: str | None, tag: str, where: str) -> bool:
    if raw in ("0", "1"):
        return raw == "1"
    if raw is not None and raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    raise FormatError(f"<{tag}> is {raw!r}, not 0 or 1", where=where, hint="VOC flags are 0 or 1")


def _box(obj: Element, where: str) -> BBox:
    bndbox = obj.find("bndbox")
    if bndbox is None:
        raise FormatError(
            "an <object> has no <bndbox>", where=where, hint="every VOC object has a box"
        )
    xmin, ymin, xmax, ymax = (
        _number(bndbox, tag, where) for tag in ("xmin", "ymin", "xmax", "ymax")
    )
    if xmax < xmin or ymax < ymin:
        raise FormatError(
            f"the box ends before it starts (xmin {xmin}, xmax {xmax}, ymin {ymin}, ymax {ymax})",
            where=where,
            hint="xmax must be at least xmin and ymax at least ymin",
        )
    return BBox(x=xmin - 1, y=ymin - 1, width=xmax - xmin + 1, height=ymax - ymin + 1)


def _attributes(obj: Element, where: str) -> list[Classification]:
    found = []
    for field in OBJECT_FIELDS:
        raw = _text(obj.find(field))
        if raw is None:
            continue
        value: str | bool = _flag(raw, field, where) if field in FLAG_FIELDS else raw
        if value in (False, DEFAULT_POSE):
            continue  # VOC's defaults: what the writer puts when there is no answer
        found.append(Classification(name=field, answers=[Answer(value=value)]))
    block = obj.find("attributes")
    for attribute in block.findall("attribute") if block is not None else []:
        name = _text(attribute.find("name"))
        if not name:
            raise FormatError(
                "an <attribute> has no <name>", where=where, hint="name every attribute"
            )
        found.append(
            Classification(name=name, answers=[Answer(value=_text(attribute.find("value")) or "")])
        )
    return found


def item_from_xml(root: Element, *, where: str, fallback_key: str) -> Item:
    """The `Item` one VOC annotation file (its parsed `root`) describes; `where` locates
    errors, `fallback_key` is the key when the file has no `<filename>`."""
    if root.tag != "annotation":
        raise FormatError(
            f"the root element is <{root.tag}>, not <annotation>",
            where=where,
            hint="a Pascal VOC file has one <annotation> per image",
        )
    filename = _text(root.find("filename")) or fallback_key
    width, height, depth = _size(root, where)
    regions = []
    for index, obj in enumerate(root.findall("object"), start=1):
        here = f"{where} <object> {index}"
        label = _text(obj.find("name"))
        if not label:
            raise FormatError(
                "an <object> has no <name>", where=here, hint="name every object's class"
            )
        occluded = obj.find("occluded")
        regions.append(
            Region(
                id=str(index),
                label=label,
                shape=_box(obj, here),
                occluded=occluded is not None and _flag(_text(occluded), "occluded", here),
                classifications=_attributes(obj, here),
            )
        )
    voc: dict[str, Any] = {}
    for tag in ("folder", "path", "segmented"):
        value = _text(root.find(tag))
        if value is not None and not (tag == "segmented" and value == "0"):  # 0: the default
            voc[tag] = value
    if depth is not None:
        voc["depth"] = depth
    aset = AnnotationSet(id=f"{TOOL}:{filename}", regions=regions)
    return Item(
        key=filename,
        media=Media(kind="image", uri=filename, width=width, height=height),
        annotation_sets=[aset] if regions else [],
        extra={TOOL: voc} if voc else {},
    )


# ----------------------------------------------------------------------------- write


def _pixel_shape(shape: Shape, item: Item, losses: LossReport, where: str) -> Shape | None:
    if shape.units == "px":
        return shape
    width, height = item.media.width, item.media.height
    if width is None or height is None:
        losses.record(
            "voc-size-unknown",
            "shape in percent of an image whose pixel size is unknown (give -O media_size=WxH)",
            where=where,
        )
        return None
    return shape_to_pixels(shape, width, height)


def _extent(points: list[tuple[float, float]]) -> tuple[float, float, float, float] | None:
    if not points:
        return None
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return min(xs), min(ys), max(xs), max(ys)


def _outline_box(shape: Shape) -> tuple[float, float, float, float] | None:
    """(x0, y0, x1, y1) around a shape VOC can only hold as a box (None: nothing to box)."""
    if isinstance(shape, Mask):
        from bridge.geometry.masks import rle_bbox

        x, y, w, h = rle_bbox(shape.rle)
        return (x, y, x + w, y + h) if w > 0 and h > 0 else None
    if isinstance(shape, Ellipse):  # the (rotated) box around the ellipse: a safe bound
        around = BBox(
            x=shape.cx - shape.rx,
            y=shape.cy - shape.ry,
            width=2 * shape.rx,
            height=2 * shape.ry,
            rotation=shape.rotation,
        )
        return _extent(bbox_corners(around))
    if isinstance(shape, Points | Skeleton):
        return _extent([(p.x, p.y) for p in shape.points if p.visibility != "absent"])
    if isinstance(shape, Polygon | Polyline | Cuboid):
        return _extent(list(shape.points))
    return None


def region_box(
    region: Region, item: Item, losses: LossReport, where: str, *, shapes: str = "bbox"
) -> tuple[int, int, int, int] | None:
    """The VOC `(xmin, ymin, xmax, ymax)` of `region`, or None when VOC cannot hold it
    (the loss is recorded)."""
    shape = _pixel_shape(region.shape, item, losses, where)
    if shape is None:
        return None
    if isinstance(shape, BBox):
        if shape.rotation % 360:
            losses.record(
                "voc-rotation",
                "rotated box written as the axis-aligned box around it",
                where=where,
                severity="approximated",
            )
            around = _extent(bbox_corners(shape))
            assert around is not None  # a box has four corners
            corners = around
        else:
            corners = (shape.x, shape.y, shape.x + shape.width, shape.y + shape.height)
    elif shape.type in OUTLINE_KINDS:
        outline = _outline_box(shape) if shapes == "bbox" else None
        if outline is None:
            losses.record(
                "voc-shape-dropped",
                f"{shape.type} regions have no VOC form (-O shapes=drop, or nothing to box)",
                where=where,
            )
            return None
        losses.record(
            "voc-shape-as-bbox",
            "polygons, lines, points, ellipses, cuboids and masks written as the box around them",
            where=where,
            severity="approximated",
        )
        corners = outline
    else:
        losses.record(
            "voc-region-kind",
            "spans, time segments, tags and 3D cuboids have no place in VOC",
            where=where,
        )
        return None
    return _whole_pixels(corners, item, losses, where)


def _whole_pixels(
    corners: tuple[float, float, float, float], item: Item, losses: LossReport, where: str
) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = corners
    if any(value != round(value) for value in corners):
        losses.record(
            "voc-rounded",
            "box coordinates rounded to whole pixels",
            where=where,
            severity="approximated",
        )
    xmin, ymin, xmax, ymax = round(x0) + 1, round(y0) + 1, round(x1), round(y1)
    width, height = item.media.width, item.media.height
    left, top = _clip(xmin, 1, width), _clip(ymin, 1, height)
    clipped = (left, top, _clip(xmax, left, width), _clip(ymax, top, height))
    if clipped != (xmin, ymin, xmax, ymax):
        losses.record(
            "voc-box-clipped",
            "box reaching outside the image (or thinner than a pixel) clipped to whole pixels inside it",
            where=where,
            severity="approximated",
        )
    return clipped


def _clip(value: int, low: int, high: int | None) -> int:
    """`value` within [low, high] (no upper bound when `high` is None)."""
    value = max(low, value)
    return value if high is None else max(low, min(value, high))


def _answer_text(classification: Classification) -> str:
    value = classification.answers[0].value if classification.answers else ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _fits_voc_field(classification: Classification) -> bool:
    """Whether `classification` is one answer VOC's own `<pose>`, `<truncated>` or
    `<difficult>` can hold (a flag reads back only as 0/1, true/false); any other goes to
    the `<attributes>` block."""
    if classification.name not in OBJECT_FIELDS or len(classification.answers) != 1:
        return False
    if classification.answers[0].classifications:
        return False
    text = _answer_text(classification).lower()
    return classification.name not in FLAG_FIELDS or text in ("0", "1", "true", "false")


def _add(parent: Element, tag: str, text: str) -> Element:
    node = SubElement(parent, tag)
    node.text = text
    return node


def _object(
    region: Region, box: tuple[int, int, int, int], losses: LossReport, where: str
) -> Element:
    obj = Element("object")
    assert region.label  # item_to_xml reports unlabeled regions
    _add(obj, "name", region.label)
    fields = {c.name: c for c in region.classifications if _fits_voc_field(c)}
    _add(obj, "pose", _answer_text(fields["pose"]) if "pose" in fields else DEFAULT_POSE)
    for flag in FLAG_FIELDS:
        _add(obj, flag, _answer_text(fields[flag]) if flag in fields else "0")
    _add(obj, "occluded", "1" if region.occluded else "0")
    bndbox = SubElement(obj, "bndbox")
    for tag, value in zip(("xmin", "ymin", "xmax", "ymax"), box, strict=True):
        _add(bndbox, tag, str(value))
    others = [c for c in region.classifications if c is not fields.get(c.name)]
    if others:
        block = SubElement(obj, "attributes")
        for classification in others:
            if len(classification.answers) != 1 or any(
                a.classifications for a in classification.answers
            ):
                losses.record(
                    "voc-attribute-values",
                    "an attribute with several answers or nested questions keeps its first answer only",
                    where=where,
                    severity="approximated",
                )
            attribute = SubElement(block, "attribute")
            _add(attribute, "name", classification.name)
            _add(attribute, "value", _answer_text(classification))
    return obj


def item_to_xml(
    item: Item, filename: str, folder: str, losses: LossReport, *, shapes: str = "bbox"
) -> bytes | None:
    """The VOC annotation file of `item` (its first annotation set), or None for an item
    VOC cannot describe (not an image: the loss is recorded)."""
    where = f"item {item.key!r}"
    if item.media.kind != "image":
        losses.record("voc-media", "VOC describes images only: other items skipped", where=where)
        return None
    root = Element("annotation")
    voc = item.extra.get(TOOL) if isinstance(item.extra.get(TOOL), dict) else {}
    _add(root, "folder", folder)
    _add(root, "filename", filename)
    if isinstance(voc.get("path"), str):  # labelImg's absolute image path, kept as read
        _add(root, "path", voc["path"])
    size = SubElement(root, "size")
    depth = voc.get("depth")
    _add(size, "width", str(item.media.width or 0))
    _add(size, "height", str(item.media.height or 0))
    _add(size, "depth", str(depth if isinstance(depth, int) else 3))
    _add(root, "segmented", str(voc.get("segmented", "0")))
    sets = item.annotation_sets
    if len(sets) > 1:
        losses.record(
            "voc-extra-sets",
            "VOC holds one annotation per image: only the first selected set is written "
            "(choose one with --sets)",
            where=where,
            count=len(sets) - 1,
        )
    for aset in sets[:1]:
        _report_set_losses(aset, losses, where)
        for region in aset.regions:
            here = f"{where} region {region.id!r}"
            if not region.label:  # None or "": <name> must name a class
                losses.record(
                    "voc-unlabeled",
                    "a region without a label has no VOC object (<name> is required)",
                    where=here,
                )
                continue
            box = region_box(region, item, losses, here, shapes=shapes)
            if box is not None:
                root.append(_object(region, box, losses, here))
    _drop_unwritable_characters(root, losses, where)
    indent(root, space="  ")
    return tostring(root, encoding="utf-8", xml_declaration=False) + b"\n"


def _drop_unwritable_characters(root: Element, losses: LossReport, where: str) -> None:
    """Remove from every text under `root` the characters XML 1.0 cannot hold (controls,
    lone surrogates): written as they are, they make a file no XML parser reads."""
    changed = False
    for node in root.iter():
        if node.text and NOT_XML.search(node.text):
            node.text = NOT_XML.sub("", node.text)
            changed = True
    if changed:
        losses.record(
            "voc-xml-characters",
            "control characters (which XML 1.0 cannot hold) removed from names and values",
            where=where,
            severity="approximated",
        )


def _report_set_losses(aset: AnnotationSet, losses: LossReport, where: str) -> None:
    for code, count, message in (
        ("voc-tracks", len(aset.tracks), "VOC has no tracks"),
        ("voc-relations", len(aset.relations), "VOC has no relations"),
        ("voc-set-classifications", len(aset.classifications), "VOC has no image-level answers"),
        ("voc-reviews", len(aset.reviews), "VOC has no reviews of an annotation"),
    ):
        if count:
            losses.record(code, message, where=where, count=count)
