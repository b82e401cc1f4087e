"""Our request bodies equal what label-studio-sdk 2.1.2 itself sends for the same call.

The SDK is the oracle: each test runs the SDK call and ours under respx and compares method,
path, query and JSON body.
"""

from __future__ import annotations

import json

import httpx
import pytest
import respx
from bridge_labelstudio.api import LabelStudioApi
from pydantic import SecretStr

from bridge.http import RetryPolicy

label_studio_sdk = pytest.importorskip("label_studio_sdk")

BASE = "http://ls.test"
KEY = "legacy-key-123456"
BOX = {
    "id": "r1",
    "from_name": "label",
    "to_name": "image",
    "type": "rectanglelabels",
    "original_width": 640,
    "original_height": 480,
    "value": {
        "x": 1.0,
        "y": 2.0,
        "width": 3.0,
        "height": 4.0,
        "rotation": 0.0,
        "rectanglelabels": ["Car"],
    },
}
TASK = {
    "data": {"image": "http://img/1.jpg"},
    "meta": {"bridge_key": "img-1"},
    "annotations": [
        {
            "result": [BOX],
            "completed_by": 2,
            "lead_time": 1.5,
            "ground_truth": False,
            "was_cancelled": False,
        },
    ],
    "predictions": [{"result": [BOX], "score": 0.5, "model_version": "m1"}],
}
ANSWER = {"id": 1, "task_ids": [11], "created": 1}


def captured(call) -> list[tuple[str, str, dict, object]]:
    """Run `call` under respx; return (method, path, query, json body) of each request."""
    with respx.mock(base_url=BASE) as mock:
        route = mock.route().mock(return_value=httpx.Response(201, json=ANSWER))
        call()
        return [
            (
                c.request.method,
                c.request.url.path,
                dict(c.request.url.params),
                json.loads(c.request.content),
            )
            for c in route.calls
        ]


def sdk():
    return label_studio_sdk.LabelStudio(base_url=BASE, api_key=KEY, max_retries=0)


def ours():
    return LabelStudioApi(BASE, SecretStr(KEY), retry=RetryPolicy(attempts=1))


def test_ls_create_project_request_matches_sdk():
    config = '<View><Image name="image" value="$image"/></View>'
    expected = captured(lambda: sdk().projects.create(title="T", label_config=config))
    assert captured(lambda: ours().create_project("T", config)) == expected


def test_ls_import_tasks_request_matches_sdk():
    expected = captured(
        lambda: sdk().projects.import_tasks(id=3, request=[TASK], return_task_ids=True)
    )
    got = captured(lambda: ours().import_tasks(3, [TASK]))
    assert got == expected
    # the inline annotation validates as the SDK's own request model (its PredictionRequest
    # insists on `task`, which an inline prediction of an import cannot know yet)
    from label_studio_sdk.types import AnnotationRequest

    parsed = AnnotationRequest.model_validate(got[0][3][0]["annotations"][0])
    assert parsed.completed_by == 2 and parsed.lead_time == 1.5


def test_ls_create_annotation_request_matches_sdk():
    fields = {"result": [BOX], "lead_time": 2.0, "was_cancelled": False, "ground_truth": False}
    expected = captured(lambda: sdk().annotations.create(id=5, **fields))
    assert captured(lambda: ours().create_annotation(5, fields)) == expected


def test_ls_prediction_requests_match_sdk():
    prediction = {"task": 5, "result": [BOX], "score": 0.5, "model_version": "m1"}
    expected = captured(lambda: sdk().predictions.create(**prediction))
    assert captured(lambda: ours().create_prediction(prediction)) == expected
    expected = captured(lambda: sdk().projects.import_predictions(id=3, request=[prediction]))
    assert captured(lambda: ours().import_predictions(3, [prediction])) == expected


def test_ls_task_pages_match_sdk_walk():
    """Our pagination yields the same tasks the SDK's own pager yields."""

    def pages(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        if page > 3:
            return httpx.Response(404, json={"detail": "Invalid page."})
        rows = [{"id": page * 10 + i, "data": {}} for i in range(2 if page < 3 else 1)]
        return httpx.Response(200, json={"tasks": rows, "total": 5})

    with respx.mock(base_url=BASE) as mock:
        mock.get(path__regex=r"^/api/tasks/?$").mock(side_effect=pages)
        expected = [t.id for t in sdk().tasks.list(project=3, page_size=2)]
        got = [t["id"] for t in ours().iter_tasks(3, page_size=2)]
    assert got == expected == [10, 11, 20, 21, 30]
