"""The `cvat` file format: "CVAT for images 1.1" and "CVAT for video 1.1" XML.

Reading streams (`xml_read`), writing is atomic (`xml_write`). Options:
`mode="images"|"video"` when writing (default: from the first item's media kind).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bridge.formats import Capabilities, Dataset, FileFormat
from bridge.limits import max_pixels_option
from bridge.losses import LossReport
from bridge_cvat.ontology import REGIONS
from bridge_cvat.xml_read import read_cvat_xml
from bridge_cvat.xml_write import write_cvat_xml


def _skip_prolog(text: bytes) -> bytes:
    """`text` after leading whitespace, XML declaration, processing instructions and
    comments (what may come before the root element, or between elements)."""
    while True:
        text = text.lstrip(b" \t\r\n")
        if text.startswith(b"<?"):
            end = text.find(b"?>")
            text = text[end + 2 :] if end >= 0 else b""
        elif text.startswith(b"<!--"):
            end = text.find(b"-->", 4)
            text = text[end + 3 :] if end >= 0 else b""
        else:
            return text


def looks_like_cvat_xml(head: bytes) -> bool:
    """True if the first bytes are an XML document whose root is `<annotations>` with a
    `<version>` or `<meta>` right inside it (what every CVAT 1.1 export starts with).
    A byte order mark, whitespace, comments and processing instructions may come first."""
    text = _skip_prolog(head.removeprefix(b"\xef\xbb\xbf"))
    if not text.startswith(b"<annotations"):
        return False
    rest = text[len(b"<annotations") :]
    if rest[:1] not in (b">", b" ", b"\t", b"\r", b"\n"):
        return False  # another element, <annotationsX>
    rest = _skip_prolog(rest[rest.find(b">") + 1 :]) if b">" in rest else b""
    return rest.startswith(b"<version") or rest.startswith(b"<meta")


class CvatXml(FileFormat):
    name = "cvat"
    description = 'CVAT XML 1.1 ("CVAT for images" and "CVAT for video" exports)'
    capabilities = Capabilities(
        media=["image", "video"], regions=REGIONS, tracks=True, relations=False, extensions=[".xml"]
    )

    def sniff(self, path: Path, head: bytes) -> bool:
        return looks_like_cvat_xml(head)

    def read(self, path: Path, losses: LossReport, **options: Any) -> Dataset:
        return read_cvat_xml(path, losses, max_pixels=max_pixels_option(options))

    def write(self, dataset: Dataset, path: Path, losses: LossReport, **options: Any) -> None:
        write_cvat_xml(
            dataset, path, losses, mode=options.get("mode"), max_pixels=max_pixels_option(options)
        )
