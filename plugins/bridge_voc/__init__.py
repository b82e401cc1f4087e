"""Pascal VOC (detection XML) for label-bridge: one annotation file per image."""
