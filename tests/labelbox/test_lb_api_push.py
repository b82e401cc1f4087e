"""Pushing to Labelbox over the API: idempotent data rows by global key, batches, and
label/MAL imports with row-level errors."""

from __future__ import annotations

import json

import pytest
from bridge_labelbox.api import json_chunks, keys_digest

from bridge.errors import RemoteError

from .test_lb_api_fakes import (
    EXPERIMENTAL,
    PROJECT_ID,
    FakeLabelbox,
    graphql_error,
    import_record,
    make_api,
    task,
    user,
)

UPLOADED = "https://storage.labelbox.test/uploads"


def lookup(fake: FakeLabelbox, *results: dict[str, str]) -> None:
    """Answer global key lookups; each result maps key -> id ('' when not found), in the
    order the keys were asked."""

    def job(call):
        return {
            "dataRowsForGlobalKeys": {
                "jobId": f"job-{len(fake.called('getDataRowsForGlobalKeysPyApi'))}"
            }
        }

    answers = list(results)

    def result(call):
        found = answers.pop(0)
        return {
            "dataRowsForGlobalKeysResult": {
                "jobStatus": "COMPLETE",
                "data": {
                    "fetchedDataRows": [{"id": row_id} for row_id in found.values()],
                    "notFoundGlobalKeys": [key for key, row_id in found.items() if not row_id],
                    "accessDeniedGlobalKeys": [],
                },
            }
        }

    fake.on("getDataRowsForGlobalKeysPyApi", job)
    fake.on("getDataRowsForGlobalKeysResultPyApi", result)


def upserts(fake: FakeLabelbox, created: list[dict], failed: list[dict]) -> None:
    uploads = iter(range(100))
    fake.on(
        "UploadFile",
        lambda call: {"uploadFile": {"url": f"{UPLOADED}/{next(uploads)}.json", "filename": "x"}},
    )
    fake.on(
        "UpsertDataRowsPyApi",
        {
            "upsertDataRows": {
                "id": "task-up",
                "createdAt": "x",
                "updatedAt": "x",
                "name": "JSON Import",
                "status": "IN_PROGRESS",
                "completionPercentage": 0.0,
                "result": None,
                "errors": None,
                "type": "adv-upsert-data-rows",
                "metadata": None,
            }
        },
    )
    fake.on("GetUserPyApi", user())
    fake.on("GetUserCreatedTasksPyApi", task("IN_PROGRESS", "task-up"), task("COMPLETE", "task-up"))
    fake.on(
        "SuccessesfulDataRowImportsPyApi",
        {"successesfulDataRowImports": {"nodes": created, "after": None, "total": len(created)}},
    )
    fake.on(
        "FailedDataRowImportsPyApi",
        {"failedDataRowImports": {"after": None, "total": len(failed), "results": failed}},
    )


def spec(key: str) -> dict:
    return {"row_data": f"https://img.test/{key}.jpg", "global_key": key}


def failure(key: str, message: str) -> dict:
    return {
        "message": message,
        "spec": {"externalId": None, "globalKey": key, "rowData": f"https://img.test/{key}.jpg"},
    }


def test_lb_existing_global_keys_are_reused_and_only_missing_rows_created(fake, sleep):
    lookup(fake, {"k1": "dr-1", "k2": "", "k3": ""})
    upserts(
        fake,
        [
            {
                "id": "dr-2",
                "externalId": None,
                "globalKey": "k2",
                "rowData": "https://img.test/k2.jpg",
            },
            {
                "id": "dr-3",
                "externalId": None,
                "globalKey": "k3",
                "rowData": "https://img.test/k3.jpg",
            },
        ],
        [],
    )

    outcome = make_api(sleep).ensure_data_rows("ds-1", [spec("k1"), spec("k2"), spec("k3")])

    assert outcome.ids == {"k1": "dr-1", "k2": "dr-2", "k3": "dr-3"}
    assert outcome.reused == ["k1"] and outcome.created == ["k2", "k3"]
    (asked,) = fake.called("getDataRowsForGlobalKeysPyApi")
    assert asked.variables == {"globalKeys": ["k1", "k2", "k3"]}
    chunk_upload, manifest_upload = fake.called("UploadFile")
    chunk = json.loads(chunk_upload.files["1"])
    assert chunk == [
        {"id": {"type": "AUTO", "value": ""}, "payload": {**spec("k2"), "dataset_id": "ds-1"}},
        {"id": {"type": "AUTO", "value": ""}, "payload": {**spec("k3"), "dataset_id": "ds-1"}},
    ]
    operations = json.loads(chunk_upload.files["operations"])
    assert operations["variables"] == {
        "file": None,
        "contentLength": len(chunk_upload.files["1"]),
        "sign": False,
    }
    assert json.loads(chunk_upload.files["map"]) == {"1": ["variables.file"]}
    assert json.loads(manifest_upload.files["1"]) == {
        "source": "SDK",
        "item_count": 2,
        "chunk_uris": [f"{UPLOADED}/0.json"],
    }
    (upsert,) = fake.called("UpsertDataRowsPyApi")
    assert upsert.variables == {"manifestUri": f"{UPLOADED}/1.json"}
    assert sleep.waits == [2.0]


def test_lb_second_push_of_the_same_rows_creates_nothing(fake, sleep):
    lookup(fake, {"k1": "dr-1", "k2": "dr-2"})
    outcome = make_api(sleep).ensure_data_rows("ds-1", [spec("k1"), spec("k2")])
    assert outcome.ids == {"k1": "dr-1", "k2": "dr-2"}
    assert outcome.created == []
    assert fake.called("UploadFile") == [] and fake.called("UpsertDataRowsPyApi") == []


def test_lb_duplicate_global_key_refusal_is_resolved_not_duplicated(fake, sleep):
    """Someone created k2 between our lookup and our upsert: Labelbox refuses our row with
    "Duplicate global key" and we reuse theirs."""
    lookup(fake, {"k1": "", "k2": ""}, {"k2": "dr-theirs"})
    upserts(
        fake,
        [{"id": "dr-1", "externalId": None, "globalKey": "k1", "rowData": "u"}],
        [failure("k2", "Duplicate global key: 'k2'")],
    )

    outcome = make_api(sleep).ensure_data_rows("ds-1", [spec("k1"), spec("k2")])

    assert outcome.ids == {"k1": "dr-1", "k2": "dr-theirs"}
    assert outcome.created == ["k1"] and outcome.reused == ["k2"]
    assert [call.variables for call in fake.called("getDataRowsForGlobalKeysPyApi")] == [
        {"globalKeys": ["k1", "k2"]},
        {"globalKeys": ["k2"]},
    ]


def test_lb_refused_data_row_names_its_global_key(fake, sleep):
    lookup(fake, {"k1": "", "bad key": ""})
    upserts(
        fake,
        [{"id": "dr-1", "externalId": None, "globalKey": "k1", "rowData": "u"}],
        [failure("bad key", "Invalid global key: whitespace is not allowed")],
    )
    with pytest.raises(RemoteError) as caught:
        make_api(sleep).ensure_data_rows("ds-1", [spec("k1"), spec("bad key")])
    assert "bad key: Invalid global key: whitespace is not allowed" in caught.value.message
    assert caught.value.where == "task task-up"


def test_lb_failed_upsert_task_raises(fake, sleep):
    lookup(fake, {"k1": ""})
    upserts(fake, [], [])
    fake.on(
        "GetUserCreatedTasksPyApi",
        task("FAILED", "task-up", errors='{"error": "manifest unreadable"}'),
    )
    with pytest.raises(RemoteError, match="manifest unreadable"):
        make_api(sleep).ensure_data_rows("ds-1", [spec("k1")])


def test_lb_upload_chunks_respect_the_byte_limit():
    items = [{"payload": "x" * 40, "n": i} for i in range(10)]
    chunks = list(json_chunks(items, 200))
    assert all(len(chunk) <= 200 for chunk in chunks)
    assert [item for chunk in chunks for item in json.loads(chunk)] == items
    assert list(json_chunks([{"big": "y" * 500}], 100)) == [b'[{"big":"' + b"y" * 500 + b'"}]']


def test_lb_batches_go_to_the_experimental_endpoint_with_stable_names(fake, sleep):
    fake.on(
        "CheckAllDataRowsHaveBeenProcessedPyApi",
        {"queryAllDataRowsHaveBeenProcessed": {"allDataRowsHaveBeenProcessed": False}},
        {"queryAllDataRowsHaveBeenProcessed": {"allDataRowsHaveBeenProcessed": True}},
    )
    fake.on(
        "createBatchV2PyApi",
        {
            "project": {
                "createBatchV2": {
                    "batch": {
                        "consensusSettingsJson": None,
                        "createdAt": "x",
                        "name": "b",
                        "size": 2,
                        "id": "batch-1",
                        "updatedAt": "x",
                    },
                    "failedDataRowIds": [],
                }
            }
        },
    )

    result = make_api(sleep).add_to_project(PROJECT_ID, ["k2", "k1"])

    (created,) = fake.called("createBatchV2PyApi")
    assert str(created.request.url) == EXPERIMENTAL
    assert created.variables == {
        "projectId": PROJECT_ID,
        "batchInput": {
            "name": f"label-bridge-{keys_digest(['k1', 'k2'])}",
            "dataRowIds": [],
            "globalKeys": ["k2", "k1"],
            "priority": 5,
            "consensusSettings": None,
        },
    }
    assert keys_digest(["k1", "k2"]) == keys_digest(["k2", "k1"])
    assert result[0]["batch"]["id"] == "batch-1"
    assert sleep.waits == [2.0]


def test_lb_existing_batch_conflict_is_kept(fake, sleep):
    fake.on(
        "CheckAllDataRowsHaveBeenProcessedPyApi",
        {"queryAllDataRowsHaveBeenProcessed": {"allDataRowsHaveBeenProcessed": True}},
    )
    fake.on(
        "createBatchV2PyApi",
        graphql_error("RESOURCE_CONFLICT", "Batch with this name already exists"),
    )
    (result,) = make_api(sleep).add_to_project(PROJECT_ID, ["k1"])
    assert result["existing"] is True and result["batch"] is None


def test_lb_batches_split_at_1000_rows(fake, sleep):
    fake.on(
        "CheckAllDataRowsHaveBeenProcessedPyApi",
        {"queryAllDataRowsHaveBeenProcessed": {"allDataRowsHaveBeenProcessed": True}},
    )
    fake.on(
        "createBatchV2PyApi",
        {"project": {"createBatchV2": {"batch": {"id": "b"}, "failedDataRowIds": []}}},
    )
    keys = [f"k{i}" for i in range(2500)]
    make_api(sleep).add_to_project(PROJECT_ID, keys)
    sizes = [
        len(call.variables["batchInput"]["globalKeys"])
        for call in fake.called("createBatchV2PyApi")
    ]
    assert sizes == [1000, 1000, 500]


ROWS = [
    {
        "uuid": "u-1",
        "dataRow": {"globalKey": "k1"},
        "name": "car",
        "bbox": {"top": 1, "left": 2, "height": 3, "width": 4},
    },
    {"uuid": "u-2", "dataRow": {"globalKey": "k2"}, "name": "weather", "answer": {"name": "sunny"}},
]


@pytest.mark.parametrize(
    ("mode", "create_field", "get_field", "create_op", "get_op"),
    [
        (
            "label",
            "createLabelImport",
            "labelImport",
            "createLabelImportByFilePyApi",
            "getLabelImportPyApi",
        ),
        (
            "mal",
            "createModelAssistedLabelingPredictionImport",
            "modelAssistedLabelingPredictionImport",
            "createMALPredictionImportByFilePyApi",
            "getMALPredictionImportPyApi",
        ),
    ],
)
def test_lb_import_is_a_graphql_multipart_upload(
    fake, router, sleep, mode, create_field, get_field, create_op, get_op
):
    fake.on(create_op, import_record(create_field, "RUNNING"))
    fake.on(get_op, import_record(get_field, "RUNNING"), import_record(get_field, "FINISHED"))

    outcome = make_api(sleep).run_import(PROJECT_ID, "push-1", iter(ROWS), mode=mode)

    (upload,) = fake.called(create_op)
    file_name = f"{PROJECT_ID}__push-1.ndjson"
    sent = upload.files[file_name]
    assert [json.loads(line) for line in sent.splitlines()] == ROWS
    operations = json.loads(upload.files["operations"])
    assert operations["variables"] == {
        "file": None,
        "contentLength": len(sent),
        "projectId": PROJECT_ID,
        "name": "push-1",
    }
    assert (
        f"{create_field}(data: {{projectId: $projectId name: $name filePayload:"
        in operations["query"]
    )
    assert "project{id}" in operations["query"]
    assert json.loads(upload.files["map"]) == {file_name: ["variables.file"]}
    assert upload.request.headers["content-type"].startswith("multipart/form-data")
    assert [call.variables for call in fake.called(get_op)] == [
        {"projectId": PROJECT_ID, "name": "push-1"}
    ] * 2
    assert outcome.record["state"] == "FINISHED" and outcome.rows == 2 and outcome.row_errors == []
    assert sleep.waits == [2.0]  # created RUNNING, polled RUNNING, slept, polled FINISHED


def test_lb_import_row_errors_name_their_data_rows(fake, router, sleep):
    error_url = "https://storage.labelbox.test/imports/errors.ndjson?sig=1"
    router.get(error_url).respond(
        200,
        text=json.dumps(
            {
                "uuid": "u-2",
                "dataRow": {"id": "dr-2"},
                "status": "FAILURE",
                "errors": [
                    {
                        "name": "ValidationError",
                        "message": "Answer 'sunny' is not in the ontology",
                        "additionalInfo": None,
                    }
                ],
            }
        )
        + "\n",
    )
    fake.on(
        "createLabelImportByFilePyApi",
        import_record("createLabelImport", "FINISHED", error_url=error_url),
    )

    outcome = make_api(sleep).run_import(PROJECT_ID, "push-1", ROWS)

    (error,) = outcome.row_errors
    assert error.uuid == "u-2"
    assert error.data_row == {"globalKey": "k2", "id": "dr-2"}
    assert error.describe() == (
        "data row globalKey=k2 (id dr-2), annotation u-2: ValidationError: Answer 'sunny' is not in the ontology"
    )
    assert "authorization" not in router.calls[-1].request.headers


def test_lb_failed_import_raises_with_its_errors(fake, router, sleep):
    error_url = "https://storage.labelbox.test/imports/errors.ndjson?sig=2"
    router.get(error_url).respond(
        200,
        text=json.dumps(
            {
                "uuid": "u-1",
                "dataRow": {"id": "dr-1", "globalKey": "k1"},
                "status": "FAILURE",
                "errors": [{"name": "DataRowNotFound", "message": "Data row not in project"}],
            }
        ),
    )
    fake.on(
        "createLabelImportByFilePyApi",
        import_record("createLabelImport", "FAILED", error_url=error_url),
    )
    with pytest.raises(RemoteError) as caught:
        make_api(sleep).run_import(PROJECT_ID, "push-1", ROWS)
    assert "FAILED" in caught.value.message
    assert (
        "globalKey=k1" in caught.value.message and "Data row not in project" in caught.value.message
    )
