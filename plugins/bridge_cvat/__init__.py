"""label-bridge connector for cvat."""
