"""The respx fixtures are complete, valid CVAT server answers per cvat-sdk's models."""

from __future__ import annotations

import pytest
from cvat_sdk.api_client import models

from tests.cvat.test_cvat_api_oracle import FIXTURES, assert_complete, fixture

RESPONSE_MODELS = {
    "server_about.json": "About",
    "project7.json": "ProjectRead",
    "task42.json": "TaskRead",
    "task43.json": "TaskRead",
    "tasks_project7.json": "PaginatedTaskReadList",
    "labels_project7_page1.json": "PaginatedLabelList",
    "labels_project7_page2.json": "PaginatedLabelList",
    "labels_project7_page3.json": "PaginatedLabelList",
    "task42_meta.json": "DataMetaRead",
    "task43_meta.json": "DataMetaRead",
    "jobs_task42.json": "PaginatedJobReadList",
    "jobs_task43.json": "PaginatedJobReadList",
    "job101_annotations.json": "LabeledData",
    "job102_annotations.json": "LabeledData",
    "job103_annotations.json": "LabeledData",
    "request_queued.json": "Request",
    "request_started.json": "Request",
    "request_finished.json": "Request",
    "request_failed.json": "Request",
    "request_finished_78.json": "Request",
    "task77.json": "TaskRead",
    "task78.json": "TaskRead",
    "task77_meta.json": "DataMetaRead",
    "task78_meta.json": "DataMetaRead",
    "labels_task77.json": "PaginatedLabelList",
    "labels_task78.json": "PaginatedLabelList",
    "jobs_task77.json": "PaginatedJobReadList",
    "jobs_task78.json": "PaginatedJobReadList",
    "issues_job101.json": "PaginatedIssueReadList",
    "comments_job101.json": "PaginatedCommentReadList",
}


def test_cvat_api_every_fixture_has_a_model():
    assert sorted(path.name for path in FIXTURES.glob("*.json")) == sorted(RESPONSE_MODELS)


@pytest.mark.parametrize("name", sorted(RESPONSE_MODELS))
def test_cvat_api_fixture_is_a_complete_server_answer(name):
    assert_complete(RESPONSE_MODELS[name], fixture(name))


def test_cvat_api_job_fixtures_use_real_stage_and_state_values():
    # JobRead types stage/state loosely; the enums are the server's actual vocabulary
    for name in ("jobs_task42.json", "jobs_task43.json"):
        for job in fixture(name)["results"]:
            models.JobStage(job["stage"])
            models.OperationStatus(job["state"])
            models.JobType(job["type"])
