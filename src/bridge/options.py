"""Reading `-O key=value` options that formats and connectors take."""

from __future__ import annotations

from typing import Any

from bridge.errors import ConfigError

FLAG_WORDS = {"true": True, "1": True, "yes": True, "on": True,
              "false": False, "0": False, "no": False, "off": False}  # fmt: skip


def flag(name: str, value: Any) -> bool:
    """A yes/no option: a bool (the CLI passes JSON values through) or one of the words
    true/false, yes/no, on/off, 1/0. Anything else is a `ConfigError` naming the option."""
    answer = value if isinstance(value, bool) else FLAG_WORDS.get(str(value).strip().lower())
    if answer is None:
        raise ConfigError(f"{name} must be true or false, not {value!r}",
                          hint=f"-O {name}=true or -O {name}=false")  # fmt: skip
    return answer
