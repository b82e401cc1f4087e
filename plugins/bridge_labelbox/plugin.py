"""Registers the labelbox plugin with label-bridge (entry point group "bridge")."""

from bridge.hookspecs import hookimpl


@hookimpl
def register_connectors(register):
    """The live connector: labelbox://projects/<id>."""
    from bridge_labelbox.connector import LabelboxConnector

    register(LabelboxConnector)
