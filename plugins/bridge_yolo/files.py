"""The `yolo` format: an Ultralytics YOLO dataset directory (data.yaml + labels/).

Reading: the path is the dataset's `data.yaml` (`bridge_yolo.read`). Options:
`task=detect|segment|obb|pose` (else data.yaml's `task`, `kpt_shape`, or the lines).

Writing: the path is the output directory (`bridge_yolo.layout` for the layout and how
names and paths are kept inside it). Options:

* `task=detect|segment|obb|pose`: the layout (default: from the ontology's region kinds,
  else the shapes of the first annotated item: keypoints pose, polygons or masks segment,
  rotated boxes obb, else detect).
* `sets=SPEC`: which annotation sets to write (`bridge.select`; default `all`). YOLO has
  no annotator column: several sets of one image go into its one label file
  (`yolo.sets-merged`).
* `label_map=FILE`: a JSON `{label: id}`; classes are numbered 0, 1, ... in the order of
  those ids, then the other classes in ontology order (YOLO class indices have no holes).
* `copy_images=true`: copy each item's local media file into `images/<subset>/` (remote
  media is listed in `sources.csv` and reported, `yolo.image-not-copied`). Default: label
  files only; `sources.csv` says which media goes where.
* `subset=NAME`: the subset of items that have none (default `train`). Items with a
  subset go to `images/<subset>`, `labels/<subset>`; data.yaml lists `train`, `val`
  (also for a subset named `validation`), `test` and any other subset by name.
* `overwrite=true`: replace a non-empty output directory.

Reported losses: `yolo.tracks-dropped`, `yolo.relations-dropped`,
`yolo.classifications-dropped`, `yolo.attributes-dropped`, `yolo.<kind>-dropped`,
`yolo.<kind>-as-box` (detect), `yolo.rotation-dropped` (detect), `yolo.ellipse-as-polygon`,
`yolo.obb-<kind>-dropped`, `yolo.pose-<kind>-dropped`, `yolo.size-unknown`,
`yolo.keypoint-unknown`, `yolo.kpt-shape-mismatch`, `yolo.unlabeled-dropped`,
`yolo.sets-merged`, `yolo.image-not-copied`, `yolo.<media>-dropped`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bridge.errors import ConfigError
from bridge.formats import Capabilities, Dataset, FileFormat
from bridge.label_map import load_label_map
from bridge.losses import LossReport
from bridge.options import flag_option
from bridge.select import SetSelector
from bridge_yolo.convert import TASKS
from bridge_yolo.read import read_yolo
from bridge_yolo.write import YoloWriter


def task_option(options: dict[str, Any]) -> Any:
    task = options.get("task")
    if task is not None and task not in TASKS:
        raise ConfigError(
            f"-O task={task}: not a YOLO task", hint="use task=detect, segment, obb or pose"
        )
    return task


class YoloDataset(FileFormat):
    name = "yolo"
    description = "Ultralytics YOLO dataset (data.yaml; detect, segment, obb, pose)"
    capabilities = Capabilities(
        media=["image"],
        regions=["bbox", "polygon", "skeleton", "points", "ellipse"],
        extensions=[],
        directory=True,  # the output path is a directory; the reader takes it or its data.yaml
        subsets=True,  # images/<subset>, labels/<subset>: one call writes every split
    )

    def sniff(self, path: Path, head: bytes) -> bool:
        if path.is_dir():
            return (path / "data.yaml").is_file()
        if path.suffix.lower() not in (".yaml", ".yml"):
            return False
        text = head.decode("utf-8", "replace")
        return "names" in text and any(f"{key}:" in text for key in ("train", "val", "test"))

    def read(self, path: Path, losses: LossReport, **options: Any) -> Dataset:
        return read_yolo(path, losses, task_option(options))

    def write(self, dataset: Dataset, path: Path, losses: LossReport, **options: Any) -> None:
        YoloWriter(
            dataset,
            losses,
            task=task_option(options),
            sets=SetSelector.parse(options.get("sets") or "all"),
            label_map=load_label_map(options.get("label_map")),
            copy_images=flag_option(options, "copy_images"),
            overwrite=flag_option(options, "overwrite"),
            default_subset=options.get("subset") or "train",
        ).write(path)
