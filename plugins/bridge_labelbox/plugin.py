"""Registers the labelbox plugin with label-bridge (entry point group "bridge")."""

from bridge.hookspecs import hookimpl


@hookimpl
def register_connectors(register):
    """The live connector: labelbox://projects/<id>."""
    from bridge_labelbox.connector import LabelboxConnector

    register(LabelboxConnector)


@hookimpl
def register_formats(register):
    """The file formats: `labelbox` (export v2 NDJSON) and `labelbox-import` (write-only)."""
    from bridge_labelbox.files import LabelboxExport, LabelboxImport

    register(LabelboxExport())
    register(LabelboxImport())


@hookimpl
def register_sync_targets(register):
    """The Labelbox sync target: labelbox://projects/ID."""
    register("labelbox", "bridge_labelbox.sync_target:sync_target")
