"""The unified JSONL format: lossless round trips, line-numbered errors, atomic output."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.errors import FormatError
from bridge.formats import Dataset
from bridge.formats.jsonl import read_jsonl, write_jsonl
from bridge.schema import BBox, Item, LabelClass, Media, Ontology, Project, Region

from .strategies import items

PROJECT = Project(name="p", ontology=Ontology(labels=[LabelClass(name="car", kinds=["bbox"])]))


@settings(
    max_examples=150,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.lists(items, max_size=4))
def test_any_valid_item_survives_jsonl_write_then_read(tmp_path, generated):
    path = tmp_path / "out.jsonl"
    write_jsonl(Dataset(PROJECT, iter(generated)), path)
    dataset = read_jsonl(path)
    assert dataset.project == PROJECT
    assert list(dataset.items) == generated


def _write_lines(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _header():
    return json.dumps({"format": "bridge-jsonl", "version": 1, "project": {"name": "p"}})


def _item(key):
    return json.dumps({"key": key, "media": {"kind": "image"}})


def test_malformed_json_line_names_its_line_number(tmp_path):
    path = tmp_path / "bad.jsonl"
    _write_lines(path, [_header(), _item("a"), '{"key": "b", "media": ', _item("c")])
    reader = read_jsonl(path).items
    assert next(iter(reader)).key == "a"
    with pytest.raises(FormatError) as caught:
        list(reader)
    assert caught.value.where == f"{path}:3"
    assert "not valid JSON" in caught.value.message


def test_invalid_item_names_line_and_field(tmp_path):
    path = tmp_path / "bad.jsonl"
    bad_region = {
        "key": "x",
        "media": {"kind": "image"},
        "annotation_sets": [
            {
                "id": "1",
                "regions": [
                    {
                        "id": "r",
                        "shape": {"type": "bbox", "x": 1, "y": 2, "width": "wide", "height": 1},
                    }
                ],
            }
        ],
    }
    _write_lines(path, [_header(), "", json.dumps(bad_region)])
    with pytest.raises(FormatError) as caught:
        list(read_jsonl(path).items)
    assert caught.value.where == f"{path}:3"
    assert "annotation_sets.0.regions.0.shape.bbox.width" in caught.value.message


def test_unknown_shape_type_is_refused(tmp_path):
    path = tmp_path / "bad.jsonl"
    item = {
        "key": "x",
        "media": {"kind": "image"},
        "annotation_sets": [{"id": "1", "regions": [{"id": "r", "shape": {"type": "blob"}}]}],
    }
    _write_lines(path, [_header(), json.dumps(item)])
    with pytest.raises(FormatError, match="blob"):
        list(read_jsonl(path).items)


@pytest.mark.parametrize(
    "first_line, problem",
    [
        ('{"format": "other"}', "not a bridge-jsonl header"),
        ('{"format": "bridge-jsonl", "version": 99}', "unsupported version"),
        ("[1, 2", "not valid JSON"),
    ],
)
def test_bad_header_is_refused_at_line_one(tmp_path, first_line, problem):
    path = tmp_path / "bad.jsonl"
    _write_lines(path, [first_line, _item("a")])
    with pytest.raises(FormatError) as caught:
        read_jsonl(path)
    assert caught.value.where == f"{path}:1"
    assert problem in caught.value.message


def test_empty_file_is_refused(tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"")
    with pytest.raises(FormatError, match="empty"):
        read_jsonl(path)


def test_failed_write_leaves_no_output_and_keeps_the_old_file(tmp_path):
    path = tmp_path / "out.jsonl"
    path.write_text("previous content")

    def exploding_items():
        yield Item(key="a", media=Media(kind="image"))
        raise RuntimeError("reader failed half way")

    with pytest.raises(RuntimeError):
        write_jsonl(Dataset(PROJECT, exploding_items()), path)
    assert path.read_text() == "previous content"
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]


def test_header_reflects_labels_discovered_while_streaming(tmp_path):
    project = Project(name="grows")

    def items_that_teach_labels():
        for label in ("cat", "dog"):
            project.ontology.labels.append(LabelClass(name=label, kinds=["bbox"]))
            yield Item(key=label, media=Media(kind="image"), annotation_sets=[])

    path = tmp_path / "out.jsonl"
    write_jsonl(Dataset(project, items_that_teach_labels()), path)
    assert [label.name for label in read_jsonl(path).project.ontology.labels] == ["cat", "dog"]


def test_defaults_are_left_out_but_shape_type_is_kept(tmp_path):
    region = Region(id="r1", label="car", shape=BBox(x=1, y=2, width=3, height=4))
    line = region.model_dump_json(exclude_defaults=True)
    assert json.loads(line) == {
        "id": "r1",
        "label": "car",
        "shape": {"type": "bbox", "x": 1.0, "y": 2.0, "width": 3.0, "height": 4.0},
    }


def test_shape_type_may_be_omitted_in_python_but_is_always_written(monkeypatch):
    from bridge import schema

    assert BBox(x=1, y=2, width=3, height=4).type == "bbox"
    assert schema.Tag().type == "tag"
    calls = []
    original = schema.Shape.__init__

    def counting_init(self, /, **data):
        calls.append(data)
        original(self, **data)

    # validation from JSON must not go through the Python-side __init__ (speed)
    monkeypatch.setattr(schema.Shape, "__init__", counting_init)
    line = '{"id": "r", "shape": {"type": "polygon", "points": [[0, 0], [1, 1], [0, 1]]}}'
    region = Region.model_validate_json(line)
    assert calls == []
    assert region.model_dump(mode="json", exclude_defaults=True)["shape"]["type"] == "polygon"


def test_without_extras_empties_every_nested_extra_and_keeps_the_rest():
    from bridge.schema import AnnotationSet, Answer, Classification, without_extras

    answer = Answer(value="red", extra={"labelbox_value": "r"})
    region = Region(
        id="r",
        label="car",
        shape=BBox(x=1, y=2, width=3, height=4),
        classifications=[Classification(name="color", answers=[answer])],
        extra={"source": "manual"},
    )
    aset = AnnotationSet(id="1", regions=[region], extra={"cvat": 1})
    clean = without_extras(aset)
    assert clean.extra == {} and clean.regions[0].extra == {}
    assert clean.regions[0].classifications[0].answers[0].extra == {}
    assert clean.regions[0].classifications[0].answers[0].value == "red"
    assert clean.regions[0].shape == region.shape
    assert aset.regions[0].extra == {"source": "manual"}  # the original is untouched
