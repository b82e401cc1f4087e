"""The Pascal VOC layout on disk: reading and writing a VOC directory.

```
DIR/
  Annotations/<name>.xml      one annotation file per image (bridge_voc.convert)
  ImageSets/Main/<subset>.txt the image names (file stems) of each subset, one a line
  labelmap.txt                the classes, one a line, as `name:color:parts:actions`
                              (Datumaro's and CVAT's VOC label map; color left empty)
```
Images are not copied: `<filename>` names the image (the last path component of the item
key), which a VOC loader looks up in `JPEGImages/`.

Reading takes the directory (or one annotation `.xml` file); every XML file is parsed with
defusedxml (no DTDs, entities or external references). An image's subset comes from the
`ImageSets/Main/<subset>.txt` list that names it (class lists such as `car_train.txt`,
whose lines carry a second column, are not subsets); an image in none, or only in
`default.txt` (where the writer lists items without a subset), has no subset.

Writing creates the directory through `bridge.export.staging.staged_directory`: a stage
beside it renamed into place at the end, never half a layout, a link at the path refused.
File names come from `safe_stem(key)` (bridge.export.staging): a key such as `../../x.jpg` or `/abs/x.jpg` gives
`x.xml` inside `Annotations/`; two keys with the same stem get the second a hashed name
(`x_1a2b3c4d`). Items without a subset are listed in `ImageSets/Main/default.txt`. A key's
directories (`voc-key-path`) and a name made safe (`a b.jpg` as `a_b.jpg`:
`voc-file-name`) are reported.

Options: `-O shapes=bbox|drop` (what to do with polygons, masks and other outlines: the box
around them, the default, or nothing; both reported).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any
from xml.etree.ElementTree import Element, ParseError

from bridge.errors import ConfigError, FormatError
from bridge.export.staging import create_exclusive, hashed_stem, safe_stem, staged_directory
from bridge.formats import Capabilities, Dataset, FileFormat
from bridge.losses import LossReport
from bridge.schema import Item, LabelClass, Project
from bridge_voc.convert import NOT_XML, SHAPE_CHOICES, item_from_xml, item_to_xml

DEFAULT_SUBSET = "default"
VOC_ROOT = re.compile(rb"<annotation[\s>]")
"""A VOC file's root element (CVAT's XML starts `<annotations>`: not this)."""
MAX_XML_BYTES = 16 << 20
"""An annotation file larger than this is refused (a VOC file describes one image)."""


def parse_xml(path: Path) -> Element:
    """The root element of the XML file at `path`, parsed by defusedxml."""
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_XML_BYTES + 1)
    except OSError as error:
        raise FormatError(f"cannot read: {error.strerror}", where=str(path)) from None
    if len(data) > MAX_XML_BYTES:
        raise FormatError(
            f"larger than {MAX_XML_BYTES >> 20} MiB",
            where=str(path),
            hint="a VOC file describes one image",
        )
    try:
        root: Element = fromstring(data)
    except ParseError as error:
        raise FormatError(
            f"not well-formed XML ({error})", where=str(path), hint="is the file complete?"
        ) from None
    except DefusedXmlException as error:
        raise FormatError(
            f"refused XML construct ({type(error).__name__})",
            where=str(path),
            hint="VOC files need no DTD, entities or external references",
        ) from None
    return root


def _subset_lists(main: Path) -> dict[str, str]:
    """image stem -> subset, from the `ImageSets/Main/*.txt` lists (a stem in several lists
    keeps the first, in name order, preferring any list over `trainval`)."""
    if not main.is_dir():
        return {}
    names = sorted(p.name for p in main.iterdir() if p.suffix == ".txt" and p.is_file())
    names.sort(key=lambda name: name == "trainval.txt")
    subsets: dict[str, str] = {}
    for name in names:
        with open(main / name, encoding="utf-8", errors="surrogateescape") as handle:
            lines = [line.split() for line in handle if line.strip()]
        if any(len(parts) != 1 for parts in lines):
            continue  # a class list (`car_train.txt`: "2008_000008 -1"), not a subset
        for (stem,) in lines:
            subsets.setdefault(stem, name[: -len(".txt")])
    return subsets


def _labelmap(path: Path) -> list[str]:
    if not path.is_file():
        return []
    labels = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            text = line.strip()
            if text and not text.startswith("#"):
                labels.append(text.split(":", 1)[0])
    return labels


def _add_label(project: Project, known: set[str], label: str | None) -> None:
    if label is not None and label not in known:
        known.add(label)
        project.ontology.labels.append(LabelClass(name=label, kinds=["bbox"]))


def read_voc(path: Path) -> Dataset:
    """Open a VOC directory (or one annotation file): items are parsed as they are read."""
    if path.is_file():
        files, root_dir = [path], path.parent
    else:
        annotations = path / "Annotations"
        if not annotations.is_dir():
            raise FormatError(
                "no Annotations/ directory",
                where=str(path),
                hint="give the VOC root (the folder holding Annotations/)",
            )
        files = sorted(
            (annotations / name for name in os.listdir(annotations) if name.endswith(".xml")),
            key=lambda p: p.name,
        )
        root_dir = path
    project = Project(name=root_dir.name or "voc", media_kind="image")
    known: set[str] = set()
    for label in _labelmap(root_dir / "labelmap.txt"):
        _add_label(project, known, label)
    subsets = _subset_lists(root_dir / "ImageSets" / "Main") if path.is_dir() else {}

    def items() -> Iterator[Item]:
        for file in files:
            item = item_from_xml(parse_xml(file), where=str(file), fallback_key=file.stem)
            subset = subsets.get(file.stem)
            if subset is not None and subset != DEFAULT_SUBSET:
                item = item.model_copy(update={"subset": subset})
            for aset in item.annotation_sets:
                for region in aset.regions:
                    _add_label(project, known, region.label)
            yield item

    return Dataset(project=project, items=items(), origin=str(path))


class _Lists:
    """The open `ImageSets/Main/<subset>.txt` files, one per subset met."""

    def __init__(self, directory: Path, losses: LossReport):
        self.directory = directory
        self.losses = losses
        self.handles: dict[str, IO[bytes]] = {}

    def add(self, subset: str | None, stem: str) -> None:
        name = safe_stem(subset, keep_suffix=True) if subset else DEFAULT_SUBSET
        if subset and name != subset:
            self.losses.record(
                "voc-subset-renamed",
                "a subset name that is not a plain file name listed under a safe name",
                where=f"subset {subset!r}",
                severity="approximated",
            )
        handle = self.handles.get(name)
        if handle is None:
            handle = self.handles[name] = create_exclusive(self.directory, f"{name}.txt")
        handle.write(stem.encode() + b"\n")

    def close(self) -> None:
        for handle in self.handles.values():
            handle.close()


def _open_annotation(directory: Path, key: str) -> tuple[str, IO[bytes]]:
    stem = safe_stem(key)
    try:
        return stem, create_exclusive(directory, f"{stem}.xml")
    except FileExistsError:
        pass
    stem = hashed_stem(key)
    try:
        return stem, create_exclusive(directory, f"{stem}.xml")
    except FileExistsError:
        raise FormatError(
            "two items have the same key", where=f"item {key!r}", hint="item keys must be unique"
        ) from None


def write_voc(dataset: Dataset, path: Path, losses: LossReport, *, shapes: str = "bbox") -> int:
    """Write `dataset` as a VOC directory at `path` (staged, renamed into place); return the
    number of annotation files written."""
    if shapes not in SHAPE_CHOICES:
        raise ConfigError(f"shapes must be bbox or drop, not {shapes!r}", hint="-O shapes=bbox")
    count = 0
    labels: dict[str, None] = {label.name: None for label in dataset.project.ontology.labels}
    with staged_directory(path) as stage:
        annotations = stage / "Annotations"
        main = stage / "ImageSets" / "Main"
        annotations.mkdir()
        main.mkdir(parents=True)
        lists = _Lists(main, losses)
        try:
            for item in dataset.items:
                name = safe_stem(item.key, keep_suffix=True)
                folder = (
                    item.extra.get("voc", {}).get("folder")
                    if isinstance(item.extra.get("voc"), dict)
                    else None
                )
                xml = item_to_xml(item, name, folder or "JPEGImages", losses, shapes=shapes)
                if xml is None:
                    continue
                if "/" in item.key or "\\" in item.key:
                    losses.record(
                        "voc-key-path",
                        "VOC names an image by its file name only: the key's directories are not kept",
                        where=f"item {item.key!r}",
                        severity="approximated",
                    )
                if name != re.split(r"[/\\]", item.key)[-1]:
                    losses.record(
                        "voc-file-name",
                        "an image name that is not a plain file name written as a safe one",
                        where=f"item {item.key!r}",
                        severity="approximated",
                    )
                stem, handle = _open_annotation(annotations, item.key)
                with handle:
                    handle.write(xml)
                lists.add(item.subset, stem)
                for aset in item.annotation_sets[:1]:
                    for region in aset.regions:
                        if region.label is not None:
                            labels.setdefault(region.label)
                count += 1
        finally:
            lists.close()
        with open(stage / "labelmap.txt", "w", encoding="utf-8") as handle:
            handle.write("# label:color_rgb:parts:actions\n")
            for label in labels:
                written = NOT_XML.sub("", re.sub(r"[:\r\n]", "_", label))
                if written != label:
                    losses.record(
                        "voc-labelmap-name",
                        "':' and line breaks in a class name written as '_' in labelmap.txt "
                        "(control characters removed, as in the XML)",
                        where=f"label {label!r}",
                        severity="approximated",
                    )
                handle.write(f"{written}:::\n")
    return count


class VocFormat(FileFormat):
    name = "voc"
    description = "Pascal VOC detection layout (Annotations/*.xml, ImageSets/Main, labelmap.txt)"
    capabilities = Capabilities(
        media=["image"],
        regions=["bbox"],
        extensions=[],
        directory=True,
        subsets=True,
    )

    def sniff(self, path: Path, head: bytes) -> bool:
        if path.is_dir():
            return (path / "Annotations").is_dir()
        return path.suffix.lower() == ".xml" and VOC_ROOT.search(head[:4096]) is not None

    def read(self, path: Path, losses: LossReport, **options: Any) -> Dataset:
        return read_voc(path)

    def write(self, dataset: Dataset, path: Path, losses: LossReport, **options: Any) -> None:
        write_voc(dataset, path, losses, shapes=str(options.get("shapes", "bbox")))
