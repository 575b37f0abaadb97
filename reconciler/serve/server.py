"""Running the application under uvicorn, on a socket bound here (127.0.0.1 by default), so the address
is known, port 0 included, before the first request.

`serve_forever()` blocks until SIGINT or SIGTERM (the `serve` command); `serving()` runs it in a thread
for a `with` block (tests, benchmarks). Both start the receiver's loops first and stop them last. SIGHUP,
in the main thread, asks the receiver to reload the config.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import uvicorn
from starlette.applications import Starlette

from .receiver import Receiver

START_SECONDS = 10.0
STOP_SECONDS = 10.0


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(128)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"


class _Server(uvicorn.Server):
    """uvicorn, with the signals left to `serve_forever`: uvicorn's own handling re-raises SIGTERM once it
    has stopped, which would end the process before the receiver's workers finish."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _server(app: Starlette) -> uvicorn.Server:
    return _Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                                  timeout_graceful_shutdown=5))


def serve_forever(app: Starlette, receiver: Receiver, sock: socket.socket,
                  on_ready: Callable[[str], None] = lambda url: None) -> None:
    """Serve until SIGINT or SIGTERM, then stop the receiver; SIGHUP reloads the config."""
    server = _server(app)
    handlers = {signal.SIGINT: lambda *_: setattr(server, "should_exit", True),
                signal.SIGTERM: lambda *_: setattr(server, "should_exit", True),
                signal.SIGHUP: lambda *_: receiver.reload_requested()}
    previous = {number: signal.signal(number, handler) for number, handler in handlers.items()}
    receiver.start()
    try:
        on_ready(url_of(sock))
        asyncio.run(server.serve(sockets=[sock]))
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        receiver.stop()
        sock.close()


@contextmanager
def serving(app: Starlette, receiver: Receiver, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve in a background thread for the length of the block; yields the base URL."""
    sock = bind(host, port)
    server = _server(app)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), name="serve", daemon=True)
    receiver.start()
    thread.start()
    try:
        _wait(lambda: server.started, START_SECONDS)
        yield url_of(sock)
    finally:
        server.should_exit = True
        thread.join(STOP_SECONDS)
        receiver.stop()
        sock.close()


def _wait(done: Callable[[], bool], seconds: float) -> None:
    for _ in range(int(seconds / 0.01)):
        if done():
            return
        time.sleep(0.01)
    raise RuntimeError("the receiver did not start in time")
