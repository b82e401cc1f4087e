"""`bridge convert` (a real CLI process) against the misbehaving server: a stalled
download, a push redirected to another host and a server asking to wait for ever each
end the run quickly with exit code 5 and a short message, without the token."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from tests.support.fake_server import FakeServer

from .flows import LS_EXPORT, LS_TOKEN, FakeLabelStudio


def bridge(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "LABEL_STUDIO_API_KEY": LS_TOKEN}
    return subprocess.run(
        [sys.executable, "-m", "bridge.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def assert_remote_error(done: subprocess.CompletedProcess, *phrases: str) -> None:
    assert done.returncode == 5, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    assert LS_TOKEN not in done.stderr + done.stdout
    for phrase in phrases:
        assert phrase in done.stderr, done.stderr


def test_cli_pull_with_a_stalled_download_ends_at_the_deadline(tmp_path):
    out = tmp_path / "out.jsonl"
    with FakeServer(FakeLabelStudio()) as server:
        server.fault(
            "drip", when=lambda request: request.url.path.endswith("/download"), interval=0.2
        )
        started = time.monotonic()
        done = bridge(
            "convert",
            f"labelstudio://{server.host}/projects/1",
            str(out),
            "-O",
            "http_download_deadline=2",
        )
        elapsed = time.monotonic() - started
    assert_remote_error(done, "did not answer completely within 2 s", "/download")
    assert elapsed < 60
    assert not out.exists()


def test_cli_push_redirected_to_another_host_sends_it_nothing(tmp_path):
    source = tmp_path / "export.json"
    source.write_text(json.dumps(LS_EXPORT))
    with FakeServer(FakeLabelStudio()) as server, FakeServer() as evil:
        server.fault(
            "redirect",
            when=lambda request: request.url.path.endswith("/import"),
            status=307,
            location=f"{evil.url}/collect",
        )
        done = bridge("convert", str(source), f"labelstudio://{server.host}/projects/1")
    assert_remote_error(done, "another origin")
    assert evil.requests == []


def test_cli_a_server_asking_to_wait_a_billion_seconds_gets_an_error(tmp_path):
    with FakeServer(FakeLabelStudio()) as server:
        server.fault("retry_after", on=1, status=503, value="1000000000")
        started = time.monotonic()
        done = bridge(
            "convert", f"labelstudio://{server.host}/projects/1", str(tmp_path / "o.jsonl")
        )
    assert_remote_error(done, "asks to wait 1000000000 s")
    assert time.monotonic() - started < 60
