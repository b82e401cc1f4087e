"""CVAT issues per job become reviews of the job's sets, and `bridge qa` counts them.

The fake answers are `tests/fixtures/cvat_api/issues_job101.json` and
`comments_job101.json` (cvat-sdk's PaginatedIssueReadList / PaginatedCommentReadList,
checked in test_cvat_api_fixtures.py): job 101 (frames 0 and 1 of task 42) has issue 901,
open, on frame 0 and issue 902, resolved, on frame 1; both raised by carol.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime

import httpx
import pytest
import respx
from bridge_cvat.api import CvatApi

from bridge.errors import ConfigError, FormatError
from bridge.losses import LossReport
from tests.cvat.test_cvat_api_oracle import fixture, load
from tests.cvat.test_cvat_api_pull import HOST, connector, install_server, pull
from tests.qa_report.builders import run_cli, write_jsonl

ISSUES = fixture("issues_job101.json")
COMMENTS = fixture("comments_job101.json")


def jobs_counting_issues() -> dict:
    """Task 42's jobs, job 101's summary counting its two issues (as the server would)."""
    jobs = copy.deepcopy(fixture("jobs_task42.json"))
    for job in jobs["results"]:
        if job["id"] == 101:
            job["issues"]["count"] = ISSUES["count"]
    load("PaginatedJobReadList", jobs)
    return jobs


def install_issues(router: respx.MockRouter):
    install_server(router)
    router.get(f"{HOST}/api/jobs", params={"task_id": "42"}).respond(json=jobs_counting_issues())
    issues = router.get(f"{HOST}/api/issues").respond(json=ISSUES)
    comments = router.get(f"{HOST}/api/comments").respond(json=COMMENTS)
    return issues, comments


def test_cvat_api_issues_fixtures_are_sdk_models():
    issues = load("PaginatedIssueReadList", ISSUES)
    comments = load("PaginatedCommentReadList", COMMENTS)
    assert [issue.resolved for issue in issues.results] == [False, True]
    assert {comment.issue for comment in comments.results} == {901, 902}


@respx.mock(assert_all_called=False)
def test_cvat_api_issues_become_reviews_of_the_frames_sets(respx_mock):
    issues, comments = install_issues(respx_mock)
    _, items, _ = pull("cvat://cvat.example.com/tasks/42")
    sets = {item.key: {s.id: s for s in item.annotation_sets} for item in items}
    (open_review,) = sets["street/0001.jpg"]["job-101"].reviews
    (fixed_review,) = sets["street/0002.jpg"]["job-101"].reviews
    assert not sets["street/0003.png"]["job-102"].reviews  # job 102's summary counts none
    assert open_review.status == "rejected"
    assert fixed_review.status == "fixed"
    # the thread's first message by date, not the listing's first (9012 is a later reply)
    assert open_review.comment == "wrong label: this is a bus"
    assert fixed_review.comment == "box too loose"
    assert open_review.reviewer is not None and open_review.reviewer.name == "carol"
    assert open_review.reviewer.id == "7"
    assert open_review.created_at == datetime(2026, 11, 21, 17, 40, 11, 1, tzinfo=UTC)
    assert open_review.extra == {
        "cvat_issue_id": 901,
        "cvat_frame": 0,
        "cvat_position": [10.0, 20.0, 60.0, 80.0],
    }
    assert fixed_review.extra["cvat_issue_id"] == 902 and fixed_review.extra["cvat_frame"] == 1
    assert open_review.source is not None and open_review.source.annotation == "101"
    # one listing of issues and one of comments for job 101, filtered by job
    assert [call.request.url.params["job_id"] for call in issues.calls] == ["101"]
    assert [call.request.url.params["job_id"] for call in comments.calls] == ["101"]


@respx.mock(assert_all_called=False)
def test_cvat_api_issues_false_asks_nothing(respx_mock):
    issues, comments = install_issues(respx_mock)
    dataset = connector("cvat://cvat.example.com/tasks/42").read(LossReport(), issues="false")
    items = list(dataset.items)
    assert not any(s.reviews for item in items for s in item.annotation_sets)
    assert not issues.called and not comments.called
    with pytest.raises(ConfigError):
        connector("cvat://cvat.example.com/tasks/42").read(LossReport(), issues="perhaps")


@respx.mock(assert_all_called=False)
def test_cvat_api_issue_outside_its_job_is_a_loss(respx_mock):
    install_issues(respx_mock)
    moved = copy.deepcopy(ISSUES)
    moved["results"][0]["frame"] = 2  # job 102's frame
    respx_mock.get(f"{HOST}/api/issues").respond(json=moved)
    losses = LossReport()
    _, items, _ = pull("cvat://cvat.example.com/tasks/42", losses)
    reviews = [r for item in items for s in item.annotation_sets for r in s.reviews]
    assert [r.extra["cvat_issue_id"] for r in reviews] == [902]
    assert losses.count("cvat.issue_outside_job") == 1


@respx.mock(assert_all_called=False)
def test_cvat_api_issues_malformed_answer_is_a_format_error(respx_mock):
    install_issues(respx_mock)
    broken = copy.deepcopy(ISSUES)
    broken["results"][1]["resolved"] = "yes"
    respx_mock.get(f"{HOST}/api/issues").respond(json=broken)
    with pytest.raises(FormatError, match="resolved"):
        pull("cvat://cvat.example.com/tasks/42")


@respx.mock(assert_all_called=False)
def test_cvat_api_issues_counted_by_bridge_qa(respx_mock, tmp_path):
    """Job 101's two sets carry one open and one resolved issue: 2 reviewed, 2 defective
    (1 rejected, 1 changed); job 102 (acceptance, completed) is reviewed without defect."""
    install_issues(respx_mock)
    dataset, items, _ = pull("cvat://cvat.example.com/tasks/42")
    path = write_jsonl(tmp_path / "pulled.jsonl", items, dataset.project)
    done = run_cli("qa", str(path), "--json", "-")
    assert done.returncode == 0, done.stderr
    defects = json.loads(done.stdout)["defects"]
    assert (defects["reviewed"], defects["defective"]) == (3, 2)
    assert (defects["rejected"], defects["changed"]) == (1, 1)
    assert defects["defect_rate"] == pytest.approx(2 / 3)


def test_cvat_api_paginated_issues_are_followed():
    """The issues listing follows `next` (page_size 1: two pages)."""
    first = {**ISSUES, "next": f"{HOST}/api/issues?job_id=101&page=2&page_size=1"}
    first["results"] = ISSUES["results"][:1]
    second = {**ISSUES, "previous": f"{HOST}/api/issues?job_id=101&page_size=1"}
    second["results"] = ISSUES["results"][1:]

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=second if request.url.params.get("page") else first)

    with respx.mock() as router:
        router.get(f"{HOST}/api/issues").mock(side_effect=answer)
        api = CvatApi(HOST, page_size=1)
        assert [issue["id"] for issue in api.list_issues(101)] == [901, 902]


@respx.mock(assert_all_called=False)
def test_cvat_api_video_issue_keeps_the_original_frame_number(respx_mock):
    """Task 43 is a video made with start_frame=10, frame_filter=step=3: REST frame 2 is
    frame 10 + 2 * 3 = 16 of the video. Job 103 gets issue 901 moved to it, at frame 2."""
    install_server(respx_mock)
    jobs = copy.deepcopy(fixture("jobs_task43.json"))
    jobs["results"][0]["issues"]["count"] = 1
    respx_mock.get(f"{HOST}/api/jobs", params={"task_id": "43"}).respond(json=jobs)
    video_issue = copy.deepcopy(ISSUES)
    video_issue["results"] = [{**ISSUES["results"][0], "job": 103, "frame": 2}]
    video_issue["count"] = 1
    load("PaginatedIssueReadList", video_issue)
    respx_mock.get(f"{HOST}/api/issues").respond(json=video_issue)
    respx_mock.get(f"{HOST}/api/comments").respond(json=COMMENTS)
    _, (item,), _ = pull("cvat://cvat.example.com/tasks/43")
    (aset,) = item.annotation_sets
    (review,) = aset.reviews
    assert review.status == "rejected"
    assert review.extra["cvat_frame"] == 16
    assert review.comment == "wrong label: this is a bus"
