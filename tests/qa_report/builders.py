"""Hand-built datasets for the QA report tests: every expected number is known from how
the data is built, never from the code under test."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bridge.formats.jsonl import header_line, item_line
from bridge.schema import (
    AnnotationSet,
    Annotator,
    Answer,
    BBox,
    Classification,
    ClassificationSpec,
    Item,
    LabelClass,
    Media,
    Ontology,
    OptionSpec,
    Project,
    Region,
    Review,
)

ROOT = Path(__file__).resolve().parents[2]


def box(
    rid: str, label: str | None, x: float, y: float, w: float = 20, h: float = 20, **kw: Any
) -> Region:
    return Region(id=rid, label=label, shape=BBox(x=x, y=y, width=w, height=h), **kw)


def answer(name: str, *values: Any) -> Classification:
    return Classification(name=name, answers=[Answer(value=v) for v in values])


def aset(
    sid: str,
    who: str | None,
    regions: Iterable[Region] = (),
    *,
    answers: Iterable[Classification] = (),
    status: str | None = None,
    reviews: Iterable[str] = (),
    lead_time: float | None = None,
    kind: str = "human",
    **kw: Any,
) -> AnnotationSet:
    return AnnotationSet(
        id=sid,
        kind=kind,
        annotator=Annotator(email=who) if who else None,
        regions=list(regions),
        classifications=list(answers),
        status=status,
        reviews=[Review(status=r) for r in reviews],
        lead_time=lead_time,
        **kw,
    )


def item(
    key: str,
    sets: Iterable[AnnotationSet],
    *,
    uri: str | None = None,
    width: int | None = 100,
    height: int | None = 100,
    text: str | None = None,
    kind: str = "image",
    subset: str | None = None,
    data: dict[str, Any] | None = None,
) -> Item:
    return Item(
        key=key,
        media=Media(kind=kind, uri=uri, width=width, height=height, text=text),
        annotation_sets=list(sets),
        subset=subset,
        data=data or {},
    )


def project(labels: Iterable[str] = (), questions: dict[str, list[str]] | None = None) -> Project:
    return Project(
        name="qa-test",
        ontology=Ontology(
            labels=[LabelClass(name=name) for name in labels],
            classifications=[
                ClassificationSpec(
                    name=name, input="radio", options=[OptionSpec(value=v) for v in values]
                )
                for name, values in (questions or {}).items()
            ],
        ),
    )


def write_jsonl(path: Path, items: Iterable[Item], proj: Project | None = None) -> Path:
    with open(path, "wb") as handle:
        handle.write(header_line(proj or project()))
        for entry in items:
            handle.write(item_line(entry))
    return path


def read_jsonl_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`bridge ARGS` in a fresh interpreter (exit codes as a user sees them)."""
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT / 'plugins'}"}
    return subprocess.run(
        [sys.executable, "-m", "bridge.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=300,
    )
