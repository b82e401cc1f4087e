"""Sync against a real Label Studio server: migrate LS -> LS and back, reruns send nothing,
an edit in the source sends exactly that annotation, a deletion is reported and sent only
with --delete.

Expected values come from the source project as built here through the API (by
construction), never from label-bridge's own output."""

from __future__ import annotations

import httpx
import pytest

from tests.integration.test_ls_live_cli import CONFIG, box
from tests.sync.conftest import bridge_json

TASKS = 12


@pytest.fixture
def client(ls_server):
    headers = {"Authorization": f"Token {ls_server.token}"}
    with httpx.Client(base_url=ls_server.url, headers=headers, timeout=60) as c:
        yield c


def make_source(client: httpx.Client, title: str) -> int:
    """A project of TASKS images, each with one annotation holding one box at x = 2*i; the
    last task has a second annotation and the first a prediction."""
    pid = client.post("/api/projects/", json={"title": title, "label_config": CONFIG}).json()["id"]
    tasks = []
    for i in range(TASKS):
        task = {
            "data": {"image": f"https://example.invalid/img{i}.jpg"},
            "annotations": [{"result": [box(f"b{i}", "Car", 2.0 * i)], "ground_truth": False}],
        }
        if i == TASKS - 1:
            task["annotations"].append(
                {"result": [box("z", "Person", 70.0)], "ground_truth": False}
            )
        if i == 0:
            task["predictions"] = [
                {"result": [box("p", "Car", 1.0)], "score": 0.25, "model_version": "m1"}
            ]
        tasks.append(task)
    answer = client.post(f"/api/projects/{pid}/import?return_task_ids=true", json=tasks)
    assert answer.status_code == 201, answer.text
    return pid


def content(client: httpx.Client, pid: int) -> dict[str, dict]:
    """image -> sorted annotation results' (label, x) and predictions' (label, x, score)."""
    found = {}
    page = 1
    while True:
        r = client.get(
            "/api/tasks", params={"project": pid, "page": page, "page_size": 100, "fields": "all"}
        )
        if r.status_code == 404:
            break
        body = r.json()
        for task in body["tasks"]:
            anns = sorted(
                tuple(
                    (res["value"]["rectanglelabels"][0], res["value"]["x"]) for res in a["result"]
                )
                for a in task["annotations"]
            )
            preds = sorted(
                tuple(
                    (res["value"]["rectanglelabels"][0], res["value"]["x"], p["score"])
                    for res in p["result"]
                )
                for p in task["predictions"]
            )
            assert task["data"]["image"] not in found, "a task twice"
            found[task["data"]["image"]] = {"annotations": anns, "predictions": preds}
        if len(found) >= body["total"] or not body["tasks"]:
            break
        page += 1
    return found


def url(server, pid: int | None = None) -> str:
    host = server.url.split("://", 1)[1]
    return f"labelstudio://{host}" + (f"/projects/{pid}" if pid else "")


def expected(tasks: int = TASKS) -> dict[str, dict]:
    out = {}
    for i in range(tasks):
        anns = [(("Car", 2.0 * i),)]
        if i == tasks - 1:
            anns.append((("Person", 70.0),))
        preds = [(("Car", 1.0, 0.25),)] if i == 0 else []
        out[f"https://example.invalid/img{i}.jpg"] = {
            "annotations": sorted(anns),
            "predictions": preds,
        }
    return out


def zero_changes(result: dict) -> bool:
    plan = result["plan"]
    return (
        not any(plan[op][kind] for op in ("create", "update", "delete") for kind in plan[op])
        and not plan["conflicts"]
    )


def test_migrate_ls_to_ls_and_back_then_reruns_send_nothing(ls_server, client, tmp_path):
    source = make_source(client, "sync source")
    assert content(client, source) == expected()
    ws = str(tmp_path / "ws.db")
    first = bridge_json(
        "migrate", url(ls_server, source), url(ls_server), "-w", ws, token=ls_server.token
    )
    created = first["plan"]["create"]
    assert created == {"project": 1, "item": TASKS, "annotation_set": TASKS + 2}
    assert first["applied"]["create"] == created
    copy = int(first["target"]["remote_project"])
    assert copy != source
    assert content(client, copy) == expected()

    again = bridge_json(
        "migrate", url(ls_server, source), url(ls_server), "-w", ws, token=ls_server.token
    )
    assert zero_changes(again)
    assert again["plan"]["unchanged"] == {"project": 1, "item": TASKS, "annotation_set": TASKS + 2}
    assert again["target"]["remote_project"] == str(copy)
    assert content(client, copy) == expected()

    # and back: the copy into a third project through another workspace
    ws2 = str(tmp_path / "ws2.db")
    back = bridge_json(
        "migrate", url(ls_server, copy), url(ls_server), "-w", ws2, token=ls_server.token
    )
    third = int(back["target"]["remote_project"])
    assert content(client, third) == expected()
    rerun = bridge_json(
        "migrate", url(ls_server, copy), url(ls_server), "-w", ws2, token=ls_server.token
    )
    assert zero_changes(rerun)


def test_an_edit_sends_exactly_that_annotation_and_a_deletion_needs_delete(
    ls_server, client, tmp_path
):
    source = make_source(client, "sync edit source")
    ws = str(tmp_path / "ws.db")
    first = bridge_json(
        "migrate", url(ls_server, source), url(ls_server), "-w", ws, token=ls_server.token
    )
    copy = int(first["target"]["remote_project"])

    tasks = client.get(
        "/api/tasks", params={"project": source, "page_size": 100, "fields": "all"}
    ).json()["tasks"]
    by_image = {t["data"]["image"]: t for t in tasks}
    edited = by_image["https://example.invalid/img3.jpg"]["annotations"][0]
    r = client.patch(
        f"/api/annotations/{edited['id']}/", json={"result": [box("b3", "Person", 33.0)]}
    )
    assert r.status_code == 200, r.text

    edit = bridge_json(
        "migrate", url(ls_server, source), url(ls_server), "-w", ws, token=ls_server.token
    )
    plan = edit["plan"]
    assert plan["update"] == {"project": 0, "item": 0, "annotation_set": 1}
    assert plan["create"] == {"project": 0, "item": 0, "annotation_set": 0}
    assert plan["unchanged"]["annotation_set"] == TASKS + 1
    assert edit["applied"]["update"]["annotation_set"] == 1
    want = expected()
    want["https://example.invalid/img3.jpg"]["annotations"] = [(("Person", 33.0),)]
    assert content(client, copy) == want

    doomed = by_image["https://example.invalid/img5.jpg"]["annotations"][0]
    assert client.delete(f"/api/annotations/{doomed['id']}/").status_code == 204
    reported = bridge_json(
        "migrate", url(ls_server, source), url(ls_server), "-w", ws, token=ls_server.token
    )
    assert reported["plan"]["delete"]["annotation_set"] == 1
    assert reported["applied"]["delete"]["annotation_set"] == 0
    assert content(client, copy) == want  # still there without --delete

    gone_task = by_image["https://example.invalid/img7.jpg"]["id"]
    assert client.delete(f"/api/tasks/{gone_task}/").status_code == 204
    deleted = bridge_json(
        "migrate",
        url(ls_server, source),
        url(ls_server),
        "-w",
        ws,
        "--delete",
        token=ls_server.token,
    )
    assert deleted["plan"]["delete"] == {"project": 0, "item": 1, "annotation_set": 1}
    assert deleted["applied"]["delete"] == {"project": 0, "item": 1, "annotation_set": 1}
    want["https://example.invalid/img5.jpg"]["annotations"] = []
    del want["https://example.invalid/img7.jpg"]
    assert content(client, copy) == want
    final = bridge_json(
        "migrate",
        url(ls_server, source),
        url(ls_server),
        "-w",
        ws,
        "--delete",
        token=ls_server.token,
    )
    assert zero_changes(final)


def test_as_predictions_sends_pre_annotations_once(ls_server, client, tmp_path):
    source = make_source(client, "sync predictions source")
    ws = str(tmp_path / "ws.db")
    args = (
        "migrate",
        url(ls_server, source),
        url(ls_server),
        "-w",
        ws,
        "--sets",
        "human",
        "--as",
        "predictions",
    )
    first = bridge_json(*args, token=ls_server.token)
    assert first["applied"]["create"] == {"project": 1, "item": TASKS, "annotation_set": TASKS + 1}
    copy = int(first["target"]["remote_project"])
    tasks = client.get(
        "/api/tasks", params={"project": copy, "page_size": 100, "fields": "all"}
    ).json()["tasks"]
    assert len(tasks) == TASKS
    assert all(task["annotations"] == [] for task in tasks)
    versions = {p["model_version"] for task in tasks for p in task["predictions"]}
    assert versions == {"label-bridge"}  # human sets have no model version of their own
    held = content(client, copy)
    for image, want in expected().items():  # the human annotations, now as predictions
        assert [tuple((label, x) for label, x, _ in p) for p in held[image]["predictions"]] == want[
            "annotations"
        ]
    assert zero_changes(bridge_json(*args, token=ls_server.token))


def test_changed_on_both_sides_is_a_conflict_that_prefer_resolves(ls_server, client, tmp_path):
    source = make_source(client, "sync conflict source")
    ws = str(tmp_path / "ws.db")
    first = bridge_json(
        "migrate", url(ls_server, source), url(ls_server), "-w", ws, token=ls_server.token
    )
    copy = int(first["target"]["remote_project"])

    def annotation_on(pid: int, image: str) -> dict:
        tasks = client.get(
            "/api/tasks", params={"project": pid, "page_size": 100, "fields": "all"}
        ).json()["tasks"]
        return next(t for t in tasks if t["data"]["image"] == image)["annotations"][0]

    image = "https://example.invalid/img4.jpg"
    theirs = annotation_on(copy, image)
    assert (
        client.patch(
            f"/api/annotations/{theirs['id']}/", json={"result": [box("t", "Car", 44.0)]}
        ).status_code
        == 200
    )
    ours = annotation_on(source, image)
    assert (
        client.patch(
            f"/api/annotations/{ours['id']}/", json={"result": [box("s", "Car", 55.0)]}
        ).status_code
        == 200
    )

    skipped = bridge_json(
        "migrate", url(ls_server, source), url(ls_server), "-w", ws, token=ls_server.token
    )
    assert [(c["kind"], c["resolution"]) for c in skipped["plan"]["conflicts"]] == [
        ("annotation_set", "skip")
    ]
    assert skipped["applied"]["update"]["annotation_set"] == 0
    assert content(client, copy)[image]["annotations"] == [(("Car", 44.0),)]

    forced = bridge_json(
        "migrate",
        url(ls_server, source),
        url(ls_server),
        "-w",
        ws,
        "--prefer",
        "source",
        token=ls_server.token,
    )
    assert forced["applied"]["update"]["annotation_set"] == 1
    assert content(client, copy)[image]["annotations"] == [(("Car", 55.0),)]
    assert zero_changes(
        bridge_json(
            "migrate", url(ls_server, source), url(ls_server), "-w", ws, token=ls_server.token
        )
    )
