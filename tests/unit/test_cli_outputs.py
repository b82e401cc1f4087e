"""Where the CLI writes, and what it never overwrites (issue 10, points 12 and 14): the loss
report never replaces the input or the output, devices/FIFOs/`-` are written through as
streams, an overwritten file keeps its mode and group, a new one follows the umask, and a
failed run leaves no directory it created."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path
from xml.etree import ElementTree

import pytest

from tests.unit.test_cli_acceptance import CVAT_VIDEO, FIXTURES, assert_clean_error, run_bridge

LABELSTUDIO_NER = FIXTURES / "labelstudio" / "real_ner.json"


def count_cvat_tracks(path: Path) -> int:
    return len(ElementTree.parse(path).getroot().findall("track"))


# -- --report that would overwrite the input or the output ------------------------------


def test_report_equal_to_the_input_is_refused_and_the_input_is_untouched(tmp_path):
    source = tmp_path / "export.json"
    source.write_bytes(LABELSTUDIO_NER.read_bytes())
    before = source.read_bytes()
    done = run_bridge("convert", source, tmp_path / "out.jsonl", "--report", source)
    assert_clean_error(done)
    assert "--report" in done.stderr and "input" in done.stderr
    assert source.read_bytes() == before
    assert not (tmp_path / "out.jsonl").exists()


def test_report_naming_the_input_another_way_is_refused(tmp_path):
    source = tmp_path / "export.json"
    source.write_bytes(LABELSTUDIO_NER.read_bytes())
    (tmp_path / "sub").mkdir()
    link = tmp_path / "link.json"
    link.symlink_to(source)
    hard = tmp_path / "hard.json"
    os.link(source, hard)
    for spelling in (tmp_path / "sub" / ".." / "export.json", link, hard):
        done = run_bridge("convert", source, tmp_path / "out.jsonl", "--report", spelling)
        assert_clean_error(done)
    assert source.read_bytes() == LABELSTUDIO_NER.read_bytes()


def test_report_equal_to_the_output_is_refused(tmp_path):
    target = tmp_path / "out.jsonl"
    done = run_bridge("convert", CVAT_VIDEO, target, "--report", target)
    assert_clean_error(done)
    assert "output" in done.stderr
    assert not target.exists()


# -- outputs that are not regular files --------------------------------------------------


def test_dash_writes_the_output_to_stdout_and_the_report_to_stderr(tmp_path):
    done = run_bridge("convert", CVAT_VIDEO, "-o", "-", "--to", "cvat", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    root = ElementTree.fromstring(done.stdout)  # stdout holds the XML and nothing else
    assert len(root.findall("track")) == count_cvat_tracks(CVAT_VIDEO)
    assert "wrote standard output" in done.stderr
    assert list(tmp_path.iterdir()) == []  # no file named "-"


def test_dash_carries_the_loss_report_on_stderr_only(tmp_path):
    done = run_bridge("convert", CVAT_VIDEO, "-o", "-", "--to", "labelstudio", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    tasks = json.loads(done.stdout)
    assert len(tasks) == 1
    assert "loss report" in done.stderr and "loss report" not in done.stdout


def test_dash_without_a_format_asks_for_one(tmp_path):
    done = run_bridge("convert", CVAT_VIDEO, "-o", "-", cwd=tmp_path)
    assert_clean_error(done)
    assert "--to" in done.stderr and done.stdout == ""


def test_a_fifo_is_written_through_and_stays_a_fifo(tmp_path):
    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)
    received = {}

    def read():
        with open(fifo, "rb") as handle:
            received["data"] = handle.read()

    reader = threading.Thread(target=read)
    reader.start()
    done = run_bridge("convert", CVAT_VIDEO, fifo, "--to", "jsonl")
    reader.join(timeout=60)
    assert done.returncode == 0, done.stderr
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    lines = received["data"].splitlines()
    assert json.loads(lines[0])["format"] == "bridge-jsonl" and len(lines) == 2
    assert [p.name for p in tmp_path.iterdir()] == ["pipe.jsonl"]  # no temporary file


@pytest.mark.skipif(os.geteuid() != 0, reason="creating a device node needs root")
def test_a_character_device_stays_a_device(tmp_path):
    """As root, a device output (/dev/null) was replaced by a regular file. The test writes
    to its own copy of /dev/null (never the real one: a regression would replace it)."""
    device = tmp_path / "null"
    os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    try:
        with open(device, "wb") as handle:
            handle.write(b"x")
    except PermissionError:
        pytest.skip("the temporary directory is mounted nodev")
    done = run_bridge("convert", CVAT_VIDEO, device, "--to", "jsonl")
    assert done.returncode == 0, done.stderr
    after = os.lstat(device)
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == os.makedev(1, 3)
    assert [p.name for p in tmp_path.iterdir()] == ["null"]


def test_a_descriptor_path_writes_to_the_descriptor_and_keeps_an_append(tmp_path):
    """`/dev/fd/1` (like `/dev/stdout`) is written where standard output points, without
    truncating it: `>> log` keeps the log. (The test names /dev/fd/1, not /dev/stdout: a
    regression must not be able to replace a file under the real /dev.)"""
    log = tmp_path / "log.txt"
    log.write_text("earlier line\n")
    with open(log, "ab") as appended:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "bridge.cli",
                "convert",
                str(CVAT_VIDEO),
                "/dev/fd/1",
                "--to",
                "jsonl",
            ],
            stdout=appended,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    assert done.returncode == 0, done.stderr
    first, header, item = log.read_text().splitlines()
    assert first == "earlier line" and json.loads(header)["format"] == "bridge-jsonl"
    assert json.loads(item)["key"]


def test_a_symlink_output_keeps_the_link_and_replaces_its_target(tmp_path):
    real = tmp_path / "real.jsonl"
    real.write_text("old")
    link = tmp_path / "link.jsonl"
    link.symlink_to(real)
    done = run_bridge("convert", CVAT_VIDEO, link)
    assert done.returncode == 0, done.stderr
    assert link.is_symlink() and real.read_bytes().startswith(b'{"format":"bridge-jsonl"')


# -- modes, groups, directories ----------------------------------------------------------


def test_an_overwritten_file_keeps_its_mode(tmp_path):
    target = tmp_path / "out.jsonl"
    target.write_text("old")
    target.chmod(0o640)
    done = run_bridge("convert", CVAT_VIDEO, target)
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert target.read_bytes().startswith(b'{"format":"bridge-jsonl"')


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_a_new_file_gets_the_mode_the_umask_gives(tmp_path, umask):
    target = tmp_path / "out.json"
    done = subprocess.run(
        [sys.executable, "-m", "bridge.cli", "convert", str(CVAT_VIDEO), str(target)],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=lambda: os.umask(umask),
    )
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask


@pytest.mark.skipif(os.geteuid() != 0, reason="setting another group needs root")
def test_an_overwritten_file_keeps_its_owner_and_group(tmp_path):
    target = tmp_path / "out.jsonl"
    target.write_text("old")
    os.chown(target, 4321, 1234)
    target.chmod(0o664)
    done = run_bridge("convert", CVAT_VIDEO, target)
    assert done.returncode == 0, done.stderr
    info = target.stat()
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (4321, 1234, 0o664)


def bad_jsonl(tmp_path) -> Path:
    """A unified JSONL file whose second item line is broken."""
    path = tmp_path / "bad.jsonl"
    item = {"key": "a", "media": {"kind": "image"}}
    path.write_text(
        json.dumps({"format": "bridge-jsonl", "version": 1, "project": {"name": "p"}})
        + "\n"
        + json.dumps(item)
        + "\n"
        + '{"key": 5, "media": 3}\n'
    )
    return path


@pytest.mark.parametrize("suffix", [".json", ".jsonl", ".xml", ".ndjson"])
def test_invalid_input_leaves_no_output_directory(tmp_path, suffix):
    source = bad_jsonl(tmp_path)
    target = tmp_path / "new" / "deeper" / f"out{suffix}"
    done = run_bridge("convert", source, target)
    assert_clean_error(done)
    assert "bad.jsonl:3" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.jsonl"]


def test_a_directory_that_already_existed_is_kept_after_a_failure(tmp_path):
    source = bad_jsonl(tmp_path)
    (tmp_path / "kept").mkdir()
    done = run_bridge("convert", source, tmp_path / "kept" / "new" / "out.json")
    assert_clean_error(done)
    assert (tmp_path / "kept").is_dir() and list((tmp_path / "kept").iterdir()) == []


def test_missing_output_directories_are_created_when_the_input_is_good(tmp_path):
    target = tmp_path / "a" / "b" / "out.json"
    done = run_bridge("convert", CVAT_VIDEO, target)
    assert done.returncode == 0, done.stderr
    assert json.loads(target.read_text())[0]["annotations"]
