"""Text that came from a file or a server, made safe to show on a terminal.

A label, a path, a server's error body may hold escape sequences (`ESC ] 0 ; title BEL`
sets the terminal's title, `ESC [ 2 J` clears the screen), other control characters,
bidirectional overrides that make a line read differently from what it holds, and lone
surrogates (a file name that is not UTF-8, decoded with `surrogateescape`) that cannot be
encoded at all. `printable` removes or replaces all of them; the CLI passes every message,
loss example and hint through it before printing.
"""

from __future__ import annotations

import json
import re
from typing import Any

# ESC (or its 8-bit C1 form) and what follows it: CSI sequences (`ESC [ ... final`),
# string sequences (OSC, DCS, SOS, PM, APC: up to BEL or ST, or to the end of the text
# when unterminated), and two-character escapes (`ESC c`, `ESC 7`, ...).
_ESCAPES = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"  # CSI
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"  # OSC/DCS/..
    r"|\x1b[ -/]*[0-~]?"  # other escapes, incomplete ones included
)
# What is left: C0 controls but tab and newline, DEL, C1 controls, bidirectional
# embeddings/overrides/isolates and marks (they reorder what is shown).
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_SURROGATES = re.compile("[\ud800-\udfff]")


def _surrogate(match: re.Match[str]) -> str:
    code = ord(match.group())
    # surrogateescape keeps an undecodable byte 0xNN as U+DCNN: show the byte
    return f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else "\ufffd"


def printable(value: Any) -> str:
    """`text` (anything; `str()` is taken) without escape sequences, control characters
    (tab and newline are kept) or bidirectional overrides; an undecodable file-name byte
    shows as `\\xNN`."""
    text = str(value)
    if text.isascii() and text.isprintable():
        return text  # the common case, checked in C
    text = _ESCAPES.sub("", text)
    text = _CONTROLS.sub("", text)
    return _SURROGATES.sub(_surrogate, text)


_JSON_UNSAFE = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def json_text(value: Any, *, indent: int | None = 2) -> str:
    """`value` as JSON text that is safe on a terminal and encodes as UTF-8: non-ASCII
    text stays readable, but the characters `printable` removes are written as `\\uXXXX`
    escapes (json already escapes the C0 controls), so the JSON still means the same."""
    text = json.dumps(value, indent=indent, ensure_ascii=False)
    return _JSON_UNSAFE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)
