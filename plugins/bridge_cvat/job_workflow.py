"""Push a job's workflow: its assignee and its stage/state, from the sets written into it."""

from __future__ import annotations

from typing import Any

from bridge.losses import LossReport
from bridge.schema import AnnotationSet, Annotator
from bridge_cvat.api import CvatApi
from bridge_cvat.job_states import job_stage_state


class JobWorkflow:
    """Carries annotators and statuses to the jobs written (`job_workflow=true`): the
    job's assignee and its stage/state, when every set written into the job agrees.
    Without the option, what is not carried is reported."""

    def __init__(self, api: CvatApi, base_url: str, losses: LossReport, enabled: bool):
        self.api = api
        self.base_url = base_url
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
                    (
                        int(u["id"])
                        for u in self.api.find_users(wanted)
                        if wanted in (u.get("username"), u.get("email"))
                    ),
                    None,
                )
            if self._users[wanted] is not None:
                return self._users[wanted]
        return None
