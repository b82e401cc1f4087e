"""Whatever a server (or a proxy) sends back, the client raises a BridgeError or yields
task objects, never another exception."""

from __future__ import annotations

import json
import os
import tempfile

import httpx
import respx
from bridge_labelstudio.api import LabelStudioApi, iter_json_array
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from bridge.errors import BridgeError
from bridge.http import RetryPolicy

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)
PAGE = st.one_of(
    JSON,
    st.fixed_dictionaries({"tasks": JSON, "total": JSON}),
    st.fixed_dictionaries(
        {"tasks": st.lists(st.dictionaries(st.text(max_size=3), JSON, max_size=3), max_size=3)}
    ),
)
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(first=PAGE, second=PAGE, status=st.sampled_from([200, 200, 200, 400, 404, 418, 503]))
def test_ls_any_task_page_gives_tasks_or_a_bridge_error(first, second, status):
    api = LabelStudioApi(
        "http://ls.test", SecretStr("k" * 16), retry=RetryPolicy(attempts=2, sleep=lambda s: None)
    )
    responses = [httpx.Response(200, json=first), httpx.Response(status, json=second)]
    with respx.mock(base_url="http://ls.test") as mock:
        mock.get("/api/tasks").mock(side_effect=responses + [httpx.Response(404)] * 3)
        try:
            rows = list(api.iter_tasks(1, page_size=2))
        except BridgeError:
            return
    assert all(isinstance(row, dict) for row in rows)


@FUZZ
@given(body=st.one_of(st.binary(max_size=60), JSON.map(lambda v: json.dumps(v).encode())))
def test_ls_any_export_file_gives_tasks_or_a_format_error(body):
    fd, path = tempfile.mkstemp()
    with os.fdopen(fd, "wb") as handle:
        handle.write(body)
    try:
        rows = list(iter_json_array(path, where="export"))
    except BridgeError as error:
        assert error.where.startswith("export")
        return
    finally:
        os.unlink(path)
    assert all(isinstance(row, dict) for row in rows)
