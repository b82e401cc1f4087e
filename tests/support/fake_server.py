"""A misbehaving HTTP server for the fault tests: a real HTTP/1.1 server on 127.0.0.1 in a
thread, so the client under test goes through its real transport (sockets, timeouts,
redirects, gzip) and not a mock.

`FakeServer(app)` answers each request with `app(request)` (an `httpx.Request` in, an
`httpx.Response` out). `app` may be a respx router built for a virtual host: the request's
origin is rewritten to `virtual_origin` before it is handed over, so the routes of the
existing respx fakes serve real sockets unchanged.

`server.fault(kind, on=N, **params)` replaces the answer to the N-th request (1-based,
counting every request the server received) with a fault; `when=predicate` replaces the
answer to the requests a predicate picks. Kinds (see `FAULTS`):

* `json`: 200 with a JSON body of the wrong type (`body=` to choose it; default `"oops"`)
* `deep`: 200 with JSON nested 100,000 levels deep
* `redirect`: `status=` (default 307) to `location=` (an absolute URL, e.g. another
  `FakeServer` standing for an attacker's host)
* `loop`: 302 to the same URL again, forever
* `drip`: status and headers, then the body one byte every `interval=` seconds, forever
* `drip_headers`: the status line, then header bytes one every `interval=` seconds
* `huge`: `Content-Length` of `size=` bytes (default 10 GB) and zeros until the client hangs up
* `gzip_bomb`: `Content-Encoding: gzip`, a small body inflating to `size=` bytes of zeros
* `retry_after`: `status=` (429) with `Retry-After: value=`
* `drop`: read the request and close the connection without answering
* `status`: an empty answer with `status=`

Requests are recorded in `server.requests` (each an `httpx.Request` with its body read).
"""

from __future__ import annotations

import gzip
import http.server
import json
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

App = Callable[[httpx.Request], httpx.Response]
FAULTS = (
    "json",
    "deep",
    "redirect",
    "loop",
    "drip",
    "drip_headers",
    "huge",
    "gzip_bomb",
    "retry_after",
    "drop",
    "status",
)


@dataclass
class Fault:
    kind: str
    on: int | None = None
    when: Callable[[httpx.Request], bool] | None = None
    times: int = 1
    params: dict[str, Any] = field(default_factory=dict)

    def matches(self, number: int, request: httpx.Request) -> bool:
        if self.times <= 0:
            return False
        if self.on is not None and self.on != number:
            return False
        return self.when is None or self.when(request)


def not_found(request: httpx.Request) -> httpx.Response:
    return httpx.Response(404, json={"detail": f"no route for {request.method} {request.url.path}"})


class _QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client hanging up mid-answer is what the faults are about


class FakeServer:
    """A threaded HTTP/1.1 server on 127.0.0.1 answering with `app`, with faults on demand."""

    def __init__(self, app: App | None = None, *, virtual_origin: str | None = None):
        self.app = app or not_found
        self.virtual_origin = virtual_origin
        self.requests: list[httpx.Request] = []
        self.answered: list[httpx.Request] = []
        """The requests `app` answered (not those a fault answered)."""
        self.faults: list[Fault] = []
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._server = _QuietServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    # -- lifecycle ---------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def __enter__(self) -> FakeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()

    # -- faults ------------------------------------------------------------------------

    def fault(
        self,
        kind: str,
        *,
        on: int | None = None,
        when: Callable[[httpx.Request], bool] | None = None,
        times: int = 1,
        **params: Any,
    ) -> Fault:
        """Answer request number `on` (and/or those `when` picks) with fault `kind`, `times`
        times (-1: always)."""
        if kind not in FAULTS:
            raise ValueError(f"unknown fault {kind!r}")
        fault = Fault(kind, on, when, times if times >= 0 else 1 << 30, params)
        self.faults.append(fault)
        return fault

    def count(self, method: str | None = None, path: str | None = None) -> int:
        return sum(
            1
            for r in self.requests
            if (method is None or r.method == method) and (path is None or r.url.path == path)
        )

    # -- serving -----------------------------------------------------------------------

    def _pick(self, request: httpx.Request) -> tuple[int, Fault | None]:
        with self._lock:
            self.requests.append(request)
            number = len(self.requests)
            for fault in self.faults:
                if fault.matches(number, request):
                    fault.times -= 1
                    return number, fault
        return number, None

    def _answer(self, request: httpx.Request) -> httpx.Response:
        routed = request
        if self.virtual_origin is not None:
            target = httpx.URL(self.virtual_origin).join(request.url.raw_path.decode())
            routed = httpx.Request(
                request.method, target, headers=request.headers, content=request.content
            )
        with self._lock:
            self.answered.append(request)
        try:
            response = self.app(routed)
        except Exception as error:  # noqa: BLE001 - reported to the test, answered as 500
            self.errors.append(
                f"{request.method} {request.url.path}: {type(error).__name__}: {error}"
            )
            return httpx.Response(500, json={"detail": "fake server error"})
        response.read()
        return response

    def _handler_class(self) -> type[http.server.BaseHTTPRequestHandler]:
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # no 40 ms delayed-ACK stall per answer
            wbufsize = 1 << 16

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    parts = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            self.rfile.readline()
                            return b"".join(parts)
                        parts.append(self.rfile.read(size))
                        self.rfile.readline()
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def _handle(self) -> None:
                body = self._body()
                headers = [(k, v) for k, v in self.headers.items()]
                request = httpx.Request(
                    self.command, f"{server.url}{self.path}", headers=headers, content=body
                )
                _number, fault = server._pick(request)
                try:
                    if fault is None:
                        self._send(server._answer(request))
                    else:
                        self._fault(fault, request)
                except OSError:  # the client hung up (broken pipe, reset, timeout)
                    self.close_connection = True

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle

            def _send(self, response: httpx.Response, extra: dict[str, str] | None = None) -> None:
                content = response.content
                self.send_response(response.status_code)
                skip = {"content-length", "content-encoding", "transfer-encoding", "connection"}
                for key, value in response.headers.multi_items():
                    if key.lower() not in skip:
                        self.send_header(key, value)
                for key, value in (extra or {}).items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(content)
                self.wfile.flush()

            def _raw(self, status: int, headers: dict[str, str], body: bytes = b"") -> None:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)
                self.wfile.flush()

            def _fault(self, fault: Fault, request: httpx.Request) -> None:
                p = fault.params
                kind = fault.kind
                if kind == "json":
                    body = json.dumps(p.get("body", "oops")).encode()
                    self._raw(
                        200,
                        {"Content-Type": "application/json", "Content-Length": str(len(body))},
                        body,
                    )
                elif kind == "deep":
                    body = b"[" * 100_000 + b"]" * 100_000
                    self._raw(
                        200,
                        {"Content-Type": "application/json", "Content-Length": str(len(body))},
                        body,
                    )
                elif kind == "redirect":
                    self._raw(
                        p.get("status", 307), {"Location": p["location"], "Content-Length": "0"}
                    )
                elif kind == "loop":
                    self._raw(302, {"Location": str(request.url), "Content-Length": "0"})
                elif kind == "drip":
                    self._raw(
                        200, {"Content-Type": "application/json", "Content-Length": "100000000"}
                    )
                    self._drip(b" " * 100_000_000, p.get("interval", 0.2))
                elif kind == "drip_headers":
                    self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                    self.wfile.flush()
                    self._drip(b"X-Slow: " + b"a" * 100_000, p.get("interval", 0.2))
                elif kind == "huge":
                    size = p.get("size", 10 * 1024**3)
                    self._raw(
                        200, {"Content-Type": "application/json", "Content-Length": str(size)}
                    )
                    chunk = b"0" * 65536
                    for _ in range(size // len(chunk)):
                        if server._stop.is_set():
                            break
                        self.wfile.write(chunk)
                elif kind == "gzip_bomb":
                    size = p.get("size", 64 * 1024**2)
                    body = _gzip_zeros(size)
                    self._raw(
                        200,
                        {
                            "Content-Type": "application/json",
                            "Content-Encoding": "gzip",
                            "Content-Length": str(len(body)),
                        },
                        body,
                    )
                elif kind == "retry_after":
                    self._raw(
                        p.get("status", 429),
                        {"Retry-After": str(p["value"]), "Content-Length": "0"},
                    )
                elif kind == "drop":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                elif kind == "status":
                    self._raw(p["status"], {"Content-Length": "0"})

            def _drip(self, data: bytes, interval: float) -> None:
                for byte in data:
                    if server._stop.wait(interval):
                        return
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()

        return Handler


_BOMBS: dict[int, bytes] = {}


def _gzip_zeros(size: int) -> bytes:
    """`size` zero bytes gzipped (about 1,000 times smaller); cached."""
    if size not in _BOMBS:
        _BOMBS[size] = gzip.compress(b"\0" * size, compresslevel=9)
    return _BOMBS[size]
