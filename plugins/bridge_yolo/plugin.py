"""Registers the yolo plugin with label-bridge (entry point group "bridge")."""

from bridge.hookspecs import hookimpl


@hookimpl
def register_formats(register):
    """The `yolo` format: an Ultralytics YOLO dataset directory (data.yaml + labels/)."""
    from bridge_yolo.files import YoloDataset

    register(YoloDataset())
