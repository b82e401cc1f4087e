"""The one streaming parser of Label Studio's JSON export, for files and live pulls alike.

Label Studio's JSON export is one JSON array of tasks. It can be hundreds of megabytes, so
it is never loaded whole: the file is read in chunks, each top-level task object is cut
out where its braces balance and parsed alone with orjson (about twice as fast as a
streaming parser such as ijson's C backend on benchmarks/labelstudio_generate.py's export).

A file may also hold JSON lines (one task per line) or one task object (what
`GET /api/tasks/ID` answers). Anything else at the top level (`null`, a number, text
after the closing `]` as when two exports are joined) is a `FormatError`; whether each
object is a Label Studio task is `convert`'s check.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from bridge.errors import FormatError

CHUNK = 1 << 22
EXACT_AFTER = 1 << 20
"""A task longer than this without balanced braces is split by the exact (string-aware)
scanner: braces inside strings fooled the fast one."""
CANDIDATE_END = re.compile(rb"\}\s*(?=,\s*\{|\])")
TASK_ID = re.compile(rb'^\{\s*"id"\s*:\s*(-?\d+)|"id"\s*:\s*(-?\d+)')
TOKENS = re.compile(rb'["\\{}]')
WHITESPACE = b" \t\r\n"
BOM = b"\xef\xbb\xbf"
SEPARATORS = re.compile(rb"[ \t\r\n,]*")
EXPORT_HINT = "export the project again as JSON: a list of tasks"


def _task_label(segment: bytes, number: int) -> str:
    """'task 42' from the segment's first "id", else 'task #N' (its position in the file)."""
    match = TASK_ID.search(segment[:4096])
    if match:
        return f"task {(match.group(1) or match.group(2)).decode()}"
    return f"task #{number}"


def _exact_end(buf: bytes, start: int) -> int | None:
    """Index just past the object starting at `buf[start]`, honouring strings; None if the
    buffer ends first."""
    depth, pos, in_string = 0, start, False
    while True:
        match = TOKENS.search(buf, pos)
        if match is None:
            return None
        token, pos = match.group(), match.end()
        if in_string:
            if token == b"\\":
                pos += 1
            elif token == b'"':
                in_string = False
        elif token == b'"':
            in_string = True
        elif token == b"{":
            depth += 1
        elif token == b"}":
            depth -= 1
            if depth == 0:
                return pos


class _ArraySplitter:
    """Cuts the bytes of a top-level JSON array of objects into one bytes object per task.

    `buf` holds the unread part of the file from `base`; positions are offsets in `buf`.
    Candidate task ends are `}` followed by `, {` or `]`; the first one where `{` and `}`
    balance is the end unless braces inside strings fooled the count, which orjson then
    reports and the exact scanner resolves. `label` names the stream in messages (the
    file's path, or "export of project 3")."""

    def __init__(self, handle, label: str) -> None:
        self.handle = handle
        self.label = label
        self.buf = b""
        self.number = 0

    def _fill(self, keep: int) -> int:
        """Drop `buf[:keep]`, append a chunk; return how far positions moved (-1 at EOF)."""
        chunk = self.handle.read(CHUNK)
        if not chunk:
            return -1
        self.buf = self.buf[keep:] + chunk
        return keep

    def _fail(self, message: str, segment: bytes | None, hint: str | None = None):
        where = (
            self.label if segment is None else f"{self.label}: {_task_label(segment, self.number)}"
        )
        raise FormatError(message, where=where, hint=hint)

    def _next_start(self, pos: int) -> int | None:
        """Position of the next task's `{`; None after the closing `]` (and checks that
        nothing but white space follows it)."""
        while True:
            pos = SEPARATORS.match(self.buf, pos).end()
            head = self.buf[pos : pos + 1]
            if head == b"{":
                return pos
            if head == b"]":
                self._check_tail(pos + 1)
                return None
            if head:
                self._fail(
                    f"expected a task object after task #{self.number}, found "
                    f"{self.buf[pos : pos + 20]!r}",
                    None,
                )
            shift = self._fill(pos)
            if shift < 0:
                self._fail("the export ends before its closing ]", None, hint=EXPORT_HINT)
            pos = 0

    def _check_tail(self, pos: int) -> None:
        while True:
            rest = self.buf[pos:].lstrip(WHITESPACE)
            if rest:
                self._fail(
                    f"more JSON after the export's closing ] ({rest[:20]!r}): only the first "
                    "array would be read",
                    None,
                    hint="two exports joined into one file? give each its own file",
                )
            if self._fill(len(self.buf)) < 0:
                return
            pos = 0

    def _find_end(self, start: int) -> tuple[int, int]:
        """(start, end) of the task starting at `start`, reading more as needed."""
        balance, counted, scan = 0, start, start
        buf = self.buf
        while True:
            for match in CANDIDATE_END.finditer(buf, scan):
                end = match.start() + 1
                balance += buf.count(b"{", counted, end) - buf.count(b"}", counted, end)
                counted = end
                if balance == 0:
                    return start, end
            if len(buf) - start > EXACT_AFTER:
                return self._exact(start)
            shift = self._fill(start)
            if shift < 0:
                return self._exact(start)
            buf = self.buf
            start, counted = start - shift, counted - shift
            scan = max(counted, len(buf) - CHUNK - 64)

    def _exact(self, start: int) -> tuple[int, int]:
        while True:
            end = _exact_end(self.buf, start)
            if end is not None:
                return start, end
            shift = self._fill(start)
            if shift < 0:
                self._fail(
                    "the export ends in the middle of this task",
                    self.buf[start:],
                    hint="the file looks truncated; " + EXPORT_HINT,
                )
            start -= shift

    def __iter__(self) -> Iterator[tuple[str, dict]]:
        self._fill(0)
        self.buf = self.buf.lstrip(WHITESPACE + BOM)
        if not self.buf.startswith(b"["):
            self._fail(
                f"expected a JSON array of tasks, found {self.buf[:20]!r}", None, hint=EXPORT_HINT
            )
        pos = 1
        while True:
            start = self._next_start(pos)
            if start is None:
                return
            self.number += 1
            start, end = self._find_end(start)
            segment = self.buf[start:end]
            try:
                task = orjson.loads(segment)
            except orjson.JSONDecodeError:
                start, end = self._exact(start)
                segment = self.buf[start:end]
                task = self._parse(segment)
            yield self._where(task, segment), task
            pos = end

    def _parse(self, segment: bytes) -> Any:
        try:
            return orjson.loads(segment)
        except orjson.JSONDecodeError as error:
            self._fail(f"this task is not valid JSON ({error})", segment)

    def _where(self, task: Any, segment: bytes) -> str:
        if isinstance(task, dict) and isinstance(task.get("id"), int | str):
            return f"{self.label}: task {task['id']}"
        return f"{self.label}: {_task_label(segment, self.number)}"


def _iter_lines(handle, path: Path) -> Iterator[tuple[str, Any]]:
    for number, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        try:
            task = orjson.loads(line)
        except orjson.JSONDecodeError as error:
            if number == 1:
                handle.seek(0)
                yield from _single_task(handle, path)
                return
            raise FormatError(f"not valid JSON ({error})", where=f"{path}:{number}") from None
        yield f"{path}:{number}", task


def _single_task(handle, path: Path) -> Iterator[tuple[str, Any]]:
    raw = handle.read()
    try:
        task = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise FormatError(
            f"not valid JSON ({error})",
            where=str(path),
            hint="a Label Studio export is a JSON list of tasks, or one task object",
        ) from None
    yield f"{path}: task {task.get('id', '#1') if isinstance(task, dict) else '#1'}", task


def iter_export_tasks(path) -> Iterator[tuple[str, Any]]:
    """Stream (where, task) from a Label Studio JSON export file; `where` is
    "file: task 42" (array exports) or "file:line" (JSON lines)."""
    path = Path(path)
    with open(path, "rb") as handle:
        head = handle.read(64).lstrip(WHITESPACE + BOM)
        handle.seek(0)
        if head.startswith(b"["):
            yield from _ArraySplitter(handle, str(path))
        elif head.startswith(b"{"):
            yield from _iter_lines(handle, path)
        elif not head:
            raise FormatError("the file is empty", where=str(path), hint=EXPORT_HINT)
        else:
            raise FormatError(
                f"not a Label Studio JSON export (starts with {head[:10]!r})",
                where=str(path),
                hint="a Label Studio export is a JSON list of tasks, or one task object",
            )


def iter_task_array(path, *, label: str) -> Iterator[tuple[str, Any]]:
    """Stream (where, task) from a downloaded export body that must be a JSON array
    (a live pull): `{}`, `null` or any other top-level value is a `FormatError` at
    `label`."""
    with open(path, "rb") as handle:
        yield from _ArraySplitter(handle, label)
