"""`content_hash`: THE hash of unified content, used to tell what changed.

The hash is the SHA-256 (hex) of a canonical JSON text (keys sorted, no whitespace) of
the object after removing what is *provenance* rather than content:

* every `source` and `extra` key (where the element came from, vendor-only fields) and
  every `tool_ids` key (each tool's identifiers of an ontology element), at any depth;
* the object's own top-level `id` (an annotation set's id is the tool's id of it);
* region and track ids inside an annotation set: they are the tool's ids too, so they are
  replaced by their position (`r0`, `r1`, ... / `t0`, ...), and relations' `from_id` /
  `to_id` are rewritten the same way; a relation to an unknown id keeps it.

A pydantic model is dumped in JSON mode *without its default values* (as writers write
them), so adding a field with a default to the schema does not change any hash. Plain
data (dicts, lists, scalars) is hashed as given, minus the provenance keys above.
Two sides of a sync that hold the same content therefore have the same hash even when
their tools numbered things differently.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
from pydantic import BaseModel

PROVENANCE_KEYS = frozenset({"source", "extra", "tool_ids"})


_CONTAINERS = (dict, list)


def _strip(data: Any) -> Any:
    """`data` without provenance keys (recursing only into containers: this runs for
    every item and set pulled)."""
    if type(data) is dict:
        return {
            k: _strip(v) if type(v) in _CONTAINERS else v
            for k, v in data.items()
            if k not in PROVENANCE_KEYS
        }
    if type(data) is list:
        return [_strip(v) if type(v) in _CONTAINERS else v for v in data]
    if isinstance(data, dict | list):  # subclasses: the slow way
        return _strip(dict(data) if isinstance(data, dict) else list(data))
    return data


def _renumber(data: dict[str, Any]) -> dict[str, Any]:
    """Region/track ids -> positions, relations rewritten to match (an annotation set)."""
    names: dict[str, str] = {}
    for field, prefix in (("regions", "r"), ("tracks", "t")):
        things = data.get(field)
        if not isinstance(things, list):
            continue
        renamed = []
        for index, thing in enumerate(things):
            if isinstance(thing, dict) and "id" in thing:
                names.setdefault(str(thing["id"]), f"{prefix}{index}")
                thing = {**thing, "id": f"{prefix}{index}"}
            renamed.append(thing)
        data[field] = renamed
    relations = data.get("relations")
    if isinstance(relations, list) and names:
        data["relations"] = [
            {
                **rel,
                "from_id": names.get(str(rel.get("from_id")), rel.get("from_id")),
                "to_id": names.get(str(rel.get("to_id")), rel.get("to_id")),
            }
            if isinstance(rel, dict)
            else rel
            for rel in relations
        ]
    return data


def canonical(obj: Any) -> Any:
    """The data `content_hash` hashes (see the module docstring)."""
    if isinstance(obj, BaseModel):
        obj = obj.model_dump(mode="json", exclude_defaults=True)
    data = _strip(obj)
    if isinstance(data, dict):
        data.pop("id", None)
        data = _renumber(data)
    return data


def content_hash(obj: Any) -> str:
    """SHA-256 hex of the canonical JSON of `obj`'s content (provenance excluded)."""
    text = orjson.dumps(canonical(obj), option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(text).hexdigest()
