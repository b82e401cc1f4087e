"""The entry point: signals become exceptions, `BridgeError`s become one-line messages
with their exit codes."""

from __future__ import annotations

import contextlib
import os
import signal
import sys

from bridge.cli.common import app, err, fail, say
from bridge.errors import BridgeError
from bridge.io import FULL_DISK


class Interrupted(BaseException):
    """A signal that stops the run (SIGINT, SIGTERM, SIGHUP), raised where the program is
    so that `finally` blocks and context managers clean up (temporary files)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _stop(signum: int, frame: object) -> None:
    signal.signal(signum, signal.SIG_DFL)  # the same signal again ends the process at once
    raise Interrupted(signum)


def install_signal_handlers() -> None:
    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        signum = getattr(signal, name, None)
        if signum is not None and signal.getsignal(signum) is not signal.SIG_IGN:
            signal.signal(signum, _stop)


def main() -> None:
    """Entry point of the `bridge` console script: typer handles usage errors (exit 2);
    a `BridgeError` is printed in one or two lines with its own exit code; a full disk or
    exhausted memory is one line with exit code 5; a signal ends with 128 + its number."""
    install_signal_handlers()
    try:
        app()
    except BridgeError as error:
        fail(str(error), error.exit_code)
    except Interrupted as stop:
        say(err, f"interrupted by {signal.Signals(stop.signum).name}")
        sys.exit(128 + stop.signum)
    except KeyboardInterrupt:
        err.print("aborted")
        sys.exit(130)
    except MemoryError:
        fail("out of memory", 5, hint="free memory, or convert a smaller part of the data")
    except BrokenPipeError:  # `bridge convert ... -o - | head`: the reader went away
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(128 + signal.SIGPIPE)
    except OSError as error:
        if error.errno not in FULL_DISK:
            raise
        where = f"{error.filename}: " if error.filename else ""
        fail(f"{where}{os.strerror(error.errno)}", 5, hint="free some space and run again")
