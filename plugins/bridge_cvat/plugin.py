"""Registers the cvat plugin with label-bridge (entry point group "bridge")."""

from bridge.hookspecs import hookimpl


@hookimpl
def register_formats(register):
    """The `cvat` file format: CVAT for images / CVAT for video 1.1 XML."""
    from bridge_cvat.files import CvatXml

    register(CvatXml())


@hookimpl
def register_connectors(register):
    """The live CVAT connector: cvat:// (https) and cvat+http:// URLs."""
    from bridge_cvat.connector import CvatConnector, CvatHttpConnector

    register(CvatConnector)
    register(CvatHttpConnector)


@hookimpl
def register_sync_targets(register):
    """The CVAT sync target: cvat:// and cvat+http:// project URLs."""
    register("cvat", "bridge_cvat.sync_target:sync_target")
    register("cvat+http", "bridge_cvat.sync_target:sync_target")
