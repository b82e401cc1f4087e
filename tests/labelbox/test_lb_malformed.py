"""Bad export v2 input: a `FormatError` naming the file and line, never another exception."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

import pytest
from bridge_labelbox.convert import data_row_to_item, item_to_data_row, item_to_import_rows
from bridge_labelbox.files import read_export
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.errors import BridgeError, FormatError
from bridge.losses import LossReport
from tests.support.json_mutation import json_paths, replace_at

from . import lb_export_samples as samples
from .lb_export_samples import FIXTURES


def _write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "export.ndjson"
    path.write_text("\n".join(lines) + "\n")
    return path


def _read_all(path: Path) -> list:
    return list(read_export(path, LossReport()).items)


def test_lb_malformed_json_line_names_its_line(tmp_path):
    good = json.dumps(samples.text_row())
    path = _write(tmp_path, [good, "", '{"data_row": {"id": "x"', good])
    with pytest.raises(FormatError) as caught:
        _read_all(path)
    assert caught.value.where == f"{path}:3"
    assert "not valid JSON" in caught.value.message


@pytest.mark.parametrize(
    "line, words",
    [
        ("[1, 2]", "no data_row"),
        ('{"projects": {}}', "no data_row"),
        ('{"data_row": {}}', "no global_key"),
        ('{"data_row": {"id": "a"}, "projects": [1]}', "projects must be an object"),
    ],
)
def test_lb_not_a_data_row_names_its_line(tmp_path, line, words):
    path = _write(tmp_path, [json.dumps(samples.text_row()), line])
    with pytest.raises(FormatError) as caught:
        _read_all(path)
    assert caught.value.where == f"{path}:2"
    assert words in str(caught.value)


def test_lb_broken_geometry_names_its_line(tmp_path):
    row = samples.image_row()
    del row["projects"]["pA"]["labels"][0]["annotations"]["objects"][0]["bounding_box"]["width"]
    path = _write(
        tmp_path, [json.dumps(samples.text_row()), json.dumps(samples.video_row()), json.dumps(row)]
    )
    with pytest.raises(FormatError) as caught:
        _read_all(path)
    assert caught.value.where == f"{path}:3"
    assert "width" in caught.value.message


def test_lb_reader_streams_rows_before_a_bad_line(tmp_path):
    path = _write(tmp_path, [json.dumps(samples.text_row()), "oops"])
    items = iter(read_export(path, LossReport()).items)
    assert next(items).key == "txt-1"  # the first row arrives before the bad line is read
    with pytest.raises(FormatError):
        next(items)


# --------------------------------------------------------------------------------- fuzz

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 50)
    | st.floats(allow_nan=False)
    | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


FIELD_ROWS = [
    json.loads(line)
    for name in (
        "export_v2_video_bbox_keyframes.ndjson",
        "export_v2_video_checklist_segments.ndjson",
        "export_v2_dicom_groups.ndjson",
    )
    for line in (FIXTURES / name).read_text().splitlines()
]
ROWS = [*samples.all_rows(), samples.document_row(), samples.audio_row(), *FIELD_ROWS]
PATHS = [(n, path) for n, row in enumerate(ROWS) for path in json_paths(row) if path]


def _exercise(row) -> None:
    """Read `row`, write what was read both ways: only a `BridgeError` may stop it (no
    reader catch-all turns a KeyError or TypeError into one, so such a bug fails here)."""
    losses = LossReport()
    try:
        item = data_row_to_item(row, losses, where="fuzz:1")
    except BridgeError:
        return
    item_to_data_row(item, losses)  # what was read can be written again
    list(item_to_import_rows(item, losses))


@settings(
    max_examples=int(os.environ.get("LB_FUZZ_EXAMPLES", 300)),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.sampled_from(PATHS), json_values)
def test_lb_fuzz_replaced_value_gives_item_or_bridge_error(target, value):
    number, path = target
    _exercise(replace_at(ROWS[number], path, value))


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_lb_fuzz_any_json_line_gives_item_or_bridge_error(value):
    _exercise(value)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=60))
def test_lb_fuzz_any_bytes_in_a_file(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("fuzz") / "x.ndjson"
    path.write_bytes(data)
    with contextlib.suppress(BridgeError):
        _read_all(path)


@pytest.mark.parametrize("box", [None, [1, 2, 3, 4], "10,20,30,40", 7])
def test_lb_bounding_box_not_an_object_is_named(tmp_path, box):
    row = samples.image_row()
    row["projects"]["pA"]["labels"][0]["annotations"]["objects"][0]["bounding_box"] = box
    path = _write(tmp_path, [json.dumps(samples.text_row()), json.dumps(row)])
    with pytest.raises(FormatError) as caught:
        _read_all(path)
    assert caught.value.where == f"{path}:2"
    assert "bounding_box must be an object" in caught.value.message
