"""The `coco` file format: COCO JSON, read and written.

Reading (`bridge_coco.read`): ground-truth files (instances, person keypoints) and
detection results files. Options:

* `images=FILE`: for a results file, the COCO file that names its categories and images
  (required for results; ignored for ground truth).

Writing (`bridge_coco.write`, one file per call; a delivery bundle calls it once per
split). Options:

* `sets=SPEC`: which annotation sets of each item to write, a `bridge.select` spec
  (`all`, `gold`, `accepted`, `latest`, `annotator=WHO`, ...; default `all`). One COCO
  annotation per region (or group of regions) of every chosen set; when an item has
  several chosen sets, each annotation names its set's maker in an extra `"annotator"`
  key (email, else name, else id; a model's version for predictions).
* `label_map=FILE`: a JSON object `{label: category_id}` fixing the category ids (positive
  integers, each used once), so ids stay the same across exports. Labels it does not name
  get ids above all others (see `bridge_coco.categories`).
* `validate=true`: given a reader's records (`bridge.formats.ItemRecords`), take validated
  `Item`s instead (the same output, slower; for checking).

What COCO cannot hold is reported in the loss report, by code: `coco.tracks-dropped`,
`coco.relations-dropped`, `coco.classifications-dropped` (item-level answers),
`coco.<kind>-dropped` (polyline, cuboid, cuboid3d, span, time_segment, tag regions; video,
text... items), `coco.rotation-dropped` (a rotated box is written as the axis-aligned box
around it), `coco.ellipse-as-polygon`, `coco.size-unknown` (percent shapes of an image of
unknown size: give `-O media_size=WxH`), `coco.image-size-unknown`,
`coco.attributes-extra` (region attributes in an extra `"attributes"` key),
`coco.annotator-dropped`, `coco.reviews-dropped`, `coco.z-order-dropped`,
`coco.keypoint-unknown`, `coco.keypoint-attributes-dropped`, `coco.mask-size-mismatch`,
the group conflicts `coco.mask-with-polygons`, `coco.masks-merged-dropped`,
`coco.keypoints-extra-dropped`, `coco.box-in-group-dropped`, and the id clashes
`coco.image-id-renumbered` / `coco.annotation-id-renumbered`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bridge.formats import Capabilities, Dataset, FileFormat
from bridge.label_map import load_label_map
from bridge.losses import LossReport
from bridge.options import flag_option
from bridge.select import SetSelector
from bridge_coco.read import read_coco
from bridge_coco.write import write_coco


def looks_like_coco(head: bytes) -> bool:
    """A JSON object with COCO's `images` and `annotations`/`categories` keys near the
    start, or a JSON list of results (`image_id` and `category_id` in its first object)."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"{"):
        return b'"images"' in text and (b'"annotations"' in text or b'"categories"' in text)
    if text.startswith(b"["):
        first = text[1:].lstrip()
        if not first.startswith(b"{"):
            return False
        end = first.find(b"}")
        window = first if end < 0 else first[: end + 1]
        return b'"image_id"' in window and b'"category_id"' in window
    return False


class CocoJson(FileFormat):
    name = "coco"
    description = "COCO JSON (instances, keypoints; detection results read as predictions)"
    capabilities = Capabilities(
        media=["image"],
        regions=["bbox", "polygon", "mask", "skeleton", "points", "ellipse"],
        tracks=False,
        relations=False,
        extensions=[],  # ".json" names Label Studio's export: COCO is written with --to coco
        output_suffix=".json",
    )

    def sniff(self, path: Path, head: bytes) -> bool:
        return looks_like_coco(head)

    def read(self, path: Path, losses: LossReport, **options: Any) -> Dataset:
        images = options.get("images")
        return read_coco(path, losses, images=Path(images) if images else None)

    def write(self, dataset: Dataset, path: Path, losses: LossReport, **options: Any) -> None:
        write_coco(
            dataset,
            path,
            losses,
            sets=SetSelector.parse(options.get("sets") or "all"),
            label_map=load_label_map(options.get("label_map")),
            validate=flag_option(options, "validate"),
        )
