"""Start and stop a real Label Studio server on 127.0.0.1 for integration tests.

The server runs from the private venv and template data dir that
``scripts/labelstudio-server.sh install`` creates. Each server gets a fresh copy
of the template, so it is ready in a few seconds and shares nothing with others.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections import deque
from pathlib import Path

import httpx

LS_VERSION = "1.23.2"
# Must match the credentials in scripts/labelstudio-server.sh.
CI_EMAIL = "ci@example.com"
CI_PASSWORD = "ci-password-123"
CI_TOKEN = "ci0123456789abcdef0123456789abcdef"
HOST = "127.0.0.1"
# Label Studio falls back to these bare names when LABEL_STUDIO_<NAME> is unset.
UNPREFIXED_VARS = ("USERNAME", "PASSWORD", "PORT", "HOST", "USER_TOKEN")
INSTALL_HINT = "run `scripts/labelstudio-server.sh install` (or `make test`, which does it)"


class LabelStudioServerError(RuntimeError):
    """The server could not be found, started or reached."""


def ls_home() -> Path:
    """Directory holding ``venv/`` and ``template/`` (``$BRIDGE_LS_HOME`` or the cache default)."""
    default = Path.home() / ".cache" / "label-bridge" / f"labelstudio-{LS_VERSION}"
    return Path(os.environ.get("BRIDGE_LS_HOME") or default)


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def port_in_use(port: int) -> bool:
    """True if something accepts connections on 127.0.0.1:``port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex((HOST, port)) == 0


def tail(path: Path, lines: int = 30) -> str:
    """The last ``lines`` lines of a text file ('' if it does not exist)."""
    try:
        with path.open(errors="replace") as fh:
            return "".join(deque(fh, maxlen=lines))
    except FileNotFoundError:
        return ""


class LabelStudioServer:
    """A Label Studio server process with its own data dir, used as a context manager.

    >>> with LabelStudioServer() as server:
    ...     httpx.get(f"{server.url}/health")
    """

    def __init__(self, port: int | None = None, ready_timeout: float | None = None) -> None:
        home = ls_home()
        self.executable = home / "venv" / "bin" / "label-studio"
        self.template = home / "template"
        self.port = port
        if ready_timeout is None:
            ready_timeout = float(os.environ.get("LS_READY_TIMEOUT", "120"))
        self.ready_timeout = ready_timeout
        self.email = CI_EMAIL
        self.password = CI_PASSWORD
        self.token = CI_TOKEN
        self.url = ""
        self.workdir: Path | None = None
        self.log_path: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> LabelStudioServer:
        """Copy the template, launch the server and wait until ``/health`` answers."""
        if not self.executable.exists():
            raise LabelStudioServerError(
                f"Label Studio is not installed at {self.executable}: {INSTALL_HINT}"
            )
        if not (self.template / ".env").exists():
            raise LabelStudioServerError(
                f"No Label Studio template data dir at {self.template}: {INSTALL_HINT}"
            )
        if self.port is None:
            self.port = free_port()
        elif port_in_use(self.port):
            raise LabelStudioServerError(f"port {self.port} on {HOST} is already in use")
        self.url = f"http://{HOST}:{self.port}"

        self.workdir = Path(tempfile.mkdtemp(prefix="label-studio-"))
        data_dir = self.workdir / "data"
        shutil.copytree(self.template, data_dir)  # includes .env with SECRET_KEY
        self.log_path = self.workdir / "label-studio.log"

        env = {k: v for k, v in os.environ.items() if k not in UNPREFIXED_VARS}
        env.update(
            LABEL_STUDIO_BASE_DATA_DIR=str(data_dir),
            LABEL_STUDIO_LATEST_VERSION_CHECK="false",
            LABEL_STUDIO_COLLECT_ANALYTICS="false",
        )
        cmd = [
            str(self.executable),
            "start",
            "--no-browser",
            "--internal-host",
            HOST,
            "--port",
            str(self.port),
        ]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                cmd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        """Poll ``/health`` until it answers 200; fail early if the process exits."""
        deadline = time.monotonic() + self.ready_timeout
        with httpx.Client(base_url=self.url, timeout=2) as client:
            while True:
                if self.process.poll() is not None:
                    self._fail(f"exited with code {self.process.returncode} before it was ready")
                if "is in use." in tail(self.log_path):  # LS silently moved to another port
                    self._fail(f"found port {self.port} busy and moved elsewhere")
                try:
                    if client.get("/health").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    self._fail(
                        f"was not ready after {self.ready_timeout:.0f} s (set LS_READY_TIMEOUT)"
                    )
                time.sleep(0.25)

    def _fail(self, what: str) -> None:
        raise LabelStudioServerError(
            f"Label Studio on {self.url} {what}. Last 30 lines of its log:\n{tail(self.log_path)}"
        )

    def stop(self) -> None:
        """SIGTERM the server (SIGKILL after 10 s) and remove its temporary data dir."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.process = None
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def __enter__(self) -> LabelStudioServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
