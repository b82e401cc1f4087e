"""A run stopped by a signal leaves no temporary file (issue 10, point 13): SIGTERM and
SIGINT remove the hidden `.NAME.*.label-bridge.tmp` file and exit with 128 + the signal's
number; what a SIGKILL leaves is removed by the next run into the same directory once it
is an hour old and no process holds it."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bridge.io import TEMP_SUFFIX, remove_stale_temporaries
from tests.unit.test_cli_acceptance import CVAT_VIDEO, run_bridge

ITEM = (
    '{"key":"img%d.png","media":{"kind":"image","uri":"https://example.com/img%d.png",'
    '"width":100,"height":80},"annotation_sets":[{"id":"1","regions":[{"id":"r1",'
    '"label":"car","shape":{"type":"bbox","x":1,"y":2,"width":30,"height":20}}]}]}\n'
)


@pytest.fixture(scope="module")
def big_input(tmp_path_factory) -> Path:
    """A unified JSONL file of 100,000 items (24 MB): converting it takes seconds."""
    path = tmp_path_factory.mktemp("big") / "big.jsonl"
    with open(path, "w") as handle:
        handle.write('{"format":"bridge-jsonl","version":1,"project":{"name":"p"}}\n')
        handle.writelines(ITEM % (i, i) for i in range(100_000))
    return path


def hidden(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


def start_and_signal(source: Path, target: Path, signum: int) -> subprocess.CompletedProcess:
    """Start a conversion, wait until its temporary output file exists (the write has
    begun), then send `signum`."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bridge.cli", "convert", str(source), str(target)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not hidden(target.parent):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the conversion never started writing"
        time.sleep(0.02)
    time.sleep(0.3)  # well inside the write
    assert process.poll() is None, "finished before the signal: make the input bigger"
    process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=120)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


@pytest.mark.parametrize(
    ("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130), (signal.SIGHUP, 129)]
)
@pytest.mark.parametrize("target", ["out.json", "out.jsonl"])
def test_a_signal_mid_write_removes_the_temporary_file(tmp_path, big_input, signum, code, target):
    outdir = tmp_path / "out"
    outdir.mkdir()
    done = start_and_signal(big_input, outdir / target, signum)
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr
    assert f"interrupted by {signal.Signals(signum).name}" in done.stderr
    assert list(outdir.iterdir()) == []  # neither the output nor a temporary file


def make_temporary(directory: Path, name: str, age: float) -> Path:
    path = directory / name
    path.write_bytes(b"half a file")
    then = time.time() - age
    os.utime(path, (then, then))
    return path


def test_stale_temporary_files_are_removed_by_the_next_run_into_the_directory(tmp_path):
    hour = 3600
    stale = make_temporary(tmp_path, f".out.jsonl.k3j4h5g6{TEMP_SUFFIX}", 2 * hour)
    other = make_temporary(tmp_path, f".tasks.json.a1b2c3d4{TEMP_SUFFIX}", 30 * hour)
    fresh = make_temporary(tmp_path, f".out.jsonl.zz99yy88{TEMP_SUFFIX}", 60)
    foreign = make_temporary(tmp_path, ".out.jsonl.k3j4h5g6.tmp", 2 * hour)  # not ours
    visible = make_temporary(tmp_path, f"notes{TEMP_SUFFIX}", 2 * hour)  # not hidden
    held = make_temporary(tmp_path, f".big.json.q1w2e3r4{TEMP_SUFFIX}", 2 * hour)
    (tmp_path / f".dir.x{TEMP_SUFFIX}").mkdir()
    old = time.time() - 2 * hour
    os.utime(tmp_path / f".dir.x{TEMP_SUFFIX}", (old, old))
    with open(held, "rb") as handle:  # a live writer holds its temporary file locked
        fcntl.flock(handle, fcntl.LOCK_EX)
        done = run_bridge("convert", CVAT_VIDEO, tmp_path / "out.jsonl")
        assert done.returncode == 0, done.stderr
        assert held.exists()
    assert not stale.exists() and not other.exists()
    for kept in (fresh, foreign, visible, tmp_path / f".dir.x{TEMP_SUFFIX}"):
        assert kept.exists(), kept
    assert (tmp_path / "out.jsonl").read_bytes().startswith(b'{"format":"bridge-jsonl"')


def test_what_a_sigkill_leaves_is_removed_an_hour_later(tmp_path, big_input):
    outdir = tmp_path / "out"
    outdir.mkdir()
    done = start_and_signal(big_input, outdir / "out.json", signal.SIGKILL)
    assert done.returncode == -signal.SIGKILL
    left = hidden(outdir)
    assert len(left) == 1 and left[0].endswith(TEMP_SUFFIX)  # documented: SIGKILL leaves it
    assert remove_stale_temporaries(outdir) == 0  # too young to be called stale
    old = time.time() - 2 * 3600
    os.utime(outdir / left[0], (old, old))
    done = run_bridge("convert", CVAT_VIDEO, outdir / "other.jsonl")
    assert done.returncode == 0, done.stderr
    assert hidden(outdir) == []
