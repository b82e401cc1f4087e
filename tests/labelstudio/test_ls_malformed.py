"""Malformed Label Studio exports: a BridgeError naming the task and what is wrong, never
another exception; unknown-but-valid fields are kept."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import orjson
import pytest
from bridge_labelstudio import export_json
from bridge_labelstudio.convert import item_to_task, task_to_item
from bridge_labelstudio.export_json import iter_export_tasks
from bridge_labelstudio.files import LabelStudioJson
from bridge_labelstudio.ontology import parse_label_config
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.errors import BridgeError, FormatError
from bridge.losses import LossReport
from tests.support.json_mutation import json_paths, replace_at

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "labelstudio"
BOX = {
    "id": "r1",
    "type": "rectanglelabels",
    "from_name": "label",
    "to_name": "image",
    "original_width": 100,
    "original_height": 50,
    "value": {"x": 1, "y": 2, "width": 3, "height": 4, "rotation": 0, "rectanglelabels": ["A"]},
}


def _task(task_id=42, result=None, **fields):
    return {
        "id": task_id,
        "data": {"image": "a.jpg"},
        "annotations": [{"id": 1, "result": [BOX] if result is None else result}],
        **fields,
    }


def _read_all(path: Path, **options):
    dataset = LabelStudioJson().read(path, LossReport(), **options)
    return list(dataset.items)


def _write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "export.json"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def test_ls_malformed_truncated_export_names_the_task(tmp_path):
    text = json.dumps([_task(41), _task(42)])
    path = _write(tmp_path, text[: len(text) - 40])
    with pytest.raises(FormatError) as error:
        _read_all(path)
    assert "task 42" in error.value.where and "truncated" in str(error.value)


def test_ls_malformed_missing_closing_bracket(tmp_path):
    path = _write(tmp_path, json.dumps([_task(1)])[:-1])
    with pytest.raises(FormatError, match="closing"):
        _read_all(path)


def test_ls_malformed_invalid_json_inside_a_task(tmp_path):
    path = _write(tmp_path, '[{"id": 7, "data": {"image": "a"}, "annotations": [}]')
    with pytest.raises(FormatError) as error:
        _read_all(path)
    assert error.value.where.endswith("task 7")


def test_ls_malformed_unknown_region_type(tmp_path):
    strange = {**BOX, "type": "hologramlabels"}
    path = _write(tmp_path, json.dumps([_task(9, [strange])]))
    with pytest.raises(FormatError, match="unknown type 'hologramlabels'") as error:
        _read_all(path)
    assert error.value.where.endswith("task 9")


def test_ls_malformed_result_control_missing_from_config(tmp_path):
    config = tmp_path / "config.xml"
    config.write_text(
        '<View><Image name="image" value="$image"/>'
        '<RectangleLabels name="bbox" toName="image"><Label value="A"/></RectangleLabels></View>'
    )
    path = _write(tmp_path, json.dumps([_task(3)]))
    with pytest.raises(FormatError, match="from_name 'label'") as error:
        _read_all(path, label_config=str(config))
    assert error.value.where.endswith("task 3")


@pytest.mark.parametrize("key,value", [("x", 120.0), ("y", -5.0), ("width", 101.0), ("x", "ten")])
def test_ls_malformed_percent_out_of_range(key, value):
    box = {**BOX, "value": {**BOX["value"], key: value}}
    with pytest.raises(FormatError, match=f"value.{key}") as error:
        task_to_item(_task(5, [box]), None, LossReport(), where="export.json: task 5")
    assert error.value.where == "export.json: task 5"


@pytest.mark.parametrize(
    "task",
    [
        [1, 2],
        {"id": 1, "data": "text"},
        {"id": 1, "annotations": {"result": []}},
        {"id": 1, "annotations": [{"result": [{"type": "choices"}]}]},
        {"id": 1, "annotations": [{"result": [{**BOX, "original_width": "wide"}]}]},
        {"id": 1, "annotations": [{"result": [{"type": "relation", "from_id": "a"}]}]},
        {"id": 1, "annotations": [{"created_at": "yesterday", "result": []}]},
        {
            "id": 1,
            "annotations": [
                {
                    "result": [
                        {**BOX, "type": "brushlabels", "value": {"format": "rle", "rle": [1, 2, 3]}}
                    ]
                }
            ],
        },
    ],
)
def test_ls_malformed_task_shapes_are_format_errors(task):
    with pytest.raises(FormatError):
        task_to_item(task, None, LossReport(), where="t")


def test_ls_unknown_but_valid_fields_ride_in_extra_and_come_back():
    task = _task(
        8,
        [{**BOX, "readonly": True, "value": {**BOX["value"], "future": 1}}],
        custom_field={"a": 1},
    )
    task["annotations"][0]["reviewer_note"] = "ok"
    item = task_to_item(task, None, LossReport(), where="t")
    region = item.annotation_sets[0].regions[0]
    assert item.extra["custom_field"] == {"a": 1}
    assert item.annotation_sets[0].extra["reviewer_note"] == "ok"
    assert region.extra["readonly"] is True and region.extra["value"] == {"future": 1}
    back = item_to_task(item, None, LossReport())
    assert back["custom_field"] == {"a": 1}
    assert back["annotations"][0]["result"][0]["readonly"] is True
    assert back["annotations"][0]["result"][0]["value"]["future"] == 1


def test_ls_known_but_unconverted_result_types_are_kept_verbatim():
    ranker = {
        "id": "k",
        "type": "ranker",
        "from_name": "rank",
        "to_name": "text",
        "value": {"ranker": {}},
    }
    losses = LossReport()
    item = task_to_item(_task(1, [BOX, ranker]), None, losses, where="t")
    assert item.annotation_sets[0].extra["unconverted_results"] == [ranker]
    assert losses.count("unsupported-ranker") == 1
    assert ranker in item_to_task(item, None, LossReport())["annotations"][0]["result"]


def test_ls_config_mismatch_is_caught_before_conversion():
    config = parse_label_config((FIXTURES / "configs" / "ner.xml").read_text())
    with pytest.raises(FormatError, match="not a control"):
        task_to_item(_task(1), config, LossReport(), where="t")


# ------------------------------------------------------------------------ splitting


def test_ls_splitter_handles_braces_and_escapes_inside_strings(tmp_path, monkeypatch):
    monkeypatch.setattr(export_json, "CHUNK", 16)
    tricky = [
        {"id": 1, "data": {"text": 'a } , { "b'}, "annotations": []},
        {"id": 2, "data": {"text": '}}}, ] \\" {{'}, "annotations": []},
        {"id": 3, "data": {"text": "{ unbalanced"}, "annotations": []},
        {"id": 4, "data": {"text": "plain"}},
    ]
    for dump in (json.dumps(tricky), json.dumps(tricky, indent=2), orjson.dumps(tricky).decode()):
        path = _write(tmp_path, "\ufeff  " + dump + "\n")
        got = [task for _, task in iter_export_tasks(path)]
        assert got == tricky


def test_ls_splitter_reads_json_lines_and_single_objects(tmp_path):
    lines = _write(tmp_path, "\n".join(json.dumps(_task(i)) for i in (1, 2)) + "\n")
    assert [w.rsplit(":", 1)[1] for w, _ in iter_export_tasks(lines)] == ["1", "2"]
    single = _write(tmp_path, json.dumps(_task(5), indent=2))
    assert [t["id"] for _, t in iter_export_tasks(single)] == [5]


def test_ls_splitter_empty_and_foreign_files(tmp_path):
    assert list(iter_export_tasks(_write(tmp_path, "[]"))) == []
    for text in ("", "hello", "[1, 2]"):
        with pytest.raises(BridgeError):
            _read_all(_write(tmp_path, text))


def test_ls_splitter_streams_without_reading_the_whole_file(tmp_path, monkeypatch):
    monkeypatch.setattr(export_json, "CHUNK", 1024)
    path = _write(tmp_path, json.dumps([_task(i) for i in range(2000)]))
    reads = []
    real_open = open

    def spying_open(*args, **kwargs):
        handle = real_open(*args, **kwargs)
        original = handle.read

        def read(size=-1):
            reads.append(size)
            return original(size)

        handle.read = read
        return handle

    monkeypatch.setattr("builtins.open", spying_open)
    tasks = iter_export_tasks(path)
    next(tasks)
    assert -1 not in reads and sum(r for r in reads if r > 0) < 10_000


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.recursive(
            st.none()
            | st.booleans()
            | st.integers()
            | st.floats(allow_nan=False, allow_infinity=False)
            | st.text(),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(st.text(max_size=5), inner, max_size=3)
            ),
            max_leaves=8,
        ),
        max_size=4,
    )
)
def test_ls_splitter_agrees_with_a_whole_file_parse(values):
    tasks = [{"id": i, "data": {"v": v}} for i, v in enumerate(values)]
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "e.json"
        path.write_text(json.dumps(tasks))
        assert [t for _, t in iter_export_tasks(path)] == orjson.loads(path.read_bytes())


# ------------------------------------------------------------------------------ fuzz

VALID = (FIXTURES / "real_image_boxes.json").read_bytes()
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 200) | st.floats(-10, 200) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "id",
                    "type",
                    "value",
                    "result",
                    "from_name",
                    "to_name",
                    "x",
                    "y",
                    "width",
                    "height",
                    "rotation",
                    "points",
                    "labels",
                    "start",
                    "end",
                    "sequence",
                    "frame",
                    "enabled",
                    "original_width",
                    "original_height",
                    "choices",
                    "rle",
                    "completed_by",
                    "annotations",
                    "predictions",
                    "drafts",
                    "data",
                    "from_id",
                    "to_id",
                    "taxonomy",
                    "text",
                ]
            ),
            inner,
            max_size=6,
        )
    ),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(JSON_VALUES)
def test_ls_fuzz_random_tasks_raise_only_bridge_errors(task):
    try:
        item = task_to_item(task, None, LossReport(), where="fuzz")
    except BridgeError:
        return
    item_to_task(item, None, LossReport())


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, len(VALID) - 1), st.integers(1, 40), st.binary(max_size=6))
def test_ls_fuzz_damaged_export_files_raise_only_bridge_errors(position, length, junk):
    damaged = VALID[:position] + junk + VALID[position + length :]
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "damaged.json"
        path.write_bytes(damaged)
        with contextlib.suppress(BridgeError):
            _read_all(path)


REAL_TASKS = [
    t
    for p in sorted(FIXTURES.glob("real_*.json"))
    for t in (lambda v: v if isinstance(v, list) else [v])(orjson.loads(p.read_bytes()))
]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, len(REAL_TASKS) - 1), st.integers(0, 10_000), JSON_VALUES)
def test_ls_fuzz_one_field_changed_in_a_real_task(task_index, path_index, new_value):
    task = REAL_TASKS[task_index]
    paths = list(json_paths(task))
    mutated = replace_at(task, paths[path_index % len(paths)], new_value)
    try:
        item = task_to_item(mutated, None, LossReport(), where="fuzz")
    except BridgeError:
        return
    item_to_task(item, None, LossReport())


@pytest.mark.parametrize("option", ["", ".", "does/not/exist.xml"])
def test_ls_label_config_option_that_is_not_a_file_is_a_config_error(tmp_path, option):
    from bridge.api import open_dataset
    from bridge.errors import ConfigError

    path = _write(tmp_path, orjson.dumps([_task()]))
    with pytest.raises(ConfigError, match="label config file not found"):
        open_dataset(path, "labelstudio", label_config=option)
