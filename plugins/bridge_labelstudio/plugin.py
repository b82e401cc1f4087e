"""Registers the labelstudio plugin with label-bridge (entry point group "bridge")."""

from bridge.hookspecs import hookimpl


@hookimpl
def register_formats(register):
    from bridge_labelstudio.files import LabelStudioJson

    register(LabelStudioJson())
