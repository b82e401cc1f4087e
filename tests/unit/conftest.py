"""Fixtures shared by the CLI tests."""

from __future__ import annotations

import signal
import sys

import pytest

from bridge import cli


@pytest.fixture
def in_process(monkeypatch, capsys):
    """Run `cli.main()` in this process with the given arguments; the signal handlers it
    installs are put back afterwards."""
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}

    def run(*args):
        monkeypatch.setattr(sys, "argv", ["bridge", *map(str, args)])
        with pytest.raises(SystemExit) as stop:
            cli.main()
        return stop.value.code, capsys.readouterr()

    yield run
    for signum, handler in saved.items():
        signal.signal(signum, handler)
