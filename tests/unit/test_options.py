"""`-O` options are parsed strictly in one place (`bridge.options`): a typo in any yes/no
option is a `ConfigError` naming the option, wherever the option is read (a file writer,
a connector's pull or push), and it is raised before anything is sent to a server."""

from __future__ import annotations

import pytest
import respx
from bridge_cvat.connector import CvatConnector
from bridge_labelbox.connector import LabelboxConnector

from bridge import api
from bridge.errors import ConfigError
from bridge.formats import Dataset
from bridge.formats.jsonl import write_jsonl
from bridge.limits import max_pixels_option
from bridge.losses import LossReport
from bridge.options import flag, flag_option, integer, integer_option, number, size
from bridge.schema import Item, Media, Project

TYPOS = ["ture", "flase", "", "2", "yess", "none", "null", 2, 0.5, [], {}]


@pytest.mark.parametrize(
    ("word", "meaning"),
    [
        ("true", True),
        ("TRUE", True),
        (" yes ", True),
        ("on", True),
        ("1", True),
        (1, True),
        (True, True),
        ("false", False),
        ("No", False),
        ("off", False),
        ("0", False),
        (0, False),
        (False, False),
    ],
)
def test_flag_words(word, meaning):
    assert flag("x", word) is meaning


@pytest.mark.parametrize("typo", TYPOS)
def test_flag_typo_is_a_config_error_naming_the_option(typo):
    with pytest.raises(ConfigError) as caught:
        flag("job_workflow", typo)
    assert "job_workflow" in caught.value.message
    assert caught.value.hint == "-O job_workflow=true or -O job_workflow=false"


def test_flag_option_default_only_when_absent():
    assert flag_option({}, "a") is False
    assert flag_option(None, "a", default=True) is True
    assert flag_option({"a": None}, "a", default=True) is True
    assert flag_option({"a": "off"}, "a", default=True) is False
    with pytest.raises(ConfigError):
        flag_option({"a": ""}, "a")


def test_numbers_and_sizes():
    assert integer("n", "42") == 42 and integer("n", 7, minimum=1) == 7
    assert integer_option({}, "n", 5) == 5 and integer_option({"n": " 9 "}, "n", 5) == 9
    assert number("t", "0.25") == 0.25 and number("t", 3) == 3.0
    assert size("media_size", "1280x720") == (1280, 720)
    assert size("media_size", "640, 480") == (640, 480)
    for bad in (True, 1.5, "1e3", "ten", "", None, "0x10"):
        with pytest.raises(ConfigError, match="^n must be a whole number"):
            integer("n", bad)
    with pytest.raises(ConfigError, match="from 0 to 100, not 101"):
        integer("image_quality", 101, minimum=0, maximum=100)
    with pytest.raises(ConfigError, match="at least 1"):
        integer("page_size", "0", minimum=1)
    for bad in ("nan", "inf", "fast", True, None):
        with pytest.raises(ConfigError, match="^t must be a number"):
            number("t", bad)
    with pytest.raises(ConfigError, match="at least 0"):
        number("poll_interval", -1, minimum=0)
    for bad in ("1280", "0x720", "axb", "1280x720x3"):
        with pytest.raises(ConfigError, match="not WIDTHxHEIGHT"):
            size("media_size", bad)


# ------------------------------------------------ every yes/no option, where it is read


def sample_jsonl(tmp_path):
    item = Item(
        key="a.jpg",
        media=Media(kind="image", uri="https://example.invalid/a.jpg", width=10, height=10),
    )
    source = tmp_path / "in.jsonl"
    write_jsonl(Dataset(Project(name="p"), [item]), source)
    return source


@pytest.mark.parametrize(
    ("option", "target"),
    [
        ("validate", "out.jsonl"),  # the unified JSONL writer
        ("use_schema_ids", "out.ndjson"),  # the Labelbox import writer
    ],
)
def test_a_file_writer_option_typo_is_a_config_error(tmp_path, option, target):
    fmt = "labelbox-import" if target.endswith(".ndjson") else None
    source = sample_jsonl(tmp_path)
    with pytest.raises(ConfigError, match=f"^{option} must be true or false, not 'ture'"):
        api.convert(source, tmp_path / target, to_format=fmt, **{option: "ture"})
    assert not (tmp_path / target).exists()
    # the right word works (the option exists there)
    api.convert(source, tmp_path / target, to_format=fmt, **{option: "yes"})
    assert (tmp_path / target).exists()


def test_cvat_push_job_workflow_typo_fails_before_any_request():
    with respx.mock(assert_all_called=False) as router:
        connector = CvatConnector.from_url("cvat://cvat.example.com/tasks/new", token="t0k3n")
        items = [Item(key="a.jpg", media=Media(kind="image", uri="https://x.invalid/a.jpg"))]
        with pytest.raises(ConfigError, match="^job_workflow must be true or false, not 'ture'"):
            connector.write(Dataset(Project(name="p"), items), LossReport(), job_workflow="ture")
        assert router.calls.call_count == 0


@pytest.mark.parametrize("where", ["url", "option"])
def test_labelbox_pull_interpolated_frames_typo_fails_before_any_request(monkeypatch, where):
    monkeypatch.setenv("LABELBOX_API_KEY", "k3y")
    url = "labelbox://projects/clx0project"
    with respx.mock(assert_all_called=False) as router:
        if where == "url":
            connector = LabelboxConnector.from_url(url + "?interpolated_frames=ture")
            options = {}
        else:
            connector = LabelboxConnector.from_url(url)
            options = {"interpolated_frames": "ture"}
        with pytest.raises(ConfigError, match="^interpolated_frames must be true or false"):
            connector.read(LossReport(), **options)
        assert router.calls.call_count == 0


def test_max_pixels_goes_through_the_same_parser():
    assert max_pixels_option({}) == 1_000_000_000
    assert max_pixels_option({"max_pixels": "2000000000"}) == 2_000_000_000
    for bad in ("lots", 0, 1.5, True):
        with pytest.raises(ConfigError, match="^max_pixels must be a whole number of at least 1"):
            max_pixels_option({"max_pixels": bad})
