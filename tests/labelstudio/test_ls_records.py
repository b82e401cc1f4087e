"""The Label Studio reader's two streams: validated `Item`s and item *records* (plain data
the JSONL writer dumps without pydantic). Written as JSONL and read back, the records
must be exactly the validated items, with the same project and losses; a task the
validated stream refuses must be refused by the record stream with the same error."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from bridge_labelstudio.convert import task_record, task_to_item
from bridge_labelstudio.export_json import iter_export_tasks
from bridge_labelstudio.files import LabelStudioJson
from bridge_labelstudio.ontology import parse_label_config
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.errors import BridgeError, FormatError
from bridge.formats import ItemRecords
from bridge.formats.jsonl import read_jsonl, record_line, write_jsonl
from bridge.losses import LossReport
from bridge.schema import Item
from tests.support.benchmarks import benchmark_module
from tests.support.json_mutation import as_text, delete_at, json_paths, replace_at, value_at

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "labelstudio"
REAL = sorted(FIXTURES.glob("real_*.json"))


def config_path(path: Path) -> Path:
    name = path.stem.removeprefix("real_").removesuffix("_sync")
    return FIXTURES / "configs" / f"{name}.xml"


def _generator():
    """benchmarks/labelstudio_generate.py, the benchmark's synthetic export writer."""
    return benchmark_module("labelstudio_generate")


# A hand-made task with what the fixtures lack: an annotator object with an e-mail and a
# name, reviews, region/track/prediction scores, a subset in meta, a taxonomy, a rating.
HAND_MADE = {
    "id": 77,
    "data": {"img_url": "https://example.invalid/a.jpg"},
    "meta": {"bridge_subset": "val", "k": 1},
    "annotations": [
        {
            "id": 9,
            "lead_time": 1.5,
            "was_cancelled": False,
            "ground_truth": True,
            "created_at": "2026-01-02T03:04:05.123456Z",
            "updated_at": "2026-01-02T03:04:05+01:00",
            "completed_by": {
                "id": 4,
                "email": "ann@example.com",
                "first_name": "Ann",
                "last_name": "Lee",
            },
            "reviews": [
                {
                    "id": 1,
                    "created_by": {"id": 2, "email": "rev@example.com"},
                    "accepted": True,
                    "comment": "fine",
                    "created_at": "2026-01-03T00:00:00Z",
                }
            ],
            "result": [
                {
                    "id": "b1",
                    "type": "rectanglelabels",
                    "from_name": "label",
                    "to_name": "image",
                    "original_width": 640,
                    "original_height": 480,
                    "score": 0.5,
                    "value": {
                        "x": 10,
                        "y": 20.5,
                        "width": 30,
                        "height": 40,
                        "rotation": 30,
                        "rectanglelabels": ["Car", "Truck"],
                    },
                },
                {
                    "id": "b1",
                    "type": "rating",
                    "from_name": "stars",
                    "to_name": "image",
                    "value": {
                        "x": 10,
                        "y": 20.5,
                        "width": 30,
                        "height": 40,
                        "rotation": 30,
                        "rating": 4,
                    },
                },
                {
                    "id": "t1",
                    "type": "taxonomy",
                    "from_name": "tax",
                    "to_name": "image",
                    "value": {"taxonomy": [["Animal", "Cat"], ["Plant"]]},
                },
            ],
        }
    ],
    "predictions": [
        {
            "id": 5,
            "model_version": 3,
            "score": 0.25,
            "result": [
                {
                    "id": "p1",
                    "type": "keypointlabels",
                    "from_name": "kp",
                    "to_name": "image",
                    "score": 1,
                    "original_width": 640,
                    "original_height": 480,
                    "value": {"x": 50, "y": 50, "keypointlabels": ["Nose"]},
                }
            ],
        }
    ],
    "drafts": [
        {
            "id": 6,
            "user": "ann@example.com",
            "lead_time": 2,
            "result": [],
            "created_at": "2026-01-02",
        }
    ],
}
HAND_MADE_VIDEO = {
    "id": 78,
    "data": {"video": "v.mp4"},
    "annotations": [
        {
            "id": 10,
            "completed_by": 1,
            "result": [
                {
                    "id": "v1",
                    "type": "videorectangle",
                    "from_name": "box",
                    "to_name": "video",
                    "score": 0.75,
                    "value": {
                        "framesCount": 40,
                        "duration": 1.6,
                        "labels": ["Car"],
                        "sequence": [
                            {"frame": 1, "x": 1, "y": 2, "width": 3, "height": 4, "enabled": True},
                            {
                                "frame": 5,
                                "x": 2,
                                "y": 2,
                                "width": 3,
                                "height": 4,
                                "enabled": False,
                                "time": 0.2,
                            },
                        ],
                    },
                },
            ],
        }
    ],
}


@pytest.fixture(scope="module")
def bench_export(tmp_path_factory) -> Path:
    """30 tasks x 5 boxes written by the benchmark's generator (rotated boxes, a
    per-region Choices on each task's first box)."""
    path = tmp_path_factory.mktemp("bench") / "ls_30x5.json"
    _generator().generate(path, 30, 5)
    return path


@pytest.fixture(scope="module")
def hand_made_export(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("hand") / "hand_made.json"
    path.write_text(json.dumps([HAND_MADE, HAND_MADE_VIDEO]))
    return path


def _read(path: Path, options: dict):
    losses = LossReport()
    return LabelStudioJson().read(path, losses, **options), losses


def validated(path: Path, options: dict):
    """(items, project, losses) of the validated stream, or the error raised."""
    try:
        dataset, losses = _read(path, options)
        items = list(dataset.items)
    except BridgeError as error:
        return ("error", type(error).__name__, error.where, error.message)
    return ("ok", items, dataset.project, losses.as_dict())


def through_records(path: Path, options: dict, out: Path):
    """The same through the record stream written by the JSONL writer and read back; the
    project in memory must be the one in the written header."""
    try:
        dataset, losses = _read(path, options)
        write_jsonl(dataset, out)
    except BridgeError as error:
        return ("error", type(error).__name__, error.where, error.message)
    back = read_jsonl(out)
    assert back.project == dataset.project
    return ("ok", list(back.items), back.project, losses.as_dict())


CASES = [(path.name, with_config) for path in REAL for with_config in (False, True)]


def _case_file(name: str, bench_export: Path, hand_made_export: Path) -> Path:
    return {"bench": bench_export, "hand_made": hand_made_export}.get(name) or FIXTURES / name


def _options(path: Path, with_config: bool) -> dict:
    if not with_config:
        return {}
    if path.name.startswith("ls_30x5"):
        config = path.with_suffix(".xml")
        config.write_text(_generator().CONFIG)
        return {"label_config": str(config)}
    return {"label_config": str(config_path(path))}


# ------------------------------------------------------------------- files, both ways


@pytest.mark.parametrize(
    ("name", "with_config"),
    [*CASES, ("bench", False), ("bench", True), ("hand_made", False)],
)
def test_ls_records_read_back_as_the_validated_items(
    name, with_config, bench_export, hand_made_export, tmp_path
):
    path = _case_file(name, bench_export, hand_made_export)
    options = _options(path, with_config)
    expected = validated(path, options)
    assert expected[0] == "ok" and expected[1], expected
    got = through_records(path, options, tmp_path / "out.jsonl")
    assert got[0] == "ok"
    assert len(got[1]) == len(expected[1])
    for want, have in zip(expected[1], got[1], strict=True):
        assert have == want, want.key
    assert got[2:] == expected[2:]


@pytest.mark.parametrize("path", [*REAL, "bench", "hand_made"], ids=str)
def test_ls_records_are_plain_json_data(path, bench_export, hand_made_export):
    """Every fixture task gives a record (a dict, not a fallback `Item`) that orjson
    dumps as it is (no pydantic object or datetime inside) and that reads back as the
    item the validated path gives."""
    if not isinstance(path, Path):
        path = _case_file(path, bench_export, hand_made_export)
    for where, task in iter_export_tasks(path):
        record = task_record(task, None, LossReport(), where=where)
        assert type(record) is dict, where
        line = orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE)
        assert record_line(record) == line
        assert Item.model_validate_json(line) == task_to_item(task, None, LossReport(), where=where)


def test_ls_reader_streams_records_and_the_hand_made_values_survive(hand_made_export):
    dataset, _ = _read(hand_made_export, {})
    assert isinstance(dataset.items, ItemRecords)
    records = list(dataset.items.records())
    assert [type(r) for r in records] == [dict, dict]
    aset = records[0]["annotation_sets"][0]
    # by hand: the task's values, passed through unchanged
    assert aset["created_at"] == "2026-01-02T03:04:05.123456Z"
    assert aset["annotator"] == {"id": "4", "email": "ann@example.com", "name": "Ann Lee"}
    assert aset["reviews"][0]["comment"] == "fine"
    assert aset["regions"][0]["score"] == 0.5
    assert records[0]["subset"] == "val"
    assert records[1]["media"]["frame_count"] == 40
    assert dataset.project.media_kind == "image"
    assert {label.name for label in dataset.project.ontology.labels} >= {"Car", "Nose"}


def run_bridge(*args):
    return subprocess.run(
        [sys.executable, "-m", "bridge.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
    )


@pytest.mark.parametrize("name", ["real_shapes.json", "real_video_tracking.json", "bench"])
def test_ls_bridge_convert_writes_the_validated_items_either_way(name, bench_export, tmp_path):
    path = _case_file(name, bench_export, bench_export)
    _, items, project, _ = validated(path, {})
    fast, slow = tmp_path / "fast.jsonl", tmp_path / "slow.jsonl"
    for target, extra in ((fast, []), (slow, ["-O", "validate=true"])):
        done = run_bridge("convert", path, "-o", target, "--from", "labelstudio", *extra)
        assert done.returncode == 0, done.stderr
        back = read_jsonl(target)
        assert list(back.items) == items
        assert back.project == project
    # the default took the record path: a record's keys come in the order the reader
    # builds them (the key first), pydantic's dump in field order (`source` first)
    assert all(line.startswith(b'{"key":') for line in fast.read_bytes().splitlines()[1:])
    assert all(line.startswith(b'{"source":') for line in slow.read_bytes().splitlines()[1:])


# --------------------------------------------------------------------------- fuzzing

TASKS = [
    *((task, config_path(path)) for path in REAL for _, task in iter_export_tasks(path)),
    (HAND_MADE, None),
    (HAND_MADE_VIDEO, None),
]
CONFIGS = {path: parse_label_config(path.read_text()) for _, path in TASKS if path is not None}

NUMBER_TEXTS = ["12", "-0", " 5 ", "1e3", "1_0", "nan", "NaN", "inf", "-Infinity", "1e400", "0x1"]
TIME_TEXTS = [
    "2024-02-23T06:14:00.000+00:00",
    "2024-02-23T06:14:00Z",
    "2024-02-23",
    "2024-02-30T00:00:00",
    "20240223T061400",
    "2024-02-23 06:14",
    "1700000000",
    "24:00",
    "",
]
PROBES = [
    None,
    True,
    False,
    0,
    -1,
    2.5,
    1e308,
    2**63,
    2**64 - 1,
    "x",
    "nan",
    [],
    {},
    {"name": 1},
    [1, "a"],
]
TRICKY = [*NUMBER_TEXTS, *TIME_TEXTS, *PROBES]

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-5, 120)
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5)
    | st.sampled_from(TRICKY)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["x", "y", "id", "type", "value", "labels", "start", "text"])
            | st.text(max_size=4),
            inner,
            max_size=3,
        )
    ),
    max_leaves=8,
)


def _shape(path: tuple) -> tuple:
    """A path with list indices blanked: every `x` of every result is one place."""
    return tuple("*" if isinstance(key, int) else key for key in path)


def _places(task: dict) -> list[tuple]:
    """One path per shape of place (its first occurrence), so that a rare place (a
    review's `created_at`) is probed as surely as the many `x`s."""
    first: dict = {}
    for path in json_paths(task):
        if path:
            first.setdefault(_shape(path), path)
    return list(first.values())


PLACES = [_places(task) for task, _ in TASKS]


def _one_way(convert, task, config):
    """(what the JSONL reader reads back, losses, seen), or the error's (where, message)."""
    losses, seen = LossReport(), {}
    try:
        entry = convert(task, config, losses, where="probe: task 1", seen=seen)
    except FormatError as error:
        return ("error", error.where, error.message)
    item = Item.model_validate_json(record_line(entry))
    return ("ok", item, losses.as_dict(), seen)


def both_ways(task, config):
    raw = orjson.dumps(task)  # each path gets its own copy, as the file reader hands over
    return (
        _one_way(task_to_item, orjson.loads(raw), config),
        _one_way(task_record, orjson.loads(raw), config),
    )


@pytest.mark.parametrize("number", range(len(TASKS)))
@pytest.mark.parametrize("with_config", [False, True], ids=["no-config", "config"])
def test_ls_every_place_probed_gives_the_same_outcome_both_ways(number, with_config):
    """Each shape of place of each fixture task replaced by each probe value, deleted
    and turned into text: both paths refuse it with the same error, or give equal
    items, losses and ontology observations."""
    task, config_file = TASKS[number]
    config = CONFIGS[config_file] if with_config and config_file is not None else None
    for path in PLACES[number]:
        variants = [replace_at(task, path, probe) for probe in PROBES]
        variants += [delete_at(task, path), replace_at(task, path, as_text(value_at(task, path)))]
        for variant in variants:
            expected, got = both_ways(variant, config)
            assert got == expected, (path, variant)


places = st.integers(0, len(TASKS) - 1).flatmap(
    lambda n: st.tuples(st.just(n), st.sampled_from(PLACES[n]))
)


@settings(max_examples=int(os.environ.get("LS_RECORDS_EXAMPLES", 500)))
@given(
    st.lists(
        st.tuples(
            places,
            st.sampled_from(["replace", "delete", "as_text"]),
            st.sampled_from(TRICKY) | json_values,
        ),
        min_size=1,
        max_size=3,
    ),
    st.booleans(),
)
def test_ls_fuzzed_tasks_are_refused_alike_and_otherwise_read_back_equal(mutations, with_config):
    """Up to three mutations of one fixture task (the first one's) at once."""
    number = mutations[0][0][0]
    task, config_file = TASKS[number]
    for (_, path), kind, value in mutations:
        try:
            if kind == "replace":
                task = replace_at(task, path, value)
            elif kind == "delete":
                task = delete_at(task, path)
            else:
                task = replace_at(task, path, as_text(value_at(task, path)))
        except (KeyError, IndexError, TypeError, AttributeError):
            continue  # an earlier mutation removed this place (paths of another task)
    config = CONFIGS[config_file] if with_config and config_file is not None else None
    expected, got = both_ways(task, config)
    assert got == expected


@settings(max_examples=60)
@given(st.sampled_from(REAL), st.integers(0, 10_000), st.sampled_from(list(b'{}[]",:0.-e ')))
def test_ls_damaged_files_give_the_same_result_both_ways(tmp_path_factory, path, where, byte):
    data = bytearray(path.read_bytes())
    data[where % len(data)] = byte
    folder = tmp_path_factory.mktemp("damaged")
    damaged = folder / "damaged.json"
    damaged.write_bytes(bytes(data))
    assert through_records(damaged, {}, folder / "o.jsonl") == validated(damaged, {})
