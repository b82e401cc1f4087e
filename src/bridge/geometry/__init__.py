"""Pure geometry functions: every coordinate convention of every tool lives here, once.

* `coords`: percent <-> pixels, rotation about the top-left corner (Label Studio) <-> about
  the centre (unified, CVAT), box corners.
* `masks`: the unified mask encoding (COCO RLE via pycocotools) <-> numpy bitmaps.
* Vendor mask codecs sit beside them, one module each (Label Studio brush RLE, Labelbox
  PNG); CVAT's crop RLE lives in the CVAT plugin.
"""

from bridge.geometry.coords import (
    bbox_corners,
    bbox_from_top_left_rotation,
    bbox_to_top_left_rotation,
    percent_to_pixels,
    pixels_to_percent,
)
from bridge.geometry.masks import bitmap_to_rle, rle_area, rle_bbox, rle_iou, rle_to_bitmap

__all__ = [
    "bbox_corners",
    "bbox_from_top_left_rotation",
    "bbox_to_top_left_rotation",
    "bitmap_to_rle",
    "percent_to_pixels",
    "pixels_to_percent",
    "rle_area",
    "rle_bbox",
    "rle_iou",
    "rle_to_bitmap",
]
