"""The live CVAT connector: `cvat://HOST[:PORT]/tasks/ID` and `cvat://HOST/projects/ID`.

Pull (`read`) turns a task or a project into a `Dataset`: one `Item` per image of an image
task, one per video of a video task, and on each item one `AnnotationSet` per CVAT job that
covers it (the job's assignee is the annotator; its stage and state give the status, see
`job_status`). Push (`write`) creates a project or task with labels generated from the
ontology, attaches the media by URL, waits for CVAT to import it, then writes the
annotations job by job.

URLs use https unless the scheme is `cvat+http://`. The token comes from the environment
variable `CVAT_ACCESS_TOKEN` (a personal access token), the organization slug from
`CVAT_ORG`.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from bridge.errors import ConfigError, FormatError, RemoteError
from bridge.formats import Capabilities, Connector, Dataset
from bridge.losses import LossReport
from bridge.schema import AnnotationSet, Annotator, Item, Media, Project, SourceRef
from bridge_cvat import convert
from bridge_cvat.api import CvatApi
from bridge_cvat.rest import (
    BodyBuilder,
    FrameNumbering,
    JobFrames,
    RestLabels,
    malformed_answer,
    renumber,
    shape_from_rest,
    tag_from_rest,
    track_from_rest,
)

TOKEN_ENV = "CVAT_ACCESS_TOKEN"
ORG_ENV = "CVAT_ORG"
URL_RE = re.compile(
    r"^(?P<scheme>cvat(?:\+http)?)://(?P<host>[^/:?#]+)(?::(?P<port>\d+))?"
    r"/(?P<kind>tasks|projects)/(?P<id>\d+|new)/?$"
)
SERVER_FIELDS = ("project_id", "task_id", "parent_id", "has_parent")
"""Label fields that say where a label lives on the server, not what it is."""
ALL_REGIONS = ["bbox", "polygon", "polyline", "points", "skeleton", "ellipse", "mask", "cuboid", "tag"]  # fmt: skip


@dataclass(frozen=True)
class CvatTarget:
    """What a cvat:// URL names: the server's base URL and a task or project (id None for
    `/tasks/new` or `/projects/new`)."""

    base_url: str
    kind: str
    id: int | None


def parse_url(url: str) -> CvatTarget:
    """`cvat://host[:port]/tasks/42` -> CvatTarget("https://host[:port]", "tasks", 42)."""
    match = URL_RE.match(url)
    if match is None:
        raise ConfigError(
            f"not a CVAT URL: {url!r}",
            hint="use cvat://HOST[:PORT]/tasks/ID or cvat://HOST/projects/ID "
            "(/tasks/new or /projects/new to push into new ones; cvat+http:// for plain http)",
        )
    http = "http" if match["scheme"] == "cvat+http" else "https"
    port = f":{match['port']}" if match["port"] else ""
    target_id = None if match["id"] == "new" else int(match["id"])
    return CvatTarget(f"{http}://{match['host']}{port}", match["kind"], target_id)


# ------------------------------------------------------------------ job -> status


def job_status(stage: str | None, state: str | None) -> str | None:
    """A CVAT job's stage and state as a unified annotation status.

    | stage        | state                 | status    |
    |--------------|-----------------------|-----------|
    | any          | rejected              | rejected  |
    | annotation   | new, in progress      | draft     |
    | annotation   | completed             | submitted |
    | validation   | new, in progress, completed | in_review |
    | acceptance   | completed             | accepted  |
    | acceptance   | new, in progress      | in_review |
    """
    if state == "rejected":
        return "rejected"
    if stage == "annotation":
        return "submitted" if state == "completed" else "draft"
    if stage == "validation":
        return "in_review"
    if stage == "acceptance":
        return "accepted" if state == "completed" else "in_review"
    return None


def job_annotator(job: dict[str, Any]) -> Annotator | None:
    assignee = job.get("assignee")
    if not isinstance(assignee, dict):
        return None
    full_name = " ".join(p for p in (assignee.get("first_name"), assignee.get("last_name")) if p)
    return Annotator(
        id=str(assignee["id"]) if assignee.get("id") is not None else None,
        name=assignee.get("username") or full_name or None,
    )


def job_annotation_set(job: dict[str, Any], source: SourceRef) -> AnnotationSet:
    """An empty annotation set standing for `job`'s work on one item."""
    ground_truth = job.get("type") == "ground_truth"
    extra = {f"cvat_{key}": job[key] for key in ("stage", "state", "type") if job.get(key)}
    return AnnotationSet(
        id=f"job-{job['id']}",
        kind="gold" if ground_truth else "human",
        ground_truth=ground_truth,
        annotator=job_annotator(job),
        status=job_status(job.get("stage"), job.get("state")),
        created_at=job.get("created_date"),
        updated_at=job.get("updated_date"),
        source=source,
        extra=extra,
    )


# ------------------------------------------------------------------ the connector


class CvatConnector(Connector):
    """A CVAT server, opened from `cvat://HOST[:PORT]/tasks/ID` or `/projects/ID`."""

    name = "cvat"
    description = "CVAT server (REST API): pull tasks and projects, push new ones"
    capabilities = Capabilities(
        media=["image", "video"], regions=ALL_REGIONS, tracks=True, live=True
    )

    def __init__(self, target: CvatTarget, api: CvatApi):
        self.target = target
        self.api = api

    @classmethod
    def from_url(cls, url: str, **options: Any) -> CvatConnector:
        target = parse_url(url)
        token = options.get("token") or os.environ.get(TOKEN_ENV)
        if isinstance(token, str):
            token = SecretStr(token)
        api = CvatApi(
            target.base_url,
            token=token,
            organization=options.get("organization") or os.environ.get(ORG_ENV) or None,
            retry=options.get("retry"),
            transport=options.get("transport"),
            sleep=options.get("sleep") or time.sleep,
        )
        return cls(target, api)

    def close(self) -> None:
        self.api.close()

    def list_projects(self) -> list[dict[str, Any]]:
        return list(self.api.list_projects())

    # -- push -----------------------------------------------------------------------

    def write(self, dataset: Dataset, losses: LossReport, **options: Any) -> dict[str, Any]:
        """Push `dataset`: into the task the URL names (its jobs' annotations are replaced,
        or patched with `mode=create|update|delete`), or into new tasks (`/tasks/new`,
        `/projects/ID`, `/projects/new`) created with the items' media URLs."""
        mode = options.get("mode", "replace")
        if mode not in PUSH_MODES:
            raise ConfigError(
                f"unknown push mode {mode!r}", hint=f"use one of {', '.join(PUSH_MODES)}"
            )
        items = list(dataset.items)  # the project is complete once the items are read
        if self.target.kind == "tasks" and self.target.id is not None:
            push = TaskPush(self, self.target.id, losses, mode, options)
            return {"tasks": [push.push(items)]}
        if mode != "replace":
            raise ConfigError(
                f"mode {mode!r} needs an existing task", hint="give cvat://HOST/tasks/ID"
            )
        return NewTasksPush(self, dataset.project, losses, options).push(items)

    # -- pull -----------------------------------------------------------------------

    def read(self, losses: LossReport, **options: Any) -> Dataset:
        if self.target.id is None:
            raise ConfigError("a new task or project has nothing to pull", hint="give its id")
        target_id = self.target.id
        if self.target.kind == "tasks":
            task = self.api.get_task(target_id)
            raw_labels = list(self.api.list_labels(task_id=target_id))
            name, tasks = task.get("name") or f"task {target_id}", iter([task])
        else:
            project = self.api.get_project(target_id)
            raw_labels = list(self.api.list_labels(project_id=target_id))
            name = project.get("name") or f"project {target_id}"
            tasks = self.api.list_tasks(project_id=target_id)
        where = f"{self.target.kind[:-1]} {target_id} labels"
        labels = RestLabels(raw_labels, where=where)
        with malformed_answer(where):
            ontology = convert.labels_to_ontology(server_free(raw_labels))
            index = convert.LabelIndex.from_labels(server_free(raw_labels))
        source = SourceRef(tool="cvat", instance=self.target.base_url, project=str(self.target.id))
        project_model = Project(name=name, ontology=ontology, source=source)
        items = self._items(tasks, labels, index, losses)
        return Dataset(project=project_model, items=items, origin=self.target.base_url)

    def _items(self, tasks, labels: RestLabels, index, losses) -> Iterator[Item]:
        for task in tasks:
            with malformed_answer(f"{self.target.kind[:-1]} {self.target.id}"):
                pull = TaskPull(self, task, labels, index, losses)
            yield from pull.items()


def server_free(labels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """REST labels without the fields that place them on one server (project_id, ...),
    and skeleton layouts naming their points (`data-label-name`) instead of the server's
    sublabel ids (`data-label-id`), as CVAT's XML export and label editor do."""
    clean = []
    for label in labels:
        if label.get("parent_id") is not None:
            continue
        out = {k: v for k, v in label.items() if k not in SERVER_FIELDS}
        subs = label.get("sublabels") or []
        out["sublabels"] = [
            {k: v for k, v in sub.items() if k not in SERVER_FIELDS} for sub in subs
        ]
        if out.get("svg"):
            out["svg"] = svg_with_names(
                out["svg"], {sub.get("id"): sub.get("name") for sub in subs}
            )
        clean.append(out)
    return clean


SVG_LABEL_ID = re.compile(r'data-label-id="(\d+)"')


def svg_with_names(svg: str, names: dict[Any, Any]) -> str:
    """`svg` with each `data-label-id="13"` replaced by `data-label-name="head"`."""

    def name_for(match: re.Match) -> str:
        name = names.get(int(match.group(1)))
        return f'data-label-name="{name}"' if name else match.group(0)

    return SVG_LABEL_ID.sub(name_for, svg)


def _id_text(value: Any) -> str | None:
    return str(value) if value is not None else None


class TaskPull:
    """Reads one task: its frames, its jobs and each job's annotations, as items."""

    def __init__(self, connector: CvatConnector, task, labels, index, losses: LossReport):
        self.api = connector.api
        self.base_url = connector.target.base_url
        self.task = task
        self.labels = labels
        self.index = index
        self.losses = losses
        self.where = f"task {task['id']}"

    @property
    def is_video(self) -> bool:
        return self.task.get("data_original_chunk_type") == "video"

    def items(self) -> Iterator[Item]:
        """The task's items; an image task's are yielded job by job, as soon as no later
        job can cover them, so a large task is not held in memory."""
        with malformed_answer(self.where):
            meta = self.api.get_task_meta(self.task["id"])
            frames = meta.get("frames")
            if not isinstance(frames, list) or not frames:
                raise FormatError("task has no frames in its data meta", where=self.where)
            jobs = list(self.api.list_jobs(self.task["id"]))
            if self.is_video:
                numbering = FrameNumbering.from_meta(meta, self.where)
                yield self._video_item(meta, frames[0], numbering, jobs)
            else:
                yield from self._image_items(meta, frames, jobs)

    def _source(self, item: str, annotation: str | None = None) -> SourceRef:
        project = self.task.get("project_id")
        return SourceRef(
            tool="cvat",
            instance=self.base_url,
            project=str(project) if project is not None else None,
            item=item,
            annotation=annotation,
        )

    def _task_extra(self, meta) -> dict[str, Any]:
        keys = ("start_frame", "stop_frame", "frame_filter")
        return {"task_id": self.task["id"], **{k: meta.get(k) for k in keys}}

    def _job_annotations(self, job) -> dict[str, list[dict[str, Any]]]:
        """A job's shapes, tags and tracks as named CVAT dicts (REST frame numbers)."""
        raw = self.api.get_job_annotations(job["id"])
        where = f"job {job['id']}"
        if raw.get("intervals"):
            self.losses.record(
                "cvat.interval", "audio intervals are not read yet; dropped", where=where,
                count=len(raw["intervals"]),
            )  # fmt: skip
        return {
            "shapes": [shape_from_rest(s, self.labels, where=where) for s in raw.get("shapes") or []],
            "tags": [tag_from_rest(t, self.labels, where=where) for t in raw.get("tags") or []],
            "tracks": [track_from_rest(t, self.labels, where=where) for t in raw.get("tracks") or []],
        }  # fmt: skip

    # -- images -----------------------------------------------------------------

    def _image_items(self, meta, frames, jobs) -> Iterator[Item]:
        deleted = set(meta.get("deleted_frames") or [])
        jobs = sorted(jobs, key=lambda job: int(job["start_frame"]))
        pending: dict[int, Item] = {}
        done = 0  # frames below this were yielded
        for position, job in enumerate(jobs):
            with malformed_answer(f"job {job.get('id')}"):
                for number in range(int(job["start_frame"]), int(job["stop_frame"]) + 1):
                    if number < len(frames) and number not in deleted and number >= done:
                        pending.setdefault(number, self._image_item(number, frames[number], meta))
                self._add_image_job(job, pending)
            later = jobs[position + 1 :]
            limit = int(later[0]["start_frame"]) if later else len(frames)
            yield from self._flush(frames, meta, pending, deleted, range(done, max(limit, done)))
            done = max(limit, done)
        yield from self._flush(frames, meta, pending, deleted, range(done, len(frames)))

    def _flush(self, frames, meta, pending, deleted, numbers: range) -> Iterator[Item]:
        """The items of frames `numbers`, in order; frames no job covers come out bare."""
        for number in numbers:
            if number in deleted:
                self.losses.record(
                    "cvat.deleted_frame", "frame deleted in CVAT; not pulled", where=self.where
                )
                continue
            yield pending.pop(number, None) or self._image_item(number, frames[number], meta)

    def _image_item(self, number: int, frame: dict[str, Any], meta) -> Item:
        name = str(frame.get("name") or f"frame_{number:06d}")
        return Item(
            key=name,
            media=Media(kind="image", width=frame.get("width"), height=frame.get("height")),
            subset=self.task.get("subset") or None,
            source=self._source(f"{self.task['id']}/{number}"),
            extra={"cvat": {**self._task_extra(meta), "frame": number}},
        )

    def _add_image_job(self, job, items: dict[int, Item]) -> None:
        annotations = self._job_annotations(job)
        sets = {}
        for number in range(int(job["start_frame"]), int(job["stop_frame"]) + 1):
            if number in items:
                source = self._source(f"{self.task['id']}/{number}", str(job["id"]))
                sets[number] = job_annotation_set(job, source)
                items[number].annotation_sets.append(sets[number])
        where = f"job {job['id']}"
        for shape in annotations["shapes"]:
            target = sets.get(shape.get("frame"))
            if target is None:
                self.losses.record(
                    "cvat.shape_outside_job",
                    "shape on a frame outside its job; skipped",
                    where=where,
                )
                continue
            item = items[shape["frame"]]
            size = (item.media.width, item.media.height) if item.media.width else None
            target.regions.append(self._region(shape, where, size, keep_frame=False))
        for tag in annotations["tags"]:
            if tag.get("frame") in sets:
                sets[tag["frame"]].regions.append(self._tag(tag, where, keep_frame=False))
        if annotations["tracks"]:
            self.losses.record(
                "cvat.track_in_image_task",
                "tracks in an image task have no per-image form; dropped",
                where=where,
                count=len(annotations["tracks"]),
            )

    # -- shared -----------------------------------------------------------------

    def _region(self, shape, where, size, *, keep_frame: bool):
        region = convert.shape_to_region(
            shape, self.index, self.losses, where=where, image_size=size, keep_frame=keep_frame
        )
        region.source = SourceRef(
            tool="cvat", instance=self.base_url, annotation=where.split()[-1],
            region=_id_text(shape.get("id")),
        )  # fmt: skip
        return region

    def _tag(self, tag, where, *, keep_frame: bool):
        region = convert.tag_to_region(
            tag, self.index, self.losses, where=where, keep_frame=keep_frame
        )
        region.id = f"tag-{tag.get('id')}"
        region.source = SourceRef(
            tool="cvat", instance=self.base_url, annotation=where.split()[-1],
            region=_id_text(tag.get("id")),
        )  # fmt: skip
        return region

    # -- video ------------------------------------------------------------------

    def _video_item(self, meta, frame, numbering: FrameNumbering, jobs) -> Item:
        size = (frame.get("width"), frame.get("height"))
        item = Item(
            key=str(frame.get("name") or f"task_{self.task['id']}"),
            media=Media(kind="video", width=size[0], height=size[1], frame_count=meta.get("size")),
            subset=self.task.get("subset") or None,
            source=self._source(str(self.task["id"])),
            extra={"cvat": self._task_extra(meta)},
        )
        for job in jobs:
            source = self._source(str(self.task["id"]), str(job["id"]))
            with malformed_answer(f"job {job.get('id')}"):
                aset = job_annotation_set(job, source)
                self._fill_video_set(aset, job, numbering, size if size[0] else None)
            item.annotation_sets.append(aset)
        return item

    def _fill_video_set(self, aset: AnnotationSet, job, numbering, size) -> None:
        annotations = self._job_annotations(job)
        where = f"job {job['id']}"
        for shape in annotations["shapes"]:
            shape = renumber(shape, numbering.to_unified)
            aset.regions.append(self._region(shape, where, size, keep_frame=True))
        for tag in annotations["tags"]:
            aset.regions.append(
                self._tag(renumber(tag, numbering.to_unified), where, keep_frame=True)
            )
        for track in annotations["tracks"]:
            unified = convert.track_to_unified(
                renumber(track, numbering.to_unified), self.index, self.losses,
                where=where, image_size=size,
            )  # fmt: skip
            unified.source = SourceRef(
                tool="cvat", instance=self.base_url, annotation=str(job["id"]),
                region=_id_text(track.get("id")),
            )  # fmt: skip
            aset.tracks.append(unified)


class CvatHttpConnector(CvatConnector):
    """The same connector for `cvat+http://` URLs (a server without TLS)."""

    name = "cvat+http"
    description = "CVAT server over plain http (cvat+http://HOST:PORT/tasks/ID)"


# ------------------------------------------------------------------------ push

PUSH_MODES = ("replace", "create", "update", "delete")
"""replace: PUT each job's annotations (everything else in the job is removed);
create / update / delete: PATCH ?action=... (update and delete need the CVAT ids the
shapes were pulled with)."""
LABEL_REQUEST_FIELDS = frozenset({"name", "color", "attributes", "type", "svg", "sublabels"})
SUBLABEL_REQUEST_FIELDS = frozenset({"name", "color", "attributes", "type"})
ATTRIBUTE_REQUEST_FIELDS = frozenset({"name", "mutable", "input_type", "values", "default_value"})


def label_requests(labels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """CVAT label dicts as PatchedLabelRequests for a *new* task or project: no ids (the
    server assigns them), only fields the request model has."""

    def attributes(label):
        return [
            {k: v for k, v in a.items() if k in ATTRIBUTE_REQUEST_FIELDS}
            for a in label.get("attributes") or []
        ]

    requests = []
    for label in labels:
        out = {k: v for k, v in label.items() if k in LABEL_REQUEST_FIELDS}
        out["attributes"] = attributes(label)
        if label.get("sublabels"):
            out["sublabels"] = [
                {**{k: v for k, v in sub.items() if k in SUBLABEL_REQUEST_FIELDS},
                 "attributes": attributes(sub)}
                for sub in label["sublabels"]
            ]  # fmt: skip
        else:
            out.pop("sublabels", None)
        requests.append(out)
    return requests


def pick_annotation_set(item: Item, losses: LossReport) -> AnnotationSet | None:
    """The annotation set to write for `item`: CVAT keeps one per frame. The first human
    (or gold) set wins, else the first prediction; the others are reported."""
    if not item.annotation_sets:
        return None
    ordered = sorted(item.annotation_sets, key=lambda s: s.kind == "prediction")
    if len(ordered) > 1:
        losses.record(
            "cvat.extra_annotation_sets",
            "CVAT holds one annotation per frame; other annotators' sets not pushed",
            where=item.key,
            count=len(ordered) - 1,
        )
    return ordered[0]


def media_url(item: Item, media_base_url: str | None) -> str | None:
    """The http(s) URL CVAT downloads `item`'s media from: its `media.uri`, or
    `media_base_url` + its key when the uri is not a URL (items pulled from a tool)."""
    uri = item.media.uri or ""
    if uri.startswith(("http://", "https://")):
        return uri
    if media_base_url:
        return f"{media_base_url.rstrip('/')}/{item.key.lstrip('/')}"
    return None


def _new_task_groups(items: list[Item], losses: LossReport,
                     media_base_url: str | None) -> list[tuple[str, list[tuple[Item, str]]]]:  # fmt: skip
    """(item, URL) pairs grouped into the tasks to create: one task per image subset, one
    per video."""
    groups: dict[str, list[tuple[Item, str]]] = {}
    for item in items:
        url = media_url(item, media_base_url)
        if url is None:
            losses.record(
                "cvat.no_remote_url",
                "item has no http(s) media URL to attach to a CVAT task (set media_base_url); "
                "not pushed",
                where=item.key,
            )
            continue
        if item.media.kind == "video":
            groups[f"video:{item.key}"] = [(item, url)]
        elif item.media.kind == "image":
            groups.setdefault(f"images:{item.subset or ''}", []).append((item, url))
        else:
            losses.record("cvat.media_kind", f"CVAT cannot label {item.media.kind}", where=item.key)
    return list(groups.items())


def missing_labels(items: list[Item], labels: list[dict[str, Any]], losses) -> list[dict]:
    """Labels (and attributes) the items use but the ontology lacks, as CVAT label dicts:
    type "any", attributes as free text."""
    known = {label["name"]: label for label in labels}
    added: dict[str, dict[str, Any]] = {}
    for item in items:
        for aset in item.annotation_sets:
            for thing in [*aset.regions, *aset.tracks]:
                if thing.label is None:
                    continue
                label = known.get(thing.label) or added.setdefault(
                    thing.label, {"name": thing.label, "type": "any", "attributes": []}
                )
                have = {a["name"] for a in label.get("attributes") or []}
                for name in {c.name for c in thing.classifications} - have:
                    label.setdefault("attributes", []).append(
                        {"name": name, "mutable": False, "input_type": "text", "values": [""],
                         "default_value": ""}
                    )  # fmt: skip
                    losses.record(
                        "cvat.attribute_added_as_text",
                        "attribute not in the ontology; created as a CVAT text attribute",
                        where=f"{thing.label}.{name}", severity="approximated",
                    )  # fmt: skip
    return list(added.values())


class NewTasksPush:
    """Creates a project (for /projects/new) and tasks with the items' media, then writes
    their annotations."""

    def __init__(self, connector: CvatConnector, project: Project, losses, options):
        self.connector = connector
        self.api = connector.api
        self.project = project
        self.losses = losses
        self.options = options

    def push(self, items: list[Item]) -> dict[str, Any]:
        labels = convert.ontology_to_labels(self.project.ontology)
        labels = label_requests(labels + missing_labels(items, labels, self.losses))
        result: dict[str, Any] = {}
        project_id = self.connector.target.id
        if self.connector.target.kind == "projects" and project_id is None:
            body = {"name": self.options.get("name") or self.project.name, "labels": labels}
            project_id = self.api.create_project(body)["id"]
            result["project"] = project_id
        groups = _new_task_groups(items, self.losses, self.options.get("media_base_url"))
        result["tasks"] = []
        for group, pairs in groups:
            task_id = self._create_task(group, pairs, labels, project_id)
            push = TaskPush(self.connector, task_id, self.losses, "replace", self.options)
            result["tasks"].append(push.push([item for item, _ in pairs], by_order=True))
        return result

    def _create_task(self, group: str, pairs, labels, project_id: int | None) -> int:
        first = pairs[0][0]
        base = self.options.get("name") or self.project.name
        body: dict[str, Any] = {
            "name": f"{base} {first.key}" if group.startswith("video:") else base
        }
        if project_id is not None:
            body["project_id"] = project_id
        else:
            body["labels"] = labels
        if first.subset and first.media.kind == "image":
            body["subset"] = first.subset
        if self.options.get("segment_size"):
            body["segment_size"] = int(self.options["segment_size"])
        task_id = self.api.create_task(body)["id"]
        rq_id = self.api.attach_data(task_id, self._data_request(pairs))
        self.api.wait_for_request(
            rq_id, poll_interval=float(self.options.get("poll_interval", 2.0))
        )
        return task_id

    def _data_request(self, pairs) -> dict[str, Any]:
        data: dict[str, Any] = {
            "image_quality": int(self.options.get("image_quality", 70)),
            "remote_files": [url for _, url in pairs],
            "sorting_method": "predefined",
        }
        first = pairs[0][0]
        cvat = first.extra.get("cvat") or {}
        if first.media.kind == "video":
            for key in ("start_frame", "stop_frame", "frame_filter"):
                if cvat.get(key) not in (None, ""):
                    data[key] = cvat[key]
        return data


class TaskPush:
    """Writes items' annotations into an existing task, job by job."""

    def __init__(self, connector: CvatConnector, task_id: int, losses: LossReport, mode: str,
                 options: dict[str, Any] | None = None):  # fmt: skip
        self.api = connector.api
        self.task_id = task_id
        self.losses = losses
        self.mode = mode
        self.where = f"task {task_id}"
        self.workflow = JobWorkflow(
            connector, losses, enabled=_flag((options or {}).get("job_workflow"))
        )

    def push(self, items: list[Item], *, by_order: bool = False) -> dict[str, Any]:
        with malformed_answer(self.where):
            return self._push(items, by_order)

    def _push(self, items: list[Item], by_order: bool) -> dict[str, Any]:
        task = self.api.get_task(self.task_id)
        raw = list(self.api.list_labels(task_id=self.task_id))
        labels = RestLabels(raw, where=f"{self.where} labels")  # checks the label answer
        index = convert.LabelIndex.from_labels(server_free(raw))
        meta = self.api.get_task_meta(self.task_id)
        video = task.get("data_original_chunk_type") == "video"
        numbering = FrameNumbering.from_meta(meta, self.where) if video else FrameNumbering()
        placed = self._place(items, meta, video, by_order)
        builder = BodyBuilder(
            labels, index, self.losses, keep_ids=self.mode in ("update", "delete")
        )
        written = []
        for job in self.api.list_jobs(self.task_id):
            if job.get("type", "annotation") != "annotation":
                continue  # ground truth and consensus replicas are not overwritten
            frames = JobFrames(job["id"], int(job["start_frame"]), int(job["stop_frame"]),
                               numbering=numbering)  # fmt: skip
            if video:
                frames.video_set = placed.get(0)
            else:
                frames.per_frame = {f: s for f, s in placed.items() if frames.holds(f)}
            if frames.video_set is None and not frames.per_frame:
                continue  # none of the job's frames was pushed: leave the job alone
            body = builder.body(frames)
            if self.mode != "replace" and not any(body[k] for k in ("shapes", "tags", "tracks")):
                continue
            written.append(self._write_job(job["id"], body))
            sets = [frames.video_set] if video else list(frames.per_frame.values())
            self.workflow.apply(job, sets)
        return {"id": self.task_id, "jobs": written}

    def _write_job(self, job_id: int, body: dict[str, Any]) -> dict[str, Any]:
        if self.mode == "replace":
            self.api.put_job_annotations(job_id, body)
        else:
            self.api.patch_job_annotations(job_id, self.mode, body)
        counts = {key: len(body[key]) for key in ("shapes", "tags", "tracks")}
        return {"id": job_id, **counts}

    def _place(self, items, meta, video: bool, by_order: bool) -> dict[int, AnnotationSet]:
        """REST frame -> the annotation set to write there (video: frame 0 -> the set)."""
        frames = meta.get("frames") or []
        names = [str(frame.get("name")) for frame in frames]
        if video:
            candidates = [i for i in items if i.media.kind == "video"]
            chosen = next((i for i in candidates if i.key in names), None)
            chosen = chosen or (candidates[0] if len(candidates) == 1 else None)
            if chosen is None:
                raise ConfigError(f"no video item to write into {self.where}", where=self.where)
            aset = pick_annotation_set(chosen, self.losses)
            return {0: aset} if aset is not None else {}
        if by_order:
            if len(items) != int(meta.get("size") or len(names)):
                raise RemoteError(
                    f"CVAT made {meta.get('size')} frames from {len(items)} files",
                    where=self.where, hint="check that every media URL is an image CVAT can read",
                )  # fmt: skip
            return self._sets(enumerate(items))
        return self._sets(self._match_by_name(items, names))

    def _match_by_name(self, items, names) -> Iterator[tuple[int, Item]]:
        position = {name: number for number, name in enumerate(names)}
        basename = {name.rsplit("/", 1)[-1]: number for number, name in enumerate(names)}
        for item in items:
            number = position.get(item.key, basename.get(item.key.rsplit("/", 1)[-1]))
            if number is None:
                self.losses.record(
                    "cvat.item_not_in_task", "no frame of the task has this file name; not pushed",
                    where=item.key,
                )  # fmt: skip
                continue
            yield number, item

    def _sets(self, numbered) -> dict[int, AnnotationSet]:
        placed = {}
        for number, item in numbered:
            aset = pick_annotation_set(item, self.losses)
            if aset is not None:
                placed[number] = aset
        return placed


def _flag(value: Any) -> bool:
    """An option given as a bool or as text from the command line ("true", "1", "yes")."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


STATUS_TO_JOB = {
    "draft": ("annotation", "in progress"),
    "submitted": ("annotation", "completed"),
    "in_review": ("validation", "new"),
    "accepted": ("acceptance", "completed"),
    "rejected": ("validation", "rejected"),
}
"""Unified status -> CVAT job (stage, state), the inverse of `job_status` (a set pulled
from CVAT goes back with the exact stage and state it had)."""


def job_stage_state(aset: AnnotationSet) -> tuple[str, str] | None:
    stage, state = aset.extra.get("cvat_stage"), aset.extra.get("cvat_state")
    if stage and state and job_status(stage, state) == aset.status:
        return stage, state
    return STATUS_TO_JOB.get(aset.status or "")


class JobWorkflow:
    """Carries annotators and statuses to the jobs written (`job_workflow=true`): the
    job's assignee and its stage/state, when every set written into the job agrees.
    Without the option, what is not carried is reported."""

    def __init__(self, connector: CvatConnector, losses: LossReport, enabled: bool):
        self.api = connector.api
        self.base_url = connector.target.base_url
        self.losses = losses
        self.enabled = enabled
        self._users: dict[str, int | None] = {}

    def apply(self, job: dict[str, Any], sets: list[AnnotationSet]) -> None:
        where = f"job {job['id']}"
        statuses = {job_stage_state(s) for s in sets if s.status is not None}
        annotators = {self._annotator_key(s.annotator) for s in sets if s.annotator is not None}
        if not self.enabled:
            if statuses or annotators:
                self.losses.record(
                    "cvat.job_workflow_not_pushed",
                    "annotator and status not written to the job (use job_workflow=true)",
                    where=where,
                )
            return
        body: dict[str, Any] = {}
        self._merge_status(body, statuses, where)
        self._merge_assignee(body, sets, annotators, where)
        if body:
            self.api.update_job(job["id"], body)

    def _merge_status(self, body, statuses, where) -> None:
        if len(statuses) == 1 and None not in statuses:
            body["stage"], body["state"] = next(iter(statuses))
        elif statuses:
            self.losses.record(
                "cvat.job_status_mixed",
                "the sets written into one job disagree on status (or it has no CVAT form); "
                "job status left as is",
                where=where,
            )

    def _merge_assignee(self, body, sets, annotators, where) -> None:
        if len(annotators) > 1:
            self.losses.record(
                "cvat.job_annotators_mixed",
                "several annotators in one job; CVAT has one assignee; left as is",
                where=where,
            )
            return
        annotator = next((s.annotator for s in sets if s.annotator is not None), None)
        if annotator is None:
            return
        user_id = self._user_id(annotator, sets)
        if user_id is None:
            self.losses.record(
                "cvat.annotator_unknown", "no CVAT user matches the annotator", where=where
            )
            return
        body["assignee"] = user_id

    @staticmethod
    def _annotator_key(annotator: Annotator) -> str:
        return annotator.email or annotator.name or annotator.id or ""

    def _user_id(self, annotator: Annotator, sets: list[AnnotationSet]) -> int | None:
        """The CVAT user id: the pulled id when the set came from this server, else the
        user whose username or email equals the annotator's name or email."""
        same_server = all(s.source and s.source.instance == self.base_url for s in sets)
        if same_server and annotator.id and annotator.id.isdigit():
            return int(annotator.id)
        for wanted in (annotator.name, annotator.email):
            if not wanted:
                continue
            if wanted not in self._users:
                self._users[wanted] = next(
                    (int(u["id"]) for u in self.api.find_users(wanted)
                     if wanted in (u.get("username"), u.get("email"))),
                    None,
                )  # fmt: skip
            if self._users[wanted] is not None:
                return self._users[wanted]
        return None
