"""Registers the labelstudio plugin with label-bridge (entry point group "bridge")."""

from bridge.hookspecs import hookimpl


@hookimpl
def register_formats(register):
    """The `labelstudio` file format: Label Studio JSON export / import files."""
    from bridge_labelstudio.files import LabelStudioJson

    register(LabelStudioJson())


@hookimpl
def register_connectors(register):
    """The live connector: `labelstudio://HOST:PORT/projects/ID` and its https twin."""
    from bridge_labelstudio.connector import LabelStudioConnector, LabelStudioHttpsConnector

    register(LabelStudioConnector)
    register(LabelStudioHttpsConnector)


@hookimpl
def register_sync_targets(register):
    """`bridge push labelstudio://HOST:PORT/projects/ID` (and +https): a project kept in step."""
    register("labelstudio", "bridge_labelstudio.sync_target:make_target")
    register("labelstudio+https", "bridge_labelstudio.sync_target:make_target")
