"""A push to `labelstudio://HOST` (no project id) killed right after creating its project,
before recording it, does not create a second project on the rerun: the project's
description carries a reconciliation marker the rerun looks up (real Label Studio server;
killed through the test hook BRIDGE_TEST_CRASH_AT=project-created)."""

from __future__ import annotations

import os
import signal

import httpx

from tests.sync.conftest import bridge, bridge_json
from tests.sync.test_ls_crash import source_file, tasks_of
from tests.sync.test_ls_sync import url, zero_changes

COUNT = 20


def project_ids(client: httpx.Client) -> set[int]:
    body = client.get("/api/projects/", params={"page_size": 1000}).json()
    return {project["id"] for project in body["results"]}


def test_a_push_killed_after_creating_its_project_reuses_it(ls_server, tmp_path):
    headers = {"Authorization": f"Token {ls_server.token}"}
    client = httpx.Client(base_url=ls_server.url, headers=headers, timeout=120)
    source = tmp_path / "source.json"
    source_file(source, COUNT)
    ws = str(tmp_path / "ws.db")
    args = ["migrate", str(source), url(ls_server), "-w", ws]
    before = project_ids(client)

    killed = bridge(*args, token=ls_server.token, env={"BRIDGE_TEST_CRASH_AT": "project-created"})
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    created = project_ids(client) - before
    assert len(created) == 1  # the project exists remotely, unrecorded locally
    (orphan,) = created
    assert tasks_of(client, orphan) == []

    env = {k: v for k, v in os.environ.items() if k != "BRIDGE_TEST_CRASH_AT"}
    rerun = bridge_json(*args, token=ls_server.token, env=env)
    assert project_ids(client) - before == {orphan}  # no second project
    assert rerun["target"]["remote_project"] == str(orphan)
    assert rerun["applied"]["create"]["item"] == COUNT
    images = [task["data"]["image"] for task in tasks_of(client, orphan)]
    assert len(images) == COUNT and len(set(images)) == COUNT

    again = bridge_json(*args, token=ls_server.token)
    assert zero_changes(again)
    assert project_ids(client) - before == {orphan}
    client.close()
