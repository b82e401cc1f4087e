"""Test data built by construction: N images with known boxes, written as unified JSONL,
then converted with our own writers into a CVAT XML (for images) and a Labelbox export v2
NDJSON, so that two tools' exports of the *same* items exist with counts known in
advance."""

from __future__ import annotations

from pathlib import Path

from bridge import api
from bridge.formats import Dataset
from bridge.schema import (
    AnnotationSet,
    Annotator,
    BBox,
    Item,
    LabelClass,
    Media,
    Ontology,
    Project,
    Region,
)

LABELS = ("cat", "dog")
WIDTH, HEIGHT = 640, 480


def boxes_of(index: int) -> int:
    """How many boxes image `index` has: 1, 2 or 3 (by construction)."""
    return 1 + index % 3


def make_items(
    count: int, annotator: str = "ann@example.com", prefix: str = "img", start: int = 0
) -> list[Item]:
    """Images `start` .. `start + count - 1`, each with one set of `boxes_of(index)` boxes."""
    items = []
    for index in range(start, start + count):
        regions = [
            Region(
                id=f"{index}-{box}",
                label=LABELS[(index + box) % 2],
                shape=BBox(x=10.0 + 5 * box, y=20.0 + index, width=30.0, height=40.0),
            )
            for box in range(boxes_of(index))
        ]
        items.append(
            Item(
                key=f"{prefix}_{index:03d}.jpg",
                media=Media(
                    kind="image", uri=f"images/{prefix}_{index:03d}.jpg", width=WIDTH, height=HEIGHT
                ),
                annotation_sets=[
                    AnnotationSet(
                        id=f"set-{index}", annotator=Annotator(email=annotator), regions=regions
                    )
                ],
            )
        )
    return items


def project() -> Project:
    return Project(
        name="pets",
        media_kind="image",
        ontology=Ontology(labels=[LabelClass(name=name, kinds=["bbox"]) for name in LABELS]),
    )


def write_jsonl(path: Path, items: list[Item]) -> Path:
    api.write_dataset(Dataset(project=project(), items=items, ontology_final=True), path, "jsonl")
    return path


VENDOR_A = "vendor-a@example.com"
VENDOR_B = "vendor-b@example.com"
ASSIGNEE = f"<assignee><username>vendor-a</username><email>{VENDOR_A}</email></assignee>"


def two_exports(directory: Path, count: int = 50) -> tuple[Path, Path]:
    """(CVAT XML, Labelbox NDJSON) of the same `count` images, converted by our writers
    from unified JSONL. CVAT XML names an annotator only as the task's assignee in its
    meta (the writer reports the set's annotator as lost), so the task assignee
    (vendor A) is written into the meta as CVAT's own export does; the Labelbox labels
    carry vendor B as `created_by`."""
    cvat_source = write_jsonl(directory / "a.jsonl", make_items(count, annotator=VENDOR_A))
    labelbox_source = write_jsonl(directory / "b.jsonl", make_items(count, annotator=VENDOR_B))
    cvat = directory / "cvat.xml"
    labelbox = directory / "labelbox.ndjson"
    api.convert(cvat_source, cvat)
    text = cvat.read_text()
    assert text.count("<mode>annotation</mode>") == 1
    cvat.write_text(text.replace("<mode>annotation</mode>", "<mode>annotation</mode>" + ASSIGNEE))
    api.convert(labelbox_source, labelbox, to_format="labelbox")
    return cvat, labelbox
