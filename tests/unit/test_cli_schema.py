"""`bridge schema` prints one JSON Schema (draft 2020-12) that any validator can check every
line of a unified JSONL file with (issue 9, point 17): real exports converted to JSONL
validate line by line, and broken lines are rejected."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from tests.unit.test_cli_acceptance import FIXTURES, run_bridge

REAL_EXPORTS = sorted(
    [
        *FIXTURES.glob("cvat/*.xml"),
        *FIXTURES.glob("labelbox/*.ndjson"),
        *FIXTURES.glob("labelstudio/real_*.json"),
    ]
)


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    done = run_bridge("schema")
    assert done.returncode == 0, done.stderr
    schema = json.loads(done.stdout)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)  # a valid schema, not just JSON
    return Draft202012Validator(schema)


@pytest.fixture(scope="module")
def converted(tmp_path_factory) -> dict[str, list[dict]]:
    """Every real export under tests/fixtures converted to unified JSONL, as parsed lines."""
    outdir = tmp_path_factory.mktemp("jsonl")
    lines = {}
    for source in REAL_EXPORTS:
        target = outdir / f"{source.parent.name}-{source.name}.jsonl"
        # named with --from: the import form of Label Studio tasks is not sniffed
        done = run_bridge("convert", "--from", source.parent.name, source, target)
        assert done.returncode == 0, (source, done.stderr)
        lines[source.name] = [json.loads(line) for line in target.read_text().splitlines()]
    return lines


def test_there_are_real_exports_of_each_tool():
    tools = {path.parent.name for path in REAL_EXPORTS}
    assert tools == {"cvat", "labelbox", "labelstudio"} and len(REAL_EXPORTS) >= 10


def test_every_line_of_real_converted_files_validates(validator, converted):
    for name, lines in converted.items():
        assert len(lines) >= 2, name
        for number, line in enumerate(lines, start=1):
            errors = list(validator.iter_errors(line))
            assert not errors, (name, number, errors[0].message)


def test_the_header_and_the_items_each_match_their_own_definition(validator, converted):
    lines = converted["for_video.xml"]
    header_only = {"$ref": "#/$defs/Header", "$defs": validator.schema["$defs"]}
    item_only = {"$ref": "#/$defs/Item", "$defs": validator.schema["$defs"]}
    assert Draft202012Validator(header_only).is_valid(lines[0])
    assert not Draft202012Validator(item_only).is_valid(lines[0])
    assert Draft202012Validator(item_only).is_valid(lines[1])
    assert not Draft202012Validator(header_only).is_valid(lines[1])


def broken(line: dict, change) -> dict:
    line = copy.deepcopy(line)
    change(line)
    return line


def first_region(line: dict) -> dict:
    return line["annotation_sets"][0]["regions"][0]


def test_broken_lines_are_rejected(validator, converted):
    header, item = converted["real_image_boxes.json"][:2]
    assert first_region(item)["shape"]["type"] == "bbox"
    bad = [
        broken(item, lambda x: x.update(key=5)),  # wrong type
        broken(item, lambda x: x.pop("key")),  # missing field
        broken(item, lambda x: x.pop("media")),
        broken(item, lambda x: x["media"].update(kind="hologram")),  # not a media kind
        broken(item, lambda x: x.update(colour="red")),  # unknown field
        broken(item, lambda x: first_region(x)["shape"].update(x="left")),
        broken(item, lambda x: first_region(x)["shape"].pop("width")),
        broken(item, lambda x: first_region(x)["shape"].update(type="blob")),
        broken(item, lambda x: first_region(x)["shape"].update(width=-1)),  # invariants
        broken(item, lambda x: x["media"].update(width=0)),
        broken(
            item,
            lambda x: first_region(x).update(shape={"type": "polygon", "points": [[0, 0], [1, 1]]}),
        ),
        broken(header, lambda x: x.update(format="other-jsonl")),
        broken(header, lambda x: x.update(version=2)),
        broken(header, lambda x: x.pop("format")),
        broken(header, lambda x: x["project"].update(name=["p"])),
        [item],
        "text",
    ]
    for number, line in enumerate(bad):
        assert not validator.is_valid(line), (number, line)


def test_the_schema_agrees_with_the_reader_on_broken_lines(validator, converted, tmp_path):
    """What the schema rejects, `bridge` refuses to read too (and the other way round for
    the lines above): the schema describes the files `bridge` reads."""
    header, item = converted["real_image_boxes.json"][:2]
    for line in (
        broken(item, lambda x: x.update(key=5)),
        broken(item, lambda x: first_region(x)["shape"].update(x="left")),
        broken(item, lambda x: first_region(x)["shape"].update(height=-0.5)),
    ):
        assert not validator.is_valid(line)
        path = tmp_path / "bad.jsonl"
        path.write_text(json.dumps(header) + "\n" + json.dumps(line) + "\n")
        done = run_bridge("inspect", path)
        assert done.returncode == 2 and f"{Path(path)}:2" in done.stderr
