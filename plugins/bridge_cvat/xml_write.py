"""Atomic, streaming writer of "CVAT for images 1.1" and "CVAT for video 1.1" XML.

Items are written to a temporary body as they stream in (one `<image>` per image item, the
`<track>`s of each video item); the `<meta>` is written last-but-first, because the
project's labels are final only once every item has been seen: labels and attributes
that items use but the ontology lacks are added to the meta, so CVAT accepts the file.
The target appears only when everything was written (`bridge.io.atomic_write`).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Iterator
from itertools import chain
from pathlib import Path
from typing import IO, Any

from bridge.errors import ConfigError
from bridge.formats import Dataset
from bridge.io import atomic_write, spool_beside
from bridge.limits import DEFAULT_MAX_PIXELS
from bridge.losses import LossReport
from bridge.schema import (
    AnnotationSet,
    ClassificationSpec,
    Item,
    LabelClass,
    Project,
    Region,
    Tag,
    Track,
)
from bridge_cvat.convert import region_to_shape, region_to_tag, report_set_extras, track_to_cvat
from bridge_cvat.ontology import CUBOID_KEYS, CVAT_TO_KIND, LabelIndex, format_number, named_labels
from bridge_cvat.xml_meta import MetaNode, labels_to_nodes

TAG_FOR_TYPE = {"rectangle": "box"}
ESCAPES_ATTR = {'"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"}


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _quote(value: Any) -> str:
    text = _escape(str(value))
    for char, entity in ESCAPES_ATTR.items():
        if char in text:
            text = text.replace(char, entity)
    return f'"{text}"'


def _open_tag(tag: str, attrs: Iterable[tuple[str, Any]], indent: int, empty: bool = False) -> str:
    body = "".join(f" {key}={_quote(value)}" for key, value in attrs)
    return f"{'  ' * indent}<{tag}{body}{' /' if empty else ''}>\n"


def _attribute_lines(attributes: list[dict[str, str]], indent: int) -> str:
    pad = "  " * indent
    return "".join(
        f"{pad}<attribute name={_quote(a['name'])}>{_escape(str(a['value']))}</attribute>\n"
        for a in attributes
    )


def _pairs(points: list[float]) -> str:
    return ";".join(
        f"{format_number(points[i])},{format_number(points[i + 1])}"
        for i in range(0, len(points), 2)
    )


def geometry_attrs(shape: dict[str, Any]) -> list[tuple[str, Any]]:
    """The XML attributes that place a CVAT shape dict (box corners, ellipse radii, ...)."""
    kind, points = shape["type"], shape["points"]
    if kind == "rectangle":
        attrs = list(zip(("xtl", "ytl", "xbr", "ybr"), map(format_number, points), strict=True))
    elif kind == "ellipse":
        cx, cy, right, top = points
        attrs = [
            ("cx", format_number(cx)),
            ("cy", format_number(cy)),
            ("rx", format_number(right - cx)),
            ("ry", format_number(cy - top)),
        ]
    elif kind == "cuboid":
        return list(zip(CUBOID_KEYS, map(format_number, points), strict=True))
    elif kind == "mask":
        *runs, x1, y1, x2, y2 = (int(v) for v in points)
        return [
            ("rle", ", ".join(map(str, runs))),
            ("left", x1),
            ("top", y1),
            ("width", x2 - x1 + 1),
            ("height", y2 - y1 + 1),
        ]
    elif kind == "skeleton":
        return [("points", _pairs(points))] if points else []
    else:
        return [("points", _pairs(points))]
    if shape.get("rotation"):
        attrs.append(("rotation", format_number(shape["rotation"])))
    return attrs


def _flag(value: Any) -> str:
    return "1" if value else "0"


# ------------------------------------------------------------------ images


def _image_shape_xml(shape: dict[str, Any], indent: int, element: bool = False) -> str:
    tag = TAG_FOR_TYPE.get(shape["type"], shape["type"])
    attrs: list[tuple[str, Any]] = [("label", shape.get("label") or "")]
    if shape.get("source"):
        attrs.append(("source", shape["source"]))
    if element:
        attrs.append(("outside", _flag(shape.get("outside"))))
    if shape["type"] != "skeleton":
        attrs.append(("occluded", _flag(shape.get("occluded"))))
    attrs += geometry_attrs(shape)
    if not element and shape.get("z_order") is not None:
        attrs.append(("z_order", shape["z_order"]))
    if shape.get("group"):
        attrs.append(("group_id", shape["group"]))
    inner = "".join(
        _image_shape_xml(e, indent + 1, element=True) for e in shape.get("elements") or []
    )
    inner += _attribute_lines(shape.get("attributes") or [], indent + 1)
    if not inner:
        return _open_tag(tag, attrs, indent, empty=True)
    return _open_tag(tag, attrs, indent) + inner + f"{'  ' * indent}</{tag}>\n"


def _tag_xml(tag: dict[str, Any], indent: int) -> str:
    attrs: list[tuple[str, Any]] = [("label", tag.get("label") or "")]
    if tag.get("source"):
        attrs.append(("source", tag["source"]))
    if tag.get("group"):
        attrs.append(("group_id", tag["group"]))
    inner = _attribute_lines(tag.get("attributes") or [], indent + 1)
    if not inner:
        return _open_tag("tag", attrs, indent, empty=True)
    return _open_tag("tag", attrs, indent) + inner + f"{'  ' * indent}</tag>\n"


# ------------------------------------------------------------------ tracks


def _tracked_xml(
    shape: dict[str, Any],
    attributes: list[dict[str, str]],
    indent: int,
    old_skeleton: bool,
    elements: list[dict[str, Any]],
) -> str:
    tag = TAG_FOR_TYPE.get(shape["type"], shape["type"])
    attrs: list[tuple[str, Any]] = [
        ("frame", shape["frame"]),
        ("keyframe", _flag(shape.get("keyframe", True))),
    ]
    if shape["type"] != "skeleton" or old_skeleton:
        attrs += [
            ("outside", _flag(shape.get("outside"))),
            ("occluded", _flag(shape.get("occluded"))),
        ]
    attrs += geometry_attrs(shape)
    attrs.append(("z_order", shape.get("z_order") or 0))
    inner = "".join(_element_xml(e, indent + 1) for e in elements)
    inner += _attribute_lines(attributes, indent + 1)
    if not inner:
        return _open_tag(tag, attrs, indent, empty=True)
    return _open_tag(tag, attrs, indent) + inner + f"{'  ' * indent}</{tag}>\n"


def _element_xml(shape: dict[str, Any], indent: int) -> str:
    """A skeleton point inside a tracked `<skeleton>` (CVAT's current layout)."""
    tag = TAG_FOR_TYPE.get(shape["type"], shape["type"])
    attrs = [
        ("label", shape.get("label") or ""),
        ("keyframe", _flag(shape.get("keyframe", True))),
        ("outside", _flag(shape.get("outside"))),
        ("occluded", _flag(shape.get("occluded"))),
    ]
    attrs += geometry_attrs(shape)
    inner = _attribute_lines(shape.get("attributes") or [], indent + 1)
    if not inner:
        return _open_tag(tag, attrs, indent, empty=True)
    return _open_tag(tag, attrs, indent) + inner + f"{'  ' * indent}</{tag}>\n"


def _ordered(
    attributes: list[dict[str, str]], label: str | None, labels: LabelIndex
) -> list[dict[str, str]]:
    order = list(labels.specs.get(label or "", {}))
    return sorted(
        attributes, key=lambda a: order.index(a["name"]) if a["name"] in order else len(order)
    )


def track_xml(
    track: dict[str, Any],
    head: list[tuple[str, Any]],
    labels: LabelIndex,
    indent: int,
    old_layout: bool,
) -> str:
    """A CVAT track dict -> `<track>`; immutable attributes repeat on every shape."""
    out = [_open_tag("track", head, indent)]
    by_frame: dict[int, list[dict[str, Any]]] = {}
    if not old_layout:
        for element in track.get("elements") or []:
            for shape in element["shapes"]:
                by_frame.setdefault(shape["frame"], []).append({**shape, "label": element["label"]})
    for shape in track["shapes"]:
        attributes = _ordered(track["attributes"] + shape["attributes"], track.get("label"), labels)
        out.append(
            _tracked_xml(
                shape, attributes, indent + 1, old_layout, by_frame.get(shape["frame"], [])
            )
        )
    if old_layout:
        for element in track.get("elements") or []:
            sub_head = [("id", element.get("id", 0)), ("label", element.get("label") or "")]
            if element.get("source"):
                sub_head.append(("source", element["source"]))
            out.append(_open_tag("track", sub_head, indent + 1))
            for shape in element["shapes"]:
                shape_attrs = shape.get("attributes") or []
                out.append(_tracked_xml(shape, shape_attrs, indent + 2, True, []))
            out.append(f"{'  ' * (indent + 1)}</track>\n")
    out.append(f"{'  ' * indent}</track>\n")
    return "".join(out)


# ------------------------------------------------------------------ the body writer


class BodyWriter:
    """Writes items as `<image>` or `<track>` elements and remembers which labels and
    attributes they used (so the meta can declare them)."""

    def __init__(
        self,
        out: IO[bytes],
        mode: str,
        labels: LabelIndex,
        losses: LossReport,
        project: bool,
        max_pixels: int = DEFAULT_MAX_PIXELS,
    ):
        self.out, self.mode, self.labels, self.losses = out, mode, labels, losses
        self.max_pixels = max_pixels
        self.meta_has_stage = False  # the stored meta of a job export that names its stage
        self.project_export = project
        self.count = 0
        self.used: dict[str, dict[str, Any]] = {}
        self.track_ids: set[int] = set()
        self.next_track_id = 0
        self.first_video: Item | None = None

    def item(self, item: Item) -> None:
        aset = self._annotation_set(item)
        self._unwritable_parts(item, aset)
        if self.mode == "images":
            self._image(item, aset)
        else:
            self._video(item, aset)
        self.count += 1

    def _annotation_set(self, item: Item) -> AnnotationSet | None:
        sets = [s for s in item.annotation_sets if s.kind != "prediction"] or item.annotation_sets
        if len(item.annotation_sets) > 1:
            self.losses.record(
                "cvat.extra_annotation_sets",
                "CVAT holds one annotation set per frame; others dropped",
                where=item.key,
                count=len(item.annotation_sets) - 1,
            )
        return sets[0] if sets else None

    def _unwritable_parts(self, item: Item, aset: AnnotationSet | None) -> None:
        """Record what no CVAT XML element holds: answers about the whole item (CVAT's
        attributes belong to a label), other tools' annotators, relations, and the content
        of text/audio media."""
        where = item.key
        if self.mode == "images" and item.media.kind not in ("image", "video"):
            self.losses.record(
                "cvat.non_visual_media",
                f"{item.media.kind} media: written as an image named by "
                "its key, without its content",
                where=where,
            )
        if aset is None:
            return
        if aset.classifications:
            self.losses.record(
                "cvat.set_classification",
                "CVAT XML has no answers about a whole item (only a label's attributes); dropped",
                where=where,
                count=len(aset.classifications),
            )
        from_cvat = item.source is not None and item.source.tool == "cvat"
        if aset.annotator is not None and not from_cvat:
            self.losses.record(
                "cvat.annotator",
                "CVAT XML names annotators only as a job's assignee "
                "in the meta of a CVAT export; dropped",
                where=where,
            )
        if aset.relations:
            self.losses.record(
                "cvat.relation",
                "CVAT has no relations between shapes; dropped",
                where=where,
                count=len(aset.relations),
            )
        report_set_extras(
            aset, self.losses, where, shape_scores=False, status=from_cvat and self.meta_has_stage
        )

    def _note(
        self, label: str | None, kind: str, attributes: list[dict[str, str]], mutable: bool = False
    ) -> None:
        if not label:
            return
        entry = self.used.setdefault(label, {"kinds": set(), "attributes": {}})
        entry["kinds"].add(kind)
        for attribute in attributes:
            entry["attributes"].setdefault(attribute["name"], mutable)

    # -- images

    def _image(self, item: Item, aset: AnnotationSet | None) -> None:
        where = item.key
        if item.media.kind == "video":
            self.losses.record(
                "cvat.video_in_images_file",
                "a video item cannot go into CVAT for images; dropped",
                where=where,
            )
            return
        image_extra = dict(item.extra.get("cvat_image") or {})
        frame_id = image_extra.pop("id", self.count)
        head: list[tuple[str, Any]] = [("id", frame_id), ("name", item.media.uri or item.key)]
        if item.subset:
            head.append(("subset", item.subset))
        if "task_id" in image_extra:
            head.append(("task_id", image_extra.pop("task_id")))
        if item.media.width is not None:
            head += [("width", item.media.width), ("height", item.media.height)]
        head += list(image_extra.items())
        shapes, tags = self._image_content(aset, where)
        if not shapes and not tags:
            self.out.write(_open_tag("image", head, 1, empty=True).encode())
            return
        body = "".join(shapes) + "".join(tags)
        self.out.write((_open_tag("image", head, 1) + body + "  </image>\n").encode())

    def _image_content(self, aset: AnnotationSet | None, where: str) -> tuple[list[str], list[str]]:
        shapes: list[str] = []
        tags: list[str] = []
        if aset is None:
            return shapes, tags
        if aset.tracks:
            self.losses.record(
                "cvat.track_in_images_file",
                "tracks cannot go into CVAT for images; dropped",
                where=where,
                count=len(aset.tracks),
            )
        for region in aset.regions:
            if isinstance(region.shape, Tag):
                tag = region_to_tag(region, self.losses, where=where)
                if tag is None:  # no label: reported
                    continue
                self._note(region.label, "tag", tag["attributes"])
                tags.append(_tag_xml(tag, 2))
                continue
            shape = self._shape(region, where)
            if shape is not None:
                shapes.append(_image_shape_xml(shape, 2))
        return shapes, tags

    def _shape(self, region: Region, where: str) -> dict[str, Any] | None:
        shape = region_to_shape(
            region, self.labels, self.losses, where=where, max_pixels=self.max_pixels
        )
        if shape is None:
            return None
        if region.z_order is None:
            shape["z_order"] = None
        self._note(region.label, CVAT_TO_KIND[shape["type"]], shape["attributes"])
        for element in shape.get("elements") or []:
            self._note(element.get("label"), "points", element["attributes"])
        return shape

    # -- video

    def _video(self, item: Item, aset: AnnotationSet | None) -> None:
        where = item.key
        if item.media.kind != "video":
            self.losses.record(
                "cvat.image_in_video_file",
                "an image item cannot go into CVAT for video; dropped",
                where=where,
            )
            return
        self.first_video = self.first_video or item
        if aset is None:
            return
        step = int(item.extra.get("cvat_frame_step", 1) or 1)
        for track in aset.tracks:
            self._write_track(track, item, where)
        for region in aset.regions:
            self._region_as_track(region, item, where, step)

    def _track_id(self, wanted: str) -> int:
        if wanted.isdigit() and int(wanted) not in self.track_ids:
            number = int(wanted)
        else:
            self.losses.record(
                "cvat.track_id_renumbered",
                "CVAT track ids are unique numbers; track renumbered",
                where=wanted,
                severity="approximated",
            )
            while self.next_track_id in self.track_ids:
                self.next_track_id += 1
            number = self.next_track_id
        self.track_ids.add(number)
        return number

    def _track_head(self, track: Track, item: Item, number: int) -> list[tuple[str, Any]]:
        head: list[tuple[str, Any]] = [("id", number), ("label", track.label or "")]
        if track.extra.get("source"):
            head.append(("source", track.extra["source"]))
        task_id = track.extra.get("cvat_task_id") or (
            item.extra.get("cvat_task_id") if self.project_export else None
        )
        if task_id is not None:
            head.append(("task_id", task_id))
            subset = track.extra.get("cvat_subset") or item.subset
            if subset:
                head.append(("subset", subset))
        if track.group and track.group.isdigit() and track.group != "0":
            head.append(("group_id", track.group))
        return head

    def _write_track(self, track: Track, item: Item, where: str) -> None:
        data = track_to_cvat(track, self.labels, self.losses, where=where)
        if data is None:  # no label: reported
            return
        if not data["shapes"]:
            self.losses.record(
                "cvat.empty_track", "a track without drawable keyframes; dropped", where=where
            )
            return
        kind = CVAT_TO_KIND[data["shapes"][0]["type"]]
        self._note(track.label, kind, data["attributes"])
        for shape in data["shapes"]:
            self._note(track.label, kind, shape["attributes"], mutable=True)
        for element in data.get("elements") or []:
            self._note(element.get("label"), "points", [])
        head = self._track_head(track, item, self._track_id(track.id))
        old = track.extra.get("cvat_layout") == "nested_tracks"
        self.out.write(track_xml(data, head, self.labels, 1, old).encode())

    def _region_as_track(self, region: Region, item: Item, where: str, step: int) -> None:
        """CVAT for video has tracks only: a single-frame shape becomes a track that is
        visible at its frame and outside from the next one (what CVAT's own export does)."""
        if isinstance(region.shape, Tag):
            self.losses.record(
                "cvat.video_tag", "CVAT for video has no frame tags; dropped", where=where
            )
            return
        shape = region_to_shape(
            region, self.labels, self.losses, where=where, max_pixels=self.max_pixels
        )
        if shape is None:
            return
        self.losses.record(
            "cvat.shape_as_track",
            "a video shape was written as a one-frame track",
            where=where,
            severity="approximated",
        )
        first = {**shape, "keyframe": True, "outside": False}
        last = {**shape, "keyframe": True, "outside": True, "frame": shape["frame"] + step}
        track = {"label": region.label, "shapes": [first, last], "attributes": [], "elements": []}
        self._note(region.label, CVAT_TO_KIND[shape["type"]], shape["attributes"])
        number = self._track_id(f"shape-{region.id}")
        head = [("id", number), ("label", region.label or "")]
        self.out.write(track_xml(track, head, self.labels, 1, False).encode())


# ------------------------------------------------------------------ meta


def complete_ontology(project: Project, used: dict[str, dict[str, Any]]) -> list[str]:
    """Add the labels and attributes items used but the ontology lacks; return their names."""
    known = {label.name: label for label in project.ontology.labels}
    added = []
    for name, entry in used.items():
        label = known.get(name)
        if label is None:
            kinds = sorted(entry["kinds"])
            label = LabelClass(name=name, kinds=kinds if len(kinds) == 1 else [])
            project.ontology.labels.append(label)
            known[name] = label
            added.append(name)
        have = {spec.name for spec in label.attributes}
        for attribute, mutable in entry["attributes"].items():
            if attribute not in have:
                label.attributes.append(
                    ClassificationSpec(name=attribute, input="text", mutable=mutable)
                )
    return added


def default_meta(project: Project, mode: str, count: int, first_video: Item | None) -> MetaNode:
    task: list[MetaNode] = [
        ["name", project.name],
        ["size", str(count)],
        ["mode", "interpolation" if mode == "video" else "annotation"],
        ["labels", None],
    ]
    if first_video is not None and first_video.media.width:
        task.append(
            [
                "original_size",
                [
                    ["width", str(first_video.media.width)],
                    ["height", str(first_video.media.height)],
                ],
            ]
        )
    meta: list[MetaNode] = [["task", task]]
    if first_video is not None and first_video.media.uri:
        meta.append(["source", first_video.media.uri])
    return ["meta", meta]


def with_labels_node(tree: MetaNode) -> MetaNode:
    """`tree`, with a `<labels>` placeholder in its project or task if it had none."""
    owners = [
        node
        for node in tree[1]
        if node[0] in ("project", "task", "job") and isinstance(node[1], list)
    ]
    if owners and not any(sub[0] == "labels" for sub in owners[0][1]):
        owners[0][1].append(["labels", None])
    return tree


def meta_xml(node: MetaNode, labels: list[dict[str, Any]], indent: int) -> Iterator[str]:
    pad = "  " * indent
    tag, content = node
    if tag == "labels" and content is None:
        content = labels_to_nodes(labels)
    if isinstance(content, list):
        if not content:
            yield f"{pad}<{tag}>\n{pad}</{tag}>\n"
            return
        yield f"{pad}<{tag}>\n"
        for sub in content:
            yield from meta_xml(sub, labels, indent + 1)
        yield f"{pad}</{tag}>\n"
    else:
        yield f"{pad}<{tag}>{_escape(content or '')}</{tag}>\n"


# ------------------------------------------------------------------ the writer


def _names_job_stage(stored: MetaNode | None) -> bool:
    """True if a stored meta is a job export's with a `<stage>` or `<state>`, so the status
    read from it is written back with it."""
    job = next((n for n in (stored or ["meta", []])[1] if n[0] == "job"), None)
    return (
        job is not None
        and isinstance(job[1], list)
        and any(child[0] in ("stage", "state") for child in job[1])
    )


def _mode(project: Project, first: Item | None, requested: str | None) -> str:
    if requested in ("images", "video"):
        return requested
    if first is not None:
        return "video" if first.media.kind == "video" else "images"
    return "video" if project.media_kind == "video" else "images"


def write_cvat_xml(
    dataset: Dataset,
    path: str | Path,
    losses: LossReport,
    *,
    mode: str | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> int:
    """Write `dataset` as CVAT XML at `path`, atomically; return the number of items.
    `mode` is "images" or "video" (default: from the first item's media kind); masks
    larger than `max_pixels` are refused."""
    if mode not in (None, "images", "video"):
        raise ConfigError(
            f"mode {mode!r} is not a CVAT XML layout", hint="-O mode=images or -O mode=video"
        )
    path = Path(path)
    items = iter(dataset.items)
    first = next(items, None)
    stream = chain([first], items) if first is not None else iter(())
    kind = _mode(dataset.project, first, mode)
    stored = dataset.project.extra.get("cvat_meta")
    is_project = bool(stored) and any(node[0] == "project" for node in stored[1])
    with atomic_write(path) as out, spool_beside(path) as body:
        writer = BodyWriter(
            body,
            kind,
            LabelIndex.from_ontology(dataset.project.ontology),
            losses,
            is_project,
            max_pixels,
        )
        writer.meta_has_stage = _names_job_stage(stored)
        for item in stream:
            writer.item(item)
        project = dataset.project
        complete_ontology(project, writer.used)
        tree = (
            with_labels_node(stored)
            if stored
            else default_meta(project, kind, writer.count, writer.first_video)
        )
        out.write(
            b'<?xml version="1.0" encoding="utf-8"?>\n<annotations>\n  <version>1.1</version>\n'
        )
        labels = named_labels(project.ontology, losses, "ontology")
        out.write("".join(meta_xml(tree, labels, 1)).encode())
        body.seek(0)
        shutil.copyfileobj(body, out, 1 << 20)
        out.write(b"</annotations>\n")
    return writer.count
