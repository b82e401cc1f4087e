"""Check the Label Studio test harness itself: auth, a bulk-import round trip, loopback bind."""

from __future__ import annotations

import socket

import httpx
import pytest

from tests.support.labelstudio_server import CI_EMAIL, LabelStudioServer

BBOX_CONFIG = """<View>
  <Image name="image" value="$image"/>
  <RectangleLabels name="label" toName="image">
    <Label value="Car"/><Label value="Person"/>
  </RectangleLabels>
</View>"""

BOX_RESULT = [
    {
        "id": "r0",
        "from_name": "label",
        "to_name": "image",
        "type": "rectanglelabels",
        "original_width": 640,
        "original_height": 480,
        "image_rotation": 0,
        "value": {
            "x": 10.0,
            "y": 20.0,
            "width": 30.0,
            "height": 40.0,
            "rotation": 0,
            "rectanglelabels": ["Car"],
        },
    }
]


def test_token_authenticates_as_ci_user(ls_client: httpx.Client) -> None:
    resp = ls_client.get("/api/current-user/whoami")
    assert resp.status_code == 200, resp.text
    assert resp.json()["email"] == CI_EMAIL


def test_request_without_token_is_rejected(ls_server: LabelStudioServer) -> None:
    resp = httpx.get(f"{ls_server.url}/api/current-user/whoami", timeout=30)
    assert resp.status_code == 401, resp.text


def test_bulk_import_with_inline_annotation_round_trips(ls_client: httpx.Client) -> None:
    resp = ls_client.post("/api/projects", json={"title": "harness", "label_config": BBOX_CONFIG})
    assert resp.status_code == 201, resp.text
    project_id = resp.json()["id"]

    tasks = [
        {"data": {"image": f"https://example.invalid/img/{i}.jpg"}, "meta": {"ext_id": f"img-{i}"}}
        for i in range(3)
    ]
    tasks[0]["annotations"] = [{"result": BOX_RESULT, "lead_time": 3}]
    resp = ls_client.post(
        f"/api/projects/{project_id}/import", params={"return_task_ids": "true"}, json=tasks
    )
    assert resp.status_code == 201, resp.text
    assert resp.json()["task_count"] == 3
    assert resp.json()["annotation_count"] == 1

    resp = ls_client.get("/api/tasks", params={"project": project_id, "fields": "all"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["total"] == 3
    got = sorted(resp.json()["tasks"], key=lambda t: t["meta"]["ext_id"])
    assert [t["data"]["image"] for t in got] == [t["data"]["image"] for t in tasks]
    assert [len(t["annotations"]) for t in got] == [1, 0, 0]
    assert got[0]["annotations"][0]["result"] == BOX_RESULT


def non_loopback_ipv4() -> str | None:
    """One of this machine's non-loopback IPv4 addresses, or None (no packet is sent)."""
    candidates = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("198.51.100.1", 9))  # UDP connect only picks a route
            candidates.append(sock.getsockname()[0])
        except OSError:
            pass
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
        candidates += [info[4][0] for info in infos]
    except OSError:
        pass
    return next((a for a in candidates if not a.startswith(("127.", "0."))), None)


def test_server_listens_on_loopback_only(ls_server: LabelStudioServer) -> None:
    addr = non_loopback_ipv4()
    if addr is None:
        pytest.skip("this machine has no non-loopback IPv4 address")
    socket.create_connection(("127.0.0.1", ls_server.port), timeout=5).close()
    with pytest.raises(OSError):
        socket.create_connection((addr, ls_server.port), timeout=5).close()
