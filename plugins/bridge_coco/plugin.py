"""Registers the coco plugin with label-bridge (entry point group "bridge")."""

from bridge.hookspecs import hookimpl


@hookimpl
def register_formats(register):
    """The `coco` file format: COCO instances/keypoints JSON and detection results."""
    from bridge_coco.files import CocoJson

    register(CocoJson())
