"""The Labelbox sync target through the real push engine and a real (SQLite) workspace,
against a stateful fake Labelbox (GraphQL by operation name, over respx). Import rows are
validated with the labelbox SDK's NDJSON models; the expected mutations are listed by hand.

* first push: exactly one dataset, one data row upsert (chunk + manifest upload), one batch
  and one label import holding every set's rows, keyed by `bridge-<item id>` global keys;
* second push: no mutation;
* a push killed after N mutations (the next one raises, before or after the fake executed
  it) and rerun: three data rows, one batch, one import: nothing twice;
* `--as predictions`: a model-assisted labeling import instead of a label import.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from bridge_labelbox.sync_target import LabelboxSyncTarget

from bridge.formats import Dataset
from bridge.schema import AnnotationSet, BBox, Item, LabelClass, Media, Ontology, Project, Region
from bridge.store import MatchRule, SourceSpec, open_workspace
from bridge.sync.engine import PushOptions, push

from .test_lb_api_fakes import (
    API_KEY,
    ENDPOINT,
    PROJECT_ID,
    TS,
    Call,
    FakeLabelbox,
    RecordingSleep,
    graphql_error,
    import_record,
    project,
    task,
    user,
)

UPLOADED = "https://storage.labelbox.test/uploads"
DATA = "https://img.test"
MUTATIONS = (
    "CreateDatasetPyApi",
    "UploadFile",
    "UpsertDataRowsPyApi",
    "createBatchV2PyApi",
    "createLabelImportByFilePyApi",
    "createMALPredictionImportByFilePyApi",
)

ndjson = pytest.importorskip("labelbox.data.serialization.ndjson.objects")


class Crash(RuntimeError):
    """What the fake raises to kill a push mid-way."""


class LabelboxState:
    """What the fake Labelbox holds: datasets, data rows by global key, batches and imports.
    `crash_after=N`: the N+1-th mutation raises `Crash` (after executing it if `executed`)."""

    def __init__(self, fake: FakeLabelbox) -> None:
        self.fake = fake
        self.datasets: list[dict[str, Any]] = []
        self.rows: dict[str, str] = {}  # global key -> data row id
        self.uploads: dict[str, bytes] = {}
        self.created: list[dict[str, Any]] = []
        self.batches: dict[str, list[str]] = {}
        self.imports: dict[str, tuple[str, list[dict[str, Any]]]] = {}  # name -> (mode, rows)
        self.mutations: list[str] = []
        self.crash_after: int | None = None
        self.executed = False
        self.serve()

    def mutation(self, op: str, work) -> Any:
        crashing = self.crash_after is not None and len(self.mutations) >= self.crash_after
        if crashing and not self.executed:
            raise Crash(f"killed before {op}")
        self.mutations.append(op)
        answer = work()
        if crashing:
            raise Crash(f"killed after {op}")
        return answer

    def serve(self) -> None:
        fake = self.fake
        fake.on("GetProjectPyApi", {"project": project()})
        fake.on(
            "GetProjectOntologyPyApi",
            {
                "project": {
                    "ontology": {
                        "classificationSchemaCount": 0,
                        "createdAt": TS,
                        "description": None,
                        "mediaType": "IMAGE",
                        "name": "street",
                        "normalized": {
                            "tools": [
                                {
                                    "tool": "rectangle",
                                    "name": name,
                                    "required": False,
                                    "color": "#ff0000",
                                    "classifications": [],
                                    "schemaNodeId": f"node-{name}",
                                    "featureSchemaId": f"schema-{name}",
                                }
                                for name in ("car", "person")
                            ],
                            "classifications": [],
                        },
                        "objectSchemaCount": 2,
                        "id": "onto-1",
                        "updatedAt": TS,
                    }
                }
            },
        )
        fake.on("GetDatasetsPyApi", lambda call: {"datasets": list(self.datasets)})
        fake.on(
            "CreateDatasetPyApi",
            lambda call: self.mutation("CreateDatasetPyApi", lambda: self.create_dataset(call)),
        )
        fake.on(
            "getDataRowsForGlobalKeysPyApi",
            lambda call: {"dataRowsForGlobalKeys": {"jobId": "job-1"}},
        )
        fake.on("getDataRowsForGlobalKeysResultPyApi", self.lookup)
        fake.on("UploadFile", lambda call: self.mutation("UploadFile", lambda: self.upload(call)))
        fake.on(
            "UpsertDataRowsPyApi",
            lambda call: self.mutation("UpsertDataRowsPyApi", lambda: self.upsert(call)),
        )
        fake.on("GetUserPyApi", user())
        fake.on("GetUserCreatedTasksPyApi", task("COMPLETE", "task-up"))
        fake.on(
            "SuccessesfulDataRowImportsPyApi",
            lambda call: {
                "successesfulDataRowImports": {
                    "nodes": self.created,
                    "after": None,
                    "total": len(self.created),
                }
            },
        )
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
            lambda call: self.mutation("createBatchV2PyApi", lambda: self.batch(call)),
        )
        for mode, op, field in (
            ("label", "createLabelImportByFilePyApi", "createLabelImport"),
            (
                "mal",
                "createMALPredictionImportByFilePyApi",
                "createModelAssistedLabelingPredictionImport",
            ),
        ):
            fake.on(
                op,
                lambda call, mode=mode, op=op, field=field: self.mutation(
                    op, lambda: self.start_import(call, mode, field)
                ),
            )
        fake.on("getLabelImportPyApi", lambda call: self.get_import(call, "label", "labelImport"))
        fake.on(
            "getMALPredictionImportPyApi",
            lambda call: self.get_import(call, "mal", "modelAssistedLabelingPredictionImport"),
        )

    # -- operations ---------------------------------------------------------------------

    def create_dataset(self, call: Call) -> dict[str, Any]:
        dataset = {
            "id": f"ds-{len(self.datasets) + 1}",
            "name": call.variables["name"],
            "createdAt": TS,
            "updatedAt": TS,
            "description": None,
            "rowCount": 0,
        }
        self.datasets.append(dataset)
        return {"createDataset": dataset}

    def lookup(self, call: Call) -> dict[str, Any]:
        keys = self.fake.called("getDataRowsForGlobalKeysPyApi")[-1].variables["globalKeys"]
        return {
            "dataRowsForGlobalKeysResult": {
                "jobStatus": "COMPLETE",
                "data": {
                    "fetchedDataRows": [{"id": self.rows.get(key, "")} for key in keys],
                    "notFoundGlobalKeys": [key for key in keys if key not in self.rows],
                    "accessDeniedGlobalKeys": [],
                },
            }
        }

    def upload(self, call: Call) -> dict[str, Any]:
        url = f"{UPLOADED}/{len(self.uploads)}.json"
        self.uploads[url] = call.files["1"]
        return {"uploadFile": {"url": url, "filename": "x"}}

    def upsert(self, call: Call) -> dict[str, Any]:
        manifest = json.loads(self.uploads[call.variables["manifestUri"]])
        self.created = []
        for uri in manifest["chunk_uris"]:
            for spec in json.loads(self.uploads[uri]):
                key = spec["payload"]["global_key"]
                assert key not in self.rows, f"duplicate global key {key}"
                self.rows[key] = f"dr-{len(self.rows) + 1}"
                self.created.append(
                    {
                        "id": self.rows[key],
                        "externalId": None,
                        "globalKey": key,
                        "rowData": spec["payload"]["row_data"],
                    }
                )
        return {"upsertDataRows": {"id": "task-up", "status": "IN_PROGRESS"}}

    def batch(self, call: Call) -> Any:
        name = call.variables["batchInput"]["name"]
        if name in self.batches:
            return graphql_error("RESOURCE_CONFLICT", f"batch {name} exists")
        self.batches[name] = call.variables["batchInput"]["globalKeys"]
        return {
            "project": {
                "createBatchV2": {
                    "batch": {"id": f"batch-{len(self.batches)}"},
                    "failedDataRowIds": [],
                }
            }
        }

    def start_import(self, call: Call, mode: str, field: str) -> dict[str, Any]:
        name = call.variables["name"]
        assert name not in self.imports, f"import {name} sent twice"
        sent = call.files[f"{PROJECT_ID}__{name}.ndjson"]
        self.imports[name] = (mode, [json.loads(line) for line in sent.splitlines()])
        return import_record(field, "FINISHED", name=name)

    def get_import(self, call: Call, mode: str, field: str) -> dict[str, Any]:
        name = call.variables["name"]
        if name in self.imports and self.imports[name][0] == mode:
            return import_record(field, "FINISHED", name=name)
        return {field: None}


@pytest.fixture
def lb(router) -> LabelboxState:
    return LabelboxState(FakeLabelbox(router))


def box(rid: str, label: str, x: float) -> Region:
    return Region(id=rid, label=label, shape=BBox(type="bbox", x=x, y=20, width=30, height=40))


def items() -> list[Item]:
    media = {"kind": "image", "width": 640, "height": 480}
    return [
        Item(
            key="a.jpg",
            media=Media(uri=f"{DATA}/a.jpg", **media),
            annotation_sets=[
                AnnotationSet(id="s1", regions=[box("r1", "car", 10), box("r2", "person", 100)])
            ],
        ),
        Item(
            key="b.jpg",
            media=Media(uri=f"{DATA}/b.jpg", **media),
            annotation_sets=[
                AnnotationSet(id="s2", regions=[box("r3", "car", 50)]),
                AnnotationSet(id="s3", regions=[box("r4", "person", 5)]),
            ],
        ),
        Item(key="c.jpg", media=Media(uri=f"{DATA}/c.jpg", **media)),
    ]


def workspace(tmp_path: Path, name: str = "ws.db", kind: str = "human"):
    ws = open_workspace(tmp_path / name)
    ontology = Ontology(
        labels=[LabelClass(name="car", kinds=["bbox"]), LabelClass(name="person", kinds=["bbox"])]
    )
    chosen = items()
    if kind != "human":
        chosen = [
            item.model_copy(
                update={
                    "annotation_sets": [
                        a.model_copy(update={"kind": kind}) for a in item.annotation_sets
                    ]
                }
            )
            for item in chosen
        ]
    ws.pull(
        Dataset(project=Project(name="street", ontology=ontology), items=chosen),
        SourceSpec("vendor"),
        MatchRule.parse("key"),
    )
    return ws


def lb_push(ws, **options: Any):
    target = LabelboxSyncTarget(
        f"labelbox://projects/{PROJECT_ID}",
        {"api_key": API_KEY, "endpoint": ENDPOINT, "sleep": RecordingSleep()},
    )
    try:
        return push(ws, target, PushOptions(**options))
    finally:
        target.close()


def item_ids(ws) -> dict[str, str]:
    return {stored.item.key: stored.item_id for stored in ws.iter_items()}


def test_first_push_creates_rows_batch_and_one_label_import(
    lb: LabelboxState, tmp_path: Path
) -> None:
    ws = workspace(tmp_path)
    result = lb_push(ws)
    assert lb.mutations == [
        "CreateDatasetPyApi",
        "UploadFile",  # the chunk of row specs
        "UploadFile",  # the manifest
        "UpsertDataRowsPyApi",
        "createBatchV2PyApi",
        "createLabelImportByFilePyApi",
    ]
    ids = item_ids(ws)
    keys = {key: f"bridge-{item_id}" for key, item_id in ids.items()}
    assert set(lb.rows) == set(keys.values())
    (batch,) = lb.batches.values()
    assert sorted(batch) == sorted(keys.values())
    ((mode, rows),) = lb.imports.values()
    assert mode == "label"
    for row in rows:
        ndjson.NDRectangle.model_validate(row)  # the SDK's own model of a bbox import row
    by_key = {global_key: key for key, global_key in keys.items()}
    got = sorted(
        (by_key[r["dataRow"]["globalKey"]], r["name"], r["bbox"]["left"], r["bbox"]["top"])
        for r in rows
    )
    assert got == [
        ("a.jpg", "car", 10.0, 20.0),
        ("a.jpg", "person", 100.0, 20.0),
        ("b.jpg", "car", 50.0, 20.0),
        ("b.jpg", "person", 5.0, 20.0),
    ]
    assert all(r["bbox"]["width"] == 30.0 and r["bbox"]["height"] == 40.0 for r in rows)
    assert len({r["uuid"] for r in rows}) == 4
    assert result.losses.count("labelbox-sets-merged") == 1  # b.jpg's two sets, one label
    assert result.plan.counts()["create"] == {"project": 1, "item": 3, "annotation_set": 3}
    ws.close()


def test_second_push_sends_no_mutation(lb: LabelboxState, tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    lb_push(ws)
    sent = len(lb.mutations)
    result = lb_push(ws)
    assert lb.mutations[sent:] == []
    assert result.plan.counts()["unchanged"] == {"project": 1, "item": 3, "annotation_set": 3}
    ws.close()


@pytest.mark.parametrize("executed", [False, True], ids=["before", "after"])
def test_a_push_killed_midway_and_rerun_creates_nothing_twice(
    router, tmp_path: Path, executed: bool
) -> None:
    for crash_after in range(6):  # the clean run makes 6 mutations
        router.reset()
        router.routes.clear()
        lb = LabelboxState(FakeLabelbox(router))
        ws = workspace(tmp_path, name=f"crash{crash_after}{executed}.db")
        lb.crash_after, lb.executed = crash_after, executed
        with pytest.raises(Crash):
            lb_push(ws)
        lb.crash_after = None
        lb_push(ws)
        again = len(lb.mutations)
        lb_push(ws)
        where = f"crash after {crash_after} ({'executed' if executed else 'not executed'})"
        assert lb.mutations[again:] == [], where
        assert len(lb.rows) == 3 and len(lb.datasets) == 1 and len(lb.batches) == 1, where
        ((_, rows),) = lb.imports.values()
        assert len(rows) == 4, where
        ws.close()


def test_as_predictions_is_a_mal_import(lb: LabelboxState, tmp_path: Path) -> None:
    ws = workspace(tmp_path, kind="prediction")
    lb_push(ws, as_predictions=True)
    assert "createMALPredictionImportByFilePyApi" in lb.mutations
    assert "createLabelImportByFilePyApi" not in lb.mutations
    ((mode, rows),) = lb.imports.values()
    assert mode == "mal" and len(rows) == 4
    ws.close()


def test_delete_is_refused_and_a_project_is_required(lb: LabelboxState) -> None:
    from bridge.errors import ConfigError

    with pytest.raises(ConfigError):
        LabelboxSyncTarget("labelbox://projects", {"api_key": API_KEY, "endpoint": ENDPOINT})
    target = LabelboxSyncTarget(
        f"labelbox://projects/{PROJECT_ID}", {"api_key": API_KEY, "endpoint": ENDPOINT}
    )
    with pytest.raises(ConfigError) as caught:
        target.delete([])
    assert "--delete" in (caught.value.hint or "")
    target.close()


def test_unknown_operation_guard(lb: LabelboxState) -> None:
    """The fake refuses operations it does not serve (so the tests above list every one)."""
    with pytest.raises(AssertionError):
        lb.fake._respond(
            httpx.Request("POST", ENDPOINT, json={"query": "query Nope{x}", "variables": {}})
        )


def test_registered_for_labelbox_urls() -> None:
    from bridge_labelbox.sync_target import sync_target

    from bridge.plugins import get_sync_target_factory

    assert get_sync_target_factory("labelbox") is sync_target
