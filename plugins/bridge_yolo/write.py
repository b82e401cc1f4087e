"""The YOLO writer: one label file per image item, data.yaml written last.

Items stream through once; class indices are fixed before the first item (label map,
then ontology order) and a label first met in the items gets the next index, so data.yaml,
written at the end, lists every class in index order. Memory holds the names used per
subset (to keep image names unique), not the items.
"""

from __future__ import annotations

import csv
import itertools
import shutil
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from urllib.parse import unquote, urlsplit

from bridge.export.staging import create_exclusive
from bridge.formats import Dataset
from bridge.losses import LossReport
from bridge.schema import AnnotationSet, Item, Keypoint, Ontology
from bridge.select import SetSelector, select_sets
from bridge_yolo.convert import LineWriter, Task
from bridge_yolo.layout import (
    UniqueNames,
    data_yaml,
    inside,
    safe_name,
    split_name,
    staged_directory,
)

POINT_KINDS = ("skeleton", "points")
PEEK_ITEMS = 1000


def point_classes(ontology: Ontology) -> set[str]:
    by_name = {label.name: label for label in ontology.labels}
    return {
        label.name
        for label in ontology.labels
        if label.parent in by_name and any(k in POINT_KINDS for k in by_name[label.parent].kinds)
    }


def task_from_kinds(kinds: Iterable[str]) -> Task | None:
    present = set(kinds)
    if present & {"skeleton", "points"}:
        return "pose"
    if present & {"polygon", "mask", "ellipse"}:
        return "segment"
    if "bbox" in present:
        return "detect"
    return None


def choose_task(ontology: Ontology, items: Iterator[Item]) -> tuple[Task, Iterator[Item]]:
    """The task the ontology's kinds call for, else the shapes of the first item that has
    regions (up to `PEEK_ITEMS` items are held to look), else detect."""
    points = point_classes(ontology)
    task = task_from_kinds(k for c in ontology.labels if c.name not in points for k in c.kinds)
    if task is not None:
        return task, items
    held: list[Item] = []
    for item in itertools.islice(items, PEEK_ITEMS):
        held.append(item)
        kinds = [r.shape.type for a in item.annotation_sets for r in a.regions]
        if kinds:
            rotated = any(
                getattr(r.shape, "rotation", 0) % 360
                for a in item.annotation_sets
                for r in a.regions
                if r.shape.type == "bbox"
            )
            task = task_from_kinds(kinds)
            if task == "detect" and rotated:
                task = "obb"
            break
    return task or "detect", itertools.chain(held, items)


def local_file(uri: str | None) -> Path | None:
    """The local file a media URI names (a path, or a file:// URL), if it exists."""
    if not uri:
        return None
    parts = urlsplit(uri)
    if parts.scheme == "file":
        path = Path(unquote(parts.path))
    elif parts.scheme and len(parts.scheme) > 1:
        return None
    else:
        path = Path(uri)
    return path if path.is_file() else None


class YoloWriter:
    def __init__(
        self,
        dataset: Dataset,
        losses: LossReport,
        *,
        task: Task | None = None,
        sets: str | SetSelector = "all",
        label_map: Mapping[str, int] | None = None,
        copy_images: bool = False,
        overwrite: bool = False,
        default_subset: str = "train",
    ):
        self.dataset = dataset
        self.losses = losses
        self.task = task
        self.sets = SetSelector.parse(sets)
        self.copy_images = copy_images
        self.overwrite = overwrite
        self.default_subset = safe_name(default_subset, "train")
        ontology = dataset.project.ontology
        self.points = point_classes(ontology)
        ordered = sorted(label_map or {}, key=lambda name: (label_map or {})[name])
        self.classes: dict[str, int] = {}
        for name in [*ordered, *(c.name for c in ontology.labels if c.name not in self.points)]:
            self.class_index(name)
        self.keypoints: list[str] | None = None
        self.keypoints_of: dict[str, list[str]] = {}
        self.names = UniqueNames()
        self.subsets: list[str] = []
        self.label_dirs: dict[str, Path] = {}
        """Subset -> its labels directory (checked to be inside the output once)."""

    def class_index(self, name: str) -> int:
        index = self.classes.get(name)
        if index is None:
            index = self.classes[name] = len(self.classes)
        return index

    def keypoint_names(self, label: str, points: list[Keypoint]) -> list[str]:
        names = self.keypoints_of.get(label)
        if names is None:
            ontology = self.dataset.project.ontology
            children = [c.name for c in ontology.labels if c.parent == label]
            names = children or [p.label or str(n) for n, p in enumerate(points, start=1)]
            if self.keypoints is None:
                self.keypoints = names
            elif len(names) != len(self.keypoints):
                self.losses.record(
                    "yolo.kpt-shape-mismatch",
                    "a class with another number of keypoints than the first (one kpt_shape per dataset): its points are matched by position",
                    where=f"class {label!r}",
                )
                names = self.keypoints
            self.keypoints_of[label] = names
        return names

    def write(self, out: Path) -> None:
        items = iter(self.dataset.items)
        if self.task is None:
            self.task, items = choose_task(self.dataset.project.ontology, items)
        with staged_directory(out, self.overwrite) as stage:
            with open(stage / "sources.csv", "w", newline="", encoding="utf-8") as sources:
                table = csv.writer(sources)
                table.writerow(["subset", "image", "source"])
                for item in items:
                    self.item(item, stage, table)
            names = [name for name, _ in sorted(self.classes.items(), key=lambda pair: pair[1])]
            text = data_yaml(
                names, self.subsets or [self.default_subset], self.task, self.keypoints
            )
            (stage / "data.yaml").write_text(text, encoding="utf-8")

    def item(self, item: Item, stage: Path, table: "csv._writer") -> None:  # noqa: UP037
        where = f"item {item.key!r}"
        if item.media.kind != "image":
            self.losses.record(
                f"yolo.{item.media.kind}-dropped",
                f"{item.media.kind} items: YOLO holds images only (the item is left out)",
                where=where,
            )
            return
        subset = safe_name(item.subset, self.default_subset) if item.subset else self.default_subset
        if subset not in self.subsets:
            self.subsets.append(subset)
            labels = inside(stage, "labels", subset)
            labels.mkdir(parents=True)
            self.label_dirs[subset] = labels
            if self.copy_images:
                inside(stage, "images", subset).mkdir(parents=True)
        base = item.media.uri and posix_basename(item.media.uri)
        stem, ext = split_name(safe_name(base or item.key))
        stem = self.names.take(subset, stem)
        chosen = select_sets(item, self.sets)
        if len(chosen) > 1:
            self.losses.record(
                "yolo.sets-merged",
                "several annotation sets of one image written into one label file (YOLO has no annotator)",
                where=where,
                severity="approximated",
            )
        for aset in chosen:
            self.report_set(aset, where)
        size = None
        if item.media.width is not None and item.media.height is not None:
            size = (item.media.width, item.media.height)
        writer = LineWriter(
            self.task or "detect", self.losses, self.class_index, self.keypoint_names, size, where
        )
        lines = writer.lines([region for aset in chosen for region in aset.regions])
        with create_exclusive(self.label_dirs[subset], stem + ".txt") as label_file:
            label_file.write("".join(f"{line}\n" for line in lines).encode("utf-8"))
        image_name = f"images/{subset}/{stem}{ext}"
        if self.copy_images:
            source = local_file(item.media.uri)
            if source is None:
                self.losses.record(
                    "yolo.image-not-copied",
                    "media that is not a local file was not copied (listed in sources.csv)",
                    where=where,
                )
            else:
                target = inside(stage, "images", subset, stem + (ext or source.suffix))
                shutil.copyfile(source, target)
                image_name = f"images/{subset}/{target.name}"
        table.writerow([subset, image_name, item.media.uri or ""])

    def report_set(self, aset: AnnotationSet, where: str) -> None:
        for code, count, what in (
            ("yolo.tracks-dropped", len(aset.tracks), "video tracks"),
            ("yolo.relations-dropped", len(aset.relations), "relations between regions"),
            ("yolo.classifications-dropped", len(aset.classifications), "answers about the item"),
            (
                "yolo.attributes-dropped",
                sum(len(r.classifications) for r in aset.regions),
                "region attributes",
            ),
        ):
            if count:
                self.losses.record(code, f"{what}: YOLO cannot hold them", where=where, count=count)


def posix_basename(uri: str) -> str:
    path = unquote(urlsplit(uri).path) if "://" in uri else uri
    return path.replace("\\", "/").rstrip("/").rpartition("/")[2]


def write_yolo(dataset: Dataset, out: Path, losses: LossReport, **settings: object) -> None:
    YoloWriter(dataset, losses, **settings).write(out)  # type: ignore[arg-type]
