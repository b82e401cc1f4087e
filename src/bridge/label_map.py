"""Label maps: `-O label_map=FILE`, a JSON object `{label: id}` that fixes the class ids an
export writes, so they stay the same from one export to the next (a format's writer says
how it uses them: category ids as given, or class order).

Ids are positive integers, each used by one label; anything else is a `ConfigError` naming
the file and the label.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from bridge.errors import ConfigError

HINT = 'a label map is a JSON object {"label": id, ...} with positive integer ids, each used once'


def load_label_map(value: Any) -> dict[str, int] | None:
    """`value` (a path to a JSON file, or a mapping already loaded; None: no label map)
    as a checked `{label: id}`."""
    if value is None:
        return None
    where = "-O label_map"
    if isinstance(value, dict):
        data: Any = value
    else:
        path = Path(str(value))
        where = str(path)
        try:
            data = orjson.loads(path.read_bytes())
        except FileNotFoundError:
            raise ConfigError(f"no such file: {path}", where="-O label_map", hint=HINT) from None
        except orjson.JSONDecodeError as error:
            raise ConfigError(f"not valid JSON ({error})", where=where, hint=HINT) from None
    if not isinstance(data, dict):
        raise ConfigError("the label map is not a JSON object", where=where, hint=HINT)
    owners: dict[int, str] = {}
    for label, given in data.items():
        if not isinstance(given, int) or isinstance(given, bool) or given < 1:
            raise ConfigError(
                f"label {label!r}: id {given!r} is not a positive integer", where=where, hint=HINT
            )
        if given in owners:
            raise ConfigError(
                f"labels {owners[given]!r} and {label!r} both have id {given}",
                where=where,
                hint=HINT,
            )
        owners[given] = label
    return {str(label): given for label, given in data.items()}
