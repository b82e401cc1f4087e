"""Whatever Labelbox (or a proxy in front of it) answers, the API client raises a
`BridgeError` or returns data: never a KeyError, TypeError or ValueError."""

from __future__ import annotations

import contextlib
import json

import respx
from bridge_labelbox.api import parse_export_line, split_lines
from bridge_labelbox.graphql import parse_error_file
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.errors import BridgeError

from .test_lb_api_fakes import ENDPOINT, RecordingSleep, make_api

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 10**6) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
KEYS = [
    "data",
    "errors",
    "message",
    "task",
    "project",
    "exportMetadataHeader",
    "exportFileFromOffset",
    "totalSize",
    "offsets",
    "start",
    "end",
    "file",
    "extensions",
    "code",
    "ontology",
    "normalized",
    "user",
    "createdTasks",
    "status",
]
shaped = st.recursive(
    st.none()
    | st.integers(-3, 300)
    | st.sampled_from(["COMPLETE", "FAILED", "RESOURCE_NOT_FOUND", "x"]),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(KEYS), children, max_size=4)
    ),
    max_leaves=16,
)
FUZZ = settings(max_examples=150, deadline=None)
HTTP_FUZZ = settings(max_examples=40, deadline=None)
"""Fewer examples where each one runs a dozen requests through respx."""


API = []


def shared_api():
    """One client for all examples (building httpx clients per example is slow)."""
    if not API:
        API.append(make_api(RecordingSleep(), attempts=2))
        API[0].poll_timeout = 2.0
    API[0]._user_id = None
    return API[0]


def call_everything(body) -> None:
    api = shared_api()
    with respx.mock(assert_all_called=False) as router:
        router.post(ENDPOINT).respond(200, content=json.dumps(body).encode())
        router.get(url__startswith="https://").respond(200, content=b'{"a": 1}\n')
        for action in (
            lambda: api.get_project("p"),
            lambda: api.project_ontology("p"),
            lambda: list(api.list_projects()),
            lambda: api.wait_for_task("t"),
            lambda: list(api.export_rows("t")),
            lambda: api.data_row_ids(["k"]),
            lambda: api.create_dataset("d"),
            lambda: api.add_to_project("p", ["k"]),
        ):
            with contextlib.suppress(BridgeError):
                action()


@HTTP_FUZZ
@given(json_values)
def test_lb_any_json_answer_is_data_or_bridge_error(body):
    call_everything(body)


@HTTP_FUZZ
@given(shaped)
def test_lb_answers_shaped_like_labelbox_are_data_or_bridge_error(body):
    call_everything({"data": body} if not isinstance(body, dict) or "data" not in body else body)


@FUZZ
@given(st.lists(st.binary(max_size=60), max_size=6))
def test_lb_any_export_bytes_are_rows_or_bridge_error(chunks):
    joined = b"".join(chunks)
    lines = list(split_lines(chunks))
    assert lines == [line for line in joined.split(b"\n") if line.strip()]
    for number, line in enumerate(lines, start=1):
        try:
            row = parse_export_line(line, f"line {number}")
        except BridgeError as error:
            assert error.where == f"line {number}"
            continue
        assert isinstance(row, dict)


@FUZZ
@given(
    st.binary(max_size=300)
    | st.lists(json_values, max_size=4).map(
        lambda rows: "\n".join(json.dumps(row) for row in rows).encode()
    )
)
def test_lb_any_import_error_file_is_row_errors_or_bridge_error(content):
    try:
        errors = parse_error_file(content, {"u-1": {"globalKey": "k1"}})
    except BridgeError:
        return
    assert all(isinstance(error.describe(), str) for error in errors)
