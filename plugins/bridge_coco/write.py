"""The streaming COCO writer.

The output is one JSON object, `{"info", "licenses", "images", "annotations",
"categories"}`, written as the items stream by: each item's image entry goes straight
to the output, its annotations to a temporary body beside it (copied in after the last
image), and the categories come last, once every label has been met. So the writer needs
no second pass over the items and no spool of them, and its memory does not grow with the
number of items (only with the number of categories, and with the ids kept from a COCO
source: see `IdSequence`). Category ids are fixed as `bridge_coco.categories` describes.

One image per item; items whose media is not an image are left out (reported).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import orjson

from bridge.errors import ConfigError
from bridge.formats import Dataset, ItemRecords
from bridge.io import atomic_write, dump_json, spool_beside
from bridge.losses import LossReport
from bridge.schema import Item, Project
from bridge.select import SetSelector, select_sets
from bridge_coco.categories import CategoryIds
from bridge_coco.convert import TOOL, AnnotationWriter, group_regions, image_entry, kept_id


class IdSequence:
    """Image or annotation ids: the id an element had in a COCO source when no other
    element took it, else the next id above every id given so far. Fresh ids given before
    the first kept one are 1..n (remembered as a number); only after a kept id has been
    seen are the ids remembered one by one, to find clashes."""

    def __init__(self) -> None:
        self.contiguous = 0
        self.top = 0
        self.issued: set[int] | None = None

    def take(self, wanted: int | None) -> tuple[int, bool]:
        """An id, and whether it is `wanted` (False: `wanted` was taken, a new one given)."""
        if wanted is not None:
            if self.issued is None:
                self.issued = set()
            if wanted > self.contiguous and wanted not in self.issued:
                self.issued.add(wanted)
                self.top = max(self.top, wanted)
                return wanted, True
        self.top += 1
        if self.issued is None:
            self.contiguous = self.top
        else:
            self.issued.add(self.top)
        return self.top, wanted is None


def annotator_name(aset: dict[str, Any]) -> str:
    """Who made an annotation set (a set dict: record or `model_dump()`)."""
    person = aset.get("annotator")
    if person is not None:
        name = person.get("email") or person.get("name") or person.get("id")
        if name:
            return str(name)
    version = aset.get("model_version")
    return version if aset.get("kind", "human") == "prediction" and version else aset["id"]


def info_block(project: Project) -> tuple[Any, Any]:
    if project.source is not None and project.source.tool == TOOL:
        info = project.extra.get("info", {"description": project.name})
        return info, project.extra.get("licenses", [])
    return {"description": project.name}, []


class CocoWriter:
    """One COCO file being written (see the module docstring)."""

    def __init__(
        self,
        dataset: Dataset,
        losses: LossReport,
        *,
        sets: str | SetSelector = "all",
        label_map: Mapping[str, int] | None = None,
        validate: bool = False,
    ):
        self.validate = validate
        self.dataset = dataset
        self.losses = losses
        self.sets = SetSelector.parse(sets)
        self.categories = CategoryIds(dataset.project.ontology, label_map)
        self.image_ids = IdSequence()
        self.annotation_ids = IdSequence()
        self.writer = AnnotationWriter(losses, self.keypoint_names, self.categories.id_for)
        """Reused for every item (`size` and `where` set per item)."""

    def keypoint_names(self, label: str, points: list[dict[str, Any]]) -> list[str]:
        names = self.categories.keypoint_names(self.dataset.project.ontology, label)
        if names is None:  # no point classes in the ontology: learned from this shape
            names = [p.get("label") or str(n) for n, p in enumerate(points, start=1)]
            self.categories.keypoints[label] = names
        return names

    def write(self, path: Path) -> None:
        if path.is_symlink():
            raise ConfigError(
                f"{path} is a symbolic link: not followed",
                hint="give the real file, or a new path",
            )
        with atomic_write(path) as out, spool_beside(path) as body:
            info, licenses = info_block(self.dataset.project)
            out.write(b'{"info":' + dump_json(info) + b',"licenses":' + dump_json(licenses))
            out.write(b',"images":[')
            separator = b""
            annotation_separator = b""
            for item in self.entries():
                entry, annotations = self.item(item)
                if entry is None:
                    continue
                where = self.writer.where
                out.write(separator + dump_json(entry, where=where))
                separator = b","
                if annotations:  # the list's JSON without its brackets: its entries
                    body.write(annotation_separator + dump_json(annotations, where=where)[1:-1])
                    annotation_separator = b","
            out.write(b'],"annotations":[')
            body.seek(0)
            shutil.copyfileobj(body, out, 1 << 20)
            categories = self.categories.categories(self.dataset.project.ontology)
            out.write(b'],"categories":' + orjson.dumps(categories) + b"}")

    def entries(self) -> Iterator[dict[str, Any]]:
        """The items as dicts with only the chosen annotation sets: the reader's records
        as they are (`ItemRecords`, unless `validate`), else each `Item`'s `model_dump()`.
        A selector other than `all` is applied to the validated item."""
        items = self.dataset.items
        take_all = self.sets.terms == (("all", ""),)
        if not isinstance(items, ItemRecords) or self.validate:
            stream: Iterable[Item | dict[str, Any]] = items
        else:
            stream = items.records()
        for entry in stream:
            if type(entry) is dict:
                if take_all:
                    yield entry
                    continue
                entry = Item.model_validate(entry)
            assert isinstance(entry, Item)
            yield self.dumped(entry, take_all)

    def dumped(self, item: Item, take_all: bool) -> dict[str, Any]:
        if take_all:
            return item.model_dump()
        chosen = {id(aset) for aset in select_sets(item, self.sets)}
        dump = item.model_dump(exclude={"annotation_sets"})
        dump["annotation_sets"] = [
            aset.model_dump() for aset in item.annotation_sets if id(aset) in chosen
        ]
        return dump

    def item(self, item: dict[str, Any]) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """One item dict (its chosen sets only) as its image entry and annotations."""
        where = f"item {item['key']!r}"
        self.writer.where = where
        kind = item["media"]["kind"]
        if kind != "image":
            self.losses.record(
                f"coco.{kind}-dropped",
                f"{kind} items: COCO holds images only (the item is left out)",
                where=where,
            )
            return None, []
        size = item_size(item)
        image_id, kept = self.image_ids.take(kept_id(item.get("source"), "item"))
        if not kept:
            self.losses.record(
                "coco.image-id-renumbered",
                "two images read with the same COCO id: the later one is given a new id",
                where=where,
                severity="approximated",
            )
        if size is None:
            self.losses.record(
                "coco.image-size-unknown",
                "image written without width and height (its pixel size is unknown)",
                where=where,
            )
        chosen = item.get("annotation_sets", [])
        several = len(chosen) > 1
        writer = self.writer
        writer.size = size
        annotations: list[dict[str, Any]] = []
        for aset in chosen:
            self.report_set(aset, where, several)
            for group in group_regions(aset.get("regions", [])):
                annotation = writer.annotation(group)
                if annotation is None:
                    continue
                annotation_id, kept = self.annotation_ids.take(
                    kept_id(group[0].get("source"), "region")
                )
                if not kept:
                    self.losses.record(
                        "coco.annotation-id-renumbered",
                        "two annotations read with the same COCO id: the later one is given a new id",
                        where=where,
                        severity="approximated",
                    )
                annotation["id"] = annotation_id
                annotation["image_id"] = image_id
                if several:
                    annotation["annotator"] = annotator_name(aset)
                annotations.append(annotation)
        return image_entry(item, image_id, size), annotations

    def report_set(self, aset: dict[str, Any], where: str, several: bool) -> None:
        for code, count, what in (
            ("coco.tracks-dropped", len(aset.get("tracks", ())), "video tracks"),
            (
                "coco.relations-dropped",
                len(aset.get("relations", ())),
                "relations between regions",
            ),
            (
                "coco.classifications-dropped",
                len(aset.get("classifications", ())),
                "answers about the whole item (COCO has no image-level labels)",
            ),
            ("coco.reviews-dropped", len(aset.get("reviews", ())), "reviews of an annotation set"),
        ):
            if count:
                self.losses.record(code, f"{what}: COCO cannot hold them", where=where, count=count)
        maker = aset.get("annotator") is not None or (
            aset.get("kind") == "prediction" and aset.get("model_version")
        )
        if not several and maker:
            self.losses.record(
                "coco.annotator-dropped",
                'who made the annotations (written as "annotator" only when several sets of an item are exported)',
                where=where,
            )


def item_size(item: dict[str, Any]) -> tuple[int, int] | None:
    """(width, height) from the media, else from a mask (COCO masks cover the image)."""
    media = item["media"]
    width, height = media.get("width"), media.get("height")
    if width is not None and height is not None:
        return width, height
    for aset in item.get("annotation_sets", ()):
        for region in aset.get("regions", ()):
            shape = region["shape"]
            if shape["type"] == "mask":
                height, width = shape["rle"]["size"]
                return width, height
    return None


def write_coco(
    dataset: Dataset,
    path: Path,
    losses: LossReport,
    *,
    sets: str | SetSelector = "all",
    label_map: Mapping[str, int] | None = None,
    validate: bool = False,
) -> None:
    """Write `dataset` to the COCO file `path` (atomic). Records of an `ItemRecords`
    stream are written from as they are, unless `validate` (then as `Item`s)."""
    CocoWriter(dataset, losses, sets=sets, label_map=label_map, validate=validate).write(path)
