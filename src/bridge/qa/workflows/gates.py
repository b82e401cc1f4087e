"""Quality gates: `--fail-under iaa=0.8,f1=0.9,defect_rate_max=0.05`.

A *gate* names a number of the QA report and a threshold. A plain name is a floor (the
number must be at least the threshold); a name ending in `_max` is a ceiling (at most the
threshold). A gate whose number could not be measured (no gold set for `f1`, nothing
reviewed for `defect_rate_max`) fails: a pipeline that asks for a gate is told when the
data cannot show it. When any gate fails the run ends with `QualityGateFailed` (exit code
7), naming each failed gate with its value and threshold, after the report files are
written.

| gate | the report's number |
|---|---|
| `iaa` | `agreement.overall` (pooled agreement of every annotator pair) |
| `kappa` | `agreement.kappa` (mean Cohen's kappa of the annotator pairs) |
| `alpha` | `agreement.alpha` (Krippendorff's alpha, nominal, item-level answers) |
| `region_agreement` | `agreement.regions.agreement` |
| `f1`, `precision`, `recall` | `gold.micro.f1`, `.precision`, `.recall` |
| `defect_rate_max` | `defects.defect_rate` |
| `conflicts_max` | `consistency.duplicates.conflicting_groups` |
| `violations_max` | `consistency.ontology_violations.count` |
| `outside_max` | `consistency.outside_media.count` |
| `imbalance_max` | `imbalance.ratio` |
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from bridge.errors import BridgeError, ConfigError

GATES: dict[str, tuple[str, ...]] = {
    "iaa": ("agreement", "overall"),
    "kappa": ("agreement", "kappa"),
    "alpha": ("agreement", "alpha"),
    "region_agreement": ("agreement", "regions", "agreement"),
    "f1": ("gold", "micro", "f1"),
    "precision": ("gold", "micro", "precision"),
    "recall": ("gold", "micro", "recall"),
    "defect_rate_max": ("defects", "defect_rate"),
    "conflicts_max": ("consistency", "duplicates", "conflicting_groups"),
    "violations_max": ("consistency", "ontology_violations", "count"),
    "outside_max": ("consistency", "outside_media", "count"),
    "imbalance_max": ("imbalance", "ratio"),
}


class QualityGateFailed(BridgeError):
    """A `--fail-under` gate failed: the data is below the quality asked for."""

    exit_code = 7


@dataclass(frozen=True)
class Gate:
    name: str
    threshold: float

    @property
    def ceiling(self) -> bool:
        return self.name.endswith("_max")


def parse_gates(spec: str | None) -> list[Gate]:
    """`"iaa=0.8,defect_rate_max=0.05"` as gates; an unknown name or a threshold that is not
    a finite number is a `ConfigError`."""
    gates: list[Gate] = []
    for raw in (spec or "").split(","):
        term = raw.strip()
        if not term:
            continue
        name, sep, value = term.partition("=")
        name = name.strip()
        if name not in GATES:
            raise ConfigError(
                f"--fail-under: unknown gate {name!r}",
                hint="known gates: " + ", ".join(GATES),
            )
        try:
            threshold = float(value) if sep else math.nan
        except ValueError:
            threshold = math.nan
        if not math.isfinite(threshold):
            raise ConfigError(
                f"--fail-under: {term!r} needs a number, e.g. {name}=0.8",
                hint="write gates as NAME=NUMBER, comma-separated",
            )
        gates.append(Gate(name, threshold))
    return gates


def measured(report: dict[str, Any], name: str) -> float | None:
    value: Any = report
    for part in GATES[name]:
        value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def evaluate(report: dict[str, Any], gates: list[Gate]) -> list[dict[str, Any]]:
    """Each gate with the measured value and whether it passed."""
    results = []
    for gate in gates:
        value = measured(report, gate.name)
        if value is None:
            passed = False
        elif gate.ceiling:
            passed = value <= gate.threshold
        else:
            passed = value >= gate.threshold
        results.append(
            {
                "gate": gate.name,
                "threshold": gate.threshold,
                "value": value,
                "comparison": "<=" if gate.ceiling else ">=",
                "passed": passed,
            }
        )
    return results


def describe_failures(results: list[dict[str, Any]]) -> str | None:
    failed = [r for r in results if not r["passed"]]
    if not failed:
        return None
    parts = []
    for r in failed:
        if r["value"] is None:
            parts.append(f"{r['gate']}: not measured (needs {r['comparison']} {r['threshold']:g})")
        else:
            parts.append(
                f"{r['gate']} = {r['value']:.4g}, needs {r['comparison']} {r['threshold']:g}"
            )
    return "quality gate failed: " + "; ".join(parts)


def enforce(results: list[dict[str, Any]]) -> None:
    """Raise `QualityGateFailed` naming every failed gate."""
    message = describe_failures(results)
    if message is not None:
        raise QualityGateFailed(message, hint="see the report for the numbers behind each gate")
