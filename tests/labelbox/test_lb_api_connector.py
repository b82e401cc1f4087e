"""The `labelbox://` connector end to end against the fake Labelbox: pull a project (ontology +
streamed export + masks fetched with the key), push items (data rows, batch, import)."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import respx
from bridge_labelbox.connector import ImportRowsRefused, LabelboxConnector, parse_url
from PIL import Image

from bridge import api as bridge_api
from bridge.errors import ConfigError
from bridge.formats import Dataset
from bridge.geometry.masks import rle_to_bitmap
from bridge.losses import LossReport
from bridge.options import flag_option
from bridge.schema import Item

from .test_lb_api_fakes import (
    API_KEY,
    ENDPOINT,
    PROJECT_ID,
    FakeLabelbox,
    export_lines,
    export_page,
    import_record,
    ontology_normalized,
    project,
    task,
    user,
)

STORAGE = "https://storage.googleapis.test/lb-exports"
MASK_URL = "https://api.labelbox.test/api/v1/tasks/t1/masks/m1/index/1"
MASK_COLOR = (255, 0, 0)


@pytest.fixture
def env(monkeypatch):
    monkeypatch.setenv("LABELBOX_API_KEY", API_KEY)
    monkeypatch.setenv("LABELBOX_ENDPOINT", ENDPOINT)


def connector(sleep, **options) -> LabelboxConnector:
    return LabelboxConnector.from_url(f"labelbox://projects/{PROJECT_ID}", sleep=sleep, **options)


def composite_png() -> bytes:
    """A 4x3 composite mask: this object's colour at (x=1, y=0), (1, 1), (2, 1); another
    object's colour at (3, 2)."""
    pixels = np.zeros((3, 4, 3), dtype=np.uint8)
    for x, y in ((1, 0), (1, 1), (2, 1)):
        pixels[y, x] = MASK_COLOR
    pixels[2, 3] = (0, 255, 0)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def mask_row(objects: int = 1) -> bytes:
    row = {
        "data_row": {
            "id": "dr-mask",
            "global_key": "mask-image",
            "row_data": "https://img.test/m.png",
        },
        "media_attributes": {"height": 3, "width": 4, "mime_type": "image/png"},
        "projects": {
            PROJECT_ID: {
                "name": "roof-wear-highres",
                "labels": [
                    {
                        "id": "label-mask",
                        "label_kind": "Default",
                        "version": "1.0.0",
                        "label_details": {
                            "created_at": "2024-02-19T19:45:24.000+00:00",
                            "created_by": "a@b.test",
                        },
                        "annotations": {
                            "objects": [
                                {
                                    "feature_id": f"f-mask-{n}",
                                    "feature_schema_id": "s-mask",
                                    "name": "stain",
                                    "value": "stain",
                                    "annotation_kind": "ImageSegmentationMask",
                                    "classifications": [],
                                    "composite_mask": {
                                        "url": MASK_URL,
                                        "color_rgb": list(MASK_COLOR),
                                    },
                                    "mask": {
                                        "url": f"https://api.labelbox.test/api/v1/projects/p/annotations/f-mask-{n}/index/1/mask"
                                    },
                                }
                                for n in range(objects)
                            ],
                            "classifications": [],
                            "relationships": [],
                        },
                    }
                ],
            }
        },
    }
    return json.dumps(row).encode() + b"\n"


def serve_project(fake: FakeLabelbox, router, body: bytes) -> None:
    fake.on("GetProjectPyApi", {"project": project()})
    fake.on(
        "GetProjectOntologyPyApi",
        {
            "project": {
                "ontology": {
                    "classificationSchemaCount": 2,
                    "createdAt": "x",
                    "description": None,
                    "mediaType": "IMAGE",
                    "name": "roof",
                    "normalized": ontology_normalized(),
                    "objectSchemaCount": 0,
                    "id": "onto-1",
                    "updatedAt": "x",
                }
            }
        },
    )
    fake.on(
        "exportDataRowsInProjectPyApi",
        {"exportDataRowsInProject": {"taskId": "task-1", "isStreamable": True}},
    )
    fake.on("GetUserPyApi", user())
    fake.on("GetUserCreatedTasksPyApi", task("COMPLETE"))
    half = len(body) // 2
    urls = [f"{STORAGE}/p0?sig=0", f"{STORAGE}/p1?sig=1"]
    router.get(urls[0]).respond(200, content=body[:half])
    router.get(urls[1]).respond(200, content=body[half:])
    fake.on(
        "GetExportMetadataHeaderPyApi",
        {"task": {"exportMetadataHeader": {"totalSize": len(body), "totalLines": 2}}},
    )
    fake.on(
        "GetExportFileFromOffsetPyApi",
        lambda call: (
            export_page(0, half - 1, 0, 0, urls[0])
            if call.variables["offset"] == "0"
            else export_page(half, len(body) - 1, 1, 1, urls[1])
        ),
    )


def test_lb_url_forms():
    assert parse_url("labelbox://projects/abc123") == ("abc123", {})
    assert parse_url("labelbox://projects/abc?mode=mal&dataset=ds9") == (
        "abc",
        {"mode": "mal", "dataset": "ds9"},
    )
    assert parse_url("labelbox://projects") == (None, {})
    with pytest.raises(ConfigError):
        parse_url("labelbox://datasets/abc")


def test_lb_text_flags_from_urls_are_parsed():
    assert [
        flag_option({"f": v}, "f") for v in ("true", "1", "yes", "false", "0", None, True, False)
    ] == [True, True, True, False, False, False, True, False]
    with pytest.raises(ConfigError):
        flag_option({"f": ""}, "f")


def test_lb_missing_api_key_is_config_error(monkeypatch):
    monkeypatch.delenv("LABELBOX_API_KEY", raising=False)
    with pytest.raises(ConfigError) as caught:
        LabelboxConnector.from_url("labelbox://projects/abc")
    assert "LABELBOX_API_KEY" in caught.value.message


def test_lb_connector_is_registered_and_pulls_through_the_python_api(env, fake, router, sleep):
    lines = export_lines()
    serve_project(fake, router, b"".join(lines[:2]))

    summary = bridge_api.inspect(f"labelbox://projects/{PROJECT_ID}", sleep=sleep)

    assert summary["items"] == 2 and summary["project"] == "roof-wear-highres"
    assert fake.calls[0].request.headers["authorization"] == f"Bearer {API_KEY}"
    assert str(fake.calls[0].request.url) == ENDPOINT  # from LABELBOX_ENDPOINT


def test_lb_pull_reads_ontology_rows_and_masks_with_the_key(env, fake, router, sleep):
    lines = export_lines()
    serve_project(fake, router, lines[0] + mask_row())
    router.get(MASK_URL).respond(200, content=composite_png())
    losses = LossReport()

    dataset = connector(sleep).read(losses)
    items = list(dataset.items)

    assert dataset.project.name == "roof-wear-highres"
    assert dataset.project.media_kind == "image"
    assert dataset.project.source.project == PROJECT_ID
    assert [spec.name for spec in dataset.project.ontology.classifications] == ["bad_image", "wear"]
    assert [item.key for item in items] == [
        json.loads(lines[0])["data_row"]["global_key"],
        "mask-image",
    ]
    first_answers = {
        c.name: c.answers[0].value for c in items[0].annotation_sets[0].classifications
    }
    exported = json.loads(lines[0])["projects"][PROJECT_ID]["labels"][0]["annotations"][
        "classifications"
    ]
    assert first_answers == {c["name"]: c["radio_answer"]["name"] for c in exported}
    (region,) = items[1].annotation_sets[0].regions
    bitmap = rle_to_bitmap(region.shape.rle)
    assert [(int(x), int(y)) for y, x in zip(*np.nonzero(bitmap), strict=True)] == [
        (1, 0),
        (1, 1),
        (2, 1),
    ]
    mask_request = next(call.request for call in router.calls if str(call.request.url) == MASK_URL)
    assert mask_request.headers["authorization"] == f"Bearer {API_KEY}"


def items_from_export(count: int) -> list[Item]:
    from bridge_labelbox.convert import data_row_to_item

    return [
        data_row_to_item(json.loads(line), LossReport(), where="test")
        for line in export_lines()[:count]
    ]


def serve_push(
    fake: FakeLabelbox,
    router,
    existing: dict[str, str],
    create_op: str,
    create_field: str,
    error_url: str | None = None,
) -> None:
    fake.on("GetDatasetsPyApi", {"datasets": []})
    fake.on(
        "CreateDatasetPyApi",
        {
            "createDataset": {
                "id": "ds-new",
                "name": f"label-bridge {PROJECT_ID}",
                "createdAt": "x",
                "updatedAt": "x",
                "description": None,
                "rowCount": 0,
            }
        },
    )
    fake.on("getDataRowsForGlobalKeysPyApi", {"dataRowsForGlobalKeys": {"jobId": "job-1"}})

    def lookup(call):
        keys = fake.called("getDataRowsForGlobalKeysPyApi")[-1].variables["globalKeys"]
        return {
            "dataRowsForGlobalKeysResult": {
                "jobStatus": "COMPLETE",
                "data": {
                    "fetchedDataRows": [{"id": existing.get(key, "")} for key in keys],
                    "notFoundGlobalKeys": [k for k in keys if k not in existing],
                    "accessDeniedGlobalKeys": [],
                },
            }
        }

    fake.on("getDataRowsForGlobalKeysResultPyApi", lookup)
    fake.on(
        "UploadFile",
        {"uploadFile": {"url": "https://storage.labelbox.test/u/1.json", "filename": "x"}},
    )
    fake.on("UpsertDataRowsPyApi", {"upsertDataRows": {"id": "task-up", "status": "IN_PROGRESS"}})
    fake.on("GetUserPyApi", user())
    fake.on("GetUserCreatedTasksPyApi", task("COMPLETE", "task-up"))

    def created(call):
        chunk = json.loads(fake.called("UploadFile")[0].files["1"])
        nodes = [
            {
                "id": f"dr-new-{i}",
                "externalId": None,
                "globalKey": spec["payload"]["global_key"],
                "rowData": spec["payload"]["row_data"],
            }
            for i, spec in enumerate(chunk)
        ]
        return {"successesfulDataRowImports": {"nodes": nodes, "after": None, "total": len(nodes)}}

    fake.on("SuccessesfulDataRowImportsPyApi", created)
    fake.on(
        "FailedDataRowImportsPyApi",
        {"failedDataRowImports": {"after": None, "total": 0, "results": []}},
    )
    fake.on(
        "CheckAllDataRowsHaveBeenProcessedPyApi",
        {"queryAllDataRowsHaveBeenProcessed": {"allDataRowsHaveBeenProcessed": True}},
    )
    fake.on(
        "createBatchV2PyApi",
        {"project": {"createBatchV2": {"batch": {"id": "batch-1"}, "failedDataRowIds": []}}},
    )
    fake.on(create_op, import_record(create_field, "FINISHED", name="push-1", error_url=error_url))


def test_lb_push_creates_missing_rows_batches_and_imports_labels(env, fake, router, sleep):
    items = items_from_export(3)
    keys = [item.key for item in items]
    serve_push(
        fake, router, {keys[0]: "dr-old"}, "createLabelImportByFilePyApi", "createLabelImport"
    )
    losses = LossReport()

    result = connector(sleep).write(
        Dataset(project=None, items=iter(items)), losses, import_name="push-1"
    )

    assert result["dataset"] == "ds-new"
    assert result["data_rows"] == {"created": 2, "reused": 1}
    assert result["data_row_ids"] == {keys[0]: "dr-old", keys[1]: "dr-new-0", keys[2]: "dr-new-1"}
    created_rows = [spec["payload"] for spec in json.loads(fake.called("UploadFile")[0].files["1"])]
    raw = [json.loads(line)["data_row"] for line in export_lines()[1:3]]
    assert created_rows == [
        {"row_data": r["row_data"], "global_key": r["global_key"], "dataset_id": "ds-new"}
        for r in raw
    ]
    (batch,) = fake.called("createBatchV2PyApi")
    assert batch.variables["batchInput"]["globalKeys"] == keys
    (upload,) = fake.called("createLabelImportByFilePyApi")
    sent = [json.loads(line) for line in upload.files[f"{PROJECT_ID}__push-1.ndjson"].splitlines()]
    expected = []
    for line in export_lines()[:3]:
        row = json.loads(line)
        for label in row["projects"][PROJECT_ID]["labels"]:
            for c in label["annotations"]["classifications"]:
                expected.append(
                    (row["data_row"]["global_key"], c["name"], c["radio_answer"]["name"])
                )
    assert sorted(
        (r["dataRow"]["globalKey"], r["name"], r["answer"]["name"]) for r in sent
    ) == sorted(expected)
    assert result["import"]["state"] == "FINISHED" and result["import"]["rows"] == len(expected)


def test_lb_push_with_mode_mal_uses_the_mal_import(env, fake, router, sleep):
    items = items_from_export(1)
    serve_push(
        fake,
        router,
        {items[0].key: "dr-1"},
        "createMALPredictionImportByFilePyApi",
        "createModelAssistedLabelingPredictionImport",
    )
    conn = LabelboxConnector.from_url(
        f"labelbox://projects/{PROJECT_ID}?mode=mal&dataset=ds-given", sleep=sleep
    )

    result = conn.write(Dataset(project=None, items=items), LossReport(), import_name="push-1")

    assert result["import"]["mode"] == "mal" and result["dataset"] == "ds-given"
    assert fake.called("createLabelImportByFilePyApi") == []
    assert fake.called("GetDatasetsPyApi") == [] and fake.called("UploadFile") == []


def test_lb_push_row_errors_raise_and_are_in_the_loss_report(env, fake, router, sleep):
    items = items_from_export(2)
    error_url = "https://storage.labelbox.test/imports/errors.ndjson?sig=1"
    serve_push(
        fake,
        router,
        {item.key: f"dr-{i}" for i, item in enumerate(items)},
        "createLabelImportByFilePyApi",
        "createLabelImport",
        error_url,
    )

    def errors_for_second_item(request):
        sent = fake.called("createLabelImportByFilePyApi")[0].files[f"{PROJECT_ID}__push-1.ndjson"]
        second = [json.loads(line) for line in sent.splitlines()][-1]
        body = {
            "uuid": second["uuid"],
            "dataRow": {"id": "dr-1"},
            "status": "FAILURE",
            "errors": [{"name": "ValidationError", "message": "Unknown answer"}],
        }
        return respx.MockResponse(200, text=json.dumps(body) + "\n")

    router.get(error_url).mock(side_effect=errors_for_second_item)
    losses = LossReport()

    with pytest.raises(ImportRowsRefused) as caught:
        connector(sleep).write(Dataset(project=None, items=items), losses, import_name="push-1")

    assert f"globalKey={items[1].key} (id dr-1)" in caught.value.message
    assert "ValidationError: Unknown answer" in caught.value.message
    assert losses.count("labelbox_import_row_refused") == 1
    assert f"globalKey={items[1].key}" in losses["labelbox_import_row_refused"].examples[0]
    assert len(caught.value.outcome.row_errors) == 1


def test_lb_push_rejects_unknown_mode(env, sleep):
    with pytest.raises(ConfigError, match="mode"):
        connector(sleep).write(Dataset(project=None, items=[]), LossReport(), mode="draft")


def test_lb_push_skips_items_without_media_with_a_loss(env, fake, sleep):
    item = Item(key="no-media", media={"kind": "image"})
    losses = LossReport()
    result = connector(sleep).write(Dataset(project=None, items=[item]), losses)
    assert result["data_rows"] == {"created": 0, "reused": 0}
    assert losses.count("labelbox_item_without_media") == 1
    assert fake.calls == []


@pytest.mark.parametrize(("text", "expected"), [("true", True), ("false", False)])
def test_lb_pull_interpolated_frames_option_reaches_the_export(
    env, fake, router, sleep, text, expected
):
    serve_project(fake, router, export_lines()[0])
    conn = LabelboxConnector.from_url(
        f"labelbox://projects/{PROJECT_ID}?interpolated_frames={text}", sleep=sleep
    )
    list(conn.read(LossReport()).items)
    (export,) = fake.called("exportDataRowsInProjectPyApi")
    assert export.variables["input"]["params"]["includeInterpolatedFrames"] is expected


def test_lb_pull_fetches_a_shared_composite_mask_once(env, fake, router, sleep):
    serve_project(fake, router, mask_row(objects=3))
    route = router.get(MASK_URL).respond(200, content=composite_png())
    (item,) = connector(sleep).read(LossReport()).items
    assert len(item.annotation_sets[0].regions) == 3
    assert route.call_count == 1
