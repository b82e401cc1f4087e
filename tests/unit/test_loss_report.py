"""The loss report aggregates by code, counts every occurrence and keeps a few examples."""

from bridge.losses import MAX_EXAMPLES, LossReport


def test_counts_and_examples_are_kept_per_code():
    report = LossReport()
    for task in range(8):
        report.record(
            "span-into-cvat", "text spans cannot be written to CVAT", where=f"task {task}"
        )
    report.record(
        "track-flattened",
        "track written as shapes",
        where="video 1",
        severity="approximated",
        count=40,
    )
    assert report.count("span-into-cvat") == 8
    assert report["span-into-cvat"].examples == [f"task {i}" for i in range(MAX_EXAMPLES)]
    assert report["track-flattened"].severity == "approximated"
    assert report.count("track-flattened") == 40
    assert report.count("never-recorded") == 0
    assert [loss["code"] for loss in report.as_dict()] == ["span-into-cvat", "track-flattened"]


def test_merge_adds_counts_and_caps_examples():
    first, second = LossReport(), LossReport()
    for i in range(4):
        first.record("x", "m", where=f"a{i}")
        second.record("x", "m", where=f"b{i}")
    second.record("y", "other", where="c")
    first.merge(second)
    assert first.count("x") == 8 and first.count("y") == 1
    assert first["x"].examples == ["a0", "a1", "a2", "a3", "b0"]


def test_empty_report_is_falsy():
    assert not LossReport()


def test_forget_withdraws_a_code():
    report = LossReport()
    report.record("size-unknown", "kept in percent", where="task 1")
    report.record("occluded", "no occluded flag", where="task 1")
    report.forget("size-unknown")
    report.forget("never-recorded")
    assert [loss.code for loss in report] == ["occluded"]
