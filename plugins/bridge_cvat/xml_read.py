"""Streaming reader of "CVAT for images 1.1" and "CVAT for video 1.1" XML.

The file is fed to expat in 16 KiB chunks through defusedxml's parser (a DOCTYPE, entity
declarations and external references are refused, so a billion-laughs file fails at its
first declaration). Handlers build CVAT dicts directly, without an element tree: an
`<image>` becomes one `Item` as soon as it closes, so memory stays flat however large the
file is. A CVAT-for-video file holds one `Item` per task (its tracks), built at the end.

XML layout (CVAT terms): `<annotations><version/><meta>` with the `<project>` (its `<tasks>`)
or the `<task>`: id, name, size, mode, overlap, start_frame, stop_frame, frame_filter
("step=N"), `<segments>` (a segment is a job's frame range), owner, assignee, `<labels>`,
original_size; then `<image id name [subset task_id] width height>` with shapes and tags
(images), or `<track id label [task_id subset] [source] [group_id]>` with one shape per
frame carrying `frame keyframe outside occluded` (video).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO
from xml.parsers import expat

import orjson
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser
from pydantic import ValidationError

from bridge.errors import BridgeError, FormatError, describe_validation_error
from bridge.formats import Dataset, ItemRecords
from bridge.limits import DEFAULT_MAX_PIXELS, check_pixels
from bridge.losses import LossReport
from bridge.schema import AnnotationSet, Annotator, Item, Media, Project, Region, SourceRef, Track
from bridge_cvat.convert import (
    attributes_to_classifications,
    check_label,
    ellipse_dict,
    geometry_dict,
    shape_to_region_dict,
    tag_to_region_dict,
    track_to_unified,
    validated,
)
from bridge_cvat.job_states import job_status
from bridge_cvat.ontology import CUBOID_KEYS, LabelIndex, labels_to_ontology
from bridge_cvat.xml_meta import CvatMeta, TaskInfo, parse_labels_node

CHUNK = 1 << 14
"""Bytes fed to expat at a time. Small, so finished images are converted before the
cyclic GC sees them survive and promotes them: 1 MiB chunks made parsing ~25% slower."""
SHAPE_TAGS = frozenset(
    {"box", "polygon", "polyline", "points", "ellipse", "cuboid", "mask", "skeleton"}
)
FLAG_KEYS = ("occluded", "outside", "keyframe")
BOX_KEYS = ("xtl", "ytl", "xbr", "ybr")
ELLIPSE_KEYS = ("cx", "cy", "rx", "ry")


# ------------------------------------------------------------------ attribute parsing


def _plain(text: str) -> bool:
    """False for number text Python reads but no tool writes: digit groups ("1_0") and
    non-ASCII digits ("１"). `float()` and `int()` accept both; CVAT never writes them."""
    return text.isascii() and "_" not in text


def _finite(text: str, what: str, where: str) -> float:
    try:
        value = float(text) if _plain(text) else None
    except ValueError:
        value = None
    if value is None:
        raise FormatError(f"{what}={text!r} is not a number", where=where) from None
    if not math.isfinite(value):
        raise FormatError(f"{what}={text!r} is not a finite number", where=where)
    return value


def _number(attrs: dict[str, str], key: str, where: str) -> float:
    if key not in attrs:
        raise FormatError(f"missing attribute {key!r}", where=where)
    return _finite(attrs[key], key, where)


def _integer(text: str, key: str, where: str) -> int:
    try:
        if _plain(text):
            return int(text)
    except ValueError:
        pass
    raise FormatError(f"{key}={text!r} is not an integer", where=where)


def _json_floats(numbers: str, count: int) -> list[float] | None:
    """The fast path for numeric attribute text: `numbers` ("1.5,2.25,...", comma-separated)
    parsed by orjson in C, about 3x faster than `float()` per value. None unless it is
    exactly `count` JSON values, each written with a decimal point, that sum to a finite
    number. Then all are floats: a summable non-float (an integer, true) has no point, so
    the points could only come from a value with two, which is not a number and makes the
    sum fail. NaN and infinity are not JSON; integers ("-0" keeps its sign), exponents
    without a point and overflowing sums take the slow paths."""
    if numbers.count(".") != count:
        return None
    try:
        values = orjson.loads(f"[{numbers}]")
        if len(values) == count and math.isfinite(sum(values)):
            return values
    except (orjson.JSONDecodeError, TypeError):
        pass
    return None


def _python_floats(numbers: list[str]) -> list[float] | None:
    """The second path: `float()` of each (integers, "1.", " 1e3"...), finite sum; None
    when one is not plain ASCII number text (the checked path says which)."""
    if not all(map(_plain, numbers)):
        return None
    try:
        values = list(map(float, numbers))
    except ValueError:
        return None
    return values if math.isfinite(sum(values)) else None


def _numbers(attrs: dict[str, str], keys: tuple[str, ...], where: str) -> list[float]:
    """Several numeric attributes; the slow path says which is missing or wrong."""
    try:
        texts = list(map(attrs.__getitem__, keys))
    except KeyError:
        texts = None
    values = texts and (_json_floats(",".join(texts), len(keys)) or _python_floats(texts))
    return values or [_number(attrs, key, where) for key in keys]


def parse_point_list(text: str, where: str) -> list[float]:
    """CVAT "x1,y1;x2,y2;..." -> flat [x1, y1, x2, y2, ...]."""
    numbers, count = text.replace(";", ","), 2 * (text.count(";") + 1)
    flat = _json_floats(numbers, count)
    if flat is None:
        flat = _python_floats(numbers.split(","))
        flat = flat if flat is not None and len(flat) == count else None
    return flat if flat is not None else _parse_point_list_checked(text, where)


def _parse_point_list_checked(text: str, where: str) -> list[float]:
    flat: list[float] = []
    if not text.strip():
        return flat
    for pair in text.split(";"):
        coords = pair.split(",")
        if len(coords) != 2:
            raise FormatError(
                f"point {pair!r} is not an x,y pair",
                where=where,
                hint='points are written "x1,y1;x2,y2;..."',
            )
        flat.append(_finite(coords[0], "point x", where))
        flat.append(_finite(coords[1], "point y", where))
    return flat


def _mask_points(attrs: dict[str, str], where: str) -> list[float]:
    if "rle" not in attrs:
        raise FormatError("a mask has no rle", where=where)
    runs = [_integer(v, "mask rle", where) for v in attrs["rle"].split(",")]
    left, top = (_integer(attrs.get(k, ""), k, where) for k in ("left", "top"))
    width, height = (_integer(attrs.get(k, ""), k, where) for k in ("width", "height"))
    return [*runs, left, top, left + width - 1, top + height - 1]


def shape_points(tag: str, attrs: dict[str, str], where: str) -> list[float]:
    """The REST `points` of an XML shape element."""
    if tag == "box":
        return _numbers(attrs, BOX_KEYS, where)
    if tag == "ellipse":
        cx, cy, rx, ry = _numbers(attrs, ELLIPSE_KEYS, where)
        return [cx, cy, cx + rx, cy - ry]
    if tag == "cuboid":
        return _numbers(attrs, CUBOID_KEYS, where)
    if tag == "mask":
        return _mask_points(attrs, where)
    if tag == "skeleton":
        return parse_point_list(attrs.get("points", ""), where)
    if "points" not in attrs:
        raise FormatError(f"<{tag}> has no points", where=where)
    return parse_point_list(attrs["points"], where)


def shape_dict(tag: str, attrs: dict[str, str], where: str) -> dict[str, Any]:
    """An XML shape element's attributes -> a CVAT shape dict (label name, no elements)."""
    shape: dict[str, Any] = {
        "type": "rectangle" if tag == "box" else tag,
        "points": shape_points(tag, attrs, where),
        "attributes": [],
    }
    if "label" in attrs:
        shape["label"] = attrs["label"]
    for key in FLAG_KEYS:
        if key in attrs:
            shape[key] = attrs[key] == "1"
    if "frame" in attrs:
        shape["frame"] = _integer(attrs["frame"], "frame", where)
    if "z_order" in attrs:
        shape["z_order"] = _integer(attrs["z_order"], "z_order", where)
    if "group_id" in attrs:
        shape["group"] = _integer(attrs["group_id"], "group_id", where)
    if "rotation" in attrs:
        shape["rotation"] = _number(attrs, "rotation", where)
    if "source" in attrs:
        shape["source"] = attrs["source"]
    if tag == "skeleton":
        shape["elements"] = []
    return shape


def tag_dict(attrs: dict[str, str], where: str) -> dict[str, Any]:
    """An XML `<tag>` -> a CVAT tag dict."""
    tag: dict[str, Any] = {"label": attrs.get("label"), "attributes": []}
    if "group_id" in attrs:
        tag["group"] = _integer(attrs["group_id"], "group_id", where)
    if "source" in attrs:
        tag["source"] = attrs["source"]
    return tag


REGION_TAGS = SHAPE_TAGS - {"skeleton"}
"""Shapes of an `<image>` read straight into unified regions (skeletons take the CVAT-dict
path: their points arrive as child elements)."""


def image_region(
    tag: str,
    attrs: dict[str, str],
    size: tuple[int, int] | None,
    labels: LabelIndex,
    where: str | None,
) -> dict[str, Any]:
    """A shape element of an `<image>` -> its unified `Region` dict, without the id and the
    classifications (`_image_regions` adds them once the `<attribute>`s are read). What
    `shape_to_region_dict(shape_dict(...))` gives, in one step (the image hot path), except
    that an ellipse's radii are taken as written rather than through CVAT's corner point."""
    label = attrs.get("label") or None
    if label and label not in labels:
        check_label(label, labels, where)
    rotation = _number(attrs, "rotation", where) if "rotation" in attrs else 0.0
    if tag == "ellipse":
        cx, cy, rx, ry = _numbers(attrs, ELLIPSE_KEYS, where)
        geometry = ellipse_dict(cx, cy, rx, ry, rotation, where)
    else:
        kind = "rectangle" if tag == "box" else tag
        geometry = geometry_dict(kind, shape_points(tag, attrs, where), rotation, size, where)
    region: dict[str, Any] = {"label": label, "shape": geometry}
    if "occluded" in attrs:
        region["occluded"] = attrs["occluded"] == "1"
    if "z_order" in attrs:
        region["z_order"] = _integer(attrs["z_order"], "z_order", where)
    if "group_id" in attrs:
        group = _integer(attrs["group_id"], "group_id", where)
        if group:
            region["group"] = str(group)
    extra: dict[str, Any] = {}
    if attrs.get("source"):
        extra["source"] = attrs["source"]
    if attrs.get("outside") == "1":
        extra["outside"] = True
    if rotation and tag not in ("box", "ellipse"):
        extra["rotation"] = rotation
    if tag == "mask":
        left, top = (_integer(attrs[k], k, where) for k in ("left", "top"))
        extra["cvat_mask_crop"] = [
            left,
            top,
            _integer(attrs["width"], "width", where),
            _integer(attrs["height"], "height", where),
        ]
    if extra:
        region["extra"] = extra
    return region


def element_track_dict(attrs: dict[str, str], where: str) -> dict[str, Any]:
    """A `<track>` nested in a skeleton track (older layout): one point's track."""
    track: dict[str, Any] = {"label": attrs.get("label"), "attributes": []}
    track.update({k: v for k, v in attrs.items() if k in ("id", "source")})
    if "group_id" in attrs:
        track["group"] = _integer(attrs["group_id"], "group_id", where)
    return track


# ------------------------------------------------------------------ the parse state


Finished = tuple[dict[str, Any], list[tuple[dict[str, Any], int, str]], int]
"""A closed <image> or <track>: its XML attributes, its children (CVAT dict, line, kind:
shape | tag | element_track) and its line."""


@dataclass(slots=True)
class _Open:
    """An element being read that collects attributes and children."""

    kind: str  # image, track, shape, element, tag, element_track
    data: dict[str, Any]
    line: int
    children: list[Any] = field(default_factory=list)


NO_CHILDREN: Any = ()  # for the elements that never have children (regions)


class CvatXmlParser:
    """Expat handlers that turn CVAT XML into meta + CVAT dicts, one chunk at a time.

    Finished images go to `images` (a queue the reader drains after each chunk);
    finished tracks go to `tracks`. `meta` is set once `</meta>` has been read."""

    def __init__(self, where_prefix: str, max_pixels: int = DEFAULT_MAX_PIXELS):
        self.prefix = where_prefix
        self.max_pixels = max_pixels
        self.meta: CvatMeta | None = None
        self.labels = LabelIndex()  # from the meta, once read
        self.images: deque[Finished] = deque()
        self.tracks: deque[Finished] = deque()
        self.kind: str | None = None  # "images" or "video", from the first annotation element
        self._depth = 0
        self._meta_stack: list[list[Any]] | None = None
        self._meta_root: list[Any] | None = None
        self._text: list[str] = []
        self._open: list[_Open] = []
        self._attribute: str | None = None
        self._labels: list[dict[str, Any]] = []
        self._defused = DefusedXMLParser(forbid_dtd=True)
        parser = self._defused.parser
        parser.buffer_text = True
        parser.ordered_attributes = False
        parser.StartElementHandler = self._start
        parser.EndElementHandler = self._end
        self.expat = parser  # character data is collected only inside <meta> and <attribute>

    def where(self, line: int | None = None) -> str:
        return f"{self.prefix}:{line if line is not None else self.expat.CurrentLineNumber}"

    # -- feeding

    def feed(self, chunk: bytes, final: bool = False) -> None:
        try:
            self.expat.Parse(chunk, final)
        except expat.ExpatError as error:
            raise FormatError(
                f"not well-formed XML: {expat.ErrorString(error.code)}",
                where=self.where(error.lineno),
                hint="the file may be truncated or not CVAT XML",
            ) from None
        except LookupError as error:
            if type(error) is not LookupError:  # a KeyError or IndexError is a bug: let it show
                raise
            raise FormatError(
                f"{error}",
                where=self.where(1),
                hint="the XML declaration names an encoding Python does not know",
            ) from None
        except DefusedXmlException as error:
            raise FormatError(
                f"refused: {type(error).__name__} (DTDs and entity declarations are not allowed)",
                where=self.where(),
                hint="CVAT exports never declare entities; the file may be hostile",
            ) from None

    # -- expat handlers

    def _start(self, tag: str, attrs: dict[str, str]) -> None:
        self._depth += 1
        opened = self._open
        if opened:  # the hot paths: a shape in an <image>, an <attribute> in a shape
            parent = opened[-1]
            kind = parent.kind
            if kind == "image" and tag in REGION_TAGS:
                line = self.expat.CurrentLineNumber
                try:
                    size = (
                        _known_size(parent.data, None, self.max_pixels) if tag == "mask" else None
                    )
                    region = image_region(tag, attrs, size, self.labels, None)
                except FormatError as error:
                    error.where = error.where or f"{self.prefix}:{line}"
                    raise
                region["attributes"] = []
                parent.children.append((region, line, "region"))
                opened.append(_Open("region", region, line, NO_CHILDREN))  # for its <attribute>s
                return
            if kind == "image" and tag == "skeleton":
                line = self.expat.CurrentLineNumber
                try:
                    opened.append(_Open("shape", shape_dict(tag, attrs, None), line))
                except FormatError as error:
                    error.where = error.where or self.where(line)
                    raise
                return
            if (kind == "region" or kind == "shape") and tag == "attribute" and "name" in attrs:
                self._text.clear()
                self._attribute = attrs["name"]
                self.expat.CharacterDataHandler = self._text.append
                return
        self._text.clear()
        if self._meta_stack is not None:
            node = [tag, []]
            self._meta_stack[-1][1].append(node)
            self._meta_stack.append(node)
            return
        if self._depth == 1:
            if tag != "annotations":
                raise FormatError(
                    f"root element is <{tag}>, not <annotations>",
                    where=self.where(),
                    hint="this is not a CVAT XML file",
                )
        elif self._depth == 2:
            self._start_top(tag, attrs)
        else:
            self._start_inner(tag, attrs)

    def _start_top(self, tag: str, attrs: dict[str, str]) -> None:
        if tag == "meta":
            self._meta_root = ["meta", []]
            self._meta_stack = [self._meta_root]
            self.expat.CharacterDataHandler = self._text.append
        elif tag == "version":
            pass
        elif tag in ("image", "track"):
            if self.meta is None:
                raise FormatError(
                    f"<{tag}> before <meta>",
                    where=self.where(),
                    hint="a CVAT XML file declares its labels in <meta> first",
                )
            self._set_kind("images" if tag == "image" else "video")
            self._open.append(_Open(tag, dict(attrs), self.expat.CurrentLineNumber))
        else:
            raise FormatError(f"unexpected element <{tag}>", where=self.where())

    def _set_kind(self, kind: str) -> None:
        if self.kind is None:
            self.kind = kind
        elif self.kind != kind:
            raise FormatError(
                "a file mixes <image> and <track> elements",
                where=self.where(),
                hint="CVAT for images holds images, CVAT for video holds tracks",
            )

    def _start_inner(self, tag: str, attrs: dict[str, str]) -> None:
        line = self.expat.CurrentLineNumber
        parent = self._open[-1] if self._open else None
        if tag == "attribute":
            if parent is None or parent.kind in ("image", "track", "element_track"):
                raise FormatError("<attribute> outside a shape", where=self.where())
            if "name" not in attrs:
                raise FormatError("<attribute> without a name", where=self.where())
            self._attribute = attrs["name"]
            self.expat.CharacterDataHandler = self._text.append
            return
        if parent is None:
            raise FormatError(f"unexpected element <{tag}>", where=self.where())
        kind = self._child_kind(parent, tag)
        where = self.where(line)
        if kind == "tag":
            data = tag_dict(attrs, where)
        elif kind == "element_track":
            data = element_track_dict(attrs, where)
        else:
            data = shape_dict(tag, attrs, where)
        self._open.append(_Open(kind, data, line))

    def _child_kind(self, parent: _Open, tag: str) -> str:
        if parent.kind == "image":
            if tag == "tag":
                return "tag"
            if tag in SHAPE_TAGS:
                return "shape"
        elif parent.kind == "track":
            if tag == "track":
                return "element_track"
            if tag in SHAPE_TAGS:
                return "shape"
        elif (
            parent.kind == "shape"
            and parent.data["type"] == "skeleton"
            and tag in SHAPE_TAGS - {"skeleton"}
            or parent.kind == "element_track"
            and tag in SHAPE_TAGS - {"skeleton"}
        ):
            return "element"
        inside = parent.data.get("type") or parent.data.get("shape", {}).get("type") or parent.kind
        raise FormatError(
            f"unknown or misplaced shape <{tag}> inside <{inside}>",
            where=self.where(),
            hint="CVAT shapes are box, polygon, polyline, points, ellipse, cuboid, mask, skeleton, tag",
        )

    def _end(self, tag: str) -> None:
        self._depth -= 1
        if self._attribute is not None and tag == "attribute":  # never set inside <meta>
            value = "".join(self._text)
            self._open[-1].data["attributes"].append({"name": self._attribute, "value": value})
            self._attribute = None
            self.expat.CharacterDataHandler = None
        elif self._meta_stack is not None:
            self._end_meta(tag, "".join(self._text))
            self._text.clear()
        elif self._depth >= 2 or (self._depth == 1 and tag in ("image", "track")):
            self._close(self._open.pop())

    def _end_meta(self, tag: str, text: str) -> None:
        node = self._meta_stack.pop()
        if not node[1]:
            node[1] = text
        if tag == "labels" and len(self._meta_stack) >= 2:
            self._labels = parse_labels_node(node, self.where())
            node[1] = None
        if not self._meta_stack:
            self._meta_stack = None
            self.expat.CharacterDataHandler = None
            self.meta = CvatMeta.from_tree(
                self._meta_root, self._labels, self.where(), self.max_pixels
            )
            self.labels = LabelIndex.from_labels(self.meta.labels)

    def _close(self, done: _Open) -> None:
        if done.kind == "region":  # already among its image's children
            return
        if not self._open:
            queue = self.images if done.kind == "image" else self.tracks
            queue.append((done.data, done.children, done.line))
            return
        parent = self._open[-1]
        if done.kind == "element" and parent.kind == "shape":
            parent.data["elements"].append(done.data)
            return
        if done.kind == "element_track":
            done.data["shapes"] = [child for child, _, _ in done.children]
        parent.children.append((done.data, done.line, done.kind))


def iter_parse(handle: BinaryIO, parser: CvatXmlParser) -> Iterator[str]:
    """Feed `handle` to `parser` chunk by chunk; yield after each chunk so the caller can
    drain the queues. Yields "meta" once the meta is complete, "chunk" afterwards."""
    meta_seen = False
    while True:
        chunk = handle.read(CHUNK)
        parser.feed(chunk, final=not chunk)
        if parser.meta is not None and not meta_seen:
            meta_seen = True
            yield "meta"
        if not chunk:
            break
        yield "chunk"
    if parser.meta is None:
        raise FormatError(
            "no <meta> element", where=parser.where(), hint="this is not a CVAT XML export"
        )


# ------------------------------------------------------------------ CVAT dicts -> items


@dataclass
class ReadContext:
    """What every item conversion needs: the meta, the label index, where we are, and
    the (label, region kind) pairs the images used so far."""

    meta: CvatMeta
    labels: LabelIndex
    losses: LossReport
    path: Path
    image_kinds: set[tuple[str, str]] = field(default_factory=set)
    max_pixels: int = DEFAULT_MAX_PIXELS
    annotators: dict[int, dict[str, Any]] = field(default_factory=dict)

    def where(self, line: int) -> str:
        return f"{self.path}:{line}"

    def annotator_record(self, annotator: Annotator) -> dict[str, Any]:
        """A job's or task's assignee as record data, dumped once per person (the meta
        holds each `Annotator` for the whole read, so its id is stable)."""
        record = self.annotators.get(id(annotator))
        if record is None:
            record = annotator.model_dump(mode="json", exclude_defaults=True)
            self.annotators[id(annotator)] = record
        return record.copy()


def _size(
    attrs: dict[str, str], where: str | None, max_pixels: int = DEFAULT_MAX_PIXELS
) -> tuple[int | None, int | None]:
    """An `<image>`'s width and height (None when not given), positive and within the
    pixel budget."""
    width = _integer(attrs["width"], "width", where) if "width" in attrs else None
    height = _integer(attrs["height"], "height", where) if "height" in attrs else None
    if width is not None and height is not None:
        check_pixels(width, height, where=where, max_pixels=max_pixels)
    elif any(value is not None and value <= 0 for value in (width, height)):
        raise FormatError(f"image size {width}x{height} is not positive", where=where)
    return width, height


def _known_size(
    attrs: dict[str, str], where: str | None, max_pixels: int = DEFAULT_MAX_PIXELS
) -> tuple[int, int] | None:
    size = _size(attrs, where, max_pixels)
    return size if None not in size else None  # type: ignore[return-value]


def _image_regions(children, size, ctx: ReadContext) -> list[dict[str, Any]]:
    """The regions of an image as dicts (validated with their item)."""
    regions = []
    image_size = size if None not in size else None
    labels, losses, prefix, kinds = ctx.labels, ctx.losses, f"{ctx.path}:", ctx.image_kinds
    for index, (data, line, kind) in enumerate(children):
        if kind == "region":  # read straight into a region dict while parsing
            attributes = data.pop("attributes")
            data["id"] = str(index)
            if attributes:
                data["classifications"] = attributes_to_classifications(
                    attributes, data["label"], labels, losses, f"{prefix}{line}"
                )
            kinds.add((data["label"] or "", data["shape"]["type"]))
            regions.append(data)
            continue
        where = f"{prefix}{line}"
        if kind == "tag":
            region = tag_to_region_dict(data, labels, losses, where=where, region_id=str(index))
        else:
            region = shape_to_region_dict(
                data, labels, losses, where=where, region_id=str(index), image_size=image_size
            )
        kinds.add((region["label"] or "", region["shape"]["type"]))
        regions.append(region)
    return regions


def invalid_to_format_error(function):
    """Turn a pydantic ValidationError raised while building unified models into a
    FormatError at the element's line (the last argument before ctx is the line)."""

    def wrapper(attrs, children, line, ctx):
        try:
            return function(attrs, children, line, ctx)
        except ValidationError as error:
            raise FormatError(
                f"invalid value: {describe_validation_error(error)}", where=ctx.where(line)
            ) from None

    wrapper.__doc__ = function.__doc__
    return wrapper


REGION_LOCATION = ("annotation_sets", 0, "regions")


def validated_item(item: dict[str, Any], children, line: int, ctx: ReadContext) -> Item:
    """One pydantic pass over a whole image item. A bad value inside a region is reported
    at that shape's line, with the same message a `Region` on its own would give."""
    try:
        return Item.model_validate(item)
    except ValidationError as error:
        location = error.errors()[0]["loc"]
        if location[:3] == REGION_LOCATION and len(location) > 3:
            index = location[3]
            region = item["annotation_sets"][0]["regions"][index]
            validated(Region, region, ctx.where(children[index][1]))
        raise FormatError(
            f"invalid value: {describe_validation_error(error)}", where=ctx.where(line)
        ) from None


def image_to_record(attrs: dict[str, str], children, line: int, ctx: ReadContext) -> dict[str, Any]:
    """One `<image>` and its shapes and tags -> one item record (plain data) with one
    annotation set. Every value is typed and checked while parsing, so the record is a
    valid `Item` (tests hold the record and validated streams to the same output)."""
    where = ctx.where(line)
    if "name" not in attrs or "id" not in attrs:
        raise FormatError("<image> needs id and name", where=where)
    frame = _integer(attrs["id"], "id", where)
    size = _size(attrs, where, ctx.max_pixels)
    subset = attrs.get("subset") or None
    task = ctx.meta.task(attrs.get("task_id"), subset)
    annotator, segment = task.annotator_for(frame) if task else (None, None)
    if task is not None and task.job_id:
        set_id = f"job-{task.job_id}"
    elif segment and segment.id:
        set_id = f"job-{segment.id}"
    else:
        set_id = f"task-{task.id}" if task and task.id else "cvat"
    name = attrs["name"]
    extra = {k: v for k, v in attrs.items() if k not in ("name", "width", "height", "subset")}
    annotation_set = {"id": set_id, "regions": _image_regions(children, size, ctx)}
    if annotator is not None:
        annotation_set["annotator"] = ctx.annotator_record(annotator)
    if task is not None and (task.stage or task.state):
        annotation_set.update(job_set_fields(task))
    item = {
        "key": f"{subset}/{name}" if subset else name,
        "media": {"kind": "image", "uri": name, "width": size[0], "height": size[1]},
        "annotation_sets": [annotation_set],
        "source": {
            "tool": "cvat",
            "instance": str(ctx.path),
            "project": ctx.meta.project_id,
            "item": f"{task.id}/{frame}" if task and task.id else str(frame),
        },
        "extra": {"cvat_image": extra},
    }
    if subset is not None:
        item["subset"] = subset
    return item


def image_to_item(attrs: dict[str, str], children, line: int, ctx: ReadContext) -> Item:
    """One `<image>` -> one validated `Item` (`image_to_record`, then one pydantic pass)."""
    return validated_item(image_to_record(attrs, children, line, ctx), children, line, ctx)


def _modern_skeleton_elements(shapes: list[dict[str, Any]], where: str) -> list[dict[str, Any]]:
    """Skeleton tracks written by CVAT today nest each frame's points in the <skeleton>;
    regroup them into one element track per point label (the REST form)."""
    elements: dict[str, dict[str, Any]] = {}
    for shape in shapes:
        if "frame" not in shape:
            raise FormatError("a tracked shape has no frame", where=where)
        for point in shape.pop("elements", None) or []:
            label = point.pop("label", None)
            element = elements.setdefault(label, {"label": label, "shapes": []})
            element["shapes"].append({**point, "frame": shape["frame"]})
    return list(elements.values())


def track_dict(attrs: dict[str, str], children, where: str) -> tuple[dict[str, Any], str | None]:
    """A top-level `<track>` -> (CVAT track dict, layout). Layout "nested_tracks" is the
    older skeleton form with one `<track>` per point inside the skeleton track."""
    shapes = [data for data, _, kind in children if kind == "shape"]
    nested = [data for data, _, kind in children if kind == "element_track"]
    track: dict[str, Any] = {"label": attrs.get("label"), "shapes": shapes, "attributes": None}
    if "id" in attrs:
        track["id"] = _integer(attrs["id"], "id", where)
    if "group_id" in attrs:
        track["group"] = _integer(attrs["group_id"], "group_id", where)
    if "source" in attrs:
        track["source"] = attrs["source"]
    layout = None
    if nested:
        track["elements"], layout = nested, "nested_tracks"
        for shape in shapes:
            shape.pop("elements", None)
    elif any(s["type"] == "skeleton" for s in shapes):
        track["elements"] = _modern_skeleton_elements(shapes, where)
    return track, layout


@invalid_to_format_error
def track_to_track(attrs, children, line: int, ctx: ReadContext) -> tuple[Track, TaskInfo | None]:
    where = ctx.where(line)
    data, layout = track_dict(attrs, children, where)
    task = ctx.meta.task(attrs.get("task_id"), attrs.get("subset"))
    size = (task.width, task.height) if task and task.width and task.height else None
    track = track_to_unified(data, ctx.labels, ctx.losses, where=where, image_size=size)
    if layout:
        track.extra["cvat_layout"] = layout
    for key in ("task_id", "subset"):
        if key in attrs:
            track.extra[f"cvat_{key}"] = attrs[key]
    return track, task


def job_set_fields(task: TaskInfo) -> dict[str, Any]:
    """A job export's stage and state as annotation-set fields: status and extra."""
    if not (task.stage or task.state):
        return {}
    extra = {
        f"cvat_{key}": value
        for key, value in (("stage", task.stage), ("state", task.state))
        if value
    }
    return {"status": job_status(task.stage, task.state), "extra": extra}


def _video_set_id(task: TaskInfo | None) -> str:
    if task is not None and task.job_id:
        return f"job-{task.job_id}"
    return f"task-{task.id}" if task is not None and task.id else "cvat"


def video_item(task: TaskInfo | None, tracks: list[Track], ctx: ReadContext) -> Item:
    """One video task and its tracks -> one `Item`."""
    single = len(ctx.meta.tasks) <= 1
    name = (
        (ctx.meta.source if single and ctx.meta.source else None)
        or (task.name if task else None)
        or "video"
    )
    annotator = task.annotator_for(None)[0] if task else None
    task_id = task.id if task else None
    return Item(
        key=name if single else f"{task_id}/{name}",
        media=Media(
            kind="video",
            uri=ctx.meta.source if single else None,
            width=task.width if task else None,
            height=task.height if task else None,
            frame_count=task.size if task else None,
        ),
        subset=task.subset if task else None,
        annotation_sets=[
            AnnotationSet(
                id=_video_set_id(task),
                annotator=annotator,
                tracks=tracks,
                **(job_set_fields(task) if task else {}),
            )
        ],
        source=SourceRef(
            tool="cvat", instance=str(ctx.path), project=ctx.meta.project_id, item=task_id
        ),
        extra=({"cvat_task_id": task_id} if task_id else {})
        | {"cvat_frame_step": task.frame_step if task else 1},
    )


# ------------------------------------------------------------------ the reader


def project_from_meta(meta: CvatMeta, path: Path) -> Project:
    video = any(task.mode == "interpolation" for task in meta.tasks)
    return Project(
        name=meta.name,
        media_kind="video" if video else "image",
        ontology=labels_to_ontology(meta.labels),
        source=SourceRef(tool="cvat", instance=str(path), project=meta.project_id),
        extra={"cvat_meta": meta.tree},
    )


def _video_items(
    pending: dict[str | None, list[Track]],
    tasks: dict[str | None, TaskInfo | None],
    ctx: ReadContext,
) -> Iterator[Item]:
    order = [task.id for task in ctx.meta.tasks] + [key for key in pending if key not in tasks]
    for task_id in dict.fromkeys(order):
        if task_id in pending or (ctx.meta.tasks and not ctx.meta.is_project):
            yield video_item(
                tasks.get(task_id) or ctx.meta.task(task_id), pending.get(task_id, []), ctx
            )


def _items(
    parser: CvatXmlParser,
    steps: Iterator[str],
    handle: BinaryIO,
    ctx: ReadContext,
    project: Project,
    validate: bool,
) -> Iterator[Item | dict[str, Any]]:
    """Items as the file is parsed: images as they close (validated `Item`s, or records
    when not `validate`), video tasks at the end (always `Item`s: a task's tracks are
    models already)."""
    to_item = image_to_item if validate else image_to_record
    pending: dict[str | None, list[Track]] = {}
    tasks: dict[str | None, TaskInfo | None] = {}
    seen: dict[str, set[str]] = {}
    try:
        for _ in _chain_steps(steps):
            while parser.images:
                attrs, children, line = parser.images.popleft()
                yield to_item(attrs, children, line, ctx)
            while parser.tracks:
                attrs, children, line = parser.tracks.popleft()
                track, task = track_to_track(attrs, children, line, ctx)
                kinds = {k.shape.type for k in track.keyframes if k.shape is not None}
                seen.setdefault(track.label or "", set()).update(kinds)
                key = task.id if task else attrs.get("task_id")
                pending.setdefault(key, []).append(track)
                tasks[key] = task
    finally:
        handle.close()
    for label, kind in ctx.image_kinds:
        seen.setdefault(label, set()).add(kind)
    add_seen_kinds(project, seen)
    project.media_kind = "image" if parser.kind == "images" else project.media_kind
    if parser.kind == "video" or (parser.kind is None and project.media_kind == "video"):
        project.media_kind = "video"
        yield from _video_items(pending, tasks, ctx)


def add_seen_kinds(project: Project, seen: dict[str, set[str]]) -> None:
    """Labels without a CVAT type (older exports) get the region kinds the file used them
    with, so other tools know how to draw them. The project is final after the items."""
    for label in project.ontology.labels:
        if not label.kinds and seen.get(label.name):
            label.kinds = sorted(seen[label.name])


def _chain_steps(steps: Iterator[str]) -> Iterator[None]:
    yield None  # whatever the meta chunk already finished
    for _ in steps:
        yield None


def read_cvat_xml(
    path: str | Path, losses: LossReport, *, max_pixels: int = DEFAULT_MAX_PIXELS
) -> Dataset:
    """Open a CVAT XML file: the meta is read now, images/tracks as items are iterated.
    Declared image and frame sizes above `max_pixels` are refused."""
    path = Path(path)
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed by the item generator
    except OSError as error:
        raise BridgeError(f"cannot open {path}: {error.strerror}", where=str(path)) from None
    parser = CvatXmlParser(str(path), max_pixels)
    steps = iter_parse(handle, parser)
    try:
        for step in steps:
            if step == "meta":
                break
        else:
            raise FormatError("no <meta> element", where=parser.where())
    except BaseException:
        handle.close()
        raise
    ctx = ReadContext(
        meta=parser.meta,
        labels=LabelIndex.from_labels(parser.meta.labels),
        losses=losses,
        path=path,
        max_pixels=max_pixels,
    )
    project = project_from_meta(parser.meta, path)
    items = ItemRecords(lambda validate: _items(parser, steps, handle, ctx, project, validate))
    return Dataset(
        project=project, items=items, origin=str(path), meta={"cvat_format": parser.kind}
    )
