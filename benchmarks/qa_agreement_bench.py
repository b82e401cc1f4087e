"""Categorical QA metrics side by side with the packages users would pick instead: time,
peak memory and the ratios, and whether the answers are the same.

    PYTHONPATH=src /work/main/.venv/bin/python benchmarks/qa_agreement_bench.py
        [--units 1000000] [--raters 5] [--values 5] [--missing 0.2]
        [--labels 1000000] [--workers 200] [--classes 5] [--repeat 1]

* **alpha**: Krippendorff's alpha, nominal, on a raters x units float matrix with NaN for
  missing ratings: `bridge.qa.krippendorff_alpha` vs `krippendorff.alpha`
  (`level_of_measurement="nominal"`), same matrix; the values must be equal (1e-9).
* **Dawid-Skene**: `--labels` ratings (5 per task, workers with different skills) in a
  pandas frame `task, worker, label`: `bridge.qa.consensus.dawid_skene_columns` over the
  frame's three columns vs
  crowd-kit's `DawidSkene(n_iter=100).fit(frame)`; the labels must be the same except on
  units where crowd-kit's top two posteriors tie (within 1e-6), which are counted.

Each measurement runs in its own process (`--run NAME`) so that its peak memory is its own:
the child builds the input (row by row, so that building it peaks at about the input's
size), notes its peak RSS (`ru_maxrss`), runs the implementation once per `--repeat`, and
reports the wall time of the best run and the peak RSS at the end. The table shows the
peak RSS of the whole process ("peak"), and the peak above what the process held once the
input was built ("added": the memory the implementation itself needed).
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def _alpha_data(args: argparse.Namespace) -> Any:
    import numpy as np

    rng = np.random.default_rng(args.seed)
    truth = rng.integers(0, args.values, args.units)
    data = np.empty((args.raters, args.units), dtype=np.float64)
    for row in range(args.raters):
        noisy = rng.random(args.units) < 0.3
        data[row] = np.where(noisy, rng.integers(0, args.values, args.units), truth)
        data[row][rng.random(args.units) < args.missing] = np.nan
    del truth
    return data


def _ds_data(args: argparse.Namespace) -> Any:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(args.seed)
    per_task = 5
    tasks = args.labels // per_task
    skill = rng.uniform(0.35, 0.95, args.workers)
    task = np.repeat(np.arange(tasks), per_task)
    worker = np.concatenate(
        [rng.choice(args.workers, per_task, replace=False) for _ in range(tasks)]
    )
    truth = np.repeat(rng.integers(0, args.classes, tasks), per_task)
    right = rng.random(len(task)) < skill[worker]
    label = np.where(right, truth, rng.integers(0, args.classes, len(task)))
    return pd.DataFrame({"task": task, "worker": worker, "label": label})


def child(args: argparse.Namespace) -> None:
    """Run one measurement and print its JSON line."""
    warnings.simplefilter("ignore")
    out = Path(args.out)
    if args.run.startswith("alpha"):
        data = _alpha_data(args)
        if args.run == "alpha-ours":
            from bridge.qa import krippendorff_alpha

            def work() -> Any:
                return krippendorff_alpha(data, "nominal")
        else:
            import krippendorff

            def work() -> Any:
                return krippendorff.alpha(data, level_of_measurement="nominal")
    else:
        frame = _ds_data(args)
        if args.run == "ds-ours":
            import numpy as np

            from bridge.qa.consensus import dawid_skene_columns

            def work() -> Any:
                result = dawid_skene_columns(frame["task"], frame["worker"], frame["label"])
                order = np.argsort(np.asarray(result.units))
                labels = np.asarray([result.labels[u] for u in result.units])[order]
                return labels, None, result.iterations
        else:
            import numpy as np
            from crowdkit.aggregation import DawidSkene

            def work() -> Any:
                model = DawidSkene(n_iter=100).fit(frame)
                probas = model.probas_.sort_index()
                ordered = np.sort(probas.to_numpy(), axis=1)
                margin = ordered[:, -1] - ordered[:, -2]
                labels = model.labels_.sort_index().to_numpy()
                return labels, margin, len(model.loss_history_)

    before = _peak_mb()
    best = math.inf
    result: Any = None
    for _ in range(args.repeat):
        start = time.perf_counter()
        result = work()
        best = min(best, time.perf_counter() - start)
    report: dict[str, Any] = {"seconds": best, "peak_mb": _peak_mb(), "input_peak_mb": before}
    if args.run.startswith("alpha"):
        report["value"] = float(result)
    else:
        import numpy as np

        labels, margin, iterations = result
        np.save(out / f"{args.run}-labels.npy", labels)
        if margin is not None:
            np.save(out / f"{args.run}-margin.npy", margin)
        report["iterations"] = iterations
    print(json.dumps(report))


def measure(name: str, args: argparse.Namespace, out: Path) -> dict[str, Any]:
    command = [sys.executable, __file__, "--run", name, "--out", str(out)]
    for option in (
        "units",
        "raters",
        "values",
        "missing",
        "labels",
        "workers",
        "classes",
        "seed",
        "repeat",
    ):
        command += [f"--{option}", str(getattr(args, option))]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{name} failed:\n{done.stderr}")
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


def row(label: str, ours: dict[str, Any], theirs: dict[str, Any], reference: str) -> None:
    added_ours = ours["peak_mb"] - ours["input_peak_mb"]
    added_theirs = theirs["peak_mb"] - theirs["input_peak_mb"]
    print(f"\n{label}")
    print(f"  {'':<14}{'time s':>9}{'peak MB':>10}{'added MB':>10}")
    print(f"  {'bridge.qa':<14}{ours['seconds']:>9.3f}{ours['peak_mb']:>10.0f}{added_ours:>10.0f}")
    print(
        f"  {reference:<14}{theirs['seconds']:>9.3f}{theirs['peak_mb']:>10.0f}{added_theirs:>10.0f}"
    )
    print(
        f"  ratio (ours/theirs): time {ours['seconds'] / theirs['seconds']:.3f}, "
        f"peak {ours['peak_mb'] / theirs['peak_mb']:.3f}, "
        f"added {added_ours / max(added_theirs, 1e-9):.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--units", type=int, default=1_000_000)
    parser.add_argument("--raters", type=int, default=5)
    parser.add_argument("--values", type=int, default=5)
    parser.add_argument("--missing", type=float, default=0.2)
    parser.add_argument("--labels", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=200)
    parser.add_argument("--classes", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20261203)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--run", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--only", choices=["alpha", "ds"], help="run one comparison")
    args = parser.parse_args()
    if args.run:
        child(args)
        return
    import numpy as np

    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        if args.only in (None, "alpha"):
            ours = measure("alpha-ours", args, out)
            theirs = measure("alpha-krippendorff", args, out)
            row(
                f"Krippendorff's alpha, nominal, {args.raters} raters x {args.units} units, "
                f"{args.values} values, {args.missing:.0%} missing",
                ours,
                theirs,
                "krippendorff",
            )
            same = abs(ours["value"] - theirs["value"]) <= 1e-9
            print(
                f"  alpha: ours {ours['value']!r}, krippendorff {theirs['value']!r}, same: {same}"
            )
        if args.only in (None, "ds"):
            ours = measure("ds-ours", args, out)
            theirs = measure("ds-crowdkit", args, out)
            row(
                f"Dawid-Skene, {args.labels} labels ({args.labels // 5} tasks x 5), "
                f"{args.workers} workers, {args.classes} classes",
                ours,
                theirs,
                "crowd-kit",
            )
            mine = np.load(out / "ds-ours-labels.npy")
            reference = np.load(out / "ds-crowdkit-labels.npy")
            margin = np.load(out / "ds-crowdkit-margin.npy")
            differ = mine != reference
            ties = margin <= 1e-6
            print(
                f"  labels differing: {int(differ.sum())} of {len(mine)} "
                f"({int((differ & ~ties).sum())} outside crowd-kit ties; {int(ties.sum())} ties); "
                f"EM rounds: ours {ours['iterations']}, crowd-kit {theirs['iterations']}"
            )


if __name__ == "__main__":
    main()
