"""The Labelbox sync target through the real push engine and a real (SQLite) workspace,
against a stateful fake Labelbox (GraphQL by operation name, over respx). Import rows are
validated with the labelbox SDK's NDJSON models; the expected mutations are listed by hand.

* first push: exactly one dataset, one data row upsert (chunk + manifest upload), one batch
  and one label import holding every set's rows, keyed by `bridge-<item id>` global keys;
* second push: no mutation;
* a push killed after N mutations (the next one raises, before or after the fake executed
  it) and rerun: three data rows, one batch, one import: nothing twice;
* `--as predictions`: a model-assisted labeling import instead of a label import;
* a changed set replaces its label (`deleteLabels` then the import), also when killed
  between the two; one of several merged sets (or a prediction) is imported beside and
  reported; `--delete` deletes labels and data rows; a data row deleted in Labelbox is
  found missing by the global-key scan and created again. Delete and lookup queries are
  compared with the strings the labelbox SDK itself builds (`labelbox.orm.query`).
"""

from __future__ import annotations

import json
import re
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
        self.labels: dict[str, dict[str, str]] = {}  # label id -> {"row", "import"}
        self.label_count = 0
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
        fake.on("GetDataRowLabelsPyApi", self.row_labels)
        fake.on(
            "deleteLabelsPyApi",
            lambda call: self.mutation("deleteLabelsPyApi", lambda: self.delete_labels(call)),
        )
        fake.on(
            "deleteDataRowsPyApi",
            lambda call: self.mutation("deleteDataRowsPyApi", lambda: self.delete_rows(call)),
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
        if mode == "label":  # one label per data row of the import
            for key in dict.fromkeys(row["dataRow"]["globalKey"] for row in self.imports[name][1]):
                self.label_count += 1
                self.labels[f"lbl-{self.label_count}"] = {"row": self.rows[key], "import": name}
        return import_record(field, "FINISHED", name=name)

    def row_labels(self, call: Call) -> dict[str, Any]:
        skip, first = (int(n) for n in re.findall(r"skip: (\d+) first: (\d+)", call.query)[0])
        assert call.query == sdk_row_labels_query(call.variables["param_0"], skip, first)
        row = call.variables["param_0"]
        if row not in self.rows.values():
            return {"dataRow": None}
        labels = [
            {"id": label_id, "project": {"id": PROJECT_ID}}
            for label_id, label in self.labels.items()
            if label["row"] == row
        ]
        return {"dataRow": {"labels": labels[skip : skip + first]}}

    def delete_labels(self, call: Call) -> dict[str, Any]:
        ids = re.findall(r'"([^"]+)"', call.query)
        assert call.query == sdk_bulk_delete("Label", ids)
        for label_id in ids:
            del self.labels[label_id]
        return {"deleteLabels": [{"id": i} for i in ids]}

    def delete_rows(self, call: Call) -> dict[str, Any]:
        ids = re.findall(r'"([^"]+)"', call.query)
        assert call.query == sdk_bulk_delete("DataRow", ids)
        for key in [key for key, row in self.rows.items() if row in ids]:
            del self.rows[key]
        for label_id in [i for i, label in self.labels.items() if label["row"] in ids]:
            del self.labels[label_id]
        return {"deleteDataRows": [{"id": i} for i in ids]}

    def labels_of(self, global_key: str) -> list[str]:
        """The import names of the labels on `global_key`'s data row."""
        return [
            label["import"]
            for label in self.labels.values()
            if label["row"] == self.rows[global_key]
        ]

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


ONTOLOGY = Ontology(
    labels=[LabelClass(name="car", kinds=["bbox"]), LabelClass(name="person", kinds=["bbox"])]
)


def repull(ws, chosen: list[Item]) -> None:
    ws.pull(
        Dataset(project=Project(name="street", ontology=ONTOLOGY), items=chosen),
        SourceSpec("vendor"),
        MatchRule.parse("key"),
    )


def workspace(tmp_path: Path, name: str = "ws.db", kind: str = "human"):
    ws = open_workspace(tmp_path / name)
    ontology = ONTOLOGY
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


def test_a_project_is_required(lb: LabelboxState) -> None:
    from bridge.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        LabelboxSyncTarget("labelbox://projects", {"api_key": API_KEY, "endpoint": ENDPOINT})
    assert "project" in caught.value.message


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


# ------------------------------------------------------- updates, deletions, the scan


def changed_a() -> list[Item]:
    """items() with a.jpg's set moved by 5 pixels (b.jpg's merged sets unchanged)."""
    chosen = items()
    (s1,) = chosen[0].annotation_sets
    moved = s1.model_copy(update={"regions": [box("r1", "car", 15), box("r2", "person", 100)]})
    chosen[0] = chosen[0].model_copy(update={"annotation_sets": [moved]})
    return chosen


def import_lefts(lb: LabelboxState, name: str, global_key: str) -> list[float]:
    return sorted(
        r["bbox"]["left"] for r in lb.imports[name][1] if r["dataRow"]["globalKey"] == global_key
    )


def test_a_changed_set_replaces_its_label(lb: LabelboxState, tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    lb_push(ws)
    key_a, key_b = (f"bridge-{item_ids(ws)[k]}" for k in ("a.jpg", "b.jpg"))
    (old_a,), (old_b,) = lb.labels_of(key_a), lb.labels_of(key_b)
    repull(ws, changed_a())
    sent = len(lb.mutations)
    result = lb_push(ws)
    assert lb.mutations[sent:] == ["deleteLabelsPyApi", "createLabelImportByFilePyApi"]
    (new_a,) = lb.labels_of(key_a)  # one label, the new import's: the old one was deleted
    assert new_a != old_a and import_lefts(lb, new_a, key_a) == [15.0, 100.0]
    assert lb.labels_of(key_b) == [old_b]  # untouched
    ((_, rows),) = [lb.imports[new_a]]
    assert {r["dataRow"]["globalKey"] for r in rows} == {key_a}
    for row in rows:
        ndjson.NDRectangle.model_validate(row)
    assert result.losses.count("labelbox.update_adds_label") == 0
    assert result.plan.counts()["update"]["annotation_set"] == 1
    sent = len(lb.mutations)
    lb_push(ws)
    assert lb.mutations[sent:] == []
    ws.close()


@pytest.mark.parametrize("crash_at", ["deleteLabelsPyApi", "createLabelImportByFilePyApi"])
def test_an_update_killed_midway_ends_with_one_label(
    lb: LabelboxState, tmp_path: Path, crash_at: str
) -> None:
    ws = workspace(tmp_path)
    lb_push(ws)
    key_a = f"bridge-{item_ids(ws)['a.jpg']}"
    repull(ws, changed_a())
    sent = len(lb.mutations)
    # killed right after the delete (or the import) was executed, before anything was recorded
    lb.crash_after = sent + (0 if crash_at == "deleteLabelsPyApi" else 1)
    lb.executed = True
    with pytest.raises(Crash):
        lb_push(ws)
    assert lb.mutations[sent:][-1] == crash_at
    lb.crash_after = None
    again = len(lb.mutations)
    lb_push(ws)
    # the rerun imports only when the import was not made; it deletes nothing more
    assert lb.mutations[again:] == (
        ["createLabelImportByFilePyApi"] if crash_at == "deleteLabelsPyApi" else []
    )
    (label,) = lb.labels_of(key_a)
    assert import_lefts(lb, label, key_a) == [15.0, 100.0]
    third = len(lb.mutations)
    lb_push(ws)
    assert lb.mutations[third:] == []
    ws.close()


def test_changing_one_of_merged_sets_adds_a_label_and_says_so(
    lb: LabelboxState, tmp_path: Path
) -> None:
    ws = workspace(tmp_path)
    lb_push(ws)
    key_b = f"bridge-{item_ids(ws)['b.jpg']}"
    chosen = items()
    s2, s3 = chosen[1].annotation_sets
    moved = s2.model_copy(update={"regions": [box("r3", "car", 55)]})
    chosen[1] = chosen[1].model_copy(update={"annotation_sets": [moved, s3]})
    repull(ws, chosen)
    sent = len(lb.mutations)
    result = lb_push(ws)
    # deleting b's label would lose s3's annotations (merged into it): imported beside it
    assert lb.mutations[sent:] == ["createLabelImportByFilePyApi"]
    assert len(lb.labels_of(key_b)) == 2
    assert result.losses.count("labelbox.update_adds_label") == 1
    ws.close()


def test_deletions_go_only_with_delete(lb: LabelboxState, tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    lb_push(ws)
    ids = item_ids(ws)
    key_a, key_c = f"bridge-{ids['a.jpg']}", f"bridge-{ids['c.jpg']}"
    (label_a,) = [i for i, label in lb.labels.items() if label["row"] == lb.rows[key_a]]
    row_c = lb.rows[key_c]
    chosen = items()
    kept = [chosen[0].model_copy(update={"annotation_sets": []}), chosen[1]]  # a's set, c gone
    repull(ws, kept)
    sent = len(lb.mutations)
    result = lb_push(ws)
    assert lb.mutations[sent:] == []
    assert result.plan.counts()["delete"] == {"project": 0, "item": 1, "annotation_set": 1}
    lb_push(ws, delete=True)
    assert lb.mutations[sent:] == ["deleteLabelsPyApi", "deleteDataRowsPyApi"]
    deletes = {c.operation: c.query for c in lb.fake.calls if c.operation.startswith("delete")}
    assert deletes["deleteLabelsPyApi"] == sdk_bulk_delete("Label", [label_a])
    assert deletes["deleteDataRowsPyApi"] == sdk_bulk_delete("DataRow", [row_c])
    assert key_c not in lb.rows and lb.labels_of(key_a) == []
    sent = len(lb.mutations)
    lb_push(ws, delete=True)
    assert lb.mutations[sent:] == []
    ws.close()


def test_a_data_row_deleted_in_labelbox_is_created_again(lb: LabelboxState, tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    lb_push(ws)
    key_a = f"bridge-{item_ids(ws)['a.jpg']}"
    old_row = lb.rows.pop(key_a)  # deleted in the Labelbox app
    for label_id in [i for i, label in lb.labels.items() if label["row"] == old_row]:
        del lb.labels[label_id]
    sent = len(lb.mutations)
    result = lb_push(ws)
    assert lb.mutations[sent:] == [
        "UploadFile",
        "UploadFile",
        "UpsertDataRowsPyApi",
        "createBatchV2PyApi",
        "createLabelImportByFilePyApi",
    ]
    assert lb.rows[key_a] != old_row and len(lb.rows) == 3
    (label,) = lb.labels_of(key_a)
    assert import_lefts(lb, label, key_a) == [10.0, 100.0]
    assert result.plan.counts()["create"] == {"project": 0, "item": 1, "annotation_set": 1}
    sent = len(lb.mutations)
    lb_push(ws)
    assert lb.mutations[sent:] == []
    ws.close()


def sdk_bulk_delete(entity: str, ids: list[str]) -> str:
    """The labelbox SDK's own bulk deletion mutation (`Label.bulk_delete`, `DataRow.bulk_delete`)."""
    from labelbox.orm import query
    from labelbox.schema.data_row import DataRow
    from labelbox.schema.label import Label

    cls = {"Label": Label, "DataRow": DataRow}[entity]
    objects = []
    for uid in ids:
        thing = cls.__new__(cls)
        thing.uid = uid
        objects.append(thing)
    text, params = query.bulk_delete(objects, entity == "DataRow")
    assert params == {}
    return text


def sdk_row_labels_query(row_id: str, skip: int, first: int) -> str:
    """The SDK's `DataRow.labels()` query with the selection narrowed to id and project."""
    from labelbox.orm import query
    from labelbox.schema.data_row import DataRow

    row = DataRow.__new__(DataRow)
    row.uid = row_id
    text, params = query.relationship(row, DataRow.labels, None, None)
    assert params == {"param_0": row_id}
    head = text[: text.index("{", text.index("labels("))]
    return (head % (skip, first)) + "{id project {id}}" + "}}"


def test_a_changed_prediction_is_imported_beside_and_reported(
    lb: LabelboxState, tmp_path: Path
) -> None:
    ws = workspace(tmp_path, kind="prediction")
    lb_push(ws, as_predictions=True)
    chosen = [
        item.model_copy(
            update={
                "annotation_sets": [
                    a.model_copy(update={"kind": "prediction"}) for a in item.annotation_sets
                ]
            }
        )
        for item in changed_a()
    ]
    repull(ws, chosen)
    sent = len(lb.mutations)
    result = lb_push(ws, as_predictions=True)
    # pre-labels are not labels: nothing to delete, the change goes in a new MAL import
    assert lb.mutations[sent:] == ["createMALPredictionImportByFilePyApi"]
    assert result.losses.count("labelbox.update_adds_label") == 1
    ws.close()
