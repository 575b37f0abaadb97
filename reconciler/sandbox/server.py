"""Serving a sandbox over real HTTP with the standard library's `ThreadingHTTPServer`.

`serving()` runs the server in a daemon thread for the length of a `with` block (tests,
benchmarks, the demo); `serve_forever()` blocks until Ctrl-C (the `telnyx-reconciler sandbox`
command). Both bind where they are told (127.0.0.1 by default), speak HTTP/1.1 with keep-alive,
and on stop close idle keep-alive connections and join every thread they started.
"""

from __future__ import annotations

import logging
import socket
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Callable, Iterator
from urllib.parse import parse_qsl, urlsplit

if TYPE_CHECKING:
    from .app import Sandbox

log = logging.getLogger(__name__)
MAX_BODY = 10 * 1024 * 1024
JOIN_TIMEOUT = 5.0


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # so server_close() joins the request threads
    block_on_close = True

    def __init__(self, address: tuple[str, int], sandbox: "Sandbox") -> None:
        self.sandbox = sandbox
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Wake threads parked on idle keep-alive connections so they can finish."""
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def base_url(self) -> str:
        host, port = self.server_address[:2]
        name = host.decode() if isinstance(host, bytes) else str(host)
        return f"http://{name}:{port}/v2"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "TelnyxSandbox/1.0"
    # Headers and body leave in one send (the buffer is flushed after each request) on a socket that
    # does not wait for the client's delayed ACK: without both, every answer stalls about 40 ms.
    disable_nagle_algorithm = True
    wbufsize = 64 * 1024
    server: _Server

    def do_GET(self) -> None:
        self._answer()

    do_POST = do_PATCH = do_PUT = do_DELETE = do_OPTIONS = do_GET

    def _answer(self) -> None:
        parts = urlsplit(self.path)
        try:
            body = self._read_body()
        except ValueError:
            self.send_error(400, "Bad request body")
            return
        query = parse_qsl(parts.query, keep_blank_values=True)
        response = self.server.sandbox.handle(self.command, parts.path, query, dict(self.headers.items()), body)
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0 or length > MAX_BODY:
            raise ValueError("bad Content-Length")
        return self.rfile.read(length) if length else b""

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while total <= MAX_BODY:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                self.rfile.readline()
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline()
            total += size
        raise ValueError("body too large")

    def log_message(self, format: str, *args: Any) -> None:
        # The request line has no credentials; keep it off stderr unless logging asks for it.
        log.debug("%s - %s", self.address_string(), format % args)


def _stop(server: _Server, thread: threading.Thread | None) -> None:
    server.shutdown()
    server.close_connections()
    if thread is not None:
        thread.join(JOIN_TIMEOUT)
    server.server_close()


@contextmanager
def serving(sandbox: "Sandbox", host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    server = _Server((host, port), sandbox)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="telnyx-sandbox", daemon=True)
    thread.start()
    try:
        yield server.base_url()
    finally:
        _stop(server, thread)
        sandbox.close()


def serve_forever(sandbox: "Sandbox", host: str = "127.0.0.1", port: int = 8765,
                  on_ready: Callable[[str], None] | None = None) -> None:
    """Serve until KeyboardInterrupt; `on_ready` gets the base URL once the socket is listening."""
    server = _Server((host, port), sandbox)
    try:
        if on_ready is not None:
            on_ready(server.base_url())
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.close_connections()
        server.server_close()
        sandbox.close()  # a clean stop leaves the state file compact
