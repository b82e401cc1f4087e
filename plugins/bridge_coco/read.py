"""The COCO reader: ground-truth files and detection results files.

* **Ground truth** (`instances_*.json`, `person_keypoints_*.json`): an object with
  `images`, `annotations` and `categories`. One item per image, in file order, keyed by
  its `file_name` (`FILE#ID` when two images share a name), with one annotation set
  (id "coco", kind human) holding its annotations, or one set per `annotator` when the
  annotations carry that key (as this plugin writes several sets).
* **Detection results** (`[{"image_id", "category_id", "bbox" | "segmentation" |
  "keypoints", "score"}, ...]`, what a model evaluated with pycocotools writes): one item
  per image that has results, in order of first appearance, with one annotation set of
  kind `prediction` (id "coco-results"). Results name neither their categories nor their
  images, so the reader needs the ground-truth (or any COCO) file they refer to:
  `-O images=instances_val2017.json` gives the category names and each image's file name
  and size (an image it does not list is keyed by its id, size unknown).

Memory: a COCO file is one JSON document whose annotations may come in any order, so the
reader parses it whole (orjson) and groups the annotations by image before the first item:
peak memory is about 9 times the file's size (benchmarks/export_bench.py: a 140 MB file of
100k images, 1.3 GB), released image by image as the items are handed on.
Every value is checked where it is read; a bad one is a `FormatError` naming the
annotation or image (`FILE: annotations[12]`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from bridge.errors import ConfigError, FormatError, describe_validation_error
from bridge.formats import Dataset
from bridge.losses import LossReport
from bridge.schema import AnnotationSet, Annotator, Item, Media, Project, Region, SourceRef
from bridge_coco.categories import ontology_from_categories
from bridge_coco.convert import TOOL, CategoryInfo, regions_from_annotation

HINT = "a COCO file is an object with images, annotations and categories (see cocodataset.org/#format-data)"
RESULTS_HINT = (
    'a detection results file is a list of {"image_id", "category_id", "bbox", "score"} objects'
)
IMAGE_KEYS = ("id", "file_name", "width", "height")


def load_json(path: Path) -> Any:
    try:
        with open(path, "rb") as handle:
            return orjson.loads(handle.read())
    except orjson.JSONDecodeError as error:
        raise FormatError(f"not valid JSON ({error})", where=str(path), hint=HINT) from None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _numbers(values: list[Any]) -> bool:
    """Every value a finite number (orjson gives no NaN; a huge literal is infinite)."""
    if not values:
        return True
    if not {type(v) for v in values} <= {int, float}:
        return False
    return math.isfinite(min(values)) and math.isfinite(max(values))


def _is_id(value: Any) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool)) or isinstance(value, str)


class Checker:
    """Checks the parts of one COCO file; errors name the file and the element."""

    def __init__(self, path: Path, losses: LossReport):
        self.path = path
        self.losses = losses

    def fail(self, where: str, problem: str, hint: str = HINT) -> FormatError:
        return FormatError(problem, where=f"{self.path}: {where}", hint=hint)

    def categories(self, data: Any) -> tuple[dict[Any, CategoryInfo], list[dict[str, Any]]]:
        if not isinstance(data, list):
            raise self.fail("categories", "categories is not a list")
        infos: dict[Any, CategoryInfo] = {}
        names: set[str] = set()
        for number, category in enumerate(data):
            where = f"categories[{number}]"
            if not isinstance(category, dict):
                raise self.fail(where, "a category is not an object")
            category_id, name = category.get("id"), category.get("name")
            if not _is_id(category_id) or not isinstance(name, str):
                raise self.fail(where, "a category needs an integer id and a name")
            if category_id in infos or name in names:
                raise self.fail(where, f"category id {category_id!r} or name {name!r} repeated")
            names.add(name)
            keypoints = category.get("keypoints") or []
            if not isinstance(keypoints, list) or not all(isinstance(k, str) for k in keypoints):
                raise self.fail(where, "keypoints must be a list of names")
            skeleton = category.get("skeleton") or []
            if not isinstance(skeleton, list) or not all(
                isinstance(pair, list)
                and len(pair) == 2
                and all(isinstance(i, int) and not isinstance(i, bool) for i in pair)
                for pair in skeleton
            ):
                raise self.fail(where, "skeleton must be a list of [from, to] keypoint numbers")
            infos[category_id] = CategoryInfo(name=name)
        ontology = ontology_from_categories(data)
        by_parent: dict[str, list[str]] = {}
        for label in ontology.labels:
            if label.parent is not None:
                by_parent.setdefault(label.parent, []).append(label.name)
        for info in infos.values():
            info.keypoints = by_parent.get(info.name, [])
        return infos, data

    def image(self, image: Any, number: int) -> dict[str, Any]:
        where = f"images[{number}]"
        if not isinstance(image, dict):
            raise self.fail(where, "an image is not an object")
        if not _is_id(image.get("id")):
            raise self.fail(where, "an image needs an id")
        if not isinstance(image.get("file_name", ""), str):
            raise self.fail(where, "file_name is not a string")
        for key in ("width", "height"):
            value = image.get(key)
            if value is not None and not (
                isinstance(value, int) and not isinstance(value, bool) and value > 0
            ):
                raise self.fail(where, f"{key} must be a positive integer")
        return image

    def annotation(
        self, annotation: Any, where: str, categories: dict[Any, CategoryInfo], hint: str = HINT
    ) -> CategoryInfo:
        if not isinstance(annotation, dict):
            raise self.fail(where, "an annotation is not an object", hint)
        category = categories.get(annotation.get("category_id"))
        if category is None:
            raise self.fail(
                where,
                f"category_id {annotation.get('category_id')!r} is not in the categories",
                hint,
            )
        bbox = annotation.get("bbox")
        if bbox is not None and not (
            isinstance(bbox, list)
            and len(bbox) == 4
            and _numbers(bbox)
            and bbox[2] >= 0
            and bbox[3] >= 0
        ):
            raise self.fail(where, "bbox must be [x, y, width, height] (width, height >= 0)", hint)
        segmentation = annotation.get("segmentation")
        if isinstance(segmentation, dict):
            self.rle(segmentation, where, hint)
        elif segmentation is not None and (
            not isinstance(segmentation, list)
            or not all(
                isinstance(polygon, list) and len(polygon) % 2 == 0 and _numbers(polygon)
                for polygon in segmentation
            )
        ):
            raise self.fail(
                where,
                "segmentation must be polygons [[x1, y1, x2, y2, x3, y3, ...], ...] (3 points or more) or an RLE",
                hint,
            )
        keypoints = annotation.get("keypoints")
        if keypoints is not None and not (
            isinstance(keypoints, list)
            and len(keypoints) == 3 * len(category.keypoints)
            and _numbers(keypoints)
            and all(v in (0, 1, 2) for v in keypoints[2::3])
        ):
            raise self.fail(
                where,
                f"keypoints must be [x, y, v] for each of the {len(category.keypoints)} keypoints of {category.name!r} (v 0, 1 or 2)",
                hint,
            )
        if "score" in annotation and not _is_number(annotation["score"]):
            raise self.fail(where, "score is not a number", hint)
        if bbox is None and not segmentation and not keypoints:
            raise self.fail(where, "an annotation needs a bbox, a segmentation or keypoints", hint)
        return category

    def rle(self, rle: dict[str, Any], where: str, hint: str) -> None:
        size, counts = rle.get("size"), rle.get("counts")
        if not (
            isinstance(size, list)
            and len(size) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in size)
        ):
            raise self.fail(where, "an RLE's size must be [height, width]", hint)
        if isinstance(counts, list):
            if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in counts):
                raise self.fail(
                    where, "uncompressed RLE counts must be non-negative integers", hint
                )
            if sum(counts) != size[0] * size[1]:
                raise self.fail(where, "the RLE's runs do not cover height x width pixels", hint)
        elif isinstance(counts, str):
            from bridge_coco.rle import string_to_counts

            try:
                runs = string_to_counts(counts)
            except ValueError as error:
                raise self.fail(where, f"bad compressed RLE: {error}", hint) from None
            if any(run < 0 for run in runs) or sum(runs) != size[0] * size[1]:
                raise self.fail(where, "the RLE's runs do not cover height x width pixels", hint)
        else:
            raise self.fail(where, "an RLE's counts must be a list of runs or a string", hint)


def _regions(
    checker: Checker,
    annotation: Any,
    where: str,
    categories: dict[Any, CategoryInfo],
    hint: str = HINT,
) -> list[Region]:
    category = checker.annotation(annotation, where, categories, hint)
    segmentation = annotation.get("segmentation")
    if isinstance(segmentation, list) and any(len(p) < 6 for p in segmentation):
        checker.losses.record(
            "coco.polygon-too-few-points",
            "a polygon of fewer than 3 points (kept in the region's extra, not as a shape)",
            where=f"{checker.path}: {where}",
        )
        annotation = {
            **annotation,
            "segmentation": [p for p in segmentation if len(p) >= 6],
            "short_polygons": [p for p in segmentation if len(p) < 6],
        }
    try:
        return regions_from_annotation(annotation, category, str(checker.path))
    except ValidationError as error:
        raise checker.fail(where, describe_validation_error(error), hint) from None


def _media(image: dict[str, Any] | None, key: str) -> Media:
    if image is None:
        return Media(kind="image", uri=None)
    return Media(
        kind="image",
        uri=image.get("file_name") or None,
        width=image.get("width"),
        height=image.get("height"),
    )


def _item_key(image: dict[str, Any], seen: set[str]) -> str:
    name = image.get("file_name") or str(image["id"])
    key = name if name not in seen else f"{name}#{image['id']}"
    seen.add(key)
    return key


def _sets(
    regions: list[tuple[str | None, Region]], kind: Any, default_id: str
) -> list[AnnotationSet]:
    by_annotator: dict[str | None, list[Region]] = {}
    for annotator, region in regions:
        by_annotator.setdefault(annotator, []).append(region)
    if not by_annotator:
        by_annotator[None] = []
    sets = []
    for annotator, members in by_annotator.items():
        person = None
        if annotator is not None:
            person = Annotator(email=annotator) if "@" in annotator else Annotator(name=annotator)
        sets.append(
            AnnotationSet(
                id=annotator or default_id,
                kind=kind,
                annotator=person,
                regions=members,
            )
        )
    return sets


def _annotator(annotation: dict[str, Any]) -> str | None:
    value = annotation.get("annotator")
    return value if isinstance(value, str) and value else None


def read_ground_truth(path: Path, data: dict[str, Any], losses: LossReport) -> Dataset:
    checker = Checker(path, losses)
    categories, raw_categories = checker.categories(data.get("categories", []))
    images = data.get("images", [])
    annotations = data.get("annotations", [])
    if not isinstance(images, list) or not isinstance(annotations, list):
        raise checker.fail("images/annotations", "images and annotations must be lists")
    checked_images = [checker.image(image, number) for number, image in enumerate(images)]
    known = {image["id"] for image in checked_images}
    if len(known) != len(checked_images):
        raise checker.fail("images", "two images have the same id")
    by_image: dict[Any, list[tuple[int, Any]]] = {}
    for number, annotation in enumerate(annotations):
        image_id = annotation.get("image_id") if isinstance(annotation, dict) else None
        if image_id not in known:
            raise checker.fail(
                f"annotations[{number}]", f"image_id {image_id!r} is not one of the images"
            )
        by_image.setdefault(image_id, []).append((number, annotation))
    info = data.get("info")
    project = Project(
        name=(info.get("description") if isinstance(info, dict) else None) or path.stem,
        media_kind="image",
        ontology=ontology_from_categories(raw_categories),
        source=SourceRef(tool=TOOL, instance=str(path)),
        extra={key: data[key] for key in ("info", "licenses") if key in data},
    )

    def items() -> Iterator[Item]:
        seen: set[str] = set()
        for image in checked_images:
            regions = []
            for number, annotation in by_image.pop(image["id"], []):
                for region in _regions(checker, annotation, f"annotations[{number}]", categories):
                    regions.append((_annotator(annotation), region))
            yield Item(
                key=_item_key(image, seen),
                media=_media(image, ""),
                annotation_sets=_sets(regions, "human", TOOL),
                source=SourceRef(tool=TOOL, instance=str(path), item=str(image["id"])),
                extra={k: v for k, v in image.items() if k not in IMAGE_KEYS},
            )

    return Dataset(project=project, items=items(), origin=str(path), ontology_final=True)


def read_results(
    path: Path, data: list[Any], losses: LossReport, images_path: Path | None
) -> Dataset:
    if images_path is None:
        raise ConfigError(
            "a COCO detection results file names neither its categories nor its images",
            where=str(path),
            hint="give the ground-truth file it refers to: -O images=instances_val2017.json",
        )
    if not images_path.is_file():
        raise ConfigError(f"no such file: {images_path}", hint="-O images=FILE names a COCO file")
    companion = load_json(images_path)
    if not isinstance(companion, dict):
        raise FormatError("not a COCO ground-truth file", where=str(images_path), hint=HINT)
    gt_checker = Checker(images_path, losses)
    categories, raw_categories = gt_checker.categories(companion.get("categories", []))
    images = {
        image["id"]: image
        for number, image in enumerate(companion.get("images") or [])
        for image in [gt_checker.image(image, number)]
    }
    checker = Checker(path, losses)
    by_image: dict[Any, list[tuple[int, Any]]] = {}
    for number, result in enumerate(data):
        image_id = result.get("image_id") if isinstance(result, dict) else None
        if not _is_id(image_id):
            raise checker.fail(f"[{number}]", "a result needs an image_id", RESULTS_HINT)
        by_image.setdefault(image_id, []).append((number, result))
    project = Project(
        name=path.stem,
        media_kind="image",
        ontology=ontology_from_categories(raw_categories),
        source=SourceRef(tool=TOOL, instance=str(path)),
    )

    def items() -> Iterator[Item]:
        seen: set[str] = set()
        for image_id, results in by_image.items():
            image = images.get(image_id)
            regions = []
            for number, result in results:
                numbered = {**result, "id": number + 1}  # as pycocotools' loadRes numbers them
                for region in _regions(checker, numbered, f"[{number}]", categories, RESULTS_HINT):
                    regions.append((None, region))
            if image is None:
                losses.record(
                    "coco.result-image-unknown",
                    "results for an image the images file does not list (keyed by its id, size unknown)",
                    where=f"{path}: image_id {image_id!r}",
                    severity="approximated",
                )
            yield Item(
                key=_item_key(image or {"id": image_id}, seen),
                media=_media(image, ""),
                annotation_sets=_sets(regions, "prediction", "coco-results"),
                source=SourceRef(tool=TOOL, instance=str(path), item=str(image_id)),
            )

    return Dataset(project=project, items=items(), origin=str(path), ontology_final=True)


def read_coco(path: Path, losses: LossReport, *, images: Path | None = None) -> Dataset:
    """Open a COCO ground-truth or detection results file (see the module docstring)."""
    data = load_json(path)
    if isinstance(data, list):
        return read_results(path, data, losses, images)
    if not isinstance(data, dict):
        raise FormatError(
            "not a COCO file (neither an object nor a list)", where=str(path), hint=HINT
        )
    return read_ground_truth(path, data, losses)
