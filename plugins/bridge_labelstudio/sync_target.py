"""Label Studio as a sync target (`bridge push labelstudio://HOST:PORT/projects/ID`).

Reconciliation keys (what a scan finds again without any local record):

* a **task** carries the workspace item id in `meta.bridge_item`, the content hash it was
  created from in `meta.bridge_hash`, and the hashes of the annotation sets imported with
  it in `meta.bridge_sets` (`{set id: hash}`);
* an **annotation** carries a 60-bit integer derived from its set id in `import_id` (Label
  Studio keeps and returns it: the import takes it from the annotation's `id`, the single
  create takes `import_id` itself);
* **predictions** have no such field: the task's `meta.bridge_predictions` lists the set ids
  of its predictions in creation order, and the scan pairs them with the task's predictions
  sorted by id (the meta is written before a prediction is added to an existing task).

Tasks are created with their annotations and predictions in one import request per batch:
the fast path, and an atomic one (the server writes a batch in one transaction), so a task
is never found without the sets it was imported with.

The scan walks the project once through an export snapshot (full prediction objects).
Fingerprints (`RemoteRecord.hash`) are SHA-256 digests of the parts label-bridge writes:
a task's `data`; an annotation's `result`, `was_cancelled`, `ground_truth`; a prediction's
`result`, `score`, `model_version`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterator
from typing import Any

from bridge.errors import BridgeError, NotFoundError, RemoteError
from bridge.losses import LossReport
from bridge.schema import AnnotationSet, Item, Project
from bridge.sync.target import (
    ItemPush,
    Kind,
    RemoteRecord,
    SetPush,
    SyncTarget,
    TargetRef,
    crash_point,
)
from bridge_labelstudio.api import LabelStudioApi
from bridge_labelstudio.connector import (
    TOOL,
    LabelStudioConnector,
    TaskPusher,
    int_option,
    project_title,
)
from bridge_labelstudio.ontology import (
    LabelConfig,
    config_to_ontology,
    ontology_to_config,
    parse_label_config,
)

ITEM_META = "bridge_item"
HASH_META = "bridge_hash"
SETS_META = "bridge_sets"
PREDICTIONS_META = "bridge_predictions"
DEFAULT_MODEL_VERSION = "label-bridge"
KEY_BITS_HEX = 15  # 60 bits: fits Label Studio's BigIntegerField import_id


def annotation_key(set_id: str) -> int:
    """The `import_id` stamped on the annotation of workspace set `set_id`."""
    return int(hashlib.sha256(set_id.encode()).hexdigest()[:KEY_BITS_HEX], 16)


def fingerprint(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def task_fingerprint(task: dict[str, Any]) -> str:
    return fingerprint(task.get("data") or {})


def annotation_fingerprint(annotation: dict[str, Any]) -> str:
    return fingerprint(
        {
            "result": annotation.get("result") or [],
            "was_cancelled": bool(annotation.get("was_cancelled")),
            "ground_truth": bool(annotation.get("ground_truth")),
        }
    )


def prediction_fingerprint(prediction: dict[str, Any]) -> str:
    return fingerprint(
        {
            "result": prediction.get("result") or [],
            "score": prediction.get("score"),
            "model_version": prediction.get("model_version") or "",
        }
    )


def as_prediction(aset: AnnotationSet) -> AnnotationSet:
    """`aset` as a pre-annotation: a prediction with a model version (and its score)."""
    if aset.kind == "prediction":
        return aset
    version = aset.model_version or DEFAULT_MODEL_VERSION
    return aset.model_copy(update={"kind": "prediction", "model_version": version})


class LabelStudioSyncTarget(SyncTarget):
    """A Label Studio project kept in step with the workspace."""

    supports_predictions = True

    def __init__(self, api: LabelStudioApi, project_id: int | None, url: str, batch_size: int):
        self.api = api
        self.connector = LabelStudioConnector(api, project_id, url)
        self.ref = TargetRef(TOOL, api.base_url, str(project_id) if project_id else None)
        self.batch_size = batch_size
        self._pusher: TaskPusher | None = None
        self._metas: dict[str, dict[str, Any]] = {}  # task id -> meta, from the scan
        self._counted_project: dict[str, Any] | None = None  # read by _counters, this run

    @classmethod
    def from_url(cls, url: str, options: dict[str, Any]) -> LabelStudioSyncTarget:
        connector = LabelStudioConnector.from_url(url, **options)
        return cls(connector.api, connector.project_id, url, int_option(options, "batch_size", 500))

    def remote_key(self, kind: Kind, element_id: str) -> str:
        if kind == "annotation_set":
            return str(annotation_key(element_id))
        return element_id

    # -- project -----------------------------------------------------------------------

    @property
    def project_id(self) -> int:
        if self.connector.project_id is None:
            raise BridgeError("internal: the Label Studio project is not known yet")
        return self.connector.project_id

    def use_project(self, remote_id: str) -> None:
        if self.connector.project_id is None:
            self.connector.project_id = int(remote_id)

    def ensure_project(self, project: Project, losses: LossReport, remote_id: str | None) -> str:
        if self.connector.project_id is None and remote_id is not None:
            self.connector.project_id = int(remote_id)
        if self.connector.project_id is None:
            self.connector.project_id = self._find_project()
        if self.connector.project_id is None:
            label_config = ontology_to_config(project.ontology, project.media_kind)
            marker = self._project_marker()
            description = "\n\n".join(part for part in (project.description, marker) if part)
            extra = {"description": description} if description else {}
            created = self.api.create_project(project_title(project.name), label_config, **extra)
            self.connector.project_id = int(created["id"])
            crash_point("project-created")
        raw = self._counted_project
        if raw is None or raw.get("id") != self.project_id:
            raw = self.api.get_project(self.project_id)
        config = parse_label_config(raw.get("label_config") or "<View/>")
        if remote_id is not None and missing_labels(project, config):
            self._update_label_config(project, losses)  # the ontology grew since the last push
            raw = self.api.get_project(self.project_id)
            config = parse_label_config(raw.get("label_config") or "<View/>")
        self._pusher = TaskPusher(self.connector, config, losses)
        return str(self.project_id)

    def _project_marker(self) -> str | None:
        """The reconciliation marker ending the description of a project a push creates: a
        digest of the workspace's own id (`Workspace.workspace_id`, unchanged by pulls and
        there even when the workspace holds no item), as the CVAT target names its projects;
        None when the engine gave no workspace id."""
        if self.workspace_id is None:
            return None
        key = hashlib.sha256(self.workspace_id.encode()).hexdigest()[:16]
        return f"[label-bridge:project:{key}]"

    def _find_project(self) -> int | None:
        """The project an earlier run created for this workspace and died before recording
        (found by its description's marker), else None."""
        marker = self._project_marker()
        if marker is None:
            return None
        for found in self.api.list_projects():
            description = str(found.get("description") or "").rstrip()
            if description.endswith(marker) and isinstance(found.get("id"), int):
                return int(found["id"])
        return None

    def preview(
        self,
        project: Project,
        items: Iterator[Item],
        losses: LossReport,
        as_predictions: bool = False,
    ) -> None:
        """Dry run: build every task as the push would (nothing is sent), for the losses."""
        if self.connector.project_id is not None:
            raw = self.api.get_project(self.project_id)
            label_config = raw.get("label_config") or "<View/>"
        else:
            label_config = ontology_to_config(project.ontology, project.media_kind)
        self._pusher = TaskPusher(self.connector, parse_label_config(label_config), losses)
        for item in items:
            sets = [
                SetPush(f"preview-{i}", "", aset, "", item, as_prediction=as_predictions)
                for i, aset in enumerate(item.annotation_sets)
            ]
            self._task(ItemPush("", item, "", sets))

    def _update_label_config(self, project: Project, losses: LossReport) -> None:
        label_config = ontology_to_config(project.ontology, project.media_kind)
        try:
            self.api.request(
                "PATCH", f"/api/projects/{self.project_id}/", json={"label_config": label_config}
            )
        except (
            RemoteError
        ) as error:  # refused (HTTP 400); credentials or a lost project stop the push
            losses.record(
                "label-config-not-updated",
                "Label Studio refused the new label config (labels in use cannot be removed); "
                "the project keeps its old one",
                where=f"project {self.project_id}: {error.message[:200]}",
            )

    @property
    def pusher(self) -> TaskPusher:
        if self._pusher is None:
            raise BridgeError("internal: ensure_project must run before a push")
        return self._pusher

    # -- scan --------------------------------------------------------------------------

    def matches_links(self, links: dict[Kind, dict[str, Any]]) -> bool:
        """The project's counters (tasks; annotations incl. skipped ones, predictions)
        equal the numbers of linked items and sets: nothing was created without being
        recorded, nothing of ours deleted (unless both at once: `-O scan=full`)."""
        counted = self._counters()
        if counted is None:
            return False
        tasks, sets = counted
        return tasks == len(links["item"]) and sets == linked_sets(links)

    def _counters(self) -> tuple[int, int] | None:
        """(tasks, annotations incl. skipped + predictions) of the project, None if none."""
        if self.connector.project_id is None:
            return None
        raw = self.api.get_project(self.project_id)
        self._counted_project = raw  # its label config serves ensure_project (no re-read)
        names = (
            "total_annotations_number",
            "skipped_annotations_number",
            "total_predictions_number",
        )
        return int(raw.get("task_number") or 0), sum(int(raw.get(name) or 0) for name in names)

    def scan_recent(self, links: dict[Kind, dict[str, Any]]) -> list[RemoteRecord] | None:
        """The tasks made after the newest linked task, when they (all ours) and their
        sets account exactly for the difference between the counters and the links."""
        counted = self._counters()
        ids = [int(link.remote_id) for link in links["item"].values() if link.remote_id.isdigit()]
        if counted is None or not ids:
            return None
        records: list[RemoteRecord] = []
        tasks = 0
        for task in self.api.iter_tasks_after(self.project_id, max(ids)):
            found = list(self._records(task))
            if not found:
                return None  # not ours: only a full scan can tell what is what
            tasks += 1
            records.extend(found)
            listed = len(task.get("annotations") or []) + len(task.get("predictions") or [])
            if listed != len(found) - 1:
                return None  # sets without our keys
        sets = sum(1 for record in records if record.kind == "annotation_set")
        if counted != (len(links["item"]) + tasks, linked_sets(links) + sets):
            return None
        return records

    def fetch(self, records: list[RemoteRecord]) -> Iterator[RemoteRecord]:
        """The tasks holding `records`, one request per task."""
        tasks = {r.remote_id if r.kind == "item" else r.parent for r in records}
        for task_id in sorted(t for t in tasks if t):
            try:
                task = self.api.json("GET", f"/api/tasks/{task_id}/")
            except NotFoundError:
                continue
            yield from self._records(task)

    def scan(self) -> Iterator[RemoteRecord]:
        if self.connector.project_id is None:
            return
        try:
            tasks = self.api.export_tasks(self.project_id)
            for task in tasks:
                yield from self._records(task)
        except NotFoundError:
            for task in self.api.iter_tasks(self.project_id):
                yield from self._records(task)

    def _records(self, task: dict[str, Any]) -> Iterator[RemoteRecord]:
        meta = task.get("meta") if isinstance(task.get("meta"), dict) else {}
        assert isinstance(meta, dict)
        item_id = meta.get(ITEM_META)
        if not isinstance(item_id, str):
            return
        task_id = str(task.get("id"))
        self._metas[task_id] = meta
        yield RemoteRecord(
            "item", item_id, task_id, None, task_fingerprint(task), meta.get(HASH_META)
        )
        sent = meta.get(SETS_META) if isinstance(meta.get(SETS_META), dict) else {}
        assert isinstance(sent, dict)
        sent_by_key = {str(annotation_key(str(set_id))): h for set_id, h in sent.items()}
        for annotation in task.get("annotations") or []:
            key = annotation.get("import_id") if isinstance(annotation, dict) else None
            if key is None:
                continue
            yield RemoteRecord(
                "annotation_set",
                str(key),
                str(annotation.get("id")),
                task_id,
                annotation_fingerprint(annotation),
                sent_by_key.get(str(key)),
                extra={"type": "annotation"},
            )
        predictions = [p for p in task.get("predictions") or [] if isinstance(p, dict)]
        predictions.sort(key=lambda p: int(p.get("id") or 0))
        listed = meta.get(PREDICTIONS_META) if isinstance(meta.get(PREDICTIONS_META), list) else []
        assert isinstance(listed, list)
        for set_id, prediction in zip(listed, predictions, strict=False):
            yield RemoteRecord(
                "annotation_set",
                self.remote_key("annotation_set", str(set_id)),
                str(prediction.get("id")),
                task_id,
                prediction_fingerprint(prediction),
                sent.get(set_id),
                extra={"type": "prediction"},
            )

    # -- create ------------------------------------------------------------------------

    def _task(
        self, push: ItemPush
    ) -> tuple[dict[str, Any], list[tuple[SetPush, dict[str, Any], str]]]:
        """The import-shaped task of `push` and, per set sent, (set, entry, type)."""
        sets = list(push.sets)
        for s in sets:
            if s.as_prediction:
                s.aset = as_prediction(s.aset)
        item = push.item.model_copy(update={"annotation_sets": [s.aset for s in sets]})
        task = self.pusher.task_for(item)
        humans = [s for s in sets if s.aset.kind != "prediction" and s.aset.status != "draft"]
        predictions = [s for s in sets if s.aset.kind == "prediction"]
        entries: list[tuple[SetPush, dict[str, Any], str]] = []
        for s, entry in zip(humans, task["annotations"], strict=True):
            entry["id"] = annotation_key(s.set_id)
            entries.append((s, entry, "annotation"))
        for s, entry in zip(predictions, task["predictions"], strict=True):
            entries.append((s, entry, "prediction"))
        meta = dict(task.get("meta") or {})
        meta[ITEM_META] = push.item_id
        meta[HASH_META] = push.hash
        meta[SETS_META] = {s.set_id: s.hash for s, _, _ in entries}
        meta[PREDICTIONS_META] = [s.set_id for s in predictions]
        task["meta"] = meta
        return task, entries

    def create_items(self, batch: list[ItemPush], losses: LossReport) -> list[RemoteRecord]:
        shaped = [self._task(push) for push in batch]
        answer = self.api.import_tasks(self.project_id, [task for task, _ in shaped])
        records: list[RemoteRecord] = []
        for push, (task, entries), task_id in zip(batch, shaped, answer["task_ids"], strict=True):
            task_ref = str(task_id)
            self._metas[task_ref] = task["meta"]
            records.append(
                RemoteRecord("item", push.item_id, task_ref, None, task_fingerprint(task))
            )
            records.extend(
                self._set_record(s, entry, kind, task_ref, "") for s, entry, kind in entries
            )
            sent = {s.set_id for s, _, _ in entries}
            records.extend(dropped(s, task_ref) for s in push.sets if s.set_id not in sent)
        return records

    def _set_record(
        self, push: SetPush, entry: dict[str, Any], kind: str, task_id: str, remote_id: str
    ) -> RemoteRecord:
        mark = annotation_fingerprint if kind == "annotation" else prediction_fingerprint
        return RemoteRecord(
            "annotation_set", push.set_id, remote_id, task_id, mark(entry), extra={"type": kind}
        )

    def _resolve(self, record: RemoteRecord) -> str:
        """The remote id of a set created inline with its task (the import answers task
        ids only, so such links are recorded without one): read from its task, once."""
        if record.remote_id or record.parent is None:
            return record.remote_id
        try:
            task = self.api.json("GET", f"/api/tasks/{record.parent}/")
        except NotFoundError:
            return ""  # its task is gone, and the set with it
        meta = task.get("meta") if isinstance(task.get("meta"), dict) else {}
        self._metas[record.parent] = meta
        wanted = self.remote_key("annotation_set", record.key)
        for found in self._records({**task, "id": record.parent}):
            if found.kind == "annotation_set" and found.key == wanted:
                record.remote_id = found.remote_id
                record.extra = {**record.extra, **found.extra}
                return found.remote_id
        return ""

    def create_sets(self, batch: list[SetPush], losses: LossReport) -> list[RemoteRecord]:
        records = []
        for push in batch:
            task, entries = self._task(ItemPush(push.item_id, push.item, "", sets=[push]))
            if not entries:  # a draft: reported as a loss by the task builder
                records.append(dropped(push, push.parent))
                continue
            _, entry, kind = entries[0]
            assert push.parent is not None
            if kind == "annotation":
                body = {**entry, "import_id": entry.pop("id")}
                made = self.api.json("POST", f"/api/tasks/{push.parent}/annotations/", json=body)
            else:
                meta = self._meta(push.parent)
                listed = [*meta.get(PREDICTIONS_META, []), push.set_id]
                self._patch_meta(push.parent, {**meta, PREDICTIONS_META: listed})
                made = self.api.create_prediction({**entry, "task": int(push.parent)})
            records.append(self._set_record(push, entry, kind, push.parent, str(made.get("id"))))
        return records

    def _meta(self, task_id: str) -> dict[str, Any]:
        meta = self._metas.get(task_id)
        if meta is None:
            task = self.api.json("GET", f"/api/tasks/{task_id}/")
            meta = task.get("meta") if isinstance(task.get("meta"), dict) else {}
            self._metas[task_id] = meta
        return meta

    def _patch_meta(self, task_id: str, meta: dict[str, Any]) -> None:
        self.api.request("PATCH", f"/api/tasks/{task_id}/", json={"meta": meta})
        self._metas[task_id] = meta

    # -- update ------------------------------------------------------------------------

    def update_items(self, batch: list[ItemPush], losses: LossReport) -> list[RemoteRecord]:
        records = []
        for push in batch:
            assert push.remote_id is not None
            task, _ = self._task(ItemPush(push.item_id, push.item, push.hash))
            meta = {**self._meta(push.remote_id), ITEM_META: push.item_id, HASH_META: push.hash}
            self.api.request(
                "PATCH", f"/api/tasks/{push.remote_id}/", json={"data": task["data"], "meta": meta}
            )
            self._metas[push.remote_id] = meta
            records.append(
                RemoteRecord("item", push.item_id, push.remote_id, None, task_fingerprint(task))
            )
        return records

    def update_sets(self, batch: list[SetPush], losses: LossReport) -> list[RemoteRecord]:
        records = []
        for push in batch:
            assert push.parent is not None
            _, entries = self._task(ItemPush(push.item_id, push.item, "", sets=[push]))
            if not entries:
                records.append(dropped(push, push.parent))
                continue
            _, entry, kind = entries[0]
            entry.pop("id", None)
            probe = RemoteRecord("annotation_set", push.set_id, push.remote_id or "", push.parent)
            push.remote_id = self._resolve(probe)
            if not push.remote_id:  # gone from its task: create it again
                records.extend(self.create_sets([push], losses))
                continue
            path = "annotations" if kind == "annotation" else "predictions"
            self.api.request("PATCH", f"/api/{path}/{push.remote_id}/", json=entry)
            records.append(self._set_record(push, entry, kind, push.parent, push.remote_id))
        return records

    # -- delete ------------------------------------------------------------------------

    def delete(self, records: list[RemoteRecord]) -> None:
        for record in records:
            if record.kind == "annotation_set" and not self._resolve(record):
                continue
            if record.kind == "item":
                path = f"/api/tasks/{record.remote_id}/"
            elif record.extra.get("type") == "prediction":
                path = f"/api/predictions/{record.remote_id}/"
            else:
                path = f"/api/annotations/{record.remote_id}/"
            with contextlib.suppress(NotFoundError):  # already gone: what a delete wants
                self.api.request("DELETE", path)

    def close(self) -> None:
        self.api.close()


def linked_sets(links: dict[Kind, dict[str, Any]]) -> int:
    """How many linked sets should exist remotely (drafts are linked as dropped)."""
    return sum(1 for link in links["annotation_set"].values() if not link.extra.get("dropped"))


def missing_labels(project: Project, config: LabelConfig) -> set[str]:
    """Label classes of `project` the project's label config does not have."""
    held = {label.name for label in config_to_ontology(config).labels}
    return {label.name for label in project.ontology.labels} - held


def dropped(push: SetPush, task_id: str | None) -> RemoteRecord:
    """The record of a set Label Studio cannot hold (a draft): linked as `dropped`, so that
    it is not planned again on every push."""
    return RemoteRecord("annotation_set", push.set_id, "", task_id, extra={"dropped": True})


def make_target(url: str, options: dict[str, Any]) -> SyncTarget:
    """The `register_sync_targets` factory for `labelstudio://` and `labelstudio+https://`."""
    return LabelStudioSyncTarget.from_url(url, options)


__all__ = ["LabelStudioSyncTarget", "annotation_key", "make_target", "Item"]
