"""A CVAT job's workflow position (stage, state) and the unified annotation status, both ways.

A CVAT *job* is a range of a task's frames handed to one assignee. Its *stage* is where it is
in the workflow (annotation, validation, acceptance) and its *state* how far that stage has
got (new, in progress, completed, rejected).
"""

from __future__ import annotations

from bridge.schema import AnnotationSet


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
    """The (stage, state) for a job written with `aset`: the ones it was pulled with while
    they still give its status, else `STATUS_TO_JOB`'s; None for no status."""
    stage, state = aset.extra.get("cvat_stage"), aset.extra.get("cvat_state")
    if stage and state and job_status(stage, state) == aset.status:
        return stage, state
    return STATUS_TO_JOB.get(aset.status or "")
