"""Sync benchmark on a real Label Studio server: `bridge migrate` of 10,000 tasks with
annotations (file -> Label Studio), its no-change rerun, and the pull back, next to a plain
per-task label-studio-sdk loop (create a task, then its annotation).

    python benchmarks/sync_bench.py [--tasks 10000] [--sdk-tasks 500] [--url URL]

Without --url a server is started from the test harness (`scripts/labelstudio-server.sh
install` first); the token is the CI user's (LABEL_STUDIO_API_KEY overrides it). The SDK
loop runs on `--sdk-tasks` tasks only and is extrapolated linearly to `--tasks` (stated in
the output): at ~0.2 s per task, 10,000 would take half an hour.

Every bridge run is a child process, timed from start to exit (what a user waits for).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CONFIG = """<View><Image name="image" value="$image"/>
<RectangleLabels name="box" toName="image"><Label value="Car"/><Label value="Person"/></RectangleLabels>
</View>"""


def result(i: int) -> list[dict]:
    return [
        {
            "id": f"r{i}",
            "from_name": "box",
            "to_name": "image",
            "type": "rectanglelabels",
            "original_width": 640,
            "original_height": 480,
            "value": {
                "x": float(i % 80),
                "y": 10.0,
                "width": 15.0,
                "height": 20.0,
                "rotation": 0,
                "rectanglelabels": ["Car" if i % 2 else "Person"],
            },
        }
    ]


def source_file(path: Path, tasks: int) -> None:
    """A Label Studio JSON export: `tasks` tasks, one annotation (one box) each."""
    rows = [
        {
            "id": i + 1,
            "data": {"image": f"https://example.invalid/bench/{i}.jpg"},
            "annotations": [{"id": i + 1, "result": result(i), "ground_truth": False}],
        }
        for i in range(tasks)
    ]
    path.write_text(json.dumps(rows))


def bridge(*args: str, token: str) -> float:
    env = {**os.environ, "LABEL_STUDIO_API_KEY": token}
    start = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-m", "bridge.cli", *args], env=env, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - start
    if run.returncode != 0:
        raise SystemExit(f"bridge {' '.join(args)} failed:\n{run.stderr[-3000:]}")
    return elapsed


def sdk_loop(url: str, token: str, tasks: int) -> float:
    """Per-task label-studio-sdk loop: create the task, then its annotation."""
    from label_studio_sdk import LabelStudio

    ls = LabelStudio(base_url=url, api_key=token)
    project = ls.projects.create(title="sdk loop", label_config=CONFIG)
    start = time.perf_counter()
    for i in range(tasks):
        task = ls.tasks.create(
            project=project.id, data={"image": f"https://example.invalid/sdk/{i}.jpg"}
        )
        ls.annotations.create(id=task.id, result=result(i), ground_truth=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--sdk-tasks", type=int, default=500)
    parser.add_argument("--url", help="a running Label Studio server (default: start one)")
    parser.add_argument(
        "--reruns",
        type=int,
        default=3,
        help="no-change migrate and push runs each (the median is reported: on a shared "
        "machine a single run is mostly noise)",
    )
    args = parser.parse_args()
    with ExitStack() as stack:
        if args.url:
            url, token = args.url.rstrip("/"), os.environ["LABEL_STUDIO_API_KEY"]
        else:
            from tests.support.labelstudio_server import LabelStudioServer

            server = stack.enter_context(LabelStudioServer())
            url, token = server.url, os.environ.get("LABEL_STUDIO_API_KEY", server.token)
        host = url.split("://", 1)[1]
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sync-bench-")))
        source = work / "source.json"
        source_file(source, args.tasks)
        ws = str(work / "ws.db")
        target = f"labelstudio://{host}"

        first = bridge("migrate", str(source), target, "-w", ws, "--json", token=token)
        reruns, pushes = [], []
        for _ in range(max(1, args.reruns)):
            reruns.append(bridge("migrate", str(source), target, "-w", ws, "--json", token=token))
            pushes.append(bridge("push", target, "-w", ws, "--json", token=token))
        rerun, push_only = statistics.median(reruns), statistics.median(pushes)
        back_ws = str(work / "back.db")
        from bridge.store import open_workspace

        with open_workspace(ws) as workspace:
            remote_project = workspace.syncs()[-1]["summary"]["remote_project"]
        pull_back = bridge(
            "pull",
            f"labelstudio://{host}/projects/{remote_project}",
            "-w",
            back_ws,
            "--json",
            token=token,
        )
        sdk = sdk_loop(url, token, args.sdk_tasks)

    sdk_rate = args.sdk_tasks / sdk
    bridge_rate = args.tasks / first
    print(f"tasks: {args.tasks} (one annotation with one box each), server {url}")
    print(
        f"bridge migrate file -> Label Studio, first run: {first:.1f} s = {bridge_rate:.0f} tasks/s"
    )
    print(
        f"label-studio-sdk loop (create task + create annotation) on {args.sdk_tasks} tasks: "
        f"{sdk:.1f} s = {sdk_rate:.1f} tasks/s; extrapolated to {args.tasks}: {args.tasks / sdk_rate:.0f} s"
    )
    print(f"throughput ratio bridge / sdk loop: {bridge_rate / sdk_rate:.1f}x")
    print(
        f"no-change rerun of the same migrate (median of {len(reruns)}): {rerun:.1f} s = "
        f"{100 * rerun / first:.1f}% of the first run"
    )
    print(
        f"no-change bridge push (no pull, median of {len(pushes)}): {push_only:.1f} s = "
        f"{100 * push_only / first:.1f}% of the first run"
    )
    print(
        f"pull back (Label Studio -> workspace): {pull_back:.1f} s = {args.tasks / pull_back:.0f} tasks/s"
    )


if __name__ == "__main__":
    main()
