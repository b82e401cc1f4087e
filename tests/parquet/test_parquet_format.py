"""Parquet: one row per region, read by pyarrow and DuckDB; items without regions present;
row groups of N rows; read back into the same items."""

from __future__ import annotations

import sys
import tracemalloc
from collections import Counter
from datetime import UTC, datetime

import duckdb
import pyarrow.parquet as pq
import pytest
from bridge_parquet.files import write_parquet

from bridge import api
from bridge.errors import ConfigError, FormatError
from bridge.formats import Dataset
from bridge.losses import LossReport
from bridge.schema import (
    AnnotationSet,
    Annotator,
    Answer,
    BBox,
    Classification,
    Item,
    Keyframe,
    Media,
    Polygon,
    Project,
    Region,
    SourceRef,
    Span,
    Track,
)

LABELS = ["car", "person", "dog", "car", "car", "person"]


def _items() -> list[Item]:
    box = Region(
        id="b",
        label="car",
        shape=BBox(x=1.5, y=2, width=3, height=4, rotation=10),
        score=0.9,
        classifications=[
            Classification(name="color", answers=[Answer(value="red")]),
            Classification(name="tags", answers=[Answer(value="a"), Answer(value="b")]),
        ],
    )
    polygon = Region(
        id="p", label="person", shape=Polygon(points=[(0, 0), (4, 0), (4, 4)]), occluded=True
    )
    track = Track(
        id="t1",
        label="dog",
        keyframes=[
            Keyframe(frame=0, shape=BBox(x=0, y=0, width=2, height=2)),
            Keyframe(frame=7, outside=True),
        ],
    )
    human = AnnotationSet(
        id="s1",
        annotator=Annotator(email="ann@example.com", name="Ann"),
        status="accepted",
        source=SourceRef(tool="cvat"),
        created_at=datetime(2024, 5, 1, 12, 0, tzinfo=UTC),
        regions=[box, polygon],
        tracks=[track],
        classifications=[Classification(name="quality", answers=[Answer(value="good")])],
    )
    model = AnnotationSet(id="s2", kind="prediction", model_version="v3", regions=[])
    text = AnnotationSet(
        id="s3", regions=[Region(id="e", label="PER", shape=Span(start=0, end=5, text="Alice"))]
    )
    return [
        Item(key="a.jpg", media=Media(kind="image", uri="s3://b/a.jpg", width=640, height=480), subset="train", annotation_sets=[human, model]),
        Item(key="empty.jpg", media=Media(kind="image")),
        Item(key="t1", media=Media(kind="text", text="Alice runs"), annotation_sets=[text]),
    ]  # fmt: skip


def _write(path, items, **options):
    losses = LossReport()
    rows = write_parquet(Dataset(project=Project(name="t"), items=items), path, losses, **options)
    return rows, losses


def test_one_row_per_region_keyframe_and_empty_set_or_item(tmp_path):
    path = tmp_path / "out.parquet"
    rows, _ = _write(path, _items())
    table = pq.read_table(path)
    # a.jpg: 2 regions + 2 keyframes + 1 row for the empty prediction set; empty.jpg: 1; t1: 1
    assert rows == table.num_rows == 7
    data = table.to_pylist()
    assert [r["item_key"] for r in data] == ["a.jpg"] * 5 + ["empty.jpg", "t1"]
    first = data[0]
    assert (
        first["bbox_x"],
        first["bbox_y"],
        first["bbox_w"],
        first["bbox_h"],
        first["rotation"],
    ) == (1.5, 2, 3, 4, 10)
    assert first["classifications"] == [
        {"name": "color", "answers": ["red"]},
        {"name": "tags", "answers": ["a", "b"]},
    ]
    assert first["set_classifications"] == [{"name": "quality", "answers": ["good"]}]
    assert (first["annotator_email"], first["set_status"], first["source_tool"]) == (
        "ann@example.com",
        "accepted",
        "cvat",
    )
    assert first["created_at"] == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert data[1]["bbox_x"] is None and data[1]["shape_type"] == "polygon"
    keyframes = [r for r in data if r["track_id"] == "t1"]
    assert [(r["frame"], r["outside"]) for r in keyframes] == [(0, False), (7, True)]
    assert data[4]["set_id"] == "s2" and data[4]["region_id"] is None
    assert data[5]["set_id"] is None and data[5]["region_id"] is None
    assert (
        table.schema.field("classifications").type.value_type.field("answers").type.value_type
        == "string"
    )


def test_duckdb_counts_equal_the_input(tmp_path):
    path = tmp_path / "out.parquet"
    items = [
        Item(
            key=f"i{n}",
            media=Media(kind="image", width=10, height=10),
            annotation_sets=[
                AnnotationSet(
                    id=f"s{n}",
                    regions=[
                        Region(
                            id=str(k),
                            label=LABELS[(n + k) % len(LABELS)],
                            shape=BBox(x=0, y=0, width=1, height=1),
                        )
                        for k in range(n % 4)
                    ],
                )
            ],
        )
        for n in range(50)
    ]
    expected = Counter(
        r.label for item in items for aset in item.annotation_sets for r in aset.regions
    )
    _write(path, items, row_group_size=7)
    got = duckdb.sql(
        f"SELECT label, count(*) FROM '{path}' WHERE region_id IS NOT NULL GROUP BY label"
    ).fetchall()
    assert dict(got) == dict(expected)
    assert duckdb.sql(f"SELECT count(DISTINCT item_key) FROM '{path}'").fetchall() == [(50,)]


def test_rows_are_written_in_row_groups_of_n(tmp_path):
    path = tmp_path / "out.parquet"
    items = [Item(key=f"k{n}", media=Media(kind="image")) for n in range(25)]
    _write(path, items, row_group_size=10)
    metadata = pq.ParquetFile(path).metadata
    assert [metadata.row_group(g).num_rows for g in range(metadata.num_row_groups)] == [10, 10, 5]


def test_memory_does_not_grow_with_the_item_count(tmp_path):
    def items(count):
        for n in range(count):
            yield Item(
                key=f"k{n}",
                media=Media(kind="image", width=100, height=100),
                annotation_sets=[
                    AnnotationSet(
                        id="s",
                        regions=[
                            Region(id="r", label="car", shape=BBox(x=1, y=1, width=5, height=5))
                        ],
                    )
                ],
            )

    peaks = []
    for count in (2_000, 20_000):
        tracemalloc.start()
        _write(tmp_path / f"{count}.parquet", items(count), row_group_size=500)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert peaks[1] < 2 * peaks[0], peaks  # ten times the items, not ten times the memory


def test_read_back_gives_the_items(tmp_path):
    path = tmp_path / "out.parquet"
    items = _items()
    _, losses = _write(path, items)
    back = list(api.open_dataset(path).items)  # sniffed by its PAR1 magic
    assert [b.key for b in back] == [i.key for i in items]
    a, empty, text = back
    assert a.annotation_sets[0].regions[0].shape == items[0].annotation_sets[0].regions[0].shape
    assert a.annotation_sets[0].tracks == items[0].annotation_sets[0].tracks
    assert a.annotation_sets[1].kind == "prediction" and a.annotation_sets[1].model_version == "v3"
    assert empty.annotation_sets == [] and empty.media.kind == "image"
    assert text.media.text == "Alice runs"
    assert text.annotation_sets == items[2].annotation_sets
    assert losses.count("parquet-answer-types") == 0


def test_what_parquet_cannot_hold_is_reported(tmp_path):
    nested = Classification(
        name="animal",
        answers=[
            Answer(
                value="dog",
                classifications=[Classification(name="breed", answers=[Answer(value="pug")])],
            )
        ],
    )
    item = Item(
        key="k",
        media=Media(kind="image"),
        data={"image": "x"},
        annotation_sets=[
            AnnotationSet(
                id="s",
                classifications=[nested, Classification(name="n", answers=[Answer(value=3)])],
            )
        ],
    )
    video = Item(
        key="v",
        media=Media(kind="video", fps=25.0),
        annotation_sets=[
            AnnotationSet(
                id="c",
                kind="consensus",
                score=0.6,
                source=SourceRef(tool="cvat", project="7"),
            )
        ],
    )
    path = tmp_path / "out.parquet"
    _, losses = _write(path, [item, video])
    assert pq.read_table(path).to_pylist()[0]["set_classifications"] == [
        {"name": "animal", "answers": ["dog"]},
        {"name": "animal/dog/breed", "answers": ["pug"]},
        {"name": "n", "answers": ["3"]},
    ]
    for code in (
        "parquet-nested-flattened",
        "parquet-answer-types",
        "parquet-item-data",
        "parquet-media-facts",
        "parquet-set-score",
        "parquet-set-source",
    ):
        assert losses.count(code) == 1, code
    tool_only = Item(
        key="t",
        media=Media(kind="image"),
        annotation_sets=[AnnotationSet(id="t", source=SourceRef(tool="cvat"))],
    )
    _, plain = _write(tmp_path / "tool.parquet", [tool_only])
    assert not plain  # the tool's name is the source_tool column: nothing lost


@pytest.mark.parametrize(
    ("column", "value", "located"),
    [
        ("geometry", '{"type": "bbox", "x": "left"}', "row 2"),
        ("media_kind", "hologram", "the item from row 1"),
    ],
)
def test_rows_the_model_refuses_are_located_format_errors(tmp_path, column, value, located):
    path = tmp_path / "out.parquet"
    boxes = [
        Region(id=str(n), label="car", shape=BBox(x=n, y=0, width=1, height=1)) for n in (1, 2)
    ]
    item = Item(
        key="k",
        media=Media(kind="image"),
        annotation_sets=[AnnotationSet(id="s", regions=boxes)],
    )
    _write(path, [item])
    table = pq.read_table(path)
    cells = table.column(column).to_pylist()
    cells[-1 if column == "geometry" else 0] = value
    pq.write_table(table.set_column(table.schema.get_field_index(column), column, [cells]), path)
    with pytest.raises(FormatError) as error:
        list(api.open_dataset(path).items)
    assert error.value.where == f"{path} {located}"


def test_without_pyarrow_a_config_error_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(ConfigError) as error:
        _write(tmp_path / "x.parquet", [])
    assert "label-bridge[parquet]" in error.value.hint
