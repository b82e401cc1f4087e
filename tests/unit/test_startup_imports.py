"""What the `bridge` command imports before it does anything: heavy modules (numpy,
pycocotools, Pillow, httpx, the vendor SDKs) are imported where they are used, so that
`bridge --version` and a file-to-file conversion that needs none of them do not pay for
them (numpy alone was ~30% of every command's start-up).

Each case runs the console script's `main()` in a fresh interpreter with `-X importtime`,
which names every module imported and, by its indentation, the module that imported it:
a failure names the chain that brought the heavy module in.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import orjson

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CVAT_XML = FIXTURES / "cvat" / "for_images_export_project.xml"  # no masks: numpy is for masks

HEAVY = ("numpy", "pycocotools", "PIL", "httpx", "label_studio_sdk", "cvat_sdk", "labelbox")


def run_main(*argv: str) -> tuple[subprocess.CompletedProcess[str], list[tuple[int, str]]]:
    """Run `bridge *argv` in a fresh interpreter; return the process and the imports as
    (depth, module) in the order `-X importtime` reports them (children before parents)."""
    script = textwrap.dedent(f"""
        import sys
        sys.argv = {["bridge", *argv]!r}
        from bridge.cli import main
        main()
    """)
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
    )
    imports = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        name = line.split("|")[2]
        stripped = name.lstrip(" ")
        imports.append(((len(name) - len(stripped)) // 2, stripped.strip()))
    return done, imports


def importers(imports: list[tuple[int, str]], module: str) -> list[str]:
    """The chain of modules that imported `module` (outermost first) the first time."""
    for index, (depth, name) in enumerate(imports):
        if name == module:
            chain = [name]
            for outer_depth, outer in imports[index + 1 :]:  # parents are reported after
                if outer_depth < depth:
                    chain.append(outer)
                    depth = outer_depth
            return chain[::-1]
    return []


def heavy_imports(imports: list[tuple[int, str]]) -> dict[str, list[str]]:
    names = {name for _, name in imports}
    return {top: importers(imports, top) for top in HEAVY if top in names}


def test_version_imports_nothing_heavy():
    done, imports = run_main("--version")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "label-bridge" in done.stdout
    assert imports, "no -X importtime output: the check would pass vacuously"
    assert heavy_imports(imports) == {}


def test_cvat_xml_to_jsonl_imports_nothing_heavy(tmp_path):
    target = tmp_path / "out.jsonl"
    done, imports = run_main("convert", str(CVAT_XML), str(target))
    assert done.returncode == 0, done.stderr[-2000:]
    # the conversion really ran: one JSONL line per <image> after the header
    images = ET.parse(CVAT_XML).getroot().findall("image")
    lines = target.read_bytes().splitlines()
    assert orjson.loads(lines[0])["format"] == "bridge-jsonl"
    assert len(lines) - 1 == len(images) > 0
    assert imports
    assert heavy_imports(imports) == {}


def test_the_import_chain_parser_names_the_importer():
    """`importers` reads -X importtime's tree: children are listed before their parent,
    one indentation step (two spaces) deeper."""
    imports = [
        (3, "numpy.core"),
        (2, "numpy"),
        (2, "other"),
        (1, "bridge.geometry.masks"),
        (0, "bridge.geometry"),
    ]
    assert importers(imports, "numpy") == ["bridge.geometry", "bridge.geometry.masks", "numpy"]
    assert importers(imports, "numpy.core") == [
        "bridge.geometry",
        "bridge.geometry.masks",
        "numpy",
        "numpy.core",
    ]
    assert importers(imports, "absent") == []
