"""The YOLO dataset directory: safe file names, the staged output directory, data.yaml.

Layout written (Ultralytics' documented layout, https://docs.ultralytics.com/datasets/detect/):

    OUT/data.yaml                 names, train/val/test, kpt_shape (pose), task
    OUT/labels/<subset>/<name>.txt   one label file per image
    OUT/images/<subset>/<name>.<ext> the images, with -O copy_images=true
    OUT/sources.csv               subset, image path in the dataset, the item's media URI

**Names**: an image's name is the last part of its media URI (else its item key) with
control characters, NUL, `/` and `\\` replaced by `_` and leading dots removed (so never
`..`, never hidden, never absolute), cut to 150 characters; a name already used in the
subset gets `-2`, `-3`... before its extension. Subset names are cleaned the same way. So
no item name can place a file outside OUT.

**The output directory** is built by `bridge.export.staging.staged_directory`: beside OUT
in a fresh temporary directory, renamed to OUT at the end: nothing that existed before (a
symlink planted inside) is written through, and a failed export leaves nothing half-written. OUT itself must not be a
symlink (refused, never followed), nor a non-empty directory unless `-O overwrite=true`
(then the old directory is replaced whole).
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bridge.errors import ConfigError
from bridge.export import staging

UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\]")
MAX_NAME = 150


def safe_name(text: str, fallback: str = "item") -> str:
    """`text` as one path component that stays where it is put (see the module)."""
    name = UNSAFE.sub("_", text).lstrip(".").strip()
    if len(name) > MAX_NAME:
        stem, dot, ext = name.rpartition(".")
        name = (
            (stem[: MAX_NAME - len(ext) - 1] + dot + ext)
            if dot and len(ext) < 10
            else name[:MAX_NAME]
        )
    return name or fallback


def split_name(name: str) -> tuple[str, str]:
    """(stem, extension with its dot) of a file name; no extension: ""."""
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or len(ext) > 10 or " " in ext:
        return name, ""
    return stem, "." + ext


class UniqueNames:
    """Image stems already used in each subset."""

    def __init__(self) -> None:
        self.used: dict[str, set[str]] = {}

    def take(self, subset: str, stem: str) -> str:
        used = self.used.setdefault(subset, set())
        candidate, number = stem, 1
        while candidate.lower() in used:
            number += 1
            candidate = f"{stem}-{number}"
        used.add(candidate.lower())
        return candidate


def inside(root: Path, *parts: str) -> Path:
    """`root / parts...`, checked to stay inside `root` (the parts are safe names)."""
    path = root.joinpath(*parts)
    if os.path.commonpath([os.path.abspath(root), os.path.abspath(path)]) != os.path.abspath(root):
        raise ConfigError(f"{path} is outside the output directory", hint="report this as a bug")
    return path


@contextlib.contextmanager
def staged_directory(out: Path, overwrite: bool) -> Iterator[Path]:
    """`bridge.export.staging.staged_directory(out, replace=overwrite)`; a non-empty `out`
    is first refused with the hint YOLO's users need (`-O overwrite=true`, not `--force`)."""
    if not overwrite and not out.is_symlink() and out.is_dir() and any(out.iterdir()):
        raise ConfigError(
            f"{out} is not empty",
            hint="give a new directory, or -O overwrite=true to replace it",
        )
    with staging.staged_directory(out, replace=overwrite) as stage:
        yield stage


def data_yaml(
    names: list[str],
    subsets: list[str],
    task: str,
    keypoints: list[str] | None,
) -> str:
    """The text of data.yaml (Ultralytics' keys, plus `task` and `kpt_names`, ours)."""
    import yaml

    document: dict[str, Any] = {}
    for subset in subsets:
        key = {"validation": "val", "valid": "val"}.get(subset, subset)
        document.setdefault(key, f"images/{subset}")
    if task == "pose" and keypoints is not None:
        document["kpt_shape"] = [len(keypoints), 3]
        document["kpt_names"] = keypoints
    document["names"] = dict(enumerate(names))
    document["task"] = task
    text: str = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    return text
