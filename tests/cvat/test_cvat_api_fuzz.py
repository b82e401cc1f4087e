"""Malformed server answers never escape as anything but a BridgeError raised by a
deliberate check (hypothesis): an `UncheckedAnswer` (the catch-all's) fails the test."""

from __future__ import annotations

import contextlib
import copy
from typing import Any

import pytest
from bridge_cvat.ontology import LabelIndex, check_rest_labels, labels_to_ontology, server_free
from bridge_cvat.pull import TaskPull
from bridge_cvat.rest import RestLabels, UncheckedAnswer, malformed_answer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.errors import BridgeError, FormatError
from bridge.losses import LossReport
from tests.cvat.test_cvat_api_oracle import fixture

LABELS = [
    label for page in (1, 2, 3) for label in fixture(f"labels_project7_page{page}.json")["results"]
]
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=True)
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=12,
)


class StubApi:
    """Answers like CvatApi with canned (possibly broken) JSON."""

    def __init__(self, answers: dict[str, Any]):
        self.answers = answers

    def get_task_meta(self, task_id):
        return self.answers["meta"]

    def get_job_meta(self, job_id):
        """A job's data meta has the task meta's shape (plus `included_frames` for chosen
        frames): the (mutated) task meta stands in for it."""
        return self.answers["meta"]

    def list_jobs(self, task_id):
        jobs = self.answers["jobs"]
        if not isinstance(jobs, list):  # what CvatApi's page reader refuses
            raise FormatError("malformed page: 'results' is not a list", where="GET /api/jobs")
        return iter(jobs)

    def _listing(self, name, job_id, path):
        """A job's issues or comments: the (mutated) list of the answers, or none."""
        answers = self.answers.get(name)
        listing = answers.get(job_id, []) if isinstance(answers, dict) else answers
        if not isinstance(listing, list):  # what CvatApi's page reader refuses
            raise FormatError("malformed page: 'results' is not a list", where=path)
        return iter(listing)

    def list_issues(self, job_id):
        return self._listing("issues", job_id, "GET /api/issues")

    def list_comments(self, job_id):
        return self._listing("comments", job_id, "GET /api/comments")

    def get_job_annotations(self, job_id):
        """The JSON the server answers for the job: whatever the (mutated) answers hold."""
        answers = self.answers["annotations"]
        if isinstance(answers, dict):
            return answers.get(job_id) if isinstance(job_id, int | str) else None
        return answers


def answers_for(task: int) -> dict[str, Any]:
    jobs = fixture(f"jobs_task{task}.json")["results"]
    for job in jobs:  # job 101's summary counts the issues its listing holds
        if job["id"] == 101:
            job["issues"]["count"] = len(fixture("issues_job101.json")["results"])
    return {
        "task": fixture(f"task{task}.json"),
        "meta": fixture(f"task{task}_meta.json"),
        "jobs": jobs,
        "annotations": {job["id"]: fixture(f"job{job['id']}_annotations.json") for job in jobs},
        "issues": {101: fixture("issues_job101.json")["results"]} if task == 42 else {},
        "comments": {101: fixture("comments_job101.json")["results"]} if task == 42 else {},
    }


def pull_answers(answers: dict[str, Any]) -> None:
    labels = RestLabels(LABELS)
    index = LabelIndex.from_labels(server_free(LABELS))
    task_pull = TaskPull(
        StubApi(answers), "https://cvat.example.com", answers["task"], labels, index, LossReport()
    )
    list(task_pull.items())


def test_cvat_api_fuzz_baseline_pulls_cleanly():
    pull_answers(answers_for(42))
    pull_answers(answers_for(43))


@contextlib.contextmanager
def checked_errors_only():
    """Let BridgeErrors from deliberate checks pass; fail on anything else, and on what
    only the catch-all caught."""
    try:
        yield
    except UncheckedAnswer as error:
        pytest.fail(f"no check caught this bad value: {error}")
    except BridgeError:
        pass


@st.composite
def mutated(draw):
    """A fixture answer set with one value somewhere replaced by arbitrary JSON."""
    answers = copy.deepcopy(answers_for(draw(st.sampled_from([42, 43]))))
    node: Any = answers
    key: Any = draw(st.sampled_from(["meta", "jobs", "annotations", "issues", "comments"]))
    while True:
        child = node[key]
        if not isinstance(child, dict | list) or not child or draw(st.integers(0, 3)) == 0:
            break
        node = child
        key = draw(st.sampled_from(list(child) if isinstance(child, dict) else range(len(child))))
    node[key] = draw(JSON)
    return answers


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_cvat_api_fuzz_broken_answers_raise_only_bridge_errors(answers):
    with checked_errors_only():
        pull_answers(answers)


@settings(max_examples=200, deadline=None)
@given(st.lists(JSON, max_size=4))
def test_cvat_api_fuzz_broken_labels_raise_only_bridge_errors(labels):
    with checked_errors_only():
        check_rest_labels(labels, "labels")
        RestLabels(labels)
        with malformed_answer("labels"):
            labels_to_ontology(server_free(labels))


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_cvat_api_fuzz_one_broken_label_field(data):
    labels = copy.deepcopy(LABELS)
    label = data.draw(st.sampled_from(labels))
    label[data.draw(st.sampled_from(sorted(label)))] = data.draw(JSON)
    with checked_errors_only():
        check_rest_labels(labels, "labels")
        RestLabels(labels)
        with malformed_answer("labels"):
            labels_to_ontology(server_free(labels))


@pytest.mark.parametrize("start", [float("inf"), 2.5, -3, "ten", True])
def test_cvat_api_start_frame_that_is_not_a_frame_number_is_a_format_error(start):
    from bridge_cvat.rest import FrameNumbering

    from bridge.errors import FormatError

    with pytest.raises(FormatError, match="start_frame"):
        FrameNumbering.from_meta({"start_frame": start, "frame_filter": ""}, "task 1")
