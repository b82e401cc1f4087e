"""A canonical form of a CVAT XML file, for "semantically identical" comparisons.

Two files are semantically identical when CVAT's own importer would load the same thing
from both. So the canonical form (built with the standard library's ElementTree, not with
the code under test) forgets exactly what that importer ignores, and nothing else:

* number formatting: "3.00" == "3" (attribute values that parse as numbers compare as
  floats; a mask's `rle` as a list of integers);
* whitespace between elements (and whitespace-only text, except an attribute's value),
  and the order of XML attributes on an element;
* defaults the importer applies: a shape without `occluded` is not occluded, a label
  attribute without `<mutable>` is immutable, an empty `<attributes>` is none;
* the order of top-level `<track>`s (sorted by id: tracks are independent objects).

Element order everywhere else (images, shapes, attribute values, labels, meta) counts.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

SHAPES = {"box", "polygon", "polyline", "points", "ellipse", "cuboid", "mask"}


def _value(key: str, text: str):
    if key == "rle":
        return tuple(int(v) for v in text.split(","))
    if key == "points":
        return tuple(float(c) for pair in text.split(";") for c in pair.split(","))
    try:
        return float(text)
    except ValueError:
        return text


def _attrs(element: ET.Element) -> tuple:
    attrs = dict(element.attrib)
    if element.tag in SHAPES:
        attrs.setdefault("occluded", "0")
    return tuple(sorted((k, _value(k, v)) for k, v in attrs.items()))


def canonical(element: ET.Element) -> tuple:
    children = list(element)
    spec_without_mutable = element.tag == "attribute" and element.find("name") is not None
    if spec_without_mutable and element.find("mutable") is None:  # a label's attribute spec
        children.insert(1, ET.Element("mutable"))
        children[1].text = "False"
    if element.tag == "annotations":
        children.sort(
            key=lambda c: (c.tag == "track", int(c.get("id", "0")) if c.tag == "track" else 0)
        )
    kept = [c for c in children if not (c.tag == "attributes" and len(c) == 0)]
    text = element.text or ""
    if kept or (not text.strip() and element.tag != "attribute"):
        text = ""  # indentation, or an empty shape written open/close instead of <x/>
    if element.tag == "mutable":
        text = text.lower()
    return (element.tag, _attrs(element), text, tuple(canonical(c) for c in kept))


def canonical_file(path: str | Path) -> tuple:
    return canonical(ET.parse(path).getroot())


def first_difference(a: tuple, b: tuple, path: str = "") -> str | None:
    """Where two canonical trees differ first (for readable assertion messages)."""
    here = f"{path}/{a[0]}"
    if a[:3] != b[:3]:
        return f"{here}: {a[:3]!r} != {b[:3]!r}"
    if len(a[3]) != len(b[3]):
        return f"{here}: {len(a[3])} children != {len(b[3])}"
    for index, (x, y) in enumerate(zip(a[3], b[3], strict=True)):
        found = first_difference(x, y, f"{here}[{index}]")
        if found:
            return found
    return None
