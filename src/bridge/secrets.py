"""Every credential the process holds, and `redact` to keep them out of printed text.

A token can reach a message in more forms than its raw text: a server echoes it inside
JSON (`\\u` escapes, `\\/`), a URL carries it percent-encoded, a `repr` shows `\\n` for a
line break. `register` records a secret once (connectors do it when they read a token
from the environment or mint one); `redact` replaces each of those forms with `***`.

The registry is process-wide so that whoever prints a message (the CLI, a log line) can
redact it without knowing which client made it. It only takes secrets of
`MIN_REGISTERED` characters or more: a very short string would blank out ordinary words.
"""

from __future__ import annotations

import json
import threading
from urllib.parse import quote, quote_plus, urlsplit, urlunsplit

from bridge.errors import ConfigError

MIN_REGISTERED = 6
MAX_REGISTERED = 256
MASK = "***"

_lock = threading.Lock()
_secrets: dict[str, tuple[str, ...]] = {}


def forms(secret: str) -> tuple[str, ...]:
    """The ways `secret` can appear in text: raw, JSON-escaped (ASCII or not), `/`
    escaped as JSON may, percent-encoded (path or form style), and inside a `repr` of a
    str or of its UTF-8 bytes. Longest first, so a longer form is replaced before a
    shorter one inside it."""
    found = {
        secret,
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        json.dumps(secret)[1:-1].replace("/", "\\/"),
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
        repr(secret)[1:-1],
        repr(secret.encode("utf-8", "surrogatepass"))[2:-1],
    }
    return tuple(sorted((form for form in found if form), key=len, reverse=True))


def register(secret: str | None) -> None:
    """Remember `secret` so that `redact` hides it from now on (no-op for short ones)."""
    if not secret or len(secret) < MIN_REGISTERED:
        return
    with _lock:
        if secret in _secrets:
            return
        if len(_secrets) >= MAX_REGISTERED:
            _secrets.pop(next(iter(_secrets)))
        _secrets[secret] = forms(secret)


def redact(text: str, extra: tuple[str, ...] | list[str] = ()) -> str:
    """`text` with every registered secret (and every secret in `extra`, whatever its
    length), in each of its printable forms, replaced by `***`."""
    if not text:
        return text
    with _lock:
        groups = list(_secrets.values())
    groups.extend(forms(secret) for secret in extra if secret)
    for group in groups:
        for form in group:
            if form in text:
                text = text.replace(form, MASK)
    return text


def refuse_userinfo(url: str, *, hint: str) -> None:
    """A `ConfigError` when `url` carries `user:password@` before its host: credentials
    in a connector URL would be copied into every pulled item's source; tokens come from
    the environment. The message shows the URL with the credentials masked."""
    parts = urlsplit(url.strip())
    if "@" not in parts.netloc:
        return
    shown = urlunsplit(parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1]))
    raise ConfigError(
        f"the URL {shown} carries credentials before its host; label-bridge does not "
        "take credentials from URLs",
        hint=hint,
    )
