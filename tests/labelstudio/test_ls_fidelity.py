"""Fidelity of the Label Studio converter on what other tools (CVAT) send through it:
rotated boxes near the border, outside keyframes, interpolated frames, subsets.

Expected values are computed by hand here (the rotation convention: Label Studio turns a
box about its top-left corner, unified about its centre; screen coordinates, y down)."""

from __future__ import annotations

import math

import pytest
from bridge_labelstudio.convert import annotation_set_to_result, item_to_task, task_to_item
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.errors import FormatError
from bridge.losses import LossReport
from bridge.schema import (
    AnnotationSet,
    BBox,
    Ellipse,
    Item,
    Keyframe,
    Keypoint,
    Media,
    Points,
    Polygon,
    Region,
    Track,
)

WIDTH, HEIGHT = 200, 100


def image_task(value: dict, task_id: int = 5) -> dict:
    result = {
        "id": "r1",
        "type": "rectanglelabels",
        "from_name": "label",
        "to_name": "image",
        "original_width": WIDTH,
        "original_height": HEIGHT,
        "value": {**value, "rectanglelabels": ["car"]},
    }
    return {
        "id": task_id,
        "data": {"image": "a.jpg"},
        "annotations": [{"id": 1, "result": [result]}],
    }


def read_region(task: dict, losses: LossReport | None = None) -> Region:
    item = task_to_item(task, None, losses or LossReport(), where=f"task {task.get('id')}")
    return item.annotation_sets[0].regions[0]


def image_item(*shapes) -> Item:
    regions = [Region(id=str(i), label="car", shape=s) for i, s in enumerate(shapes)]
    media = Media(kind="image", uri="a.jpg", width=WIDTH, height=HEIGHT)
    return Item(key="a.jpg", media=media, annotation_sets=[AnnotationSet(id="1", regions=regions)])


def through_label_studio(item: Item, losses: LossReport) -> Item:
    return task_to_item(item_to_task(item, None, losses), None, losses, where="t")


# ------------------------------------------------------------- 1. rotated boxes


def corner_box_value() -> dict:
    """The 1 x 1 px box at (0, 0) turned 1 degree about its centre, as Label Studio stores
    it: the top-left corner (the pivot) moved by the turn, in percent of 200 x 100 px."""
    theta = math.radians(1)
    # pivot = centre - R(theta) (w/2, h/2), with centre (0.5, 0.5) and w = h = 1
    px = 0.5 - (0.5 * math.cos(theta) - 0.5 * math.sin(theta))
    py = 0.5 - (0.5 * math.sin(theta) + 0.5 * math.cos(theta))
    assert py < 0  # the pivot is above the image
    return {
        "x": px * 100 / WIDTH,
        "y": py * 100 / HEIGHT,
        "width": 0.5,
        "height": 1.0,
        "rotation": 1,
    }


def test_ls_fidelity_reader_accepts_a_rotated_box_whose_pivot_is_off_the_image():
    box = read_region(image_task(corner_box_value())).shape
    assert (box.x, box.y, box.width, box.height) == pytest.approx((0, 0, 1, 1), abs=1e-9)
    assert box.rotation == 1


@pytest.mark.parametrize(
    "change,what",
    [
        ({"x": float("nan")}, "value.x"),
        ({"width": -150.0}, "diagonal"),
        ({"x": 500.0}, "entirely outside"),
        ({"y": -250.0}, "entirely outside"),
        ({"width": 400.0}, "diagonal"),
        ({"rotation": float("inf")}, "value.rotation"),
    ],
)
def test_ls_fidelity_reader_still_refuses_a_broken_rotated_box(change, what):
    value = {"x": 10.0, "y": 10.0, "width": 20.0, "height": 20.0, "rotation": 30, **change}
    with pytest.raises(FormatError, match=what) as error:
        read_region(image_task(value, task_id=42))
    assert error.value.where == "task 42"


def test_ls_fidelity_writer_keeps_a_rotated_box_on_the_border_exactly():
    losses = LossReport()
    box = BBox(x=0, y=0, width=1, height=1, rotation=1)
    task = item_to_task(image_item(box), None, losses)
    value = dict(task["annotations"][0]["result"][0]["value"])
    assert value.pop("rectanglelabels") == ["car"]
    assert value["y"] < 0 and value == pytest.approx(corner_box_value())
    back = read_region(task, losses).shape
    assert (back.x, back.y, back.width, back.height) == pytest.approx((0, 0, 1, 1), abs=1e-9)
    assert not losses


def test_ls_fidelity_writer_clamps_what_the_reader_would_refuse_and_says_so():
    losses = LossReport()
    far = BBox(
        x=900, y=40, width=20, height=10, rotation=45
    )  # centre (910, 45): off a 200 px image
    left = BBox(x=-10, y=20, width=30, height=10)  # 10 px off the left edge
    back = through_label_studio(image_item(far, left), losses).annotation_sets[0].regions
    assert losses["clamped-to-image"].severity == "approximated"
    assert losses.count("clamped-to-image") == 2
    # the rotated box keeps size and rotation; its centre moves onto the right edge
    moved = back[0].shape
    assert (moved.x + moved.width / 2, moved.y + moved.height / 2) == pytest.approx((200, 45))
    assert (moved.width, moved.height, moved.rotation) == pytest.approx((20, 10, 45))
    cut = back[1].shape
    assert (cut.x, cut.y, cut.width, cut.height) == pytest.approx((0, 20, 20, 10))


coordinate = st.floats(-400, 600, allow_nan=False)
size = st.floats(0, 400, allow_nan=False)  # unified sizes are never negative
boxes = st.builds(
    BBox,
    x=coordinate,
    y=coordinate,
    width=size,
    height=size,
    rotation=st.one_of(st.just(0.0), st.floats(-720, 720)),
)
polygons = st.builds(
    Polygon, points=st.lists(st.tuples(coordinate, coordinate), min_size=3, max_size=6)
)
ellipses = st.builds(
    Ellipse,
    cx=coordinate,
    cy=coordinate,
    rx=st.floats(0, 300),
    ry=st.floats(0, 300),
    rotation=st.floats(0, 359),
)
keypoints = st.builds(lambda x, y: Points(points=[Keypoint(x=x, y=y)]), coordinate, coordinate)


def close(a, b) -> bool:
    fields = {
        "bbox": ("x", "y", "width", "height", "rotation"),
        "ellipse": ("cx", "cy", "rx", "ry"),
    }
    if a.type in fields:
        return all(abs(getattr(a, f) - getattr(b, f)) <= 1e-6 for f in fields[a.type])
    pairs_a = a.points if a.type == "polygon" else [(p.x, p.y) for p in a.points]
    pairs_b = b.points if b.type == "polygon" else [(p.x, p.y) for p in b.points]
    return all(
        abs(u - v) <= 1e-6
        for p, q in zip(pairs_a, pairs_b, strict=True)
        for u, v in zip(p, q, strict=True)
    )


@settings(max_examples=300, deadline=None)
@given(st.one_of(boxes, polygons, ellipses, keypoints))
def test_ls_fidelity_the_reader_accepts_whatever_the_writer_writes(shape):
    losses = LossReport()
    back = through_label_studio(image_item(shape), losses).annotation_sets[0].regions[0].shape
    if "clamped-to-image" not in losses:
        assert close(shape, back), "unchanged unless the loss report says so"


# ------------------------------------------------------------------ video tracks


def video_item(*keyframes: Keyframe) -> Item:
    track = Track(id="7", label="person", keyframes=list(keyframes))
    media = Media(
        kind="video", uri="v.mp4", width=WIDTH, height=HEIGHT, frame_count=50, duration=2.0
    )
    return Item(key="v.mp4", media=media, annotation_sets=[AnnotationSet(id="a", tracks=[track])])


def sequence_of(item: Item, losses: LossReport) -> list[dict]:
    aset = item.annotation_sets[0]
    return annotation_set_to_result(aset, item, None, losses)[0]["value"]["sequence"]


def track_back(item: Item, losses: LossReport) -> Track:
    return through_label_studio(item, losses).annotation_sets[0].tracks[0]


def frames(track: Track) -> list[tuple[int, str]]:
    """(frame, state): "key" (drawn), "interpolated" or "outside"."""
    return [
        (k.frame, "outside" if k.outside else "key" if k.keyframe else "interpolated")
        for k in track.keyframes
    ]


def box_at(x: float) -> BBox:
    return BBox(x=x, y=10, width=20, height=10)


def test_ls_fidelity_outside_after_the_last_visible_keyframe_maps_exactly():
    losses = LossReport()
    item = video_item(
        Keyframe(frame=0, shape=box_at(0)),
        Keyframe(frame=9, shape=box_at(90)),
        Keyframe(frame=10, outside=True),
    )
    # the keyframe at 9 is the last shown frame: it is disabled, nothing is added
    steps = sequence_of(item, losses)
    assert [(s["frame"], s["enabled"]) for s in steps] == [(1, True), (10, False)]
    assert frames(track_back(item, losses)) == [(0, "key"), (9, "key"), (10, "outside")]
    assert not losses


def test_ls_fidelity_outside_later_adds_a_step_that_reads_back_as_interpolated():
    losses = LossReport()
    item = video_item(
        Keyframe(frame=0, shape=box_at(0)), Keyframe(frame=10, outside=True, shape=box_at(100))
    )
    steps = sequence_of(item, losses)
    # Label Studio needs a disabled step at the last shown frame, 9 (its frame 10): the box
    # there is 9/10 of the way from x = 0 to x = 100 px, 45 % of 200 px
    assert [(s["frame"], s["enabled"], s.get("bridge_interpolated")) for s in steps] == [
        (1, True, None),
        (10, False, True),
    ]
    assert steps[1]["x"] == pytest.approx(45.0)
    back = track_back(item, losses)
    assert frames(back) == [(0, "key"), (9, "interpolated"), (10, "outside")]
    assert back.keyframes[1].shape.x == pytest.approx(90.0)
    assert back.keyframes[1].extra.get("bridge_interpolated") is None


def test_ls_fidelity_interpolated_frames_are_left_to_label_studio_and_reported():
    losses = LossReport()
    item = video_item(
        Keyframe(frame=0, shape=box_at(0)),
        Keyframe(frame=2, shape=box_at(20), keyframe=False),
        Keyframe(frame=4, shape=box_at(40)),
        Keyframe(frame=6, shape=box_at(60), keyframe=False),
        Keyframe(frame=7, shape=box_at(70), keyframe=False),  # the last frame shown
        Keyframe(frame=8, outside=True),
        Keyframe(frame=12, shape=box_at(120), keyframe=False),  # where it reappears
        Keyframe(frame=14, shape=box_at(140)),
    )
    steps = sequence_of(item, losses)
    # Label Studio frames are 1-based; x in percent of 200 px
    assert [(s["frame"], s["enabled"], s.get("bridge_interpolated"), s["x"]) for s in steps] == [
        (1, True, None, 0.0),
        (5, True, None, 20.0),
        (8, False, True, 35.0),
        (13, True, True, 60.0),
        (15, True, None, 70.0),
    ]
    assert losses["interpolated-frames-dropped"].severity == "approximated"
    assert losses.count("interpolated-frames-dropped") == 2  # frames 2 and 6
    back = track_back(item, LossReport())
    assert frames(back) == [
        (0, "key"),
        (4, "key"),
        (7, "interpolated"),
        (8, "outside"),
        (12, "interpolated"),
        (14, "key"),
    ]
    assert [k.shape.x for k in back.keyframes if k.shape] == pytest.approx([0, 40, 70, 120, 140])


def test_ls_fidelity_an_outside_keyframe_while_hidden_is_reported_not_merged_silently():
    losses = LossReport()
    item = video_item(
        Keyframe(frame=0, outside=True),  # before the first visible frame
        Keyframe(frame=3, shape=box_at(30)),
        Keyframe(frame=4, outside=True),
        Keyframe(frame=8, outside=True),  # the object is still out of view
        Keyframe(frame=12, shape=box_at(120)),
    )
    steps = sequence_of(item, losses)
    # Label Studio shows a step's box at its own frame, disabled or not: no step can stand
    # for frames 0 and 8, and none is needed to hide the object there
    assert [(s["frame"], s["enabled"]) for s in steps] == [(4, False), (13, True)]
    assert losses.count("outside-while-hidden") == 2
    assert losses["outside-while-hidden"].severity == "dropped"
    assert frames(track_back(item, LossReport())) == [(3, "key"), (4, "outside"), (12, "key")]


# ---------------------------------------------------------------------- 5. subsets


def test_ls_fidelity_the_subset_rides_in_the_task_meta_and_comes_back(tmp_path):
    plain = image_item(box_at(0)).model_copy(update={"subset": "train"})
    with_meta = image_item(box_at(0)).model_copy(
        update={"key": "b.jpg", "subset": "val", "extra": {"meta": {"camera": "front"}}}
    )
    losses = LossReport()
    tasks = [item_to_task(item, None, losses) for item in (plain, with_meta)]
    assert tasks[0]["meta"] == {"bridge_subset": "train"}
    assert tasks[1]["meta"] == {"camera": "front", "bridge_subset": "val"}
    back = [task_to_item(task, None, losses, where="t") for task in tasks]
    assert [item.subset for item in back] == ["train", "val"]
    assert "meta" not in back[0].extra and back[1].extra["meta"] == {"camera": "front"}
    assert [item_to_task(item, None, losses)["meta"] for item in back] == [t["meta"] for t in tasks]
    assert not losses


def test_ls_fidelity_subsets_survive_an_export_file(tmp_path):
    from bridge_labelstudio.files import LabelStudioJson, write_export

    from bridge.formats import Dataset
    from bridge.schema import Project

    items = [
        image_item(box_at(0)).model_copy(update={"key": f"{n}.jpg", "subset": subset})
        for n, subset in enumerate(["train", None, "test"])
    ]
    project = Project(name="p", media_kind="image")
    write_export(Dataset(project=project, items=items), tmp_path / "out.json", LossReport())
    back = list(LabelStudioJson().read(tmp_path / "out.json", LossReport()).items)
    assert [item.subset for item in back] == ["train", None, "test"]


def test_ls_fidelity_a_meta_subset_that_is_not_a_name_stays_in_meta():
    task = image_task({"x": 1.0, "y": 1.0, "width": 5.0, "height": 5.0})
    task["meta"] = {"bridge_subset": 3}
    item = task_to_item(task, None, LossReport(), where="task 5")
    assert item.subset is None and item.extra["meta"] == {"bridge_subset": 3}
