"""The YOLO reader: a dataset named by its data.yaml.

`bridge convert DATASET/data.yaml out.jsonl --from yolo`. data.yaml's `names` (a list, or
`{index: name}`) are the classes, in index order; `train`, `val` and `test` (a directory of
images, a `.txt` list of image paths, or a list of either; relative to `path`, else to
data.yaml's directory) are the subsets. Each image's label file is found as Ultralytics
finds it: the last `images` directory of its path replaced by `labels`, the extension by
`.txt`. A subset whose images are absent (a dataset written without them) is read from its
labels directory alone.

Image sizes come from the image files' headers (Pillow reads only the header); without an
image file the shapes stay in percent (`size-unknown` in the loss report; give
`-O media_size=WxH` to get pixels). The task is `-O task=...`, else data.yaml's `task`,
else pose when `kpt_shape` is set, else per line: 4 values a box, more a polygon (an
oriented-box dataset needs `task: obb`, its lines look like 4-point polygons).

One item per image, keyed by its path relative to the dataset root, with one annotation
set (id "yolo"). A pose line gives a box and a skeleton sharing `group`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bridge.errors import ConfigError, FormatError, describe_validation_error
from bridge.formats import Dataset
from bridge.losses import SIZE_UNKNOWN, LossReport
from bridge.schema import AnnotationSet, Item, LabelClass, Media, Ontology, Project, Region
from bridge_yolo.convert import TASKS, Task, parse_line, regions_from_line

IMAGE_EXTENSIONS = {
    ".bmp",
    ".dng",
    ".jpeg",
    ".jpg",
    ".mpo",
    ".png",
    ".tif",
    ".tiff",
    ".webp",
    ".pfm",
    ".heic",
}
HINT = "a YOLO dataset's data.yaml has names and train/val paths (docs.ultralytics.com/datasets/detect/)"
SPLITS = ("train", "val", "test")


def load_yaml(path: Path) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise FormatError(f"not valid YAML ({error})", where=str(path), hint=HINT) from None
    if not isinstance(data, dict):
        raise FormatError("data.yaml is not a mapping", where=str(path), hint=HINT)
    return data


def class_names(data: dict[str, Any], where: str) -> list[str]:
    names = data.get("names")
    if isinstance(names, list) and all(isinstance(n, str) for n in names):
        return names
    if isinstance(names, dict) and all(isinstance(k, int) for k in names):
        if sorted(names) != list(range(len(names))):
            raise FormatError("names must be numbered 0, 1, 2, ...", where=where, hint=HINT)
        return [str(names[k]) for k in range(len(names))]
    raise FormatError("data.yaml has no names list", where=where, hint=HINT)


def label_path(image: Path) -> Path:
    """Ultralytics' rule: the last `images` directory replaced by `labels`, `.txt`."""
    parts = list(image.parts)
    for index in range(len(parts) - 2, -1, -1):
        if parts[index] == "images":
            parts[index] = "labels"
            break
    return Path(*parts).with_suffix(".txt")


def image_size(path: Path) -> tuple[int, int] | None:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return image.size
    except (OSError, UnidentifiedImageError):
        return None


class YoloReader:
    def __init__(self, yaml_path: Path, losses: LossReport, task: str | None):
        self.yaml_path = yaml_path
        self.losses = losses
        self.data = load_yaml(yaml_path)
        self.names = class_names(self.data, str(yaml_path))
        chosen = task or self.data.get("task")
        if chosen is not None and chosen not in TASKS:
            raise ConfigError(
                f"task {chosen!r} is not one of {', '.join(TASKS)}",
                hint="-O task=detect|segment|obb|pose",
            )
        if chosen is None and self.data.get("kpt_shape") is not None:
            chosen = "pose"
        self.task: Task | None = chosen
        self.keypoints = self.keypoint_names()
        root = self.data.get("path")
        base = yaml_path.parent
        self.root = base
        if isinstance(root, str) and root:
            candidate = Path(root) if Path(root).is_absolute() else base / root
            if candidate.is_dir():
                self.root = candidate

    def keypoint_names(self) -> list[str]:
        shape = self.data.get("kpt_shape")
        if shape is None:
            return []
        if not (
            isinstance(shape, list)
            and len(shape) == 2
            and shape[1] in (2, 3)
            and isinstance(shape[0], int)
        ):
            raise FormatError(
                "kpt_shape must be [keypoints, 2 or 3]", where=str(self.yaml_path), hint=HINT
            )
        names = self.data.get("kpt_names")
        if isinstance(names, list) and len(names) == shape[0]:
            return [str(n) for n in names]
        return [str(n) for n in range(1, shape[0] + 1)]

    def ontology(self) -> Ontology:
        if self.task != "pose":
            return Ontology(labels=[LabelClass(name=n) for n in self.names])
        labels: list[LabelClass] = []
        used = set(self.names)
        for name in self.names:
            labels.append(LabelClass(name=name, kinds=["bbox", "skeleton"]))
            for point in self.keypoints:
                point_name = point if point not in used else f"{name}:{point}"
                used.add(point_name)
                labels.append(LabelClass(name=point_name, kinds=["points"], parent=name))
        return Ontology(labels=labels)

    def point_names(self, label: str, ontology: Ontology) -> list[str]:
        return [c.name for c in ontology.labels if c.parent == label]

    def splits(self) -> Iterator[tuple[str, list[Path]]]:
        for key, value in self.data.items():
            if key not in SPLITS or value is None:
                continue
            entries = value if isinstance(value, list) else [value]
            paths: list[Path] = []
            for entry in entries:
                if not isinstance(entry, str):
                    raise FormatError(
                        f"{key} must be a path or a list of paths",
                        where=str(self.yaml_path),
                        hint=HINT,
                    )
                paths.append(Path(entry) if Path(entry).is_absolute() else self.root / entry)
            yield key, paths

    def images(self, paths: list[Path]) -> Iterator[tuple[Path | None, Path]]:
        """(image, label file) pairs of one split; image None when only labels exist."""
        for path in paths:
            if path.suffix == ".txt" and path.is_file():
                for line in path.read_text(encoding="utf-8").splitlines():
                    if line.strip():
                        image = Path(line.strip())
                        image = image if image.is_absolute() else self.root / image
                        yield image, label_path(image)
                continue
            found = False
            if path.is_dir():
                for image in sorted(path.rglob("*")):
                    if image.suffix.lower() in IMAGE_EXTENSIONS and image.is_file():
                        found = True
                        yield image, label_path(image)
            labels = label_path(path / "x.jpg").parent
            if not found and labels.is_dir():  # written without its images
                for label in sorted(labels.rglob("*.txt")):
                    yield None, label

    def dataset(self) -> Dataset:
        ontology = self.ontology()
        project = Project(
            name=self.yaml_path.parent.name or "yolo", media_kind="image", ontology=ontology
        )
        return Dataset(
            project=project,
            items=self.items(ontology),
            origin=str(self.yaml_path),
            ontology_final=True,
        )

    def items(self, ontology: Ontology) -> Iterator[Item]:
        for subset, paths in self.splits():
            for image, labels in self.images(paths):
                yield self.item(subset, image, labels, ontology)

    def item(self, subset: str, image: Path | None, labels: Path, ontology: Ontology) -> Item:
        size = image_size(image) if image is not None and image.is_file() else None
        shown = image if image is not None else labels
        try:
            key = str(shown.relative_to(self.root))
        except ValueError:
            key = str(shown)
        regions: list[Region] = []
        text = labels.read_text(encoding="utf-8") if labels.is_file() else ""
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            where = f"{labels}:{number}"
            parsed = parse_line(line)
            if parsed is None:
                raise FormatError(
                    "not a YOLO label line (class index, then numbers)", where=where, hint=HINT
                )
            index, values = parsed
            if index >= len(self.names):
                raise FormatError(
                    f"class {index} is not in data.yaml's {len(self.names)} names",
                    where=where,
                    hint=HINT,
                )
            task = self.task or ("detect" if len(values) == 4 else "segment")
            label = self.names[index]
            try:
                found = regions_from_line(
                    task, label, values, str(number), size, self.point_names(label, ontology)
                )
            except ValidationError as error:
                raise FormatError(
                    describe_validation_error(error), where=where, hint=HINT
                ) from None
            if isinstance(found, str):
                raise FormatError(found, where=where, hint=HINT)
            if task == "obb" and size is None:
                self.losses.record(
                    "yolo.obb-as-polygon",
                    "an oriented box of an image of unknown size read as a 4-point polygon in percent",
                    where=where,
                    severity="approximated",
                )
            regions.extend(found)
        if size is None and regions:
            self.losses.record(
                SIZE_UNKNOWN,
                "image size unknown (no image file): shapes kept in percent",
                where=str(labels),
                severity="approximated",
            )
        media = Media(
            kind="image",
            uri=str(image) if image is not None else None,
            width=size[0] if size else None,
            height=size[1] if size else None,
        )
        return Item(
            key=key,
            media=media,
            subset=subset,
            annotation_sets=[AnnotationSet(id="yolo", regions=regions)],
        )


def read_yolo(path: Path, losses: LossReport, task: str | None = None) -> Dataset:
    if path.is_dir():
        path = path / "data.yaml"
    if not path.is_file():
        raise ConfigError(f"no such file: {path}", hint="name the dataset's data.yaml")
    return YoloReader(path, losses, task).dataset()
