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
