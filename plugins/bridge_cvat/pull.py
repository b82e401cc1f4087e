"""Pull: a CVAT task or project as a `Dataset`.

One `Item` per image of an image task, one per video of a video task, and on each item one
`AnnotationSet` per CVAT job that covers it (the job's assignee is the annotator; its stage
and state give the status, see `job_status`). Each job's issues become reviews of its sets
(`issues.py`): one listing of the job's issues and, when it has any, one of their comments;
`-O issues=false` skips both.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from bridge.errors import ConfigError, FormatError
from bridge.formats import Dataset
from bridge.limits import DEFAULT_MAX_PIXELS, check_pixels
from bridge.losses import LossReport
from bridge.schema import AnnotationSet, Annotator, Item, Media, Project, Review, SourceRef
from bridge_cvat import convert
from bridge_cvat.api import CvatApi
from bridge_cvat.issues import (
    checked_comment,
    checked_issue,
    checked_user,
    fields,
    first_messages,
    is_int,
    issue_review,
    malformed,
    user_annotator,
)
from bridge_cvat.job_states import job_status
from bridge_cvat.ontology import LabelIndex, check_rest_labels, labels_to_ontology, server_free
from bridge_cvat.rest import (
    FrameNumbering,
    RestLabels,
    malformed_answer,
    renumber,
    shape_from_rest,
    tag_from_rest,
    track_from_rest,
)
from bridge_cvat.target import CvatTarget


def pull_dataset(
    api: CvatApi,
    target: CvatTarget,
    losses: LossReport,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    issues: bool = True,
) -> Dataset:
    """The task or project `target` names, as a `Dataset` whose items are read lazily,
    task by task; frame sizes above `max_pixels` are refused; `issues` reads each job's
    issues as reviews."""
    if target.id is None:
        raise ConfigError("a new task or project has nothing to pull", hint="give its id")
    name, raw_labels, tasks = _task_or_project(api, target)
    where = f"{target.kind[:-1]} {target.id} labels"
    raw_labels = check_rest_labels(raw_labels, where)
    labels = RestLabels(raw_labels, where=where)
    with malformed_answer(where):
        ontology = labels_to_ontology(server_free(raw_labels))
        index = LabelIndex.from_labels(server_free(raw_labels))
    source = SourceRef(tool="cvat", instance=target.base_url, project=str(target.id))
    project = Project(name=name, ontology=ontology, source=source)
    items = _task_items(api, target, tasks, labels, index, losses, max_pixels, issues)
    return Dataset(project=project, items=items, origin=target.base_url)


def _task_or_project(api: CvatApi, target: CvatTarget):
    """The name, the REST labels and the tasks (an iterator) of the task or project."""
    target_id = target.id
    if target.kind == "tasks":
        task = api.get_task(target_id)
        raw_labels = list(api.list_labels(task_id=target_id))
        return task.get("name") or f"task {target_id}", raw_labels, iter([task])
    project = api.get_project(target_id)
    raw_labels = list(api.list_labels(project_id=target_id))
    name = project.get("name") or f"project {target_id}"
    return name, raw_labels, api.list_tasks(project_id=target_id)


def _task_items(
    api: CvatApi,
    target: CvatTarget,
    tasks,
    labels: RestLabels,
    index,
    losses,
    max_pixels: int,
    issues: bool = True,
) -> Iterator[Item]:
    where = f"{target.kind[:-1]} {target.id}"
    for task in tasks:
        with malformed_answer(where):
            pull = TaskPull(
                api, target.base_url, task, labels, index, losses, max_pixels, issues=issues
            )
        yield from pull.items()


# ------------------------------------------------------------------ answer checks
# Each server answer is checked where it is read: a value of the wrong type is a
# FormatError naming the field (`malformed_answer` stays a last line of defence only).


def checked_meta(meta: Any, where: str, max_pixels: int = DEFAULT_MAX_PIXELS) -> dict[str, Any]:
    """A task's data meta: its frames (objects with a name and a size, within the pixel
    budget) and deleted frames."""
    meta = fields(
        meta, "data meta", where, optional_ints=("size",), lists=("frames", "deleted_frames")
    )
    frames = meta.get("frames")
    if not frames:
        raise FormatError("task has no frames in its data meta", where=where)
    for frame in frames:
        fields(frame, "frame", where, optional_ints=("width", "height"))
        if frame.get("width") is not None and frame.get("height") is not None:
            check_pixels(frame["width"], frame["height"], where=where, max_pixels=max_pixels)
        if frame.get("name") is not None and not isinstance(frame["name"], str | int):
            raise malformed(f"frame name {frame['name']!r} is not text", where)
    if not all(map(is_int, meta.get("deleted_frames") or [])):
        raise malformed("'deleted_frames' holds something that is not a frame number", where)
    return meta


def checked_job(job: Any, where: str) -> dict[str, Any]:
    """A job from the job list: integer id and frame range; texts and assignee typed."""
    job = fields(
        job,
        "job",
        where,
        ints=("id", "start_frame", "stop_frame"),
        optional_ints=("frame_count",),
        texts=("type", "stage", "state", "created_date", "updated_date"),
        objects=("assignee",),
    )
    if job["stop_frame"] < job["start_frame"]:
        raise malformed(f"job {job['id']} stops ({job['stop_frame']}) before it starts", where)
    checked_user(job.get("assignee"), "assignee", where)
    return job


def _checked_object(thing: Any, what: str, where: str) -> None:
    """One shape, tag, track, tracked shape or skeleton element of a job's annotations:
    an integer frame, lists where lists belong, attribute values naming an integer spec."""
    fields(
        thing,
        what,
        where,
        ints=("frame",),
        optional_ints=("id", "label_id", "group", "z_order"),
        lists=("attributes", "points", "shapes", "elements"),
    )
    for value in thing.get("attributes") or []:
        fields(value, f"{what} attribute", where, ints=("spec_id",))
    for shape in thing.get("shapes") or []:
        _checked_object(shape, "tracked shape", where)
    for element in thing.get("elements") or []:
        _checked_object(element, f"{what} element", where)


def checked_annotations(raw: Any, where: str) -> dict[str, Any]:
    """A job's annotations: lists of shapes, tags and tracks, each with an integer frame."""
    raw = fields(raw, "annotations", where, lists=("shapes", "tags", "tracks", "intervals"))
    for key, what in (("shapes", "shape"), ("tags", "tag"), ("tracks", "track")):
        for thing in raw.get(key) or []:
            _checked_object(thing, what, where)
    return raw


def job_annotator(job: dict[str, Any]) -> Annotator | None:
    """The job's assignee (id, and username or full name) as an Annotator; None if unassigned."""
    return user_annotator(job.get("assignee"))


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


def _id_text(value: Any) -> str | None:
    return str(value) if value is not None else None


class TaskPull:
    """Reads one task: its frames, its jobs and each job's annotations, as items."""

    def __init__(
        self,
        api: CvatApi,
        base_url: str,
        task,
        labels,
        index,
        losses: LossReport,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        *,
        issues: bool = True,
    ):
        self.max_pixels = max_pixels
        self.read_issues = issues
        self.api = api
        self.base_url = base_url
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
            meta = checked_meta(
                self.api.get_task_meta(self.task["id"]), self.where, self.max_pixels
            )
            frames = meta["frames"]
            jobs = [checked_job(job, self.where) for job in self.api.list_jobs(self.task["id"])]
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
        where = f"job {job['id']}"
        raw = checked_annotations(self.api.get_job_annotations(job["id"]), where)
        if raw.get("intervals"):
            self.losses.record(
                "cvat.interval",
                "audio intervals are not read yet; dropped",
                where=where,
                count=len(raw["intervals"]),
            )
        return {
            "shapes": [
                shape_from_rest(s, self.labels, where=where) for s in raw.get("shapes") or []
            ],
            "tags": [tag_from_rest(t, self.labels, where=where) for t in raw.get("tags") or []],
            "tracks": [
                track_from_rest(t, self.labels, where=where) for t in raw.get("tracks") or []
            ],
        }

    # -- images -----------------------------------------------------------------

    def job_frames(self, job, numbering: FrameNumbering) -> list[int]:
        """The REST frame numbers `job` covers: its range, or for a job made of chosen
        frames (a ground-truth job: `type`, or a `frame_count` short of its range) the
        `included_frames` of its own data meta, which are task data frame numbers."""
        where = f"job {job['id']}"
        start, stop = int(job["start_frame"]), int(job["stop_frame"])
        count = job.get("frame_count")
        chosen = job.get("type") == "ground_truth" or (is_int(count) and count != stop - start + 1)
        if not chosen:
            return list(range(start, stop + 1))
        meta = fields(
            self.api.get_job_meta(job["id"]), "job data meta", where, lists=("included_frames",)
        )
        included = meta.get("included_frames")
        if included is None:
            return list(range(start, stop + 1))
        if not all(map(is_int, included)):
            raise malformed("'included_frames' holds something that is not a frame number", where)
        numbers = sorted({numbering.to_rest(f) for f in included} - {None})
        if len(numbers) != len(set(included)) or (
            numbers and not start <= numbers[0] <= numbers[-1] <= stop
        ):
            raise FormatError(
                f"job frames {sorted(included)} are not frames of its task between "
                f"{start} and {stop}",
                where=where,
            )
        return numbers  # type: ignore[return-value]

    def _image_items(self, meta, frames, jobs) -> Iterator[Item]:
        deleted = set(meta.get("deleted_frames") or [])
        numbering = FrameNumbering.from_meta(meta, self.where)
        jobs = sorted(jobs, key=lambda job: int(job["start_frame"]))
        pending: dict[int, Item] = {}
        done = 0  # frames below this were yielded
        for position, job in enumerate(jobs):
            with malformed_answer(f"job {job.get('id')}"):
                covered = self.job_frames(job, numbering)
                for number in covered:
                    if number < len(frames) and number not in deleted and number >= done:
                        pending.setdefault(number, self._image_item(number, frames[number], meta))
                self._add_image_job(job, covered, pending)
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

    def _add_image_job(self, job, covered: list[int], items: dict[int, Item]) -> None:
        annotations = self._job_annotations(job)
        sets = {}
        for number in covered:
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
        for frame, review in self._job_reviews(job, lambda number: number):
            if frame in sets:
                sets[frame].reviews.append(review)
            else:
                self.losses.record(
                    "cvat.issue_outside_job",
                    "issue on a frame outside its job (or deleted); not read",
                    where=where,
                )
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
            tool="cvat",
            instance=self.base_url,
            annotation=where.split()[-1],
            region=_id_text(shape.get("id")),
        )
        return region

    def _tag(self, tag, where, *, keep_frame: bool):
        region = convert.tag_to_region(
            tag, self.index, self.losses, where=where, keep_frame=keep_frame
        )
        region.id = f"tag-{tag.get('id')}"
        region.source = SourceRef(
            tool="cvat",
            instance=self.base_url,
            annotation=where.split()[-1],
            region=_id_text(tag.get("id")),
        )
        return region

    def _job_reviews(self, job, to_unified) -> list[tuple[int, Review]]:
        """The job's issues as (REST frame, review) pairs, oldest first; the review's
        `cvat_frame` is `to_unified(frame)`. Nothing is asked when issues are skipped or
        the job's summary counts none."""
        summary = job.get("issues")  # JobRead's IssuesSummary: a count and a link
        if not self.read_issues or (isinstance(summary, dict) and summary.get("count") == 0):
            return []
        where = f"job {job['id']} issues"
        issues = [checked_issue(issue, where) for issue in self.api.list_issues(job["id"])]
        if not issues:
            return []
        comments = (checked_comment(c, where) for c in self.api.list_comments(job["id"]))
        messages = first_messages(comments)
        issues.sort(key=lambda issue: (issue.get("created_date") or "", issue["id"]))
        return [
            (
                issue["frame"],
                issue_review(
                    issue,
                    messages.get(issue["id"]),
                    to_unified(issue["frame"]),
                    SourceRef(
                        tool="cvat",
                        instance=self.base_url,
                        annotation=str(job["id"]),
                        region=f"issue-{issue['id']}",
                    ),
                ),
            )
            for issue in issues
        ]

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
                covered = self.job_frames(job, numbering)
                if covered != list(range(int(job["start_frame"]), int(job["stop_frame"]) + 1)):
                    aset.extra["cvat_frames"] = [numbering.to_unified(f) for f in covered]
                self._fill_video_set(aset, job, numbering, size if size[0] else None)
                aset.reviews.extend(
                    review for _, review in self._job_reviews(job, numbering.to_unified)
                )
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
                renumber(track, numbering.to_unified),
                self.index,
                self.losses,
                where=where,
                image_size=size,
            )
            unified.source = SourceRef(
                tool="cvat",
                instance=self.base_url,
                annotation=str(job["id"]),
                region=_id_text(track.get("id")),
            )
            aset.tracks.append(unified)
