"""Reading the `-O key=value` options that formats and connectors take: one strict parser
for each kind of value, so that a typo is a `ConfigError` naming the option, never a
silent default (`-O job_workflow=ture` must not quietly turn the workflow push off).

Values arrive as the CLI decoded them (`-O a=1` gives the int 1, `-O a=true` the bool True,
`-O a=yes` the text "yes"), as URL query text (`labelbox://projects/x?interpolated_frames=1`)
or as Python values from the API. Every parser takes all three.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from bridge.errors import ConfigError

FLAG_WORDS = {
    "true": True,
    "1": True,
    "yes": True,
    "on": True,
    "false": False,
    "0": False,
    "no": False,
    "off": False,
}
SIZE_PATTERN = re.compile(r"^\s*(\d+)\s*[xX×,]\s*(\d+)\s*$")


def flag(name: str, value: Any) -> bool:
    """A yes/no option: a bool (the CLI passes JSON values through) or one of the words
    true/false, yes/no, on/off, 1/0. Anything else is a `ConfigError` naming the option."""
    answer = value if isinstance(value, bool) else FLAG_WORDS.get(str(value).strip().lower())
    if answer is None:
        raise ConfigError(
            f"{name} must be true or false, not {value!r}",
            hint=f"-O {name}=true or -O {name}=false",
        )
    return answer


def flag_option(options: Mapping[str, Any] | None, name: str, default: bool = False) -> bool:
    """The yes/no option `name` of `options` (`flag`), or `default` when it is not given."""
    value = (options or {}).get(name)
    return default if value is None else flag(name, value)


def integer(
    name: str, value: Any, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    """A whole-number option: an int or its decimal digits ("42", "-3"), within
    [`minimum`, `maximum`] where given. Anything else is a `ConfigError` naming it."""
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and re.fullmatch(r"\s*[-+]?\d+\s*", value):
        number = int(value)
    if (
        number is None
        or (minimum is not None and number < minimum)
        or (maximum is not None and number > maximum)
    ):
        raise ConfigError(
            f"{name} must be {_range('a whole number', minimum, maximum)}, not {value!r}",
            hint=f"e.g. -O {name}={_example(minimum, maximum)}",
        )
    return number


def integer_option(
    options: Mapping[str, Any] | None,
    name: str,
    default: int,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int:
    """The whole-number option `name` of `options` (`integer`), or `default`."""
    value = (options or {}).get(name)
    if value is None:
        return default
    return integer(name, value, minimum=minimum, maximum=maximum)


def number(name: str, value: Any, *, minimum: float | None = None) -> float:
    """A finite number option (int, float or their text), at least `minimum` where given."""
    result: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        result = float(value)
    elif isinstance(value, str):
        try:
            result = float(value)
        except ValueError:
            result = None
    if result is None or not math.isfinite(result) or (minimum is not None and result < minimum):
        raise ConfigError(
            f"{name} must be {_range('a number', minimum, None)}, not {value!r}",
            hint=f"e.g. -O {name}={_example(minimum, None)}",
        )
    return result


def number_option(
    options: Mapping[str, Any] | None, name: str, default: float, *, minimum: float | None = None
) -> float:
    """The number option `name` of `options` (`number`), or `default`."""
    value = (options or {}).get(name)
    return default if value is None else number(name, value, minimum=minimum)


def size(name: str, value: Any) -> tuple[int, int]:
    """A `WIDTHxHEIGHT` option (`"1280x720"`, also `1280,720`) as (width, height), both
    positive."""
    match = SIZE_PATTERN.match(str(value))
    if not match or 0 in (int(match.group(1)), int(match.group(2))):
        raise ConfigError(f"{name} {value!r} is not WIDTHxHEIGHT", hint=f"e.g. -O {name}=1280x720")
    return int(match.group(1)), int(match.group(2))


def _range(kind: str, minimum: float | None, maximum: float | None) -> str:
    if minimum is not None and maximum is not None:
        return f"{kind} from {minimum} to {maximum}"
    if minimum is not None:
        return f"{kind} of at least {minimum}"
    if maximum is not None:
        return f"{kind} of at most {maximum}"
    return kind


def _example(minimum: float | None, maximum: float | None) -> str:
    if minimum is not None:
        return str(max(minimum, 1) if maximum is None or maximum >= 1 else minimum)
    return str(maximum if maximum is not None else 1)
