"""COCO (Common Objects in Context) JSON: object detection, instance segmentation and
keypoints ground truth, and detection results, read and written through the unified schema."""
