"""The `bridge` command. Thin: it parses options, calls `bridge.api`, prints results.

User errors (`BridgeError`) are printed in one or two lines on stderr with a non-zero exit
code and no traceback. Everything printed that a file, a server or the user wrote (labels,
paths, error bodies, loss examples, hints) is printed literally: no rich markup, emoji
codes or highlighting, and control characters removed (`bridge.text.printable`).

SIGINT, SIGTERM and SIGHUP stop a run through an exception, so that every `finally` runs
and no temporary output file is left; the exit code is 128 + the signal's number.

One module per group of commands, each registering on `bridge.cli.common.app`:
`files` (plugins, schema, convert, inspect), `workspace` (pull), `sync` (push, migrate,
sync, status), `export` (export, verify), `qa` (qa).
"""

from bridge.cli import export as export  # noqa: F401 - registers its commands
from bridge.cli import files as files  # noqa: F401 - registers its commands
from bridge.cli import qa as qa  # noqa: F401 - registers its commands
from bridge.cli import sync as sync  # noqa: F401 - registers its commands
from bridge.cli import workspace as workspace  # noqa: F401 - registers its commands
from bridge.cli.common import app, err, fail, out, parse_options, say
from bridge.cli.main import Interrupted, install_signal_handlers, main

__all__ = [
    "Interrupted",
    "app",
    "err",
    "fail",
    "install_signal_handlers",
    "main",
    "out",
    "parse_options",
    "say",
]
