"""COCO categories <-> unified label classes, and the category ids a writer gives them.

A COCO **category** is a class with a positive integer `id` (real COCO's run 1-90 with
holes), a `name`, an optional `supercategory`, and for keypoint classes the names of its
`keypoints` and a `skeleton` (pairs of 1-based keypoint indices).

Unified side: a category is a `LabelClass`; its COCO id and supercategory ride in
`tool_ids["coco"]` (`{"id": 18, "supercategory": "animal"}`). A keypoint category is a
class of kind "skeleton" whose points are classes with `parent` set to it (one per
keypoint, in keypoint order; `tool_ids["coco"]["keypoint"]` keeps the keypoint's name
when the class had to be renamed `CATEGORY:KEYPOINT` to stay unique), and whose `edges`
are the skeleton as pairs of point-class names.

Ids a writer gives (`CategoryIds`), most binding first: the label map (`-O label_map`),
then an id in `tool_ids["coco"]` (kept when no other class holds it), then the next id
above every id given so far, in ontology order (1, 2, 3... when nothing else is given).
A label first met in the items (a reader that discovers labels) gets the next id then.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bridge.schema import LabelClass, Ontology

POINT_KINDS = ("skeleton", "points")


def coco_ids(label: LabelClass) -> dict[str, Any]:
    return label.tool_ids.get("coco", {})


def is_point_class(label: LabelClass, by_name: Mapping[str, LabelClass]) -> bool:
    """A keypoint of a skeleton class (its parent draws skeletons), not a category."""
    parent = by_name.get(label.parent) if label.parent else None
    return parent is not None and any(kind in POINT_KINDS for kind in parent.kinds)


def keypoint_classes(ontology: Ontology, name: str) -> list[LabelClass]:
    """The point classes of skeleton class `name`, in ontology (= keypoint) order."""
    return [label for label in ontology.labels if label.parent == name]


class CategoryIds:
    """Label -> COCO category id, fixed as described in the module docstring, plus the
    keypoint names of each keypoint category (from the ontology, or learned from the
    first shape when the ontology names none)."""

    def __init__(self, ontology: Ontology, label_map: Mapping[str, int] | None = None):
        self.ids: dict[str, int] = dict(label_map or {})
        self.taken: set[int] = set(self.ids.values())
        self.keypoints: dict[str, list[str]] = {}
        self.assign(ontology)

    def _next(self) -> int:
        return max(self.taken, default=0) + 1

    def assign(self, ontology: Ontology) -> None:
        """Give every category of `ontology` that has none an id (kept coco ids first)."""
        by_name = {label.name: label for label in ontology.labels}
        categories = [c for c in ontology.labels if not is_point_class(c, by_name)]
        for label in categories:
            wanted = coco_ids(label).get("id")
            if (
                label.name not in self.ids
                and isinstance(wanted, int)
                and not isinstance(wanted, bool)
                and wanted > 0
                and wanted not in self.taken
            ):
                self.ids[label.name] = wanted
                self.taken.add(wanted)
        for label in categories:
            self.id_for(label.name)

    def id_for(self, name: str) -> int:
        found = self.ids.get(name)
        if found is None:
            found = self.ids[name] = self._next()
            self.taken.add(found)
        return found

    def keypoint_names(self, ontology: Ontology, name: str) -> list[str] | None:
        """The keypoint names of category `name` (None if the ontology names none and no
        shape has taught them yet)."""
        known = self.keypoints.get(name)
        if known is None:
            points = keypoint_classes(ontology, name)
            if not points:
                return None
            known = self.keypoints[name] = [p.name for p in points]
        return known

    def categories(self, ontology: Ontology) -> list[dict[str, Any]]:
        """The COCO `categories` array, by id: every category of `ontology` and every
        label met in the items."""
        self.assign(ontology)
        by_name = {label.name: label for label in ontology.labels}
        out = []
        for name, category_id in sorted(self.ids.items(), key=lambda pair: pair[1]):
            label = by_name.get(name)
            entry: dict[str, Any] = {"id": category_id, "name": name}
            supercategory = coco_ids(label).get("supercategory") if label else None
            if supercategory is None and label is not None and label.parent:
                supercategory = label.parent
            if supercategory is not None:
                entry["supercategory"] = supercategory
            points = self.keypoint_names(ontology, name)
            if points is not None:
                entry["keypoints"] = [_keypoint_name(by_name.get(p), p) for p in points]
                index = {point: number for number, point in enumerate(points, start=1)}
                entry["skeleton"] = [
                    [index[a], index[b]]
                    for a, b in (label.edges if label else [])
                    if a in index and b in index
                ]
            if label is not None:
                entry.update(label.extra)
            out.append(entry)
        return out


def _keypoint_name(label: LabelClass | None, name: str) -> str:
    if label is None:
        return name
    kept = coco_ids(label).get("keypoint")
    return kept if isinstance(kept, str) else name


def ontology_from_categories(categories: list[dict[str, Any]]) -> Ontology:
    """The unified ontology of a COCO `categories` array (checked by the reader: unique
    names and ids, keypoint names strings, skeleton pairs of integers)."""
    labels: list[LabelClass] = []
    used = {str(c["name"]) for c in categories}
    for category in categories:
        name = str(category["name"])
        ids: dict[str, Any] = {"id": category["id"]}
        if "supercategory" in category:
            ids["supercategory"] = category["supercategory"]
        extra = {
            key: value
            for key, value in category.items()
            if key not in ("id", "name", "supercategory", "keypoints", "skeleton")
        }
        keypoints = category.get("keypoints")
        if not keypoints:
            labels.append(LabelClass(name=name, tool_ids={"coco": ids}, extra=extra))
            continue
        point_names = []
        for point in keypoints:
            point_name = f"{name}:{point}" if str(point) in used else str(point)
            used.add(point_name)
            point_names.append(point_name)
        edges = [
            (point_names[a - 1], point_names[b - 1])
            for a, b in category.get("skeleton") or []
            if 1 <= a <= len(point_names) and 1 <= b <= len(point_names)
        ]
        labels.append(
            LabelClass(
                name=name, kinds=["skeleton"], edges=edges, tool_ids={"coco": ids}, extra=extra
            )
        )
        for point, point_name in zip(keypoints, point_names, strict=True):
            point_ids = {"keypoint": point} if point_name != point else {}
            labels.append(
                LabelClass(
                    name=point_name,
                    kinds=["points"],
                    parent=name,
                    tool_ids={"coco": point_ids} if point_ids else {},
                )
            )
    return Ontology(labels=labels)
