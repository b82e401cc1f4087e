"""The workspace read as a source (`bridge.store.format`): every command that takes a
SOURCE takes the workspace, with the same numbers as the files pulled into it.

The data is built by hand: vendor A and vendor B label the same 20 images (A one box and
one answer per image, B two boxes and one answer, disagreeing with A on exactly 3
answers), so every count is known by construction."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sklearn.metrics import cohen_kappa_score

from bridge import api, plugins
from bridge.errors import ConfigError, UnknownFormatError
from bridge.export.bundle import export_bundle
from bridge.formats import Dataset
from bridge.qa.workflows.run import QaSettings, run_qa
from bridge.schema import Project
from bridge.select import WORKSPACE_SOURCE
from bridge.store import SourceSpec, WorkspaceError, open_workspace
from tests.qa_report.builders import answer, aset, box, item, project, run_cli, write_jsonl

N = 20
DISAGREE = {2, 7, 11}
LABELS = ["car", "person"]


def _answer_a(i: int) -> str:
    return "day" if i % 4 else "night"


def _answer_b(i: int) -> str:
    flip = {"day": "night", "night": "day"}
    return flip[_answer_a(i)] if i in DISAGREE else _answer_a(i)


def _files(root: Path) -> tuple[Path, Path]:
    proj = project(LABELS, {"time": ["day", "night"]})
    a = [
        item(
            f"img{i:02d}.jpg",
            [
                aset(
                    f"a{i}",
                    "a@x.org",
                    [box(f"ra{i}", "car", 10, 10)],
                    answers=[answer("time", _answer_a(i))],
                )
            ],
        )
        for i in range(N)
    ]
    b = [
        item(
            f"img{i:02d}.jpg",
            [
                aset(
                    f"b{i}",
                    "b@x.org",
                    [box(f"rb{i}", "car", 10, 10), box(f"rc{i}", "person", 50, 50)],
                    answers=[answer("time", _answer_b(i))],
                )
            ],
        )
        for i in range(N)
    ]
    return write_jsonl(root / "a.jsonl", a, proj), write_jsonl(root / "b.jsonl", b, proj)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def pulled(tmp_path_factory) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("ws")
    a, b = _files(root)
    db = root / "bridge.db"
    with open_workspace(db) as ws:
        ws.pull(api.open_dataset(a), SourceSpec("va", tool="jsonl"), "key")
        ws.pull(api.open_dataset(b), SourceSpec("vb", tool="jsonl"), "key")
    return db, a, b


def test_a_workspace_is_detected_and_read_like_a_file(pulled, tmp_path):
    db, _, _ = pulled
    assert plugins.detect_format(db) == "workspace"
    out = tmp_path / "out.jsonl"
    api.convert(str(db), str(out))
    dataset = api.open_dataset(out)
    items = list(dataset.items)
    assert [i.key for i in items] == [f"img{i:02d}.jpg" for i in range(N)]
    assert {label.name for label in dataset.project.ontology.labels} == set(LABELS)
    for index, entry in enumerate(items):
        by_source = {s.extra[WORKSPACE_SOURCE]: s for s in entry.annotation_sets}
        assert sorted(by_source) == ["va", "vb"]
        assert len(by_source["va"].regions) == 1 and len(by_source["vb"].regions) == 2
        assert by_source["vb"].classifications[0].answers[0].value == _answer_b(index)


def test_inspect_counts_what_was_pulled(pulled):
    db, _, _ = pulled
    done = run_cli("inspect", str(db), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    text = json.dumps(report)
    assert report["items"] == N
    assert report["annotation_sets"] == 2 * N, text


def test_qa_on_the_workspace_equals_qa_on_the_files(pulled):
    db, a, b = pulled
    from_ws = run_qa([str(db)], QaSettings())
    from_files = run_qa([str(a), str(b)], QaSettings())
    for part in ("counts", "agreement", "gold", "imbalance", "defects"):
        if part == "defects":  # the tool a set is attributed to is the source's format
            from_ws[part].pop("by_tool")
            from_files[part].pop("by_tool")
        assert from_ws[part] == from_files[part], part
    answers_a = [_answer_a(i) for i in range(N)]
    answers_b = [_answer_b(i) for i in range(N)]
    pair = from_ws["agreement"]["pairs"][0]
    assert pair["questions"]["time"]["kappa"] == pytest.approx(
        cohen_kappa_score(answers_a, answers_b)
    )
    assert pair["questions"]["time"]["agreement"] == pytest.approx((N - len(DISAGREE)) / N)


def test_export_from_the_workspace_counts_and_selects_by_source(pulled, tmp_path):
    db, _, _ = pulled
    export_bundle(str(db), "coco", tmp_path / "all")
    coco = json.loads(next((tmp_path / "all" / "data").glob("*.json")).read_text())
    assert len(coco["images"]) == N
    assert len(coco["annotations"]) == 3 * N  # A's one box and B's two on every image
    export_bundle(str(db), "coco", tmp_path / "vb", sets="source=vb")
    coco = json.loads(next((tmp_path / "vb" / "data").glob("*.json")).read_text())
    assert len(coco["annotations"]) == 2 * N
    assert sorted({c["name"] for c in coco["categories"]}) == LABELS


def test_the_sources_option_keeps_one_sources_sets(pulled):
    db, _, _ = pulled
    items = list(api.open_dataset(db, sources="va").items)
    assert len(items) == N
    assert all([s.id for s in i.annotation_sets] == [f"a{n}"] for n, i in enumerate(items))
    with pytest.raises(ConfigError, match="no source named nope"):
        api.open_dataset(db, sources="va,nope")


def test_the_set_source_survives_unified_jsonl(pulled, tmp_path):
    db, _, _ = pulled
    out = tmp_path / "ws.jsonl"
    api.convert(str(db), str(out))
    export_bundle(str(out), "jsonl", tmp_path / "b", sets="source=va")
    sets = [
        s
        for entry in api.open_dataset(tmp_path / "b" / "data" / "dataset.jsonl").items
        for s in entry.annotation_sets
    ]
    assert sorted(s.id for s in sets) == sorted(f"a{i}" for i in range(N))


def test_reading_leaves_the_workspace_file_byte_identical(pulled, tmp_path):
    db, _, _ = pulled
    before = _sha(db)
    api.convert(str(db), str(tmp_path / "o.jsonl"))
    run_qa([str(db)], QaSettings())
    export_bundle(str(db), "jsonl", tmp_path / "e")
    assert run_cli("inspect", str(db)).returncode == 0
    assert _sha(db) == before


@pytest.mark.parametrize("kind", ["other-app", "empty-sqlite", "not-sqlite"])
def test_a_db_file_that_is_not_a_workspace_is_not_sniffed_as_one(tmp_path, kind):
    path = tmp_path / "data.db"
    if kind == "not-sqlite":
        path.write_bytes(b"SQLite format 3\x00" + b"\x00" * 200)  # the header, no database
    else:
        conn = sqlite3.connect(path)
        if kind == "other-app":
            conn.execute("CREATE TABLE meta (key TEXT, value TEXT)")
        conn.commit()
        conn.close()
    before = _sha(path)
    with pytest.raises(UnknownFormatError):
        plugins.detect_format(path)
    with pytest.raises((ConfigError, WorkspaceError)):
        api.open_dataset(path, "workspace")
    assert _sha(path) == before


def test_a_newer_workspace_is_refused_and_left_alone(pulled, tmp_path):
    db = tmp_path / "newer.db"
    db.write_bytes(pulled[0].read_bytes())
    conn = sqlite3.connect(db)
    conn.execute("UPDATE bridge_meta SET value = '99' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    before = _sha(db)
    done = run_cli("convert", str(db), str(tmp_path / "o.jsonl"))
    assert done.returncode == WorkspaceError.exit_code, done.stderr
    assert "newer" in done.stderr
    assert _sha(db) == before


def test_the_workspace_format_cannot_be_written(tmp_path):
    dataset = Dataset(project=Project(name="p"), items=[])
    with pytest.raises(ConfigError, match="can be read but not written"):
        api.write_dataset(dataset, tmp_path / "x.db", "workspace")


def test_a_postgresql_workspace_is_read_not_written():
    cls = plugins.get_connector("postgresql")
    dataset = Dataset(project=Project(name="p"), items=[])
    with pytest.raises(ConfigError, match="never written") as error:
        api.write_dataset(dataset, "postgresql://u:secret@127.0.0.1:1/db", "jsonl")
    assert "bridge push" in (error.value.hint or "")
    assert cls.capabilities.write is False and cls.capabilities.live


def test_a_postgresql_workspace_reads_like_the_sqlite_one(pulled, postgres_database):
    _, a, b = pulled
    with open_workspace(postgres_database) as ws:
        ws.pull(api.open_dataset(a), SourceSpec("va", tool="jsonl"), "key")
        ws.pull(api.open_dataset(b), SourceSpec("vb", tool="jsonl"), "key")
    items = list(api.open_dataset(postgres_database).items)
    assert len(items) == N
    assert sum(len(i.annotation_sets) for i in items) == 2 * N
    only = list(api.open_dataset(postgres_database, sources="vb").items)
    assert {s.extra[WORKSPACE_SOURCE] for i in only for s in i.annotation_sets} == {"vb"}


def test_registering_the_workspace_format_does_not_import_sqlalchemy(pulled, tmp_path):
    _, a, _ = pulled
    script = (
        "import sys\n"
        "from bridge.api import convert\n"
        f"convert({str(a)!r}, {str(tmp_path / 'o.jsonl')!r})\n"
        "print('sqlalchemy' in sys.modules, 'bridge.store.format' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["False", "True"]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_read_only_workspace_refuses_every_write(pulled, tmp_path, request, backend):
    from sqlalchemy.exc import DBAPIError

    from bridge.store import Link

    if backend == "sqlite":
        location = str(tmp_path / "copy.db")
        Path(location).write_bytes(pulled[0].read_bytes())
    else:
        location = request.getfixturevalue("postgres_database")
        open_workspace(location).close()  # created (empty, current schema)
    with open_workspace(location, read_only=True) as ws, pytest.raises(DBAPIError):
        ws.record_links("t|x|1", "item", [Link("e1", "item", "r1", "h")])
    with open_workspace(location) as ws:
        assert ws.links("t|x|1", "item") == {}
