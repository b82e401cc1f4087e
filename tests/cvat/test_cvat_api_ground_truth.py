"""A ground-truth job made of chosen frames (not a range) marks only its own frames gold:
the frames come from the job's data meta (`included_frames`), as CVAT's server builds it
(cvat/apps/engine/views.py JobViewSet.metadata: `included_frames = db_segment.frames`)."""

from __future__ import annotations

import copy

import pytest
import respx

from bridge.losses import LossReport
from tests.cvat.test_cvat_api_oracle import assert_complete, fixture
from tests.cvat.test_cvat_api_pull import HOST, install_server, pull

CHOSEN = [0, 2]  # the validation frames of task 42's ground-truth job: not frame 1


def gt_job() -> dict:
    job = copy.deepcopy(fixture("jobs_task42.json")["results"][0])
    job.update(
        id=104,
        type="ground_truth",
        start_frame=0,
        stop_frame=2,
        frame_count=len(CHOSEN),
        url=f"{HOST}/api/jobs/104",
        stage="acceptance",
        state="completed",
        issues={"url": f"{HOST}/api/issues?job_id=104", "count": 0},
        labels={"url": f"{HOST}/api/labels?job_id=104"},
    )
    return job


def gt_meta() -> dict:
    """The job's data meta: the task's, narrowed to the chosen frames (the server puts a
    placeholder where a frame of the range is not in the job)."""
    meta = copy.deepcopy(fixture("task42_meta.json"))
    meta["size"] = len(CHOSEN)
    meta["included_frames"] = CHOSEN
    for number, frame in enumerate(meta["frames"]):
        if number not in CHOSEN:
            frame["name"] = "placeholder.jpg"
    return meta


def gt_annotations() -> dict:
    shape = copy.deepcopy(fixture("job102_annotations.json")["shapes"][0])
    shapes = []
    for number, frame in enumerate(CHOSEN):
        shapes.append({**shape, "id": 1040 + number, "frame": frame})
    return {"version": 1, "tags": [], "tracks": [], "intervals": [], "shapes": shapes}


def test_cvat_api_ground_truth_fixtures_are_complete_server_answers():
    jobs = fixture("jobs_task42.json")
    assert_complete(
        "PaginatedJobReadList", {**jobs, "count": 3, "results": [*jobs["results"], gt_job()]}
    )
    assert_complete("DataMetaRead", gt_meta())
    assert_complete("LabeledData", gt_annotations())


def test_cvat_api_ground_truth_job_marks_only_its_chosen_frames_gold():
    jobs = fixture("jobs_task42.json")
    with respx.mock(assert_all_called=False) as router:
        install_server(router)  # then the same job list route, answered with the GT job too
        router.get(f"{HOST}/api/jobs", params={"task_id": "42"}).respond(
            json={**jobs, "count": 3, "results": [*jobs["results"], gt_job()]}
        )
        router.get(f"{HOST}/api/jobs/104/data/meta").respond(json=gt_meta())
        router.get(f"{HOST}/api/jobs/104/annotations/").respond(json=gt_annotations())
        losses = LossReport()
        _, items, _ = pull("cvat://cvat.example.com/tasks/42", losses)
    names = [frame["name"] for frame in fixture("task42_meta.json")["frames"]]
    assert [item.key for item in items] == names
    gold = {
        number: [s for s in item.annotation_sets if s.ground_truth]
        for number, item in enumerate(items)
    }
    assert sorted(n for n, sets in gold.items() if sets) == CHOSEN
    for number in CHOSEN:
        (aset,) = gold[number]
        assert aset.id == "job-104" and aset.kind == "gold" and aset.status == "accepted"
        assert [r.source.region for r in aset.regions] == [str(1040 + CHOSEN.index(number))]
    assert not losses.count("cvat.shape_outside_job")


def test_cvat_api_range_jobs_do_not_ask_for_their_data_meta():
    with respx.mock(assert_all_called=False) as router:
        meta_route = router.get(url__regex=rf"{HOST}/api/jobs/\d+/data/meta")
        install_server(router)
        _, items, _ = pull("cvat://cvat.example.com/tasks/42")
    assert not meta_route.called
    assert len(items) == 3


def test_cvat_api_frame_above_the_pixel_budget_is_refused_before_any_mask():
    from bridge.errors import FormatError

    with respx.mock(assert_all_called=False) as router:
        install_server(router)
        meta = copy.deepcopy(fixture("task42_meta.json"))
        meta["frames"][2].update(width=50000, height=50000)
        router.get(f"{HOST}/api/tasks/42/data/meta").respond(json=meta)
        with pytest.raises(FormatError, match="above the limit") as caught:
            pull("cvat://cvat.example.com/tasks/42")
    assert caught.value.where == "task 42"


@pytest.mark.parametrize("answer", [{"included_frames": "0,2"}, {"included_frames": [0, "2"]}])
def test_cvat_api_malformed_job_data_meta_is_a_checked_format_error(answer):
    """A job data meta whose `included_frames` is not a list of frame numbers is checked
    where it is read: a FormatError naming the job, not the catch-all `UncheckedAnswer`."""
    from bridge_cvat.rest import UncheckedAnswer

    from bridge.errors import FormatError

    jobs = fixture("jobs_task42.json")
    with respx.mock(assert_all_called=False) as router:
        install_server(router)
        router.get(f"{HOST}/api/jobs", params={"task_id": "42"}).respond(
            json={**jobs, "count": 3, "results": [*jobs["results"], gt_job()]}
        )
        router.get(f"{HOST}/api/jobs/104/data/meta").respond(json=answer)
        with pytest.raises(FormatError, match="included_frames|job data meta") as caught:
            pull("cvat://cvat.example.com/tasks/42")
    assert not isinstance(caught.value, UncheckedAnswer)
    assert caught.value.where == "job 104"
