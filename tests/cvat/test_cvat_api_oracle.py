"""cvat-sdk's generated models as the oracle for every JSON body we send or mock.

`load(model, data)` deserializes `data` the way cvat-sdk deserializes a server response:
a missing required field, a wrong type or a bad enum value raises. On top of that:

* `assert_request_body` also refuses keys the request model does not have (the generated
  models would silently keep them; the CVAT server ignores or rejects them);
* `assert_complete` checks a response fixture carries *every* field the response model
  declares, recursively, so our mocks look like what a real server sends.

The tests in this file check that the oracle itself catches what it must.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cvat_sdk.api_client import Configuration, models
from cvat_sdk.api_client.model_utils import OpenApiModel, validate_and_convert_types

FIXTURES = Path(__file__).parent.parent / "fixtures" / "cvat_api"
_CONFIGURATION = Configuration()

OPTIONAL_IN_RESPONSES: dict[str, set[str]] = {}
"""Model fields a fixture may leave out (by model class name); none so far."""


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def model_class(model: str | type) -> type:
    return getattr(models, model) if isinstance(model, str) else model


def load(model: str | type, data: Any) -> Any:
    """`data` deserialized into cvat-sdk's `model` (raises on a missing or mistyped field)."""
    cls = model_class(model)
    return validate_and_convert_types(data, (cls,), ["body"], True, True, _CONFIGURATION)


def _walk(instance: Any, data: Any, path: str, visit) -> None:
    if isinstance(instance, OpenApiModel) and isinstance(data, dict):
        visit(instance, data, path)
        json_to_python = {v: k for k, v in type(instance).attribute_map.items()}
        for key, value in data.items():
            python_name = json_to_python.get(key)
            if python_name is not None and python_name in instance._data_store:
                _walk(instance._data_store[python_name], value, f"{path}.{key}", visit)
    elif isinstance(instance, list) and isinstance(data, list):
        for index, (sub_instance, sub_data) in enumerate(zip(instance, data, strict=True)):
            _walk(sub_instance, sub_data, f"{path}[{index}]", visit)


def assert_request_body(model: str | type, body: Any) -> Any:
    """`body` is a valid cvat-sdk `model` request with no unknown keys; returns the model."""
    instance = load(model, body)

    def no_unknown_keys(instance, data, path):
        known = set(type(instance).attribute_map.values())
        unknown = sorted(set(data) - known)
        assert not unknown, f"{path}: {type(instance).__name__} has no field(s) {unknown}"

    _walk(instance, body, "body", no_unknown_keys)
    return instance


def assert_complete(model: str | type, data: Any) -> Any:
    """`data` deserializes into `model` and carries every field the model declares."""
    instance = load(model, data)

    def every_field(instance, data, path):
        name = type(instance).__name__
        expected = set(type(instance).attribute_map.values())
        missing = sorted(expected - set(data) - OPTIONAL_IN_RESPONSES.get(name, set()))
        assert not missing, f"{path}: {name} fixture lacks {missing}"

    _walk(instance, data, "response", every_field)
    return instance


# ------------------------------------------------------------- the oracle's own tests


GOOD_SHAPE = {"type": "rectangle", "label_id": 1, "frame": 0, "points": [1.0, 2.0, 3.0, 4.0]}


def test_cvat_api_oracle_accepts_a_valid_request():
    body = {"shapes": [GOOD_SHAPE], "tags": [], "tracks": []}
    instance = assert_request_body("LabeledDataRequest", body)
    assert instance.shapes[0].points == [1.0, 2.0, 3.0, 4.0]


@pytest.mark.parametrize(
    "shape",
    [
        {k: v for k, v in GOOD_SHAPE.items() if k != "label_id"},  # missing required
        {**GOOD_SHAPE, "label_id": "1"},  # wrong type
        {**GOOD_SHAPE, "type": "box"},  # not a ShapeType
        {**GOOD_SHAPE, "label": "car"},  # unknown key
        {**GOOD_SHAPE, "attributes": [{"spec_id": 1}]},  # nested missing required
    ],
)
def test_cvat_api_oracle_refuses_bad_requests(shape):
    with pytest.raises((TypeError, ValueError, AssertionError)):
        assert_request_body("LabeledDataRequest", {"shapes": [shape]})


def test_cvat_api_oracle_refuses_incomplete_responses():
    about = fixture("server_about.json")
    assert_complete("About", about)
    with pytest.raises(TypeError, match="subtitle"):  # required: the SDK itself refuses
        assert_complete("About", {k: v for k, v in about.items() if k != "subtitle"})
    task = fixture("task42.json")
    assert_complete("TaskRead", task)
    del task["target_storage"]["cloud_storage_id"]  # optional, nested: our check refuses
    with pytest.raises(AssertionError, match=r"target_storage.*cloud_storage_id"):
        assert_complete("TaskRead", task)
