"""`bridge inspect` and `bridge convert` on a live Label Studio server, as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import httpx
import pytest
from bridge_labelstudio.api import LabelStudioApi
from pydantic import SecretStr

from tests.support.labelstudio_server import CI_EMAIL

CONFIG = """<View><Image name="image" value="$image"/>
<RectangleLabels name="box" toName="image"><Label value="Car"/><Label value="Person"/></RectangleLabels>
</View>"""


def box(rid: str, label: str, x: float) -> dict:
    return {
        "id": rid,
        "from_name": "box",
        "to_name": "image",
        "type": "rectanglelabels",
        "original_width": 640,
        "original_height": 480,
        "value": {
            "x": x,
            "y": 10.0,
            "width": 20.0,
            "height": 30.0,
            "rotation": 0,
            "rectanglelabels": [label],
        },
    }


def bridge(*args: str, token: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "LABEL_STUDIO_API_KEY": token, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "bridge.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def project(ls_server) -> int:
    """A project with 3 tasks: 2 annotated (3 boxes), one with a prediction."""
    with LabelStudioApi(ls_server.url, SecretStr(ls_server.token)) as api:
        pid = api.create_project("cli source", CONFIG)["id"]
        api.import_tasks(
            pid,
            [
                {
                    "data": {"image": "https://example.invalid/a.jpg"},
                    "annotations": [
                        {
                            "result": [box("a1", "Car", 5), box("a2", "Person", 50)],
                            "ground_truth": False,
                        }
                    ],
                },
                {
                    "data": {"image": "https://example.invalid/b.jpg"},
                    "annotations": [{"result": [box("b1", "Car", 15)], "ground_truth": False}],
                    "predictions": [
                        {"result": [box("p1", "Car", 16)], "score": 0.5, "model_version": "m"}
                    ],
                },
                {"data": {"image": "https://example.invalid/c.jpg"}},
            ],
        )
    return pid


def test_ls_live_cli_inspect_and_convert_both_ways(ls_server, project, tmp_path):
    host = ls_server.url.split("://", 1)[1]
    source = f"labelstudio://{host}/projects/{project}"
    shown = bridge("inspect", source, "--json", token=ls_server.token)
    assert shown.returncode == 0, shown.stderr
    summary = json.loads(shown.stdout)
    assert summary["items"] == 3 and summary["annotation_sets"] == 3
    assert summary["regions"] == {"bbox": 4} and summary["labels"] == {"Car": 3, "Person": 1}
    assert summary["annotators"] == [CI_EMAIL] and summary["project"] == "cli source"

    out = tmp_path / "out.jsonl"
    pulled = bridge("convert", source, "-o", str(out), token=ls_server.token)
    assert pulled.returncode == 0, pulled.stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert lines[0]["format"] == "bridge-jsonl" and len(lines) == 4
    assert [line["key"] for line in lines[1:]] == [
        f"https://example.invalid/{name}.jpg" for name in "abc"
    ]

    with LabelStudioApi(ls_server.url, SecretStr(ls_server.token)) as api:
        before = {p["id"] for p in api.list_projects()}
    pushed = bridge(
        "convert",
        str(out),
        "-o",
        f"labelstudio://{host}",
        "--to",
        "labelstudio",
        token=ls_server.token,
    )
    assert pushed.returncode == 0, pushed.stderr
    with LabelStudioApi(ls_server.url, SecretStr(ls_server.token)) as api:
        (new_id,) = {p["id"] for p in api.list_projects()} - before
    again = bridge(
        "inspect", f"labelstudio://{host}/projects/{new_id}", "--json", token=ls_server.token
    )
    copy = json.loads(again.stdout)
    assert {k: v for k, v in copy.items() if k != "project"} == {
        k: v for k, v in summary.items() if k != "project"
    }


def test_ls_live_cli_bad_token_exits_3_without_printing_it(ls_server, project):
    host = ls_server.url.split("://", 1)[1]
    secret = "wrong0123456789abcdef0123456789abcd"
    run = bridge("inspect", f"labelstudio://{host}/projects/{project}", token=secret)
    assert run.returncode == 3
    assert "refused the credentials" in run.stderr
    assert secret not in run.stderr + run.stdout


def test_ls_live_cli_missing_project_exits_4(ls_server):
    host = ls_server.url.split("://", 1)[1]
    run = bridge("inspect", f"labelstudio://{host}/projects/9999", token=ls_server.token)
    assert run.returncode == 4, run.stderr
    assert "/api/projects/9999/" in run.stderr


def test_ls_live_personal_access_token_works_and_is_refreshed(ls_server):
    """Mint a PAT (JWT) with the legacy token, then use it: exchanged for an access token."""
    headers = {"Authorization": f"Token {ls_server.token}"}
    with httpx.Client(base_url=ls_server.url, headers=headers, timeout=60) as client:
        minted = client.post("/api/token/", json={})
        if minted.status_code == 409:
            pytest.skip("the CI user already has a personal access token")
        assert minted.status_code == 201, minted.text
        pat = minted.json()["token"]
        try:
            with LabelStudioApi(ls_server.url, SecretStr(pat)) as api:
                assert api.whoami()["email"] == CI_EMAIL
                first = api._auth.current()
                assert api._auth.current(force=True) != first, "a second refresh mints anew"
                assert api.whoami()["email"] == CI_EMAIL
        finally:
            client.post("/api/token/blacklist/", json={"refresh": pat})
