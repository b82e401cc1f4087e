"""Malformed or hostile CVAT XML fails with a FormatError naming the file and line, and a
conversion that fails writes nothing."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from bridge_cvat.xml_read import read_cvat_xml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.api import convert
from bridge.errors import BridgeError, FormatError
from bridge.losses import LossReport

FIXTURES = Path(__file__).parent.parent / "fixtures" / "cvat"
GOOD = (FIXTURES / "for_images_export_task_train.xml").read_text()


def read_all(path: Path) -> list:
    return list(read_cvat_xml(path, LossReport()).items)


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def broken(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "broken.xml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            '<polygon label="" points="1,2;3,4;6,5"',
            '<circle label="" points="1,2;3,4;6,5"',
            "unknown or misplaced shape <circle>",
        ),
        (
            '<points label="label2" points="1,2;3,4;5,6"',
            '<points label="nope" points="1,2;3,4;5,6"',
            "label 'nope' is not declared",
        ),
        (
            '<points label="label2" points="1,2;3,4;5,6"',
            '<points label="label2" points="1,2;3,4;5"',
            "not an x,y pair",
        ),
        (
            '<box label="label1" occluded="1" xbr="4"',
            '<box label="label1" occluded="1" xbr="four"',
            "not a number",
        ),
        (
            '<box label="label1" occluded="1" xbr="4"',
            '<box label="label1" occluded="1" xbr="nan"',
            "not a finite number",
        ),
        ('<image height="10" id="1"', '<image height="ten" id="1"', "not an integer"),
    ],
)
def test_cvat_bad_shape_is_reported_at_its_line(tmp_path, old, new, message):
    text = GOOD.replace(old, new)
    path = broken(tmp_path, text)
    with pytest.raises(FormatError, match=message) as caught:
        read_all(path)
    assert caught.value.where == f"{path}:{line_of(text, new)}"


def test_cvat_odd_coordinate_count_in_points_is_refused(tmp_path):
    from bridge_cvat.convert import shape_to_region
    from bridge_cvat.ontology import LabelIndex

    shape = {"type": "polygon", "label": None, "points": [1.0, 2.0, 3.0], "frame": 0}
    with pytest.raises(FormatError, match="odd number of coordinates") as caught:
        shape_to_region(shape, LabelIndex(), LossReport(), where="job 3")
    assert caught.value.where == "job 3"


def test_cvat_truncated_file_names_the_last_line(tmp_path):
    text = GOOD[: GOOD.index("<polygon")]
    path = broken(tmp_path, text)
    with pytest.raises(FormatError, match="not well-formed") as caught:
        read_all(path)
    assert caught.value.where == f"{path}:{text.count(chr(10)) + 1}"


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE annotations [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<annotations><version>1.1</version><meta><task><name>&lol9;</name></task></meta></annotations>
"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE annotations [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<annotations><meta><task><name>&secret;</name></task></meta></annotations>
"""


@pytest.mark.parametrize("payload", [BILLION_LAUGHS, EXTERNAL_ENTITY])
def test_cvat_entity_payloads_are_refused_at_the_doctype(tmp_path, payload):
    path = broken(tmp_path, payload)
    with pytest.raises(FormatError, match="refused") as caught:
        read_all(path)
    assert caught.value.where == f"{path}:2"


def test_cvat_failed_conversion_writes_nothing(tmp_path):
    path = broken(tmp_path, GOOD.replace('label="label2"', 'label="missing"'))
    target = tmp_path / "out" / "unified.jsonl"
    with pytest.raises(FormatError):
        convert(path, target)
    assert not target.exists()
    # no temporary file left behind either (the error may come before the output is opened)
    assert not target.parent.exists() or list(target.parent.iterdir()) == []


def test_cvat_shape_outside_an_image_is_refused(tmp_path):
    text = GOOD.replace("<image", "<box", 1)
    with pytest.raises(FormatError):
        read_all(broken(tmp_path, text))


def test_cvat_image_before_meta_is_refused(tmp_path):
    text = GOOD.replace("<meta>", "<image id='9' name='x' width='1' height='1'/><meta>", 1)
    with pytest.raises(FormatError, match="before <meta>"):
        read_all(broken(tmp_path, text))


FUZZ_SOURCES = [GOOD.encode()] + [
    (FIXTURES / name).read_bytes()
    for name in ("for_video_with_skeleton.xml", "all_shapes_images.xml", "job_export_images.xml")
]


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    source=st.sampled_from(FUZZ_SOURCES),
    cut=st.floats(0, 1),
    where=st.floats(0, 1),
    byte=st.sampled_from(list(b'<>"=;,/ 1a&-.\x00')),
)
def test_cvat_reader_fuzz_fails_only_with_bridge_errors(tmp_path, source, cut, where, byte):
    data = bytearray(source)
    position = int(where * (len(data) - 1))
    data[position] = byte
    path = tmp_path / "fuzz.xml"
    path.write_bytes(bytes(data[: max(int(cut * len(data)), position + 1)]))
    with contextlib.suppress(BridgeError):
        read_all(path)


def test_cvat_unknown_encoding_is_a_format_error(tmp_path):
    text = '<?xml version="1.0" encoding="utf-9"?>\n' + GOOD
    with pytest.raises(FormatError, match="unknown encoding: utf-9") as caught:
        read_all(broken(tmp_path, text))
    assert caught.value.where.endswith(":1")


def test_cvat_skeleton_tracked_shape_without_frame_is_refused(tmp_path):
    text = (FIXTURES / "all_shapes_video.xml").read_text()
    broken_text = text.replace('<skeleton frame="8"', "<skeleton", 1)
    assert broken_text != text
    with pytest.raises(FormatError, match="a tracked shape has no frame"):
        read_all(broken(tmp_path, broken_text))
