"""Which task and job (segment) an image belongs to. Task: the first with the image's
task id, else the first with its subset, else the only one. Job: the first segment in the
meta's order whose inclusive frame range holds the frame, its assignee or else the
task's. Both are looked up fast (dicts; bisection when segments are in frame order, as
CVAT writes them) and must agree with the plain definitions below on any layout."""

from __future__ import annotations

from bridge_cvat.xml_meta import CvatMeta, Segment, TaskInfo
from hypothesis import given
from hypothesis import strategies as st

from bridge.schema import Annotator

TASK_ASSIGNEE = Annotator(name="task owner")


def by_definition(task: TaskInfo, frame: int):
    for segment in task.segments:
        if segment.start <= frame <= segment.stop:
            return (segment.assignee if segment.assignee is not None else task.assignee), segment
    return task.assignee, None


segment = st.builds(
    lambda start, length, who: Segment(
        id=None, start=start, stop=start + length, assignee=Annotator(name=who) if who else None
    ),
    st.integers(0, 40),
    st.integers(-2, 15),
    st.sampled_from([None, "ann", "bob"]),
)


def cvat_layout(size: int, overlap: int, count: int) -> list[Segment]:
    """Jobs of `size` frames overlapping by `overlap`, as CVAT cuts a task."""
    step = size - overlap
    return [
        Segment(
            id=str(i),
            start=i * step,
            stop=i * step + size - 1,
            assignee=Annotator(name=f"user{i % 3}") if i % 4 else None,
        )
        for i in range(count)
    ]


@given(st.lists(segment, max_size=12), st.integers(-3, 60))
def test_cvat_segment_lookup_any_layout(segments, frame):
    task = TaskInfo(id="1", name="t", segments=segments, assignee=TASK_ASSIGNEE)
    assert task.annotator_for(frame) == by_definition(task, frame)


@given(st.integers(1, 20), st.integers(0, 5), st.integers(0, 30), st.integers(-2, 700))
def test_cvat_segment_lookup_cvat_layout(size, overlap, count, frame):
    task = TaskInfo(
        id="1",
        name="t",
        segments=cvat_layout(size, min(overlap, size - 1), count),
        assignee=TASK_ASSIGNEE,
    )
    assert task.annotator_for(frame) == by_definition(task, frame)


def test_cvat_segment_lookup_by_hand():
    task = TaskInfo(id="1", name="t", segments=cvat_layout(10, 2, 3), assignee=TASK_ASSIGNEE)
    # segments 0-9 (no assignee), 8-17 (user1), 16-25 (user2)
    assert task.annotator_for(5) == (TASK_ASSIGNEE, task.segments[0])
    assert task.annotator_for(9) == (TASK_ASSIGNEE, task.segments[0])  # overlap: the first
    assert task.annotator_for(12) == (Annotator(name="user1"), task.segments[1])
    assert task.annotator_for(17) == (Annotator(name="user1"), task.segments[1])
    assert task.annotator_for(25) == (Annotator(name="user2"), task.segments[2])
    assert task.annotator_for(26) == (TASK_ASSIGNEE, None)
    assert task.annotator_for(None) == (Annotator(name="user1"), task.segments[1])


def task_by_definition(tasks: list[TaskInfo], task_id: str | None, subset: str | None):
    for task in tasks:
        if task_id is not None and task.id == task_id:
            return task
    for task in tasks:
        if subset is not None and task.subset == subset:
            return task
    return tasks[0] if len(tasks) == 1 else None


ids = st.sampled_from([None, "1", "2", "3"])
subsets = st.sampled_from([None, "train", "val"])


@given(st.lists(st.tuples(ids, subsets), max_size=6), ids, subsets)
def test_cvat_task_lookup(tasks, task_id, subset):
    infos = [TaskInfo(id=i, name=f"task {n}", subset=s) for n, (i, s) in enumerate(tasks)]
    meta = CvatMeta(tree=["meta", []], labels=[], project_id=None, name="p", tasks=infos)
    for _ in range(2):  # the second call uses the dicts built by the first
        assert meta.task(task_id, subset) is task_by_definition(infos, task_id, subset)
