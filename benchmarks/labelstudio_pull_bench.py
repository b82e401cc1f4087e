"""Pull a Label Studio project page by page vs through an export snapshot; print timings.

    /work/venv/bin/python benchmarks/labelstudio_pull_bench.py [--tasks 2000] [--repeat 3]
        [--url http://127.0.0.1:8080]   # default: start a throwaway server (tests/support)

With --url the token comes from LABEL_STUDIO_API_KEY. The script creates one project with N
image tasks, each with 2 annotations (3 boxes each) and 1 prediction, then pulls it:

* `pages/100`, `pages/500`: GET /api/tasks?fields=all page by page (page_size 100 / 500)
* `snapshot`: POST /exports/ with full predictions, download, stream-parse, delete
* `sync export`: GET /export?download_all_tasks=true (predictions as ids only: reference)
* `connector/...`: the whole `LabelStudioConnector.read` (fetch + convert to unified Items)
  by each method, i.e. what `bridge convert labelstudio://... -o out.jsonl` spends pulling
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from contextlib import ExitStack, closing
from pathlib import Path

from pydantic import SecretStr

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bridge_labelstudio.api import LabelStudioApi  # noqa: E402
from bridge_labelstudio.connector import LabelStudioConnector  # noqa: E402

from bridge.losses import LossReport  # noqa: E402

CONFIG = """<View><Image name="image" value="$image"/>
<RectangleLabels name="label" toName="image"><Label value="Car"/><Label value="Person"/></RectangleLabels>
</View>"""


def box(i: int, j: int) -> dict:
    return {
        "id": f"r{i}_{j}",
        "from_name": "label",
        "to_name": "image",
        "type": "rectanglelabels",
        "original_width": 640,
        "original_height": 480,
        "image_rotation": 0,
        "value": {
            "x": j * 10.0,
            "y": 5.0,
            "width": 8.0,
            "height": 9.0,
            "rotation": 0,
            "rectanglelabels": ["Car" if j % 2 else "Person"],
        },
    }


def make_task(i: int) -> dict:
    result = [box(i, j) for j in range(3)]
    return {
        "data": {"image": f"https://example.invalid/img/{i}.jpg"},
        "meta": {"key": f"img-{i}"},
        "annotations": [
            {"result": result, "lead_time": 3.0, "ground_truth": False},
            {"result": result[:2], "lead_time": 4.0, "ground_truth": False},
        ],
        "predictions": [{"result": result, "score": 0.8, "model_version": "bench"}],
    }


def fill_project(api: LabelStudioApi, n_tasks: int, batch: int = 500) -> int:
    project = api.create_project(f"pull bench {n_tasks}", CONFIG)
    started = time.perf_counter()
    for start in range(0, n_tasks, batch):
        api.import_tasks(
            project["id"], [make_task(i) for i in range(start, min(start + batch, n_tasks))]
        )
    print(
        f"imported {n_tasks} tasks (2 annotations + 1 prediction each) in "
        f"{time.perf_counter() - started:.2f} s, batches of {batch}"
    )
    return project["id"]


def timed(label: str, pull, repeat: int, expected: int) -> tuple[str, list[float]]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        count = sum(1 for _ in pull())
        times.append(time.perf_counter() - started)
        assert count == expected, f"{label}: {count} tasks, expected {expected}"
    return label, times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--url", help="an existing server (token from LABEL_STUDIO_API_KEY)")
    args = parser.parse_args()
    with ExitStack() as stack:
        if args.url:
            url, token = args.url, os.environ["LABEL_STUDIO_API_KEY"]
        else:
            from tests.support.labelstudio_server import LabelStudioServer

            server = stack.enter_context(LabelStudioServer())
            url, token = server.url, server.token
        api = stack.enter_context(LabelStudioApi(url, SecretStr(token)))
        print(f"Label Studio {api.version().get('release')} at {url}")
        pid = fill_project(api, args.tasks)
        runs = [
            timed("pages/100", lambda: api.iter_tasks(pid, 100), args.repeat, args.tasks),
            timed("pages/500", lambda: api.iter_tasks(pid, 500), args.repeat, args.tasks),
            timed("snapshot", lambda: api.export_tasks(pid), args.repeat, args.tasks),
            timed("sync export*", lambda: api.export_sync(pid), args.repeat, args.tasks),
        ]
        os.environ["LABEL_STUDIO_API_KEY"] = token
        source = f"labelstudio://{url.split('://', 1)[1]}/projects/{pid}"
        for how in ("pages", "export"):
            connector = stack.enter_context(closing(LabelStudioConnector.from_url(source)))
            pull = lambda c=connector, h=how: c.read(LossReport(), pull=h).items  # noqa: E731
            runs.append(timed(f"connector/{how}", pull, args.repeat, args.tasks))
        print(f"\npull of {args.tasks} tasks, {args.repeat} runs each (seconds)")
        print(f"{'method':<14}{'best':>8}{'median':>8}{'tasks/s':>10}")
        for label, times in runs:
            best = min(times)
            print(
                f"{label:<14}{best:>8.2f}{statistics.median(times):>8.2f}{args.tasks / best:>10.0f}"
            )
        print("* sync export lists predictions by id only; shown for reference")
        api.delete_project(pid)


if __name__ == "__main__":
    main()
