"""What no input or machine may turn into a traceback on output (issue 10, point 7): integers
beyond 64 bits are written exactly, nesting beyond what the writers write and text that is
not UTF-8 are one-line errors with a location (exit 2), a full disk and exhausted memory
are one-line errors with exit 5, and none of them leaves a temporary file."""

from __future__ import annotations

import json
import math
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from bridge import api
from bridge.errors import FormatError
from bridge.io import MAX_DEPTH, dump_json
from tests.unit.test_cli_acceptance import (
    CVAT_VIDEO,
    LABELBOX_EXPORT,
    assert_clean_error,
    run_bridge,
)

BIG = 2**70 + 1  # beyond 64 bits, and not exact as a float


def nested(depth: int, leaf=1):
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


def write_jsonl(path: Path, items: list[dict], project: dict | None = None) -> Path:
    header = {"format": "bridge-jsonl", "version": 1, "project": project or {"name": "p"}}
    with open(path, "w") as handle:
        handle.write(json.dumps(header) + "\n")
        for item in items:
            handle.write(json.dumps(item) + "\n")
    return path


def image_item(key: str, **fields) -> dict:
    item = {
        "key": key,
        "media": {"kind": "image", "uri": f"https://example.com/{key}", "width": 100, "height": 80},
        "annotation_sets": [
            {
                "id": "1",
                "regions": [
                    {
                        "id": "r1",
                        "label": "car",
                        "shape": {"type": "bbox", "x": 1, "y": 2, "width": 30, "height": 20},
                    }
                ],
            }
        ],
    }
    item.update(fields)
    return item


def no_leftovers(directory: Path, *expected: str) -> None:
    assert sorted(p.name for p in directory.iterdir()) == sorted(expected)


# -- the dump helper ---------------------------------------------------------------------


def test_dump_json_writes_big_integers_exactly_and_like_orjson_otherwise():
    value = {"n": BIG, "m": -BIG, "f": 0.1, "nan": math.nan, "s": "caf\u00e9", "l": [1, None]}
    data = dump_json(value, option=orjson.OPT_APPEND_NEWLINE)
    assert data.endswith(b"\n") and data.count(b"\n") == 1
    decoded = json.loads(data)  # the standard library decodes integers exactly
    assert decoded["n"] == BIG and decoded["m"] == -BIG and decoded["nan"] is None
    assert decoded["s"] == "caf\u00e9" and decoded["f"] == 0.1
    small = {"b": 1, "a": [1.5, "x"]}
    assert dump_json(small, option=orjson.OPT_SORT_KEYS) == orjson.dumps(
        small, option=orjson.OPT_SORT_KEYS
    )
    assert list(json.loads(dump_json({"b": BIG, "a": 1}, option=orjson.OPT_SORT_KEYS))) == [
        "a",
        "b",
    ]


def test_dump_json_refuses_nesting_beyond_the_limit_with_its_location():
    assert json.loads(dump_json(nested(MAX_DEPTH))) == nested(MAX_DEPTH)
    assert json.loads(dump_json({"n": BIG, "deep": nested(MAX_DEPTH - 1)}))["n"] == BIG
    for value in (nested(MAX_DEPTH + 1), {"n": BIG, "deep": nested(MAX_DEPTH + 5)}):
        with pytest.raises(FormatError) as caught:
            dump_json(value, where=lambda: "item 'a'")
        assert caught.value.where == "item 'a'" and caught.value.hint
        assert f"more than {MAX_DEPTH} levels" in caught.value.message


def test_dump_json_refuses_text_that_is_not_utf8_with_its_json_path():
    name = b"caf\xe9.xml".decode("utf-8", "surrogateescape")
    with pytest.raises(FormatError) as caught:
        dump_json({"source": {"instance": name}}, where="the header line")
    assert "source.instance" in caught.value.message and "rename" in caught.value.hint


def test_dump_json_still_raises_for_values_that_are_our_bug():
    with pytest.raises(TypeError):
        dump_json({"x": object()})


# -- big integers through the writers ----------------------------------------------------


@pytest.mark.parametrize("target", ["out.json", "out.jsonl"])
def test_big_integers_in_task_data_are_written_exactly(tmp_path, target):
    source = write_jsonl(
        tmp_path / "in.jsonl",
        [image_item("a.png", data={"n": BIG})],
        project={"name": "p", "extra": {"n": BIG}},
    )
    done = run_bridge("convert", source, tmp_path / target)
    assert done.returncode == 0, done.stderr
    text = (tmp_path / target).read_text()
    if target == "out.json":
        assert json.loads(text)[0]["data"]["n"] == BIG
    else:
        header, item = map(json.loads, text.splitlines())
        assert header["project"]["extra"]["n"] == BIG and item["data"]["n"] == BIG


def test_big_integers_kept_for_labelbox_are_written_exactly(tmp_path):
    item = image_item("a.png", extra={"lb_media_attributes": {"n": BIG}})
    source = write_jsonl(tmp_path / "in.jsonl", [item])
    done = run_bridge("convert", source, tmp_path / "out.ndjson", "--to", "labelbox")
    assert done.returncode == 0, done.stderr
    row = json.loads((tmp_path / "out.ndjson").read_text())
    assert row["media_attributes"]["n"] == BIG


# -- nesting and names the writers cannot write ------------------------------------------


def deep_labelstudio_export(tmp_path: Path) -> tuple[Path, str]:
    """A Label Studio export whose second task holds data nested 300 levels deep (the
    reader takes it: orjson parses up to 1024 levels)."""
    tasks = [
        {"id": 1, "data": {"image": "https://example.com/good.png"}, "annotations": []},
        {
            "id": 2,
            "data": {"image": "https://example.com/deep.png", "d": nested(300)},
            "annotations": [],
        },
    ]
    path = tmp_path / "in.json"
    path.write_text(json.dumps(tasks))
    return path, "deep.png"


def deep_labelbox_export(tmp_path: Path) -> tuple[Path, str]:
    """The Labelbox fixture's first row with media attributes nested 300 levels deep."""
    row = json.loads(LABELBOX_EXPORT.read_text().splitlines()[0])
    row["media_attributes"]["deep"] = nested(300)
    path = tmp_path / "in.ndjson"
    path.write_text(json.dumps(row) + "\n")
    return path, row["data_row"]["global_key"]


@pytest.mark.parametrize(
    ("make_source", "to"),
    [
        (deep_labelstudio_export, "labelstudio"),
        (deep_labelstudio_export, "jsonl"),
        (deep_labelbox_export, "labelbox"),
        (deep_labelbox_export, "jsonl"),
    ],
)
def test_data_nested_too_deeply_is_a_one_line_error_naming_the_item(tmp_path, make_source, to):
    source, key = make_source(tmp_path)
    done = run_bridge("convert", source, tmp_path / "out" / "result", "--to", to)
    assert_clean_error(done)
    assert key in done.stderr and f"more than {MAX_DEPTH} levels deep" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 2
    no_leftovers(tmp_path, source.name)


def test_an_input_named_in_another_encoding_is_a_one_line_error_not_a_traceback(tmp_path):
    name = b"caf\xe9.xml".decode("utf-8", "surrogateescape")
    source = tmp_path / name
    source.write_bytes(CVAT_VIDEO.read_bytes())
    done = run_bridge("convert", source, tmp_path / "out.jsonl")
    assert_clean_error(done)
    assert "not UTF-8" in done.stderr and "caf\\xe9.xml" in done.stderr
    no_leftovers(tmp_path, name)


# -- a full disk, a file size limit, exhausted memory ------------------------------------


def many_items(tmp_path: Path, count: int = 3000) -> Path:
    return write_jsonl(tmp_path / "in.jsonl", [image_item(f"img{i}.png") for i in range(count)])


@pytest.mark.parametrize("target", ["out.json", "out.jsonl", "out.xml"])
def test_a_file_size_limit_is_a_one_line_error_with_exit_5(tmp_path, target):
    source = many_items(tmp_path)
    outdir = tmp_path / "out"

    def limit():  # writes past 64 KB fail with EFBIG, as on a full disk
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (65536, 65536))

    done = subprocess.run(
        [sys.executable, "-m", "bridge.cli", "convert", str(source), str(outdir / target)],
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=limit,
    )
    assert_clean_error(done, code=5)
    assert "File too large" in done.stderr and str(outdir / target) in done.stderr
    no_leftovers(tmp_path, "in.jsonl")  # neither the output nor its directory


@pytest.fixture
def tiny_disk(tmp_path):
    """A 64 KB tmpfs (root only)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {done.stderr!r}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


@pytest.mark.parametrize("target", ["out.json", "out.jsonl"])
def test_a_full_disk_is_a_one_line_error_with_exit_5(tmp_path, tiny_disk, target):
    source = many_items(tmp_path)
    done = run_bridge("convert", source, tiny_disk / target)
    assert_clean_error(done, code=5)
    assert "No space left on device" in done.stderr
    assert list(tiny_disk.iterdir()) == []


def test_a_full_disk_while_writing_the_report_is_a_one_line_error(tmp_path, tiny_disk):
    filler = tiny_disk / "filler"
    # fill the disk to its last byte
    with open(filler, "wb", buffering=0) as handle, pytest.raises(OSError):
        while True:
            handle.write(b"x" * 4096)
    done = run_bridge(
        "convert", CVAT_VIDEO, tmp_path / "out.jsonl", "--report", tiny_disk / "losses.json"
    )
    assert_clean_error(done, code=5)
    assert [p.name for p in tiny_disk.iterdir()] == ["filler"]


def test_memory_exhaustion_is_a_one_line_error_with_exit_5(in_process, monkeypatch, tmp_path):
    def exhaust(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(api, "transfer", exhaust)
    code, printed = in_process("convert", CVAT_VIDEO, tmp_path / "out.jsonl")
    assert code == 5
    assert "error: out of memory" in printed.err and "hint:" in printed.err
    assert "Traceback" not in printed.err
