"""Push into an existing task: each annotation job's annotations, written job by job."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from bridge.errors import ConfigError, RemoteError
from bridge.losses import LossReport
from bridge.options import flag_option
from bridge.schema import AnnotationSet, Item
from bridge_cvat.api import CvatApi
from bridge_cvat.convert import report_set_extras
from bridge_cvat.job_workflow import JobWorkflow
from bridge_cvat.ontology import LabelIndex, check_rest_labels, server_free
from bridge_cvat.rest import BodyBuilder, FrameNumbering, JobFrames, RestLabels, malformed_answer
from bridge_cvat.target import CvatTarget

PUSH_MODES = ("replace", "create", "update", "delete")
"""replace: PUT each job's annotations (everything else in the job is removed);
create / update / delete: PATCH ?action=... (update and delete need the CVAT ids the
shapes were pulled with)."""


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


class TaskPush:
    """Writes items' annotations into an existing task, job by job."""

    def __init__(
        self,
        api: CvatApi,
        target: CvatTarget,
        task_id: int,
        losses: LossReport,
        mode: str,
        options: dict[str, Any] | None = None,
    ):
        self.api = api
        self.task_id = task_id
        self.losses = losses
        self.mode = mode
        self.where = f"task {task_id}"
        self.workflow = JobWorkflow(
            api, target.base_url, losses, enabled=flag_option(options or {}, "job_workflow")
        )

    def push(self, items: list[Item], *, by_order: bool = False) -> dict[str, Any]:
        with malformed_answer(self.where):
            return self._push(items, by_order)

    def _push(self, items: list[Item], by_order: bool) -> dict[str, Any]:
        task = self.api.get_task(self.task_id)
        raw = check_rest_labels(
            list(self.api.list_labels(task_id=self.task_id)), f"{self.where} labels"
        )
        labels = RestLabels(raw, where=f"{self.where} labels")  # checks the label answer
        index = LabelIndex.from_labels(server_free(raw))
        meta = self.api.get_task_meta(self.task_id)
        video = task.get("data_original_chunk_type") == "video"
        numbering = FrameNumbering.from_meta(meta, self.where) if video else FrameNumbering()
        placed = self._place(items, meta, video, by_order)
        builder = BodyBuilder(
            labels, index, self.losses, keep_ids=self.mode in ("update", "delete")
        )
        written = []
        for job in self.api.list_jobs(self.task_id):
            frames = self._job_frames(job, numbering, placed, video)
            if frames is None:
                continue
            body = builder.body(frames)
            if self.mode != "replace" and not any(body[k] for k in ("shapes", "tags", "tracks")):
                continue
            written.append(self._write_job(job["id"], body))
            sets = [frames.video_set] if video else list(frames.per_frame.values())
            self.workflow.apply(job, sets)
        return {"id": self.task_id, "jobs": written}

    @staticmethod
    def _job_frames(job, numbering, placed, video: bool) -> JobFrames | None:
        """`job`'s frames with the sets placed on them, or None for a job left alone."""
        if job.get("type", "annotation") != "annotation":
            return None  # ground truth and consensus replicas are not overwritten
        frames = JobFrames(
            job["id"], int(job["start_frame"]), int(job["stop_frame"]), numbering=numbering
        )
        if video:
            frames.video_set = placed.get(0)
        else:
            frames.per_frame = {f: s for f, s in placed.items() if frames.holds(f)}
        if frames.video_set is None and not frames.per_frame:
            return None  # none of the job's frames was pushed: leave the job alone
        return frames

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
            if aset is None:
                return {}
            report_set_extras(aset, self.losses, chosen.key, shape_scores=True, status=True)
            return {0: aset}
        if by_order:
            if len(items) != int(meta.get("size") or len(names)):
                raise RemoteError(
                    f"CVAT made {meta.get('size')} frames from {len(items)} files",
                    where=self.where,
                    hint="check that every media URL is an image CVAT can read",
                )
            return self._sets(enumerate(items))
        return self._sets(self._match_by_name(items, names))

    def _match_by_name(self, items, names) -> Iterator[tuple[int, Item]]:
        position = {name: number for number, name in enumerate(names)}
        basename = {name.rsplit("/", 1)[-1]: number for number, name in enumerate(names)}
        for item in items:
            number = position.get(item.key, basename.get(item.key.rsplit("/", 1)[-1]))
            if number is None:
                self.losses.record(
                    "cvat.item_not_in_task",
                    "no frame of the task has this file name; not pushed",
                    where=item.key,
                )
                continue
            yield number, item

    def _sets(self, numbered) -> dict[int, AnnotationSet]:
        placed = {}
        for number, item in numbered:
            aset = pick_annotation_set(item, self.losses)
            if aset is not None:
                placed[number] = aset
                report_set_extras(aset, self.losses, item.key, shape_scores=True, status=True)
        return placed
