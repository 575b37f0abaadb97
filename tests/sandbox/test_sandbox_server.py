"""The sandbox over a real loopback socket."""

from __future__ import annotations

import _thread
import io
import socket
import threading
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from sandbox_support import KEY, check_against_spec

from reconciler.sandbox import Sandbox, serve_forever
from reconciler.sandbox.server import _Handler

AUTH = {"Authorization": f"Bearer {KEY}"}


def test_serve_answers_over_http_and_stops_on_exit() -> None:
    sandbox = Sandbox(seed={"billing_groups": [{"name": "Ops"}]})
    with sandbox.serve() as base_url:
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v2")
        with httpx.Client(base_url=base_url, headers=AUTH, event_hooks={"response": [check_against_spec]}) as client:
            listed = client.get("/billing_groups", params={"page[size]": 5})
            assert listed.status_code == 200
            assert [g["name"] for g in listed.json()["data"]] == ["Ops"]
            created = client.post("/addresses", json={"first_name": "A"})
            assert created.status_code == 422
            assert client.get("/billing_groups", headers={"Authorization": "Bearer nope"}).status_code == 401
        idle = httpx.Client(base_url=base_url, headers=AUTH)
        assert idle.get("/billing_groups").status_code == 200  # leaves a keep-alive connection open
    with pytest.raises(httpx.TransportError):
        idle.get("/billing_groups", timeout=2)
    with pytest.raises(httpx.ConnectError):
        httpx.get(base_url + "/billing_groups", headers=AUTH, timeout=2)
    assert not any(t.name == "telnyx-sandbox" for t in threading.enumerate())


def test_concurrent_creates_over_http_are_all_kept() -> None:
    sandbox = Sandbox()
    with sandbox.serve() as base_url:
        def worker(n: int) -> None:
            with httpx.Client(base_url=base_url, headers=AUTH) as client:
                for i in range(10):
                    assert client.post("/billing_groups", json={"name": f"{n}-{i}"}).status_code == 200

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(5)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(20)
    groups = sandbox.state.all("billing_groups")
    assert len(groups) == 50 and len({g["id"] for g in groups}) == 50


def test_serve_forever_reports_its_url_and_stops_on_keyboard_interrupt() -> None:
    seen: dict[str, object] = {}

    def probe_then_interrupt(base_url: str) -> None:
        try:
            seen["status"] = httpx.get(base_url + "/billing_groups", headers=AUTH, timeout=5).status_code
        finally:
            _thread.interrupt_main()

    def on_ready(base_url: str) -> None:
        seen["url"] = base_url
        threading.Thread(target=probe_then_interrupt, args=(base_url,), daemon=True).start()

    serve_forever(Sandbox(), "127.0.0.1", 0, on_ready)
    assert str(seen["url"]).endswith("/v2") and seen["status"] == 200
    with pytest.raises(httpx.ConnectError):
        httpx.get(str(seen["url"]) + "/billing_groups", timeout=2)


class _Connection:
    """A client connection as the handler sees it: the bytes it reads, every send it makes, its options."""

    def __init__(self, incoming: bytes) -> None:
        self.incoming, self.sends, self.options = incoming, [], {}

    def setsockopt(self, level: int, name: int, value: Any) -> None:
        self.options[(level, name)] = value

    def makefile(self, mode: str, buffering: int = -1) -> Any:
        if "r" in mode:
            return io.BytesIO(self.incoming)
        return io.BufferedWriter(_Sends(self.sends), buffering)

    def sendall(self, data: bytes) -> None:  # used when the handler writes unbuffered
        self.sends.append(bytes(data))


class _Sends(io.RawIOBase):
    def __init__(self, sends: list[bytes]) -> None:
        self.sends = sends

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.sends.append(bytes(data))
        return len(data)


def test_each_answer_leaves_in_one_send_without_waiting_for_acks() -> None:
    # Headers and body sent apart, with Nagle's algorithm on, wait ~40 ms for the client's delayed ACK.
    sandbox = Sandbox(seed={"billing_groups": [{"name": "Ops"}]})
    request = f"GET /v2/billing_groups HTTP/1.1\r\nHost: sandbox\r\nAuthorization: Bearer {KEY}\r\n\r\n".encode()
    connection = _Connection(request * 2)
    _Handler(connection, ("127.0.0.1", 1), SimpleNamespace(sandbox=sandbox))  # type: ignore[arg-type]
    assert connection.options.get((socket.IPPROTO_TCP, socket.TCP_NODELAY))
    assert len(connection.sends) == 2  # one per answer, each whole
    for sent in connection.sends:
        head, _, body = sent.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200") and b'"Ops"' in body
