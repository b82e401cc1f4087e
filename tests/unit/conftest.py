"""Fixtures shared by the CLI and plugin tests."""

from __future__ import annotations

import signal
import sys

import pytest

from bridge import cli, plugins


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


@pytest.fixture
def plugged():
    """`plugged(plugin, name)` registers a plugin object with the plugin manager and gives
    the refreshed registry; every plugin registered so is unregistered after the test."""
    added = []

    def plug(plugin, name):
        plugins.pm.register(plugin, name=name)
        added.append(plugin)
        return plugins.registry(refresh=True)

    yield plug
    for plugin in added:
        plugins.pm.unregister(plugin)
    plugins.registry(refresh=True)
