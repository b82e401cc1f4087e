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
    from bridge_cvat.sync_target import sync_target

    register("cvat", sync_target)
    register("cvat+http", sync_target)
