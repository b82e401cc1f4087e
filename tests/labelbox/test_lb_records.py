"""The Labelbox reader's two streams: validated `Item`s and item *records* (plain data the
JSONL writer dumps without pydantic). The records, written as JSONL and read back, must be
exactly the validated items; the project ontology must be the same either way; and input
the validated stream rejects must be rejected by the record stream at the same line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import orjson
import pytest
from bridge_labelbox.checks import timestamp
from bridge_labelbox.convert import data_row_to_item, item_record
from bridge_labelbox.files import OntologyCollector, read_export
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from bridge.errors import FormatError
from bridge.formats import ItemRecords
from bridge.formats.jsonl import read_jsonl, record_line, write_jsonl
from bridge.losses import LossReport
from bridge.schema import Item, Project
from tests.support.benchmarks import benchmark_module
from tests.support.json_mutation import as_text, delete_at, json_paths, replace_at, value_at

from . import lb_export_samples as samples

ROOT = Path(__file__).resolve().parents[2]
REAL_EXPORT = ROOT / "tests" / "fixtures" / "labelbox" / "export_v2_image_classification.ndjson"


def _generator():
    """benchmarks/labelbox_generate.py, the benchmark's synthetic export writer."""
    return benchmark_module("labelbox_generate")


def _write_rows(path: Path, rows: list) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


FIELD_EXPORTS = [
    "export_v2_video_bbox_keyframes.ndjson",
    "export_v2_video_checklist_segments.ndjson",
    "export_v2_dicom_groups.ndjson",
]
"""Rows shaped as Labelbox's own export tests assert (see the fixtures' PROVENANCE.md)."""


def _sample_rows() -> list[dict]:
    field = [
        json.loads(line)
        for name in FIELD_EXPORTS
        for line in (REAL_EXPORT.parent / name).read_text().splitlines()
    ]
    return [
        *samples.all_rows(),
        samples.document_row(),
        samples.audio_row(),
        samples.workflow_row(),
        *field,
    ]


@pytest.fixture(scope="module")
def bench_export(tmp_path_factory) -> Path:
    """100 rows shaped like the benchmark's: boxes, polygons, lines, points, nested radios,
    checklists, text answers, second-project labels (every 20th row), videos (every 50th)."""
    path = tmp_path_factory.mktemp("bench") / "lb_100.ndjson"
    _generator().generate(100, path)
    return path


@pytest.fixture(scope="module")
def sample_export(tmp_path_factory) -> Path:
    """The hand-built rows: masks, text/conversation/document entities, relationships,
    reviews, nested classifications, a video with segments and frame classifications."""
    return _write_rows(tmp_path_factory.mktemp("samples") / "samples.ndjson", _sample_rows())


def validated(path: Path):
    """(items, project, losses) of the validated stream."""
    losses = LossReport()
    dataset = read_export(path, losses)
    items = list(dataset.items)
    return items, dataset.project, losses


def through_records(path: Path, out: Path):
    """(items read back, header project read back, in-memory project, losses) of the
    record stream written by the JSONL writer."""
    losses = LossReport()
    dataset = read_export(path, losses)
    write_jsonl(dataset, out)
    back = read_jsonl(out)
    return list(back.items), back.project, dataset.project, losses


# ------------------------------------------------------------------ files, both ways


@pytest.mark.parametrize("which", ["real", "bench", "samples"])
def test_records_read_back_as_the_validated_items(which, bench_export, sample_export, tmp_path):
    path = {"real": REAL_EXPORT, "bench": bench_export, "samples": sample_export}[which]
    items, project, losses = validated(path)
    back, back_project, record_project, record_losses = through_records(path, tmp_path / "o.jsonl")
    assert len(back) == len(items) > 5
    for expected, got in zip(items, back, strict=True):
        assert got == expected, expected.key
    assert record_project == project
    assert back_project == project
    assert record_losses.as_dict() == losses.as_dict()


def test_the_record_stream_really_is_records_and_the_ontology_is_observed(bench_export):
    dataset = read_export(bench_export, LossReport())
    assert isinstance(dataset.items, ItemRecords)
    records = list(dataset.items.records())
    assert all(type(record) is dict for record in records)
    # by hand from benchmarks/labelbox_generate.py: five object names in three projects'
    # labels, drawn as box/polygon/line/point; questions quality, tags, note, occluded is
    # nested under a box (not an item-level question)
    ontology = dataset.project.ontology
    assert sorted(label.name for label in ontology.labels) == [
        "bicycle",
        "car",
        "person",
        "sign",
        "truck",
    ]
    assert set(ontology.labels[0].kinds) <= {"bbox", "polygon", "polyline", "points"}
    assert {label.name: set(label.kinds) for label in ontology.labels}["car"] == {
        "bbox",
        "polygon",
        "polyline",
        "points",
    }
    assert [(q.name, q.input) for q in ontology.classifications] == [
        ("quality", "radio"),
        ("tags", "checklist"),
        ("note", "text"),
    ]


def test_a_record_is_the_plain_json_of_the_item(sample_export):
    """Every record is JSON data as it stands (orjson dumps it, no fallback to pydantic)
    and validates to the item the validated stream gives."""
    items, _, _ = validated(sample_export)
    for number, row in enumerate(_sample_rows(), start=1):
        record = item_record(
            row, LossReport(), where=f"{sample_export}:{number}", instance=str(sample_export)
        )
        line = orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE)
        assert record_line(record) == line
        assert Item.model_validate_json(line) == items[number - 1]


def run_bridge(*args):
    return subprocess.run(
        [sys.executable, "-m", "bridge.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
    )


@pytest.mark.parametrize("which", ["real", "samples"])
def test_bridge_convert_writes_the_validated_items_either_way(which, sample_export, tmp_path):
    path = {"real": REAL_EXPORT, "samples": sample_export}[which]
    items, project, _ = validated(path)
    fast, slow = tmp_path / "fast.jsonl", tmp_path / "slow.jsonl"
    for target, extra in ((fast, []), (slow, ["-O", "validate=true"])):
        done = run_bridge("convert", path, "-o", target, *extra)
        assert done.returncode == 0, done.stderr
        back = read_jsonl(target)
        assert list(back.items) == items
        assert back.project == project
    # the default took the record path: records keep fields at their defaults, which
    # pydantic's dump (the validated path) leaves out
    assert b'"relations":[]' in fast.read_bytes()
    assert b'"relations":[]' not in slow.read_bytes()


# ------------------------------------------------------------------------------- fuzz

NUMBER_TEXTS = ["12", "-0", " 5 ", "1e3", "1_0", "nan", "NaN", "inf", "-Infinity", "1e400", "0x1"]
TIME_TEXTS = [
    "2024-02-23T06:14:00.000+00:00",
    "2024-02-23T06:14:00Z",
    "2024-02-23",
    "2024-02-30T00:00:00",
    "2024-02-23T06:14:00+05:30:15",
    "20240223T061400",
    "0001-01-01T00:00:00+05:00",
    "2024-02-23 06:14",
]

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-5, 50)
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5)
    | st.sampled_from(NUMBER_TEXTS + TIME_TEXTS)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["x", "y", "name", "url", "start", "top", "a"]) | st.text(max_size=6),
            inner,
            max_size=3,
        )
    ),
    max_leaves=8,
)


def _bench_rows() -> list[dict]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "rows.ndjson"
        _generator().generate(50, path)
        rows = [json.loads(line) for line in path.read_text().splitlines()]
    return [rows[0], rows[19], rows[49]]  # an image, two projects, a video


def _real_rows() -> list[dict]:
    return [json.loads(line) for line in REAL_EXPORT.read_text().splitlines()[:2]]


ROWS = [*_sample_rows(), *_bench_rows(), *_real_rows()]


ID_KEYED = {"projects", "frames", "objects", "segments", "key_frame_feature_map"}


def _shape(path: tuple) -> tuple:
    """The path with what varies from object to object blanked out: list indices, frame
    numbers and the ids that key projects, video objects and segments."""
    shape: list = []
    for key in path:
        blank = isinstance(key, int) or key.isdigit() or (shape and shape[-1] in ID_KEYED)
        shape.append("*" if blank else key)
    return tuple(shape)


def _places_by_shape(row: dict) -> list[list[tuple]]:
    """The row's paths grouped by shape, so that a rare place (a label's `created_at`, an
    entity's `token`) is as likely to be hit as one of the many `x`s and `y`s."""
    groups: dict = {}
    for path in json_paths(row):
        if path:
            groups.setdefault(_shape(path), []).append(path)
    return list(groups.values())


ROW_PLACES = [_places_by_shape(row) for row in ROWS]
GOOD = json.dumps(samples.text_row())
PROBES = [None, True, 0, 2.5, "x", "nan", "1e400", [], {"name": 1}]
TRICKY = [*NUMBER_TEXTS, *TIME_TEXTS, *PROBES, False, -1, 2**63, ""]


# a row, a shape of place in it, then one place of that shape
places = st.integers(0, len(ROWS) - 1).flatmap(
    lambda n: st.tuples(st.just(n), st.sampled_from(ROW_PLACES[n]).flatmap(st.sampled_from))
)
mutations = st.one_of(
    st.tuples(st.just("replace"), places, st.sampled_from(TRICKY) | json_values),
    st.tuples(st.just("delete"), places, st.none()),
    st.tuples(st.just("as_text"), places, st.none()),
)


def _mutate(kind, target, value):
    number, path = target
    row = ROWS[number]
    if kind == "replace":
        return replace_at(row, path, value)
    if kind == "as_text":
        return replace_at(row, path, as_text(value_at(row, path)))
    return delete_at(row, path)


def _outcome(run):
    try:
        return run(), None
    except FormatError as error:
        return None, error.where


@settings(
    max_examples=int(os.environ.get("LB_RECORDS_EXAMPLES", 400)),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(mutations)
def test_fuzzed_rows_are_refused_alike_and_otherwise_read_back_equal(mutation):
    row = _mutate(*mutation)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "export.ndjson"
        path.write_text(GOOD + "\n" + json.dumps(row) + "\n")
        expected, expected_where = _outcome(lambda: validated(path))
        got, got_where = _outcome(lambda: through_records(path, Path(folder) / "o.jsonl"))
    assert got_where == expected_where
    if expected is not None:
        items, project, losses = expected
        back, back_project, record_project, record_losses = got
        assert back == items
        assert record_project == project == back_project
        assert record_losses.as_dict() == losses.as_dict()


# ---------------------------------------------------------- every place, in memory


def _validated_row(row):
    """(item, project, losses) from the validated path, or the `where` of its error."""
    losses, collector = LossReport(), OntologyCollector(Project(name="p"))
    try:
        item = data_row_to_item(row, losses, where="probe:2")
    except FormatError as error:
        return error.where
    collector.observe(item)
    return item, collector.project, losses.as_dict()


def _record_row(row):
    """The same from the record path: the record dumped by orjson (no pydantic fallback)
    and read back as the JSONL reader does."""
    losses, collector = LossReport(), OntologyCollector(Project(name="p"))
    try:
        record = item_record(row, losses, where="probe:2")
    except FormatError as error:
        return error.where
    collector.observe_record(record)
    item = Item.model_validate_json(orjson.dumps(record))
    return item, collector.project, losses.as_dict()


def _variants(number: int, path: tuple):
    row = ROWS[number]
    yield from (replace_at(row, path, probe) for probe in PROBES)
    yield delete_at(row, path)
    yield replace_at(row, path, as_text(value_at(row, path)))


@pytest.mark.parametrize("number", range(len(ROWS)))
def test_every_place_probed_gives_the_same_outcome_both_ways(number):
    """Each shape of place in each row (its first occurrence) replaced by each probe
    value, deleted and turned into text: both paths refuse it, or both give one item."""
    for group in ROW_PLACES[number]:
        for variant in _variants(number, group[0]):
            row = orjson.loads(json.dumps(variant))  # as the file reader would see it
            expected, got = _validated_row(row), _record_row(row)
            assert got == expected, (group[0], variant)


# ------------------------------------------------------------------------- timestamps

offsets = st.timedeltas(
    min_value=-timedelta(hours=23, minutes=59), max_value=timedelta(hours=23, minutes=59)
)
moments = st.datetimes(timezones=st.none() | st.builds(timezone, offsets))
FORMS = [
    lambda moment: moment.isoformat(),
    lambda moment: moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    lambda moment: moment.isoformat(sep=" ", timespec="minutes"),
    lambda moment: f"{moment.year:04d}{moment:%m%dT%H%M%S%z}",  # ISO 8601 basic format
    lambda moment: moment.date().isoformat(),
]


@settings(max_examples=300, deadline=None)
@given(moments, st.sampled_from(FORMS))
def test_a_timestamp_reads_back_as_the_instant_python_read(moment, form):
    """A record carries timestamps as text; pydantic must read that text as the instant
    (and the naive/aware kind) `datetime.fromisoformat` read from the export."""
    raw = form(moment)
    python = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    try:
        text = timestamp(raw)
    except FormatError:  # an offset with seconds on the first or last day there is
        with pytest.raises(OverflowError):
            python.astimezone(UTC)
        return
    assert TypeAdapter(datetime).validate_json(orjson.dumps(text)) == python


@pytest.mark.parametrize("raw", [None, 5, "", "yesterday", "2024-02-30T00:00:00", "24:00"])
def test_what_python_cannot_read_as_a_timestamp_is_none_as_before(raw):
    assert timestamp(raw) is None
