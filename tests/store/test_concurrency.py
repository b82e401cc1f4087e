"""Two real processes on one workspace (SQLite and PostgreSQL): concurrent pulls give a
consistent result, and a target's lock is held across processes (the second waits or
gets `WorkspaceBusy` naming the holder; a killed holder's lock is taken over)."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import threading
import time

import pytest

from bridge.api import open_dataset
from bridge.store import MatchRule, SourceSpec, TargetRef, WorkspaceBusy, open_workspace
from tests.store.data import make_items, write_jsonl

SPAWN = multiprocessing.get_context("spawn")
TARGET = TargetRef("labelstudio", "127.0.0.1:8080", "12")


def _pull_worker(location, path, name, barrier, results):
    barrier.wait(timeout=60)
    with open_workspace(location) as ws:  # both may create the schema at once
        result = ws.pull(
            open_dataset(path), SourceSpec(name), MatchRule.parse("key"), batch_size=40
        )
    results.put((name, result.as_dict()))


def _run_pulls(location, jobs):
    barrier = SPAWN.Barrier(len(jobs))
    results = SPAWN.Queue()
    processes = [
        SPAWN.Process(target=_pull_worker, args=(location, str(path), name, barrier, results))
        for path, name in jobs
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=300)
    assert [p.exitcode for p in processes] == [0] * len(jobs)
    return [results.get(timeout=5) for _ in jobs]


def _check_sqlite_integrity(location):
    if location.startswith("postgresql"):
        return
    conn = sqlite3.connect(location)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()


def test_two_processes_pulling_two_sources_into_one_new_workspace(workspace_url, tmp_path):
    a = write_jsonl(tmp_path / "a.jsonl", make_items(300, annotator="a@x.org"))
    b = write_jsonl(tmp_path / "b.jsonl", make_items(300, annotator="b@x.org", start=150))
    results = dict(_run_pulls(workspace_url, [(a, "a"), (b, "b")]))
    # by construction: keys 0..299 from a, 150..449 from b; 150..299 in both
    assert results["a"]["created"]["items"] + results["b"]["created"]["items"] == 450
    assert results["a"]["matched"]["items"] + results["b"]["matched"]["items"] == 150
    with open_workspace(workspace_url) as ws:
        stored = list(ws.iter_items())
        counts = ws.counts()
    assert len(stored) == 450 and counts["annotation_sets"] == 600
    assert len({s.match for s in stored}) == 450
    for entry in stored:
        index = int(entry.match[4:7])
        expected = (["a"] if index < 300 else []) + (["b"] if index >= 150 else [])
        assert sorted(s.source for s in entry.sets) == expected, entry.match
    _check_sqlite_integrity(workspace_url)


def test_two_processes_pulling_the_same_source_do_not_duplicate(workspace_url, tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", make_items(200))
    results = [r for _, r in _run_pulls(workspace_url, [(path, "same"), (path, "same")])]
    created = sorted(r["created"]["items"] for r in results)
    unchanged = sorted(r["unchanged"]["items"] for r in results)
    assert created == [0, 200] and unchanged == [0, 200]
    with open_workspace(workspace_url) as ws:
        assert ws.counts() == {
            "items": 200,
            "annotation_sets": 200,
            "disappeared_items": 0,
            "disappeared_annotation_sets": 0,
        }
    _check_sqlite_integrity(workspace_url)


def _holder(location, ready, release):
    with open_workspace(location) as ws, ws.lock(TARGET):
        ready.set()
        release.wait(timeout=60)


def test_a_second_locker_gets_workspace_busy_naming_the_holder(workspace_url):
    open_workspace(workspace_url).close()
    ready, release = SPAWN.Event(), SPAWN.Event()
    holder = SPAWN.Process(target=_holder, args=(workspace_url, ready, release))
    holder.start()
    try:
        assert ready.wait(timeout=60)
        with open_workspace(workspace_url) as ws:
            started = time.monotonic()
            with pytest.raises(WorkspaceBusy) as caught, ws.lock(TARGET, timeout=0.5):
                pass
            assert time.monotonic() - started >= 0.5
            assert f"process {holder.pid} on " in caught.value.message
            # another target is free meanwhile
            with ws.lock(TargetRef("labelstudio", "127.0.0.1:8080", "13"), timeout=0.5):
                pass
            # the second waits: released after 1 s, taken within the timeout
            waiter_started = time.monotonic()
            threading.Timer(1.0, release.set).start()
            with ws.lock(TARGET, timeout=30):
                waited = time.monotonic() - waiter_started
            assert waited >= 0.9
    finally:
        release.set()
        holder.join(timeout=30)
    assert holder.exitcode == 0


def _holder_forever(location, ready):
    with open_workspace(location) as ws, ws.lock(TARGET):
        ready.set()
        time.sleep(600)


def test_the_lock_of_a_killed_holder_is_taken_over(workspace_url):
    open_workspace(workspace_url).close()
    ready = SPAWN.Event()
    holder = SPAWN.Process(target=_holder_forever, args=(workspace_url, ready))
    holder.start()
    assert ready.wait(timeout=60)
    with open_workspace(workspace_url) as ws:
        with pytest.raises(WorkspaceBusy), ws.lock(TARGET, timeout=0.2):
            pass
        os.kill(holder.pid, signal.SIGKILL)
        holder.join(timeout=30)
        # SQLite: the dead holder's row must be taken over at the first look (no wait at
        # all, not a clock reading); PostgreSQL: the server frees the advisory lock once it
        # sees the connection close, which may take a moment after the kill.
        with ws.lock(TARGET, timeout=0 if ws.dialect == "sqlite" else 10):
            pass
