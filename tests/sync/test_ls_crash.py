"""Crash safety on a real Label Studio server: a push of 2,000 tasks is SIGKILLed at 6
points (3 right after a batch was created remotely and before its links were recorded,
through the test hook BRIDGE_TEST_CRASH_AFTER; 3 at random moments: once the server holds a
random number of new tasks, whatever the process is doing then), rerun each time; in the end
the project holds every task exactly once with its annotation, and one more run sends
nothing. Between attempts the project's task counter (one request) checks for duplicates;
the full listing runs once, at the end."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable

import httpx

from tests.sync.conftest import bridge_json
from tests.sync.test_ls_sync import CONFIG, box, url, zero_changes

TASKS = 2000


def source_file(path, count: int = TASKS) -> None:
    """A Label Studio JSON export of `count` tasks, one annotation each (a box at x = i % 90)."""
    tasks = [
        {
            "id": i + 1,
            "data": {"image": f"https://example.invalid/crash/{i}.jpg"},
            "annotations": [
                {"id": i + 1, "result": [box(f"r{i}", "Car", float(i % 90))], "ground_truth": False}
            ],
        }
        for i in range(count)
    ]
    path.write_text(json.dumps(tasks))


def run(args: list[str], env: dict[str, str], kill_when: Callable[[], bool] | None) -> int:
    """Run `bridge ARGS`; SIGKILL it as soon as `kill_when()` is true (polled every 50 ms)."""
    child = subprocess.Popen(
        [sys.executable, "-m", "bridge.cli", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    if kill_when is not None:
        while child.poll() is None:
            if kill_when():
                child.send_signal(signal.SIGKILL)
                break
            time.sleep(0.05)
    _, err = child.communicate(timeout=300)
    assert child.returncode in (0, -signal.SIGKILL), err[-3000:]
    return child.returncode


def task_count(client: httpx.Client, pid: int) -> int:
    """How many tasks the project holds now (one cheap request)."""
    return int(client.get(f"/api/projects/{pid}").json()["task_number"])


def tasks_of(client: httpx.Client, pid: int) -> list[dict]:
    found, page = [], 1
    while True:
        r = client.get(
            "/api/tasks", params={"project": pid, "page": page, "page_size": 500, "fields": "all"}
        )
        if r.status_code == 404:
            return found
        body = r.json()
        found.extend(body["tasks"])
        if len(found) >= body["total"] or not body["tasks"]:
            return found
        page += 1


def test_push_killed_six_times_ends_with_every_task_once(ls_server, tmp_path):
    headers = {"Authorization": f"Token {ls_server.token}"}
    client = httpx.Client(base_url=ls_server.url, headers=headers, timeout=120)
    pid = client.post(
        "/api/projects/", json={"title": "crash target", "label_config": CONFIG}
    ).json()["id"]
    source = tmp_path / "source.json"
    source_file(source)
    ws = str(tmp_path / "ws.db")
    args = ["migrate", str(source), url(ls_server, pid), "-w", ws, "-O", "batch_size=100"]
    env = {**os.environ, "LABEL_STUDIO_API_KEY": ls_server.token}
    rng = random.Random(12)
    killed = 0
    for attempt in range(6):
        if attempt % 2 == 0:  # between "created remotely" and "recorded locally"
            code = run(args, {**env, "BRIDGE_TEST_CRASH_AFTER": str(rng.randint(1, 3))}, None)
        else:  # a random moment: once the server holds 1 to 150 more tasks than before
            goal = task_count(client, pid) + rng.randint(1, 150)
            code = run(args, env, lambda goal=goal: task_count(client, pid) >= goal)
        killed += code == -signal.SIGKILL
        held = task_count(client, pid)  # a duplicate shows in the count
        assert held <= TASKS, f"after attempt {attempt}: {held} tasks (duplicates)"
    assert killed >= 5, "the runs were expected to be killed"
    assert run(args, env, None) == 0

    tasks = tasks_of(client, pid)
    images = [t["data"]["image"] for t in tasks]
    assert len(images) == TASKS and len(set(images)) == TASKS
    for task in tasks:
        i = int(task["data"]["image"].rsplit("/", 1)[1].split(".")[0])
        assert [[r["value"]["x"] for r in a["result"]] for a in task["annotations"]] == [
            [float(i % 90)]
        ]
    again = bridge_json(*args, token=ls_server.token)
    assert zero_changes(again)
    assert again["plan"]["unchanged"]["item"] == TASKS
    client.close()


def test_two_concurrent_pushes_to_one_target_send_everything_once(ls_server, tmp_path):
    count = 300
    headers = {"Authorization": f"Token {ls_server.token}"}
    client = httpx.Client(base_url=ls_server.url, headers=headers, timeout=120)
    pid = client.post(
        "/api/projects/", json={"title": "two at once", "label_config": CONFIG}
    ).json()["id"]
    source = tmp_path / "source.json"
    source_file(source, count)
    ws = str(tmp_path / "ws.db")
    env = {**os.environ, "LABEL_STUDIO_API_KEY": ls_server.token}
    pulled = subprocess.run(
        [sys.executable, "-m", "bridge.cli", "pull", str(source), "-w", ws],
        env=env,
        capture_output=True,
        text=True,
    )
    assert pulled.returncode == 0, pulled.stderr
    args = [
        sys.executable,
        "-m",
        "bridge.cli",
        "push",
        url(ls_server, pid),
        "-w",
        ws,
        "--json",
        "-O",
        "batch_size=50",
    ]
    children = [
        subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    results = []
    for child in children:
        out, err = child.communicate(timeout=300)
        assert child.returncode == 0, err[-3000:]
        results.append(json.loads(out))
    created = sorted(r["applied"]["create"]["item"] for r in results)
    assert created == [0, count]  # the lock made the second wait; then it found nothing to send
    tasks = tasks_of(client, pid)
    assert len(tasks) == count and len({t["data"]["image"] for t in tasks}) == count
    client.close()
