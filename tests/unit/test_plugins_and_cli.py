"""The plugin contract and the `bridge` CLI, run as a user would (subprocesses)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

import bridge
from bridge.formats import Dataset, FileFormat
from bridge.formats.jsonl import write_jsonl
from bridge.schema import (
    AnnotationSet,
    Annotator,
    Answer,
    BBox,
    Classification,
    Item,
    Keyframe,
    Media,
    Project,
    Region,
    Relation,
    Track,
)

TOY_PLUGIN = textwrap.dedent('''
    """A third-party plugin: a format whose files hold one item key per line."""
    from pathlib import Path
    from bridge.formats import Capabilities, Dataset, FileFormat
    from bridge.hookspecs import hookimpl
    from bridge.schema import Item, Media, Project

    class KeysPerLine(FileFormat):
        name = "toykeys"
        description = "one item key per line"
        capabilities = Capabilities(media=["image"], regions=[], write=False, extensions=[".keys"])

        def sniff(self, path, head):
            return path.suffix == ".keys"

        def read(self, path, losses, **options):
            keys = Path(path).read_text().split()
            return Dataset(Project(name="toy"), (Item(key=k, media=Media(kind="image")) for k in keys))

    @hookimpl
    def register_formats(register):
        register(KeysPerLine())
''')


def run_bridge(*args, env_extra=None, cwd=None):
    env = dict(os.environ, **(env_extra or {}))
    return subprocess.run(
        [sys.executable, "-m", "bridge.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
    )


@pytest.fixture
def toy_distribution(tmp_path):
    """A throwaway installed distribution exposing a plugin through the "bridge" entry point group."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "toy_bridge_plugin.py").write_text(TOY_PLUGIN)
    info = site / "toy_bridge_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-bridge-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[bridge]\ntoy = toy_bridge_plugin\n")
    return {"PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}


def test_third_party_plugin_is_listed_and_usable(toy_distribution, tmp_path):
    listing = run_bridge("plugins", "--json", env_extra=toy_distribution)
    assert listing.returncode == 0, listing.stderr
    plugins = {row["name"]: row for row in json.loads(listing.stdout)["plugins"]}
    assert plugins["toykeys"]["plugin"] == "toy"
    assert plugins["toykeys"]["capabilities"]["write"] is False
    assert "jsonl" in plugins

    source = tmp_path / "items.keys"
    source.write_text("a\nb\nc\n")
    out = tmp_path / "out.jsonl"
    converted = run_bridge("convert", str(source), "-o", str(out), env_extra=toy_distribution)
    assert converted.returncode == 0, converted.stderr
    summary = json.loads(run_bridge("inspect", str(out), "--json").stdout)
    assert summary["items"] == 3 and summary["format"] == "jsonl"


def test_broken_plugin_is_reported_not_fatal(tmp_path):
    site = tmp_path / "site"
    info = site / "broken_plugin-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[bridge]\nbroken = no_such_module_here\n")
    listing = run_bridge("plugins", "--json", env_extra={"PYTHONPATH": str(site)})
    assert listing.returncode == 0
    assert "No module named 'no_such_module_here'" in json.loads(listing.stdout)["broken"]["broken"]


def test_plugin_registered_directly_with_pluggy_is_seen(plugged):
    from bridge.hookspecs import hookimpl

    class Lines(FileFormat):
        name = "direct-lines"

    class Direct:
        @hookimpl
        def register_formats(self, register):
            register(Lines())

    reg = plugged(Direct(), "direct-test")
    assert isinstance(reg.formats["direct-lines"], Lines)
    assert reg.owners["format:direct-lines"] == "direct-test"


def test_version():
    result = run_bridge("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"label-bridge {bridge.__version__}"


def test_schema_is_a_json_schema_of_the_item():
    result = run_bridge("schema")
    document = json.loads(result.stdout)
    assert document["oneOf"] == [{"$ref": "#/$defs/Header"}, {"$ref": "#/$defs/Item"}]
    item = document["$defs"]["Item"]
    assert item["title"] == "Item" and {"key", "media"} <= set(item["required"])
    assert "BBox" in document["$defs"] and "Track" in document["$defs"]


def sample_dataset():
    red = Classification(name="color", answers=[Answer(value="red")])
    box = Region(
        id="r1", label="car", shape=BBox(x=1, y=2, width=3, height=4), classifications=[red]
    )
    person = Region(id="r2", label="person", shape=BBox(x=5, y=5, width=3, height=4))
    track = Track(
        id="t1",
        label="car",
        keyframes=[
            Keyframe(frame=0, shape=BBox(x=0, y=0, width=1, height=1)),
            Keyframe(frame=5, outside=True),
        ],
    )
    sets = [
        AnnotationSet(
            id="a1",
            annotator=Annotator(email="ann@example.com"),
            regions=[box, person],
            relations=[Relation(from_id="r1", to_id="r2", label="near")],
            classifications=[Classification(name="weather", answers=[Answer(value="sunny")])],
        ),
        AnnotationSet(id="a2", annotator=Annotator(id="7"), regions=[box], tracks=[track]),
    ]
    items = [
        Item(key="img1", media=Media(kind="image", width=10, height=10), annotation_sets=sets),
        Item(key="img2", media=Media(kind="image")),
    ]
    return Dataset(Project(name="demo"), items)


def test_inspect_json_counts(tmp_path):
    path = tmp_path / "in.jsonl"
    write_jsonl(sample_dataset(), path)
    result = run_bridge("inspect", str(path), "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["format"] == "jsonl"
    assert summary["items"] == 2 and summary["annotation_sets"] == 2
    assert summary["regions"] == {"bbox": 3}
    assert summary["labels"] == {"car": 3, "person": 1}
    assert summary["annotators"] == ["7", "ann@example.com"]
    assert summary["tracks"] == 1 and summary["relations"] == 1
    assert summary["classifications"] == {"color": 2, "weather": 1}


def test_convert_jsonl_to_jsonl_is_lossless_and_says_so(tmp_path):
    source, target = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_jsonl(sample_dataset(), source)
    result = run_bridge(
        "convert", str(source), "--from", "jsonl", "--to", "jsonl", "-o", str(target)
    )
    assert result.returncode == 0, result.stderr
    assert "nothing lost" in result.stderr
    assert target.read_bytes() == source.read_bytes()


@pytest.mark.parametrize(
    "args, code, needle",
    [
        (["inspect", "does/not/exist.jsonl"], 2, "no such file"),
        (["inspect", "{bad}", "--from", "nosuchformat"], 2, "unknown format 'nosuchformat'"),
        (["convert", "{bad}", "-o", "{out}"], 2, "bad.jsonl:2"),
        (["inspect", "{unknown}"], 2, "cannot tell which format"),
        (["convert", "{bad}", "-o", "{out}", "-O", "novalue"], 2, "not KEY=VALUE"),
    ],
)
def test_user_errors_are_short_and_exit_non_zero(tmp_path, args, code, needle):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"format": "bridge-jsonl", "version": 1, "project": {"name": "p"}}\n{"key": 1}\n'
    )
    unknown = tmp_path / "mystery.bin"
    unknown.write_bytes(b"\x00\x01binary")
    out = tmp_path / "out.jsonl"
    args = [a.format(bad=bad, out=out, unknown=unknown) for a in args]
    result = run_bridge(*args)
    assert result.returncode == code
    assert needle in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 3
    assert not out.exists()


def test_convert_takes_the_target_positionally_or_with_o_but_not_both(tmp_path):
    source = tmp_path / "in.jsonl"
    write_jsonl(sample_dataset(), source)
    positional = run_bridge("convert", str(source), str(tmp_path / "a.jsonl"))
    assert positional.returncode == 0, positional.stderr
    assert (tmp_path / "a.jsonl").read_bytes() == source.read_bytes()
    both = run_bridge(
        "convert", str(source), str(tmp_path / "b.jsonl"), "-o", str(tmp_path / "c.jsonl")
    )
    assert both.returncode == 2 and "give the output once" in both.stderr
    neither = run_bridge("convert", str(source))
    assert neither.returncode == 2


def test_transfer_reports_progress_per_item(tmp_path):
    from bridge import api

    source = tmp_path / "in.jsonl"
    write_jsonl(sample_dataset(), source)
    seen = []
    done = api.transfer(source, tmp_path / "out.jsonl", on_item=seen.append)
    assert seen == [1, 2]
    assert not done.losses


def test_plugin_whose_hook_fails_is_listed_as_broken_and_the_rest_still_work():
    from bridge import plugins
    from bridge.hookspecs import hookimpl

    class NeedsMissingDependency:
        @hookimpl
        def register_formats(self, register):
            import no_such_vendor_sdk  # noqa: F401

    plugin = NeedsMissingDependency()
    plugins.pm.register(plugin, name="needs-sdk")
    try:
        reg = plugins.registry(refresh=True)
        assert "No module named 'no_such_vendor_sdk'" in reg.broken["needs-sdk"]
        assert "jsonl" in reg.formats
    finally:
        plugins.pm.unregister(plugin)
        plugins.registry(refresh=True)


def test_a_file_conversion_never_loads_the_connectors(tmp_path):
    """Connector modules (the HTTP stack, the vendor APIs) are loaded when a URL or
    `bridge plugins` asks for them, not for a file-to-file conversion."""
    source = tmp_path / "in.jsonl"
    write_jsonl(sample_dataset(), source)
    script = textwrap.dedent(f"""
        import json, sys
        from bridge import plugins
        from bridge.api import convert
        convert({str(source)!r}, {str(tmp_path / "out.jsonl")!r})
        print(json.dumps(sorted(m for m in sys.modules if m == "httpx" or m.endswith(".connector"))))
        print(json.dumps(sorted(plugins.registry().connectors)))
        print(json.dumps(sorted(m for m in sys.modules if m.endswith(".connector"))))
    """)
    lines = subprocess.run(
        [sys.executable, "-c", script], check=True, capture_output=True, text=True
    ).stdout.splitlines()
    loaded_by_convert, connectors, loaded_after = (json.loads(line) for line in lines)
    assert loaded_by_convert == []
    assert {"cvat", "labelbox", "labelstudio"} <= set(connectors)
    assert "bridge_cvat.connector" in loaded_after
