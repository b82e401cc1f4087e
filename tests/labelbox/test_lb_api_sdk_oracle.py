"""Our GraphQL requests against the labelbox 7.17.0 SDK's, as an oracle: the SDK is run with
`client.execute` replaced by a recorder (no network), and each of our operations must select
the same root field and fields, with the same variables, as the SDK's operation of the same
name."""

from __future__ import annotations

import json
import re

import pytest
import respx

pytest.importorskip("labelbox")

import labelbox  # noqa: E402
from labelbox.schema import export_task  # noqa: E402

from .test_lb_api_fakes import (  # noqa: E402
    PROJECT_ID,
    TS,
    FakeLabelbox,
    RecordingSleep,
    export_page,
    import_record,
    make_api,
    project,
    task,
    user,
)

USER = {
    "createdAt": TS,
    "email": "a@b.test",
    "isExternalUser": False,
    "isViewer": True,
    "lastLoginAt": TS,
    "nickname": "a",
    "name": "A",
    "picture": "p",
    "id": "user-1",
    "updatedAt": TS,
}


class SdkRecorder:
    """Stands in for `Client.execute`: records each call, answers by operation name."""

    def __init__(self, answers: dict):
        self.calls: list[dict] = []
        self.answers = answers

    def __call__(self, query=None, params=None, data=None, files=None, **kwargs):
        if data is not None:
            operations = json.loads(data["operations"])
            query, params = operations["query"], operations["variables"]
            kwargs["map"] = json.loads(data["map"][1])
        name = re.search(r"(?:query|mutation)\s+(\w+)", query).group(1)
        self.calls.append({"op": name, "query": query, "variables": params, **kwargs})
        return self.answers[name]

    def op(self, name: str) -> dict:
        return next(call for call in self.calls if call["op"] == name)


def selection(query: str) -> tuple[str, set[str]]:
    """(root field, the set of field names selected) of a GraphQL operation, arguments
    and variable definitions removed."""
    body = query[query.index("{") :]
    while "(" in body:
        body = re.sub(r"\([^()]*\)", "", body)
    words = re.findall(r"[A-Za-z_]\w*", body)
    return words[0], set(words)


@pytest.fixture
def sdk_client():
    client = labelbox.Client(api_key="sdk-oracle-key", endpoint="https://api.labelbox.test/graphql")
    yield client


@pytest.fixture
def ours():
    with respx.mock(assert_all_called=False) as router:
        yield FakeLabelbox(router), router


def test_lb_export_operations_match_the_sdk(sdk_client, ours, monkeypatch):
    fake, router = ours
    sdk = SdkRecorder(
        {
            "GetProjectPyApi": {"project": project()},
            "exportDataRowsInProjectPyApi": {
                "exportDataRowsInProject": {"taskId": "task-1", "isStreamable": True}
            },
            "GetUserPyApi": {"user": USER},
            "GetUserCreatedTasksPyApi": task("COMPLETE"),
            "GetExportMetadataHeaderPyApi": {
                "task": {"exportMetadataHeader": {"totalSize": 3, "totalLines": 1}}
            },
            "GetExportFileFromOffsetPyApi": export_page(0, 2, 0, 0, "https://storage.test/f"),
        }
    )
    monkeypatch.setattr(sdk_client, "execute", sdk)
    monkeypatch.setattr(export_task.requests, "get", lambda url, timeout=None: FakeGet(b"{}\n"))
    params = {"label_details": True, "data_row_details": True, "project_details": True}
    sdk_project = sdk_client.get_project(PROJECT_ID)
    exported = sdk_project.export(params=params)
    assert [row.json for row in exported.get_buffered_stream()] == [{}]

    for name, answer in sdk.answers.items():
        fake.on(name, answer)
    router.get("https://storage.test/f").respond(200, content=b"{}\n")
    api = make_api(RecordingSleep())
    api.get_project(PROJECT_ID)
    assert list(api.export_project(PROJECT_ID)) == [{}]

    for call in fake.calls:
        root, fields = selection(call.query)
        their_root, their_fields = selection(sdk.op(call.operation)["query"])
        assert root == their_root, call.operation
        assert fields <= their_fields, call.operation  # we may select fewer, never others
    assert selection(fake.called("GetProjectPyApi")[0].query) == selection(
        sdk.op("GetProjectPyApi")["query"]
    )
    mine = fake.called("exportDataRowsInProjectPyApi")[0].variables
    assert mine == sdk.op("exportDataRowsInProjectPyApi")["variables"]
    for name in ("GetExportMetadataHeaderPyApi", "GetExportFileFromOffsetPyApi"):
        assert fake.called(name)[0].variables == sdk.op(name)["variables"]


class FakeGet:
    def __init__(self, content: bytes):
        self.content, self.encoding = content, None
        self.text = content.decode()

    def raise_for_status(self):
        return None


def test_lb_data_row_and_batch_operations_match_the_sdk(sdk_client, ours, monkeypatch):
    fake, _ = ours
    sdk = SdkRecorder(
        {
            "GetProjectPyApi": {"project": project()},
            "getDataRowsForGlobalKeysPyApi": {"dataRowsForGlobalKeys": {"jobId": "job-1"}},
            "getDataRowsForGlobalKeysResultPyApi": {
                "dataRowsForGlobalKeysResult": {
                    "jobStatus": "COMPLETE",
                    "data": {
                        "fetchedDataRows": [{"id": "dr-1"}],
                        "notFoundGlobalKeys": [],
                        "accessDeniedGlobalKeys": [],
                    },
                }
            },
            "CheckAllDataRowsHaveBeenProcessedPyApi": {
                "queryAllDataRowsHaveBeenProcessed": {"allDataRowsHaveBeenProcessed": True}
            },
            "createBatchV2PyApi": {
                "project": {
                    "createBatchV2": {
                        "batch": {
                            "consensusSettingsJson": None,
                            "createdAt": TS,
                            "name": "b",
                            "size": 1,
                            "id": "batch-1",
                            "updatedAt": TS,
                        },
                        "failedDataRowIds": [],
                    }
                }
            },
            "SuccessesfulDataRowImportsPyApi": {
                "successesfulDataRowImports": {"nodes": [], "after": None, "total": 0}
            },
            "FailedDataRowImportsPyApi": {
                "failedDataRowImports": {"after": None, "total": 0, "results": []}
            },
        }
    )
    monkeypatch.setattr(sdk_client, "execute", sdk)
    assert sdk_client.get_data_row_ids_for_global_keys(["k1"])["results"] == ["dr-1"]
    sdk_client.get_project(PROJECT_ID).create_batch("b", global_keys=["k1"])
    upsert_task = labelbox.schema.task.DataUpsertTask(
        sdk_client,
        {
            "id": "task-up",
            "createdAt": TS,
            "updatedAt": TS,
            "name": "JSON Import",
            "status": "COMPLETE",
            "completionPercentage": 1.0,
            "result": None,
            "errors": None,
            "type": "adv-upsert-data-rows",
            "metadata": None,
        },
    )
    assert not upsert_task.result and not upsert_task.errors

    for name, answer in sdk.answers.items():
        fake.on(name, answer)
    api = make_api(RecordingSleep())
    assert api.data_row_ids(["k1"]) == {"k1": "dr-1"}
    api.add_to_project(PROJECT_ID, ["k1"])
    list(api.data_row_import_results("task-up", failed=False))
    list(api.data_row_import_results("task-up", failed=True))

    for call in fake.calls:
        theirs = sdk.op(call.operation)
        root, fields = selection(call.query)
        their_root, their_fields = selection(theirs["query"])
        assert root == their_root, call.operation
        assert fields <= their_fields, call.operation  # we may select fewer, never others
        variables = dict(call.variables)
        if call.operation == "createBatchV2PyApi":
            variables["batchInput"] = {**variables["batchInput"], "name": "b"}
            assert theirs["experimental"] is True
        assert variables == theirs["variables"], call.operation


@pytest.mark.parametrize(
    ("mode", "sdk_class", "create_op", "get_op", "field"),
    [
        (
            "label",
            "LabelImport",
            "createLabelImportByFilePyApi",
            "getLabelImportPyApi",
            "createLabelImport",
        ),
        (
            "mal",
            "MALPredictionImport",
            "createMALPredictionImportByFilePyApi",
            "getModelAssistedLabelingPredictionImportPyApi",
            "createModelAssistedLabelingPredictionImport",
        ),
    ],
)
def test_lb_import_upload_matches_the_sdk(
    sdk_client, ours, monkeypatch, mode, sdk_class, create_op, get_op, field
):
    fake, _ = ours
    rows = [
        {
            "uuid": "u-1",
            "dataRow": {"globalKey": "k1"},
            "name": "car",
            "bbox": {"top": 1, "left": 2, "height": 3, "width": 4},
        }
    ]
    record = import_record(field, "FINISHED")[field]
    sdk = SdkRecorder({create_op: {field: {**record, "project": project()}}})
    monkeypatch.setattr(sdk_client, "execute", sdk)
    getattr(labelbox, sdk_class).create_from_objects(sdk_client, PROJECT_ID, "push-1", rows)

    fake.on(create_op, {field: record})
    make_api(RecordingSleep()).run_import(PROJECT_ID, "push-1", rows, mode=mode)

    (call,) = fake.calls
    theirs = sdk.op(create_op)
    root, fields = selection(call.query)
    their_root, their_fields = selection(theirs["query"])
    assert root == their_root == field
    assert fields <= their_fields
    assert {"errorFileUrl", "statusFileUrl", "state", "project", "id"} <= fields
    assert json.loads(call.files["map"]) == theirs["map"]
    mine = {**call.variables, "contentLength": None}
    assert mine == {**theirs["variables"], "contentLength": None}
    # the SDK sends len(str(bytes)) (3 too many); we send the true byte count
    assert call.variables["contentLength"] == len(call.files[f"{PROJECT_ID}__push-1.ndjson"])


def test_lb_user_and_task_poll_match_the_sdk(sdk_client, ours, monkeypatch):
    fake, _ = ours
    sdk = SdkRecorder(
        {"GetUserPyApi": {"user": USER}, "GetUserCreatedTasksPyApi": task("COMPLETE")}
    )
    monkeypatch.setattr(sdk_client, "execute", sdk)
    labelbox.schema.task.Task.get_task(sdk_client, "task-1")

    fake.on("GetUserPyApi", user())
    fake.on("GetUserCreatedTasksPyApi", task("COMPLETE"))
    make_api(RecordingSleep()).wait_for_task("task-1")

    for call in fake.calls:
        root, fields = selection(call.query)
        their_root, their_fields = selection(sdk.op(call.operation)["query"])
        assert root == their_root and fields <= their_fields, call.operation
    poll = fake.called("GetUserCreatedTasksPyApi")[0]
    theirs = sdk.op("GetUserCreatedTasksPyApi")["variables"]
    assert sorted(poll.variables.values()) == sorted(theirs.values())
