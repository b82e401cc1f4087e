"""The core hands a writer that needs the whole ontology first (`needs_final_ontology`) the
project as it is once every item is read, through a spool whose memory does not grow with
the item count."""

from __future__ import annotations

import tracemalloc
from pathlib import Path
from typing import Any, ClassVar

import pytest

from bridge import api
from bridge.formats import Capabilities, Dataset, FileFormat, ItemRecords
from bridge.formats.spool import with_final_ontology
from bridge.losses import LossReport
from bridge.schema import Item, LabelClass, Project


def _item(number: int) -> Item:
    return Item(key=f"img{number}.jpg", media={"kind": "image", "uri": f"img{number}.jpg"})


def discovering(count: int, records: bool = False) -> Dataset:
    """A reader that adds one label per item to its project while streaming."""
    project = Project(name="p")

    def produce(validate: bool):
        for number in range(count):
            project.ontology.labels.append(LabelClass(name=f"label{number}"))
            item = _item(number)
            yield item if validate else item.model_dump(mode="json", exclude_defaults=True)

    items = ItemRecords(produce) if records else produce(True)
    return Dataset(project=project, items=items)


class OntologyFirst(FileFormat):
    """A writer that writes the ontology's label names before the items."""

    name = "ontology-first-test"
    capabilities: ClassVar[Capabilities] = Capabilities(needs_final_ontology=True)
    seen: ClassVar[list[Any]] = []

    def write(self, dataset: Dataset, path: Path, losses: LossReport, **options: Any) -> None:
        labels = [label.name for label in dataset.project.ontology.labels]
        keys = [item.key for item in dataset.items]
        OntologyFirst.seen.append((labels, keys))


@pytest.mark.parametrize("records", [False, True])
def test_writer_sees_the_final_ontology_before_the_first_item(records, tmp_path, monkeypatch):
    monkeypatch.setattr(api.plugins, "get_format", lambda name: OntologyFirst())
    OntologyFirst.seen.clear()
    api.write_dataset(discovering(3, records), tmp_path / "out.x", "ontology-first-test")
    labels, keys = OntologyFirst.seen[0]
    assert labels == ["label0", "label1", "label2"]  # all three, though read item by item
    assert keys == ["img0.jpg", "img1.jpg", "img2.jpg"]


def test_no_spool_for_writers_that_do_not_ask_or_final_projects(tmp_path):
    dataset = discovering(2)
    dataset.ontology_final = True
    assert with_final_ontology(dataset) is dataset


def test_spool_streams_records_back_as_records():
    spooled = with_final_ontology(discovering(2, records=True))
    assert spooled.ontology_final
    records = list(spooled.items.records())
    assert records == [
        {"key": f"img{n}.jpg", "media": {"kind": "image", "uri": f"img{n}.jpg"}} for n in range(2)
    ]


def _peak_while_spooling(count: int) -> int:
    # one key for all: pydantic's JSON string cache (bounded, ~16k strings) stays small
    same = Item(key="img.jpg", media={"kind": "image", "uri": "img.jpg"})
    tracemalloc.start()
    try:
        spooled = with_final_ontology(
            Dataset(project=Project(name="p"), items=(same.model_copy() for _ in range(count)))
        )
        for _ in spooled.items:
            pass
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_spool_memory_does_not_grow_with_item_count():
    _peak_while_spooling(50)  # warm-up: first-use allocations
    small, large = _peak_while_spooling(200), _peak_while_spooling(8000)
    assert large < small * 2  # 40 times the items, not 40 times the memory
