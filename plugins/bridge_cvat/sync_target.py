"""The CVAT sync target: keeps a CVAT project in step with the workspace (`bridge push
cvat://HOST/projects/ID`, `bridge sync CONFIG`).

How workspace elements map onto CVAT:

* the **project** is a CVAT project: created with the ontology's labels (`/projects/new`) or
  reused (`/projects/ID`), where labels the ontology has and the project lacks, and
  attributes its existing labels lack, are added with one `PATCH /api/projects/{id}`;
* an **item** is a CVAT **task** of its own holding the item's one image or video (CVAT names
  a frame after the basename of the URL it downloaded, so an image name cannot carry a key;
  a task name can, and is what CVAT lists in one paginated request);
* an **annotation set** is the annotations of that task's jobs. CVAT keeps one annotation
  per frame: the first set pushed to a task is written, later sets of the same item are
  reported (`cvat.extra_annotation_sets`) and only stamped, so a rerun does not send them
  again.

**Reconciliation key**: the task name ends with a marker
`[bridge:<item id>]` or `[bridge:<item id>:<set key>,<set key>...]` (set keys are 16 hex
digits of the set id's sha256: `remote_key`); the first set key is the set written into the
jobs. CVAT round-trips task names (`TaskWriteRequest.name`, 256 characters at most), so
`scan` rebuilds every link from one listing of the project's tasks. A task whose marker is
there but whose data upload never finished (`size` 0: the run died between creating the task
and attaching its media) is not reported by the scan; the next `create_items` for that item
attaches the media to it instead of creating another task.

Writes: media by URL (`remote_files`, the item's http(s) `media.uri`, or the
`media_base_url` option + the item key); annotations with `PUT /api/jobs/{id}/annotations/`
(replace: writing the same set twice leaves the same job, so a repeated write after a crash
is harmless), then the set keys with `PATCH /api/tasks/{id}` (name). With `as_prediction`
every shape, tag and track is sent with `source: "auto"` and each shape keeps a score
(the region's, else the set's): CVAT's `LabeledShapeRequest` has `score` (0..1), tags and
tracks have none (their scores are reported).

**Conflicts**: a written set's *fingerprint* is the sha256 of the canonical JSON of what the
server answered to the PUTs (`annotation_fingerprint`: per job, shapes, tags and tracks
with their label, frame, points rounded to 1/1000, attributes, ... and without the ids
and `version` CVAT adds); the link keeps it with the job ids. CVAT has no cheap per-task
digest, so the scan lists tasks without fingerprints (`fetch_fingerprints`): for the sets
changed on the source side since the last push, and only those, the engine calls `fetch`,
which GETs those jobs' annotations and fingerprints them the same way. A differing
fingerprint means the task was edited in CVAT: a conflict, resolved by `--prefer`.
A no-change run makes no per-task request.

**The project** made for `/projects/new` is named `<name> [bridge:project:<key>]`, the key a
digest of the workspace's own id (`Workspace.workspace_id`: a uuid made with the workspace,
unchanged by pulls, there even when the workspace holds no item). Before
creating it the target looks that name up (`GET /api/projects?search=`), so a run killed
between creating the project and recording it reuses it on the next run.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from bridge.errors import ConfigError, NotFoundError, RemoteError
from bridge.losses import LossReport
from bridge.options import integer_option, number_option
from bridge.schema import AnnotationSet, Project
from bridge.sync.target import ItemPush, Kind, RemoteRecord, SetPush, SyncTarget, TargetRef
from bridge_cvat.api import CvatApi
from bridge_cvat.ontology import ATTRIBUTE_REQUEST_FIELDS, label_requests, named_labels
from bridge_cvat.push_new_tasks import data_request, task_media_url
from bridge_cvat.push_task import TaskPush
from bridge_cvat.target import CvatTarget, parse_url

NAME_LIMIT = 256
"""CVAT's `max_length` of a task name (TaskWriteRequest / PatchedTaskWriteRequest)."""
SET_KEY_DIGITS = 16
MARKER = re.compile(
    r"\[(?P<prefix>[a-z]+):(?P<item>[0-9A-Za-z_-]+)(?::(?P<sets>[0-9a-f]+(?:,[0-9a-f]+)*))?\]$"
)
EMPTY_BODY = {"version": 0, "tags": [], "shapes": [], "tracks": []}
FINGERPRINT_FIELDS = (
    "type",
    "frame",
    "label_id",
    "group",
    "source",
    "occluded",
    "outside",
    "z_order",
    "rotation",
    "points",
    "attributes",
    "elements",
    "shapes",
)
"""What a fingerprint covers of each shape, tag, track (and track shape, skeleton element):
what an edit in CVAT changes; not the ids or `version` the server adds."""
PROJECT_KEY_DIGITS = 16


def _canonical(thing: Any) -> Any:
    if isinstance(thing, dict):
        out: dict[str, Any] = {}
        for name in FINGERPRINT_FIELDS:
            value = thing.get(name)
            if value is None:
                continue
            if name == "attributes":
                value = sorted([int(a["spec_id"]), str(a.get("value", ""))] for a in value)
            elif name == "points":
                value = [round(float(v), 3) for v in value]
            elif name in ("elements", "shapes"):
                value = _canonical_list(value)
            elif isinstance(value, float):
                value = round(value, 3)
            out[name] = value
        return out
    return thing


def _canonical_list(things: list[Any]) -> list[Any]:
    return sorted((_canonical(t) for t in things), key=lambda t: json.dumps(t, sort_keys=True))


def annotation_fingerprint(jobs: dict[int, dict[str, Any]]) -> str:
    """The fingerprint of jobs' annotations (job id -> `{"shapes", "tags", "tracks", ...}`,
    as CVAT answers a PUT or GET of `/api/jobs/{id}/annotations/`)."""
    canonical = [
        [
            job_id,
            {key: _canonical_list(body.get(key) or []) for key in ("shapes", "tags", "tracks")},
        ]
        for job_id, body in sorted(jobs.items())
    ]
    return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()


@dataclass
class TaskState:
    """What a task's name says: the item it holds and its set keys (first = written)."""

    task_id: int
    title: str
    item_id: str
    keys: list[str] = field(default_factory=list)


def parse_marker(name: str, prefix: str) -> tuple[str, str, list[str]] | None:
    """(title, item id, set keys) of a task name ending with our marker, else None."""
    match = MARKER.search(name)
    if match is None or match["prefix"] != prefix:
        return None
    keys = match["sets"].split(",") if match["sets"] else []
    return name[: match.start()].rstrip(), match["item"], keys


class SyncTaskPush(TaskPush):
    """A TaskPush (replace) that keeps what the server answered for each job (`stored`,
    for the fingerprint); with `auto` every shape, tag and track is marked
    `source: "auto"`."""

    auto = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stored: dict[int, dict[str, Any]] = {}

    def _write_job(self, job_id: int, body: dict[str, Any]) -> dict[str, Any]:
        if self.auto:
            for key in ("shapes", "tags", "tracks"):
                for thing in body[key]:
                    thing["source"] = "auto"
        answer = self.api.put_job_annotations(job_id, body)
        echoed = all(isinstance(answer.get(key), list) for key in ("shapes", "tags", "tracks"))
        self.stored[job_id] = answer if echoed else body
        return {"id": job_id, **{key: len(body[key]) for key in ("shapes", "tags", "tracks")}}


class CvatSyncTarget(SyncTarget):
    """A CVAT project as a sync target (see the module docstring)."""

    supports_predictions = True
    batch_size = 50
    fetch_fingerprints = True

    def __init__(self, url: str, options: dict[str, Any]):
        from bridge_cvat.connector import CvatConnector

        target = parse_url(url)
        if target.kind != "projects":
            raise ConfigError(
                "a CVAT sync target is a project",
                where=url,
                hint="use cvat://HOST/projects/ID (or /projects/new to create one)",
            )
        self.target: CvatTarget = target
        self.options = dict(options)
        self.api: CvatApi = CvatConnector.from_url(url, **self.options).api
        self.project_id: int | None = target.id
        self.ref = TargetRef("cvat", target.base_url, str(target.id or "new"))
        self._tasks: dict[int, TaskState] = {}
        self._unfinished: dict[str, int] = {}

    # -- keys -------------------------------------------------------------------------

    def remote_key(self, kind: Kind, element_id: str) -> str:
        if kind == "annotation_set":
            return hashlib.sha256(element_id.encode()).hexdigest()[:SET_KEY_DIGITS]
        return element_id

    def task_name(self, state: TaskState) -> str:
        """`title [bridge:item:key,key]`, the title cut so that the name fits CVAT's limit."""
        sets = f":{','.join(state.keys)}" if state.keys else ""
        marker = f"[{self.key_prefix}:{state.item_id}{sets}]"
        room = NAME_LIMIT - len(marker) - 1
        if room < 1:
            raise RemoteError(
                f"too many annotation sets on one CVAT task ({len(state.keys)})",
                where=f"task {state.task_id}",
            )
        title = state.title[:room].strip() or "item"
        return f"{title} {marker}"

    # -- project ----------------------------------------------------------------------

    def use_project(self, remote_id: str) -> None:
        """The project an earlier push created for `/projects/new` (scanned from now on)."""
        if self.project_id is None and remote_id.isdigit():
            self.project_id = int(remote_id)

    def ensure_project(self, project: Project, losses: LossReport, remote_id: str | None) -> str:
        labels = named_labels(project.ontology, losses, "ontology")
        if self.project_id is None and remote_id:
            self.project_id = int(remote_id)
        if self.project_id is None:
            self.project_id = self._find_project()
        if self.project_id is None:
            name = str(self.options.get("name") or project.name)
            body = {"name": self._project_name(name), "labels": label_requests(labels)}
            created = self.api.create_project(body)
            self.project_id = int(created["id"])
            return str(self.project_id)
        existing = {
            label.get("name"): label for label in self.api.list_labels(project_id=self.project_id)
        }
        changes = [
            change
            for change in (_label_change(label, existing.get(label["name"])) for label in labels)
            if change is not None
        ]
        if changes:
            self.api.update_project(self.project_id, {"labels": changes})
        return str(self.project_id)

    def _project_marker(self) -> str | None:
        """`[bridge:project:<key>]`, the key a digest of the workspace's own id (None
        when the engine gave none)."""
        if self.workspace_id is None:
            return None
        key = hashlib.sha256(self.workspace_id.encode()).hexdigest()[:PROJECT_KEY_DIGITS]
        return f"[{self.key_prefix}:project:{key}]"

    def _project_name(self, name: str) -> str:
        marker = self._project_marker()
        if marker is None:
            return name
        return f"{name[: NAME_LIMIT - len(marker) - 1].strip() or 'project'} {marker}"

    def _find_project(self) -> int | None:
        """The project an earlier run created for this workspace and died before recording
        (found by its name's marker), else None."""
        marker = self._project_marker()
        if marker is None:
            return None
        for found in self.api.find_projects(marker):
            if str(found.get("name") or "").endswith(marker) and isinstance(found.get("id"), int):
                return int(found["id"])
        return None

    # -- scan -------------------------------------------------------------------------

    def scan(self) -> Iterator[RemoteRecord]:
        if self.project_id is None:
            return
        for task in self.api.list_tasks(self.project_id):
            parsed = parse_marker(str(task.get("name") or ""), self.key_prefix)
            if parsed is None or not isinstance(task.get("id"), int):
                continue
            title, item_id, keys = parsed
            task_id = task["id"]
            if not task.get("size"):  # created, media never attached: reused by create_items
                self._unfinished[item_id] = task_id
                continue
            self._tasks[task_id] = TaskState(task_id, title, item_id, keys)
            yield RemoteRecord("item", item_id, str(task_id))
            for key in keys:
                yield RemoteRecord("annotation_set", key, f"{task_id}:{key}", parent=str(task_id))

    def fetch(self, records: list[RemoteRecord]) -> Iterator[RemoteRecord]:
        """The tasks holding `records` (one GET per task the scan did not list) and, for a
        set record whose link names its jobs, the written set's fingerprint (one GET per
        job): see the module docstring."""
        jobs: dict[int, list[int]] = {}
        tasks: set[int] = set()
        for record in records:
            task = record.remote_id if record.kind == "item" else record.parent
            task = task or record.remote_id.split(":", 1)[0]
            if not task.isdigit():
                continue
            tasks.add(int(task))
            if record.kind == "annotation_set" and record.extra.get("jobs"):
                jobs[int(task)] = [int(job) for job in record.extra["jobs"]]
        for task_id in sorted(tasks):
            state = self._tasks.get(task_id)
            if state is None:
                state = self._read_state(task_id)
                if state is None:
                    continue
            yield RemoteRecord("item", state.item_id, str(task_id))
            for number, key in enumerate(state.keys):
                fingerprint = None
                if number == 0 and task_id in jobs:
                    fingerprint = self._fingerprint(jobs[task_id])
                yield RemoteRecord(
                    "annotation_set", key, f"{task_id}:{key}", str(task_id), fingerprint
                )

    def _read_state(self, task_id: int) -> TaskState | None:
        try:
            task = self.api.get_task(task_id)
        except NotFoundError:
            return None
        parsed = parse_marker(str(task.get("name") or ""), self.key_prefix)
        if parsed is None or not task.get("size"):
            return None
        state = self._tasks[task_id] = TaskState(task_id, *parsed)
        return state

    def _fingerprint(self, job_ids: list[int]) -> str:
        bodies: dict[int, dict[str, Any]] = {}
        for job_id in job_ids:
            try:
                bodies[job_id] = self.api.get_job_annotations(job_id)
            except NotFoundError:
                continue  # the job is gone: the fingerprint differs, a conflict
        return annotation_fingerprint(bodies)

    def _state(self, task_id: int) -> TaskState:
        """The task's name state (from the scan, else read from CVAT)."""
        state = self._tasks.get(task_id)
        if state is None:
            task = self.api.get_task(task_id)
            parsed = parse_marker(str(task.get("name") or ""), self.key_prefix)
            if parsed is None:
                raise RemoteError(
                    "the task's name lost its bridge marker; cannot tell which item it holds",
                    where=f"task {task_id}",
                    hint="restore the [bridge:...] part of the task name, or delete the task",
                )
            state = self._tasks[task_id] = TaskState(task_id, *parsed)
        return state

    # -- items ------------------------------------------------------------------------

    def create_items(self, batch: list[ItemPush], losses: LossReport) -> list[RemoteRecord]:
        records: list[RemoteRecord] = []
        for push in batch:
            task_id = self._create_task(push, losses)
            if task_id is None:
                continue
            records.append(RemoteRecord("item", push.item_id, str(task_id)))
            if push.sets:
                records += self._write_sets(task_id, push.sets, losses)
        return records

    def _create_task(self, push: ItemPush, losses: LossReport) -> int | None:
        """The task holding `push.item`'s media (created, or the unfinished one reused)."""
        item = push.item
        url = task_media_url(item, self.options.get("media_base_url"), losses)
        if url is None:
            return None
        title = item.key.rsplit("/", 1)[-1] or item.key
        task_id = self._unfinished.pop(push.item_id, None)
        if task_id is None:
            state = TaskState(0, title, push.item_id)
            body: dict[str, Any] = {"name": self.task_name(state), "project_id": self.project_id}
            if item.subset:
                body["subset"] = item.subset
            if self.options.get("segment_size"):
                body["segment_size"] = integer_option(self.options, "segment_size", 0, minimum=1)
            task_id = int(self.api.create_task(body)["id"])
        rq_id = self.api.attach_data(task_id, data_request([(item, url)], self.options))
        self.api.wait_for_request(
            rq_id, poll_interval=number_option(self.options, "poll_interval", 2.0, minimum=0)
        )
        self._tasks[task_id] = TaskState(task_id, title, push.item_id)
        return task_id

    # -- sets -------------------------------------------------------------------------

    def create_sets(self, batch: list[SetPush], losses: LossReport) -> list[RemoteRecord]:
        return self._by_task(batch, losses)

    def update_sets(self, batch: list[SetPush], losses: LossReport) -> list[RemoteRecord]:
        return self._by_task(batch, losses)

    def _by_task(self, batch: list[SetPush], losses: LossReport) -> list[RemoteRecord]:
        groups: dict[int, list[SetPush]] = {}
        for push in batch:
            parent = push.parent or (push.remote_id or "").split(":", 1)[0]
            if not parent.isdigit():
                raise ValueError(f"set {push.set_id} has no CVAT task to go on")
            groups.setdefault(int(parent), []).append(push)
        records: list[RemoteRecord] = []
        for task_id, pushes in groups.items():
            records += self._write_sets(task_id, pushes, losses)
        return records

    def _write_sets(
        self, task_id: int, pushes: list[SetPush], losses: LossReport
    ) -> list[RemoteRecord]:
        """Write the task's set (the first key's) if among `pushes`; stamp the others."""
        state = self._state(task_id)
        keys_before = list(state.keys)
        records = []
        for push in pushes:
            key = self.remote_key("annotation_set", push.set_id)
            if not state.keys:
                state.keys.append(key)
            fingerprint, extra = None, {}
            if state.keys[0] == key:
                stored = self._write_set(task_id, push, losses)
                fingerprint = annotation_fingerprint(stored)
                extra = {"jobs": sorted(stored)}
            else:
                losses.record(
                    "cvat.extra_annotation_sets",
                    "CVAT holds one annotation per frame; other annotators' sets not pushed",
                    where=push.item.key,
                )
                if key not in state.keys:
                    state.keys.append(key)
            records.append(
                RemoteRecord(
                    "annotation_set",
                    push.set_id,
                    f"{task_id}:{key}",
                    str(task_id),
                    fingerprint,
                    extra=extra,
                )
            )
        if state.keys != keys_before:
            self._rename(state)
        return records

    def _write_set(
        self, task_id: int, push: SetPush, losses: LossReport
    ) -> dict[int, dict[str, Any]]:
        """Write the set into the task's jobs; what the server stored, per job."""
        aset = push.aset
        if push.as_prediction:
            aset = _scored(aset)
        item = push.item.model_copy(update={"annotation_sets": [aset]})
        flow = SyncTaskPush(self.api, self.target, task_id, losses, "replace", self.options)
        flow.auto = push.as_prediction
        flow.push([item], by_order=True)
        return flow.stored

    def _rename(self, state: TaskState) -> None:
        self.api.update_task(state.task_id, {"name": self.task_name(state)})

    # -- delete -----------------------------------------------------------------------

    def delete(self, records: list[RemoteRecord]) -> None:
        for record in records:
            if record.kind == "annotation_set":
                self._delete_set(record)
        for record in records:
            if record.kind == "item":
                self.api.delete_task(int(record.remote_id))
                self._tasks.pop(int(record.remote_id), None)

    def _delete_set(self, record: RemoteRecord) -> None:
        """Empty the task's jobs if the set was the one written (its other stamped sets go
        too: they were never written and will be planned again); else drop its key."""
        task_text, _, key = record.remote_id.partition(":")
        state = self._state(int(record.parent or task_text))
        if key not in state.keys:
            return
        if state.keys[0] == key:
            for job in self.api.list_jobs(state.task_id):
                if job.get("type", "annotation") == "annotation":
                    self.api.put_job_annotations(int(job["id"]), dict(EMPTY_BODY))
            state.keys = []
        else:
            state.keys.remove(key)
        self._rename(state)

    def close(self) -> None:
        self.api.close()


def _label_change(label: dict[str, Any], have: dict[str, Any] | None) -> dict[str, Any] | None:
    """The PatchedLabelRequest that gives the project `label`: the whole label when the
    project lacks it; for an existing label lacking some of its attributes, the label by id
    with its attributes (existing ones by id, so none is dropped whatever the server's
    merge rule) plus the missing ones; None when nothing is missing."""
    (wanted,) = label_requests([label])
    if have is None:
        return wanted
    known = {attribute.get("name") for attribute in have.get("attributes") or []}
    missing = [a for a in wanted.get("attributes") or [] if a["name"] not in known]
    if not missing:
        return None
    kept = [
        {**{k: v for k, v in a.items() if k in ATTRIBUTE_REQUEST_FIELDS}, "id": a["id"]}
        for a in have.get("attributes") or []
    ]
    return {"id": have["id"], "name": have["name"], "attributes": kept + missing}


def _scored(aset: AnnotationSet) -> AnnotationSet:
    """`aset` with each region and track lacking a score given the set's score."""
    if aset.score is None:
        return aset
    return aset.model_copy(
        update={
            "regions": [
                region
                if region.score is not None
                else region.model_copy(update={"score": aset.score})
                for region in aset.regions
            ],
        }
    )


def sync_target(url: str, options: dict[str, Any]) -> CvatSyncTarget:
    """The `register_sync_targets` factory for cvat:// and cvat+http:// URLs."""
    return CvatSyncTarget(url, options)
