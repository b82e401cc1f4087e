"""What the core's docstrings promise holds: the plugin example in `bridge.hookspecs` runs
as written, the hooks it lists are the hooks there are, and `import bridge` gives what its
docstring says and nothing heavy."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap

import bridge
from bridge import hookspecs
from bridge.formats import Capabilities, FileFormat


def test_the_hookspecs_example_registers_a_format(plugged):
    example = textwrap.dedent(
        re.search(r"\n\n(    from bridge.*?)\n\n[A-Z]", hookspecs.__doc__, re.S).group(1)
    )
    assert "from bridge.hookspecs import hookimpl" in example

    class MyFormat(FileFormat):
        name = "docs-example"
        capabilities = Capabilities(write=False)

    namespace = {"MyFormat": MyFormat}
    exec(compile(example, "hookspecs-example", "exec"), namespace)  # the docstring's code
    module = type(sys)("docs_example_plugin")
    module.register_formats = namespace["register_formats"]
    reg = plugged(module, "docs-example")
    assert isinstance(reg.formats["docs-example"], MyFormat)
    assert reg.owners["format:docs-example"] == "docs-example"


def test_the_hooks_are_the_ones_with_something_behind_them():
    specs = {name for name, value in vars(hookspecs).items() if hasattr(value, "bridge_spec")}
    assert specs == {"register_formats", "register_connectors", "register_sync_targets"}
    from bridge import plugins

    plugins.registry()  # loads the built-in and entry-point plugins
    for name in specs:  # every hook has at least one plugin behind it
        assert getattr(plugins.pm.hook, name).get_hookimpls(), name
    assert "bridge.formats.Connector" in hookspecs.register_connectors.__doc__
    assert "bridge.connectors" not in hookspecs.__doc__ + hookspecs.register_connectors.__doc__


def test_the_package_exports_what_its_docstring_names_and_imports_nothing_heavy():
    for name in bridge.__all__:
        assert getattr(bridge, name) is not None
        assert name == "__version__" or f"`{name}`" in bridge.__doc__
    script = "import sys, bridge; print(sorted(m.split('.')[0] for m in sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    for heavy in ("pydantic", "numpy", "httpx", "pluggy", "typer"):
        assert f"'{heavy}'" not in loaded
