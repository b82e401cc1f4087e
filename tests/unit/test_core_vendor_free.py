"""The core (`src/bridge`) names no vendor: no plugin is imported from it, and no vendor
name appears in its code — identifiers, imports, string literals. Docstrings and comments
may name a tool to explain a mapping (`bridge.schema` says which tool's field becomes which
unified field), and so may the CLI's `help=` texts, which are the commands' docstrings for
the user; code may not branch on one. A fourth tool then needs no core change."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import bridge

CORE = Path(bridge.__file__).resolve().parent
VENDOR = re.compile(r"label[\s_-]*studio|labelbox|cvat", re.IGNORECASE)
PLUGIN_PACKAGES = ("bridge_labelstudio", "bridge_cvat", "bridge_labelbox")


def docstring_nodes(tree: ast.AST) -> set[int]:
    """ids of the string constants that are docstrings: the first statement of a module,
    class or function, and a string statement right after an assignment (attribute
    docstrings, as `bridge.schema` writes them)."""
    found: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if not isinstance(body, list):
            continue
        for index, statement in enumerate(body):
            if not (
                isinstance(statement, ast.Expr)
                and isinstance(statement.value, ast.Constant)
                and isinstance(statement.value.value, str)
            ):
                continue
            follows_assignment = index > 0 and isinstance(
                body[index - 1], ast.Assign | ast.AnnAssign
            )
            if (
                index == 0
                and isinstance(
                    node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef
                )
            ) or follows_assignment:
                found.add(id(statement.value))
    return found


def help_texts(tree: ast.AST) -> set[int]:
    """ids of the string constants passed as `help=` (the CLI's user documentation)."""
    return {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.keyword)
        and node.arg == "help"
        and isinstance(node.value, ast.Constant)
    }


def vendor_mentions(source: str, filename: str) -> list[str]:
    """Where `source` names a vendor or imports a plugin, outside docstrings and comments."""
    tree = ast.parse(source, filename)
    docstrings = docstring_nodes(tree) | help_texts(tree)
    problems = []

    def flag(node: ast.AST, what: str, text: str) -> None:
        problems.append(f"{filename}:{getattr(node, 'lineno', '?')}: {what} {text!r}")

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in PLUGIN_PACKAGES or VENDOR.search(alias.name):
                    flag(node, "import of", alias.name)
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if module.split(".")[0] in PLUGIN_PACKAGES or VENDOR.search(module):
                flag(node, "import from", module)
            for alias in node.names:
                if VENDOR.search(alias.name):
                    flag(node, "imported name", alias.name)
        elif isinstance(node, ast.Name) and VENDOR.search(node.id):
            flag(node, "name", node.id)
        elif isinstance(node, ast.Attribute) and VENDOR.search(node.attr):
            flag(node, "attribute", node.attr)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            if VENDOR.search(node.name):
                flag(node, "definition", node.name)
            arguments = (
                node.args.args + node.args.kwonlyargs if not isinstance(node, ast.ClassDef) else []
            )
            for argument in arguments:
                if VENDOR.search(argument.arg):
                    flag(argument, "argument", argument.arg)
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
            and VENDOR.search(node.value)
        ):
            flag(node, "string", node.value)
    return problems


def test_the_checker_sees_code_and_spares_docstrings_and_comments():
    source = '''
"""Maps Label Studio's rectangle (a docstring may explain a mapping)."""
import bridge_cvat.api
from bridge_labelbox import shapes
from bridge.geometry.ls_rle import decode
# Label Studio rotates about the top-left corner (a comment may too)
TOOL = "labelstudio"
"""The attribute docstring of TOOL may name CVAT."""

def to_cvat(box, labelbox_id):
    """Turn the box into CVAT's form."""
    typer.Option(help="a CVAT XML file")
    return {"tool": "Label Studio"}.get(box.cvat_id, f"cvat:{box}")
'''
    found = "\n".join(vendor_mentions(source, "x.py"))
    for expected in (
        "import of 'bridge_cvat.api'",
        "import from 'bridge_labelbox'",
        "string 'labelstudio'",
        "definition 'to_cvat'",
        "argument 'labelbox_id'",
        "string 'Label Studio'",
        "attribute 'cvat_id'",
        "string 'cvat:'",
    ):
        assert expected in found
    assert "docstring" not in found and "comment" not in found and "XML file" not in found
    assert "ls_rle" not in found  # "ls" alone is not a vendor name
    assert len(found.splitlines()) == 8


def test_the_core_names_no_vendor():
    problems = []
    for path in sorted(CORE.rglob("*.py")):
        problems += vendor_mentions(path.read_text(), str(path.relative_to(CORE)))
    assert problems == []
