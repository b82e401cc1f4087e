"""YOLO (Ultralytics) datasets: detect, segment, OBB and pose label files with data.yaml,
read and written through the unified schema."""
