"""The plugin manager: built-in plugins and entry points register the same way.

Built-in modules (the unified JSONL format; the workspace read as a source) are registered
first; then every entry point in
the "bridge" group is loaded, which is how the three vendor connectors arrive (datasette's
shape). A plugin that fails to import is reported by `bridge plugins`, not fatal.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pluggy

from bridge import hookspecs
from bridge.errors import ConfigError, UnknownFormatError
from bridge.formats import Connector, FileFormat

if TYPE_CHECKING:
    from bridge.sync.target import TargetFactory

BUILTIN_MODULES = ["bridge.formats.jsonl", "bridge.store.format"]
ENTRY_POINT_GROUP = "bridge"

pm = pluggy.PluginManager("bridge")
pm.add_hookspecs(hookspecs)


@dataclass
class Registry:
    """Everything the plugins registered, by name, and the plugins that failed to load.

    Connectors are asked for the first time `connectors` (or `broken`) is read: their
    modules bring the HTTP stack and the vendor APIs, which a file-to-file conversion
    never needs."""

    formats: dict[str, FileFormat] = field(default_factory=dict)
    owners: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    _connectors: dict[str, type[Connector]] | None = None
    _sync_targets: dict[str, TargetFactory | str] | None = None

    @property
    def connectors(self) -> dict[str, type[Connector]]:
        if self._connectors is None:
            connectors: dict[str, type[Connector]] = {}

            def add_connector(owner: str, cls: type[Connector]) -> None:
                connectors[cls.name] = cls
                self.owners[f"connector:{cls.name}"] = owner

            _collect("register_connectors", add_connector, self.failed)
            self._connectors = connectors
        return self._connectors

    @property
    def sync_targets(self) -> dict[str, TargetFactory | str]:
        """Sync target factories by URL scheme (asked for the first time a push needs one);
        a factory registered as "module:attribute" is imported only when a push uses it
        (`get_sync_target_factory`)."""
        if self._sync_targets is None:
            targets: dict[str, TargetFactory | str] = {}

            def add_target(owner: str, entry: tuple[str, TargetFactory | str]) -> None:
                scheme, factory = entry
                targets[scheme] = factory
                self.owners[f"sync-target:{scheme}"] = owner

            _collect("register_sync_targets", add_target, self.failed)
            self._sync_targets = targets
        return self._sync_targets

    @property
    def broken(self) -> dict[str, str]:
        """The plugins that failed to import or whose hooks failed, with the error."""
        self.connectors  # noqa: B018 - a connector hook that fails is listed too
        return self.failed


_loaded = False
_registry: Registry | None = None
_broken: dict[str, str] = {}  # entry points that failed to import


def load_plugins() -> None:
    """Register built-ins and entry-point plugins once per process."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    for module_name in BUILTIN_MODULES:
        module = importlib.import_module(module_name)
        if not pm.is_registered(module):
            pm.register(module, name=module_name)
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        if pm.get_plugin(entry_point.name) is not None:
            continue
        try:
            pm.register(entry_point.load(), name=entry_point.name)
        except Exception as error:  # a broken third-party plugin must not break the CLI
            _broken[entry_point.name] = f"{type(error).__name__}: {error}"


def _collect(hook_name: str, add: Callable[[str, Any], None], broken: dict[str, str]) -> None:
    """Call every implementation of `hook_name`; a plugin whose hook fails (a missing
    optional dependency, a bug) is listed in `broken` instead of breaking the others."""
    hook = getattr(pm.hook, hook_name)
    for impl in hook.get_hookimpls():
        owner = impl.plugin_name

        def register(*thing: Any, _owner: str = owner) -> None:
            add(_owner, thing[0] if len(thing) == 1 else thing)

        try:
            impl.function(register=register)
        except Exception as error:
            broken[owner] = f"{hook_name}: {type(error).__name__}: {error}"


def registry(refresh: bool = False) -> Registry:
    """What all registered plugins provide. `refresh=True` re-asks the hooks (after a
    plugin was registered at run time)."""
    global _registry
    load_plugins()
    if _registry is not None and not refresh:
        return _registry
    reg = Registry(failed=dict(_broken))

    def add_format(owner: str, fmt: FileFormat) -> None:
        reg.formats[fmt.name] = fmt
        reg.owners[f"format:{fmt.name}"] = owner

    _collect("register_formats", add_format, reg.failed)
    _registry = reg
    return reg


def get_format(name: str) -> FileFormat:
    """The file format called `name`."""
    reg = registry()
    fmt = reg.formats.get(name)
    if fmt is None:
        known = ", ".join(sorted(reg.formats))
        raise UnknownFormatError(
            f"unknown format {name!r}", hint=f"known formats: {known} (see `bridge plugins`)"
        )
    return fmt


def get_connector(scheme: str) -> type[Connector]:
    """The connector class for URLs starting with `scheme://`."""
    reg = registry()
    cls = reg.connectors.get(scheme)
    if cls is None:
        known = ", ".join(sorted(reg.connectors)) or "none"
        raise UnknownFormatError(
            f"no connector for {scheme}:// URLs", hint=f"known connectors: {known}"
        )
    return cls


SNIFF_BYTES = 64 * 1024


def detect_format(path: Path) -> str:
    """Name of the first readable format whose `sniff` accepts the file at `path` (for a
    directory: the first directory format whose `sniff` accepts it, given no bytes)."""
    is_dir = path.is_dir()
    head = b""
    if not is_dir:
        with open(path, "rb") as handle:
            head = handle.read(SNIFF_BYTES)
    for name, fmt in registry().formats.items():
        if is_dir and not fmt.capabilities.directory:
            continue
        if fmt.capabilities.read and fmt.sniff(path, head):
            return name
    if is_dir:
        raise ConfigError(
            "is a directory, not an export file",
            where=str(path),
            hint="give the file inside it, or name a directory format with --from (e.g. voc)",
        )
    raise UnknownFormatError(
        f"cannot tell which format {path} is in",
        where=str(path),
        hint="name it with --from (see `bridge plugins` for the formats)",
    )


def get_sync_target_factory(scheme: str) -> TargetFactory:
    """The sync target factory for URLs starting with `scheme://`."""
    reg = registry()
    factory = reg.sync_targets.get(scheme)
    if factory is None:
        known = ", ".join(sorted(reg.sync_targets)) or "none"
        raise UnknownFormatError(
            f"no sync target for {scheme}:// URLs",
            hint=f"known sync targets: {known}, or a file path (any writable format)",
        )
    if isinstance(factory, str):  # "module:attribute", imported now that a push needs it
        module, _, attribute = factory.partition(":")
        try:
            loaded = importlib.import_module(module)
        except ImportError as error:  # e.g. a missing optional dependency of that plugin
            raise UnknownFormatError(
                f"the sync target for {scheme}:// URLs cannot be loaded: {error}",
                hint="see `bridge plugins` and install what the plugin needs",
            ) from error
        factory = cast("TargetFactory", getattr(loaded, attribute))
        reg.sync_targets[scheme] = factory
    return factory
