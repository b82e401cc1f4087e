"""`media_size=WxH`: shapes kept in percent (size unknown) become exactly the pixels the
reader would have produced had the size been in the file."""

from __future__ import annotations

import copy
import json

import pytest
from bridge_labelstudio.convert import task_to_item

from bridge.api import open_dataset
from bridge.errors import ConfigError
from bridge.losses import LossReport
from bridge.schema import BBox
from bridge.units import parse_media_size, shape_to_pixels

W, H = 200, 100


def result(rid, rtype, value):
    return {"id": rid, "from_name": "tag", "to_name": "image", "type": rtype, "value": value}


TASK = {
    "id": 7,
    "data": {"image": "https://example.invalid/a.jpg"},
    "annotations": [
        {
            "id": 1,
            "completed_by": 1,
            "result": [
                result(
                    "r1",
                    "rectanglelabels",
                    {
                        "x": 10,
                        "y": 20,
                        "width": 30,
                        "height": 40,
                        "rotation": 0,
                        "rectanglelabels": ["car"],
                    },
                ),
                result(
                    "r2",
                    "rectanglelabels",
                    {
                        "x": 50,
                        "y": 10,
                        "width": 20,
                        "height": 30,
                        "rotation": 30,
                        "rectanglelabels": ["car"],
                    },
                ),
                result(
                    "r3",
                    "polygonlabels",
                    {"points": [[10, 10], [50, 10], [30, 60]], "polygonlabels": ["road"]},
                ),
                result(
                    "r4",
                    "keypointlabels",
                    {"x": 25, "y": 75, "width": 1, "keypointlabels": ["nose"]},
                ),
                result(
                    "r5",
                    "ellipselabels",
                    {
                        "x": 40,
                        "y": 50,
                        "radiusX": 10,
                        "radiusY": 20,
                        "rotation": 0,
                        "ellipselabels": ["blob"],
                    },
                ),
            ],
        }
    ],
}


def with_sizes(task):
    sized = copy.deepcopy(task)
    for annotation in sized["annotations"]:
        for item in annotation["result"]:
            item["original_width"], item["original_height"] = W, H
    return sized


def shapes(item):
    return {r.id: r.shape for r in item.annotation_sets[0].regions}


def test_flag_gives_the_pixels_the_file_would_have_given(tmp_path):
    losses = LossReport()
    percent = task_to_item(TASK, None, losses, where="t")
    assert losses.count("size-unknown") >= 1
    assert {s.units for s in shapes(percent).values()} == {"percent"}

    path = tmp_path / "export.json"
    path.write_text(json.dumps([TASK]))
    flagged = next(iter(open_dataset(path, "labelstudio", media_size=f"{W}x{H}").items))
    oracle = task_to_item(with_sizes(TASK), None, LossReport(), where="t")
    got, want = shapes(flagged), shapes(oracle)
    assert set(got) == set(want)
    for rid in want:
        assert got[rid].units == "px"
        assert numbers(got[rid].model_dump()) == pytest.approx(
            numbers(want[rid].model_dump()), abs=1e-9
        ), rid
        assert texts(got[rid].model_dump()) == texts(want[rid].model_dump()), rid
    assert (flagged.media.width, flagged.media.height) == (W, H)


def numbers(value):
    """Every number in `value`, in order (for approximate comparison)."""
    if isinstance(value, dict):
        return [n for key in sorted(value) for n in numbers(value[key])]
    if isinstance(value, list | tuple):
        return [n for child in value for n in numbers(child)]
    return [value] if isinstance(value, int | float) and not isinstance(value, bool) else []


def texts(value):
    """Everything in `value` that is not a number (compared exactly)."""
    if isinstance(value, dict):
        return {key: texts(child) for key, child in value.items()}
    if isinstance(value, list | tuple):
        return [texts(child) for child in value]
    return None if isinstance(value, int | float) and not isinstance(value, bool) else value


def test_unrotated_box_by_hand():
    box = shape_to_pixels(BBox(x=10, y=20, width=30, height=40, units="percent"), 200, 100)
    assert (box.x, box.y, box.width, box.height, box.units) == (20, 20, 60, 40, "px")


def test_pixels_are_left_alone():
    box = BBox(x=1, y=2, width=3, height=4)
    assert shape_to_pixels(box, 200, 100) is box


@pytest.mark.parametrize("text", ["1280x720", "1280X720", " 640 x 480 "])
def test_size_parsing(text):
    assert parse_media_size(text)[0] in (1280, 640)


@pytest.mark.parametrize("text", ["1280", "0x720", "axb", ""])
def test_bad_size_is_a_config_error(text):
    with pytest.raises(ConfigError, match="WIDTHxHEIGHT"):
        parse_media_size(text)
