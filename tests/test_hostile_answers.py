"""Hostile API answers: the real CLI against a small server on loopback that answers what a proxy, a broken
deployment or a mock server might, and the client against slow or oversized answers.

Each case says what the server answers and what must come out: one message naming the URL and the status,
exit 1 (never 3, never a traceback), and nothing created or deleted from an answer the tool could not read.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from click.testing import CliRunner
from support import API_KEY, served, write_config

from reconciler.cli import cli
from reconciler.client import MAX_LIST_ITEMS, TelnyxClient
from reconciler.errors import TransportError, UnprocessableError, UnreadableAnswerError
from reconciler.sandbox import Sandbox, generate_account

Body = bytes | Iterable[bytes]
Reply = tuple[int, dict[str, str], Body]
Answer = Callable[[str, str, dict[str, str]], Reply | None]
JSON = {"content-type": "application/json"}
GROUP = {"id": "g-1", "name": "Engineering", "record_type": "billing_group", "created_at": "2026-01-01T00:00:00Z"}


def listing(items: list[dict[str, Any]], total_pages: int = 1, page_size: int = 250) -> Reply:
    meta = {"page_number": 1, "page_size": page_size, "total_pages": total_pages, "total_results": len(items)}
    return 200, JSON, json.dumps({"data": items, "meta": meta}).encode()


@dataclass
class Hostile:
    """A loopback HTTP server answering by `answer` (None: an empty list); it records every request."""

    answer: Answer
    seen: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)

    @contextmanager
    def serve(self) -> Iterator[str]:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _any(self) -> None:
                parts = urlsplit(self.path)
                query = dict(parse_qsl(parts.query))
                length = int(self.headers.get("content-length") or 0)
                self.rfile.read(length)
                outer.seen.append((self.command, parts.path, query))
                status, headers, body = outer.answer(self.command, parts.path, query) or listing([])
                chunks = [body] if isinstance(body, bytes) else body
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                if isinstance(body, bytes):
                    self.send_header("content-length", str(len(body)))
                self.end_headers()
                try:
                    for chunk in chunks:
                        self.wfile.write(chunk)
                        self.wfile.flush()
                except OSError:
                    pass  # the client stopped reading: the point of several cases

            do_GET = do_POST = do_PATCH = do_DELETE = _any

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}/v2"
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)

    def writes(self) -> list[str]:
        return [f"{m} {p}" for m, p, _ in self.seen if m != "GET"]


def on_list(reply: Reply) -> Answer:
    return lambda method, path, query: reply if method == "GET" else None


def on_create(reply: Reply) -> Answer:
    return lambda method, path, query: reply if method == "POST" else None


HTML = (200, {"content-type": "text/html"}, b"<html><body>Please sign in to the network</body></html>")
CASES: dict[str, tuple[Answer, str, list[str]]] = {
    # name: (server, command, what the message must say)
    "200 with HTML": (on_list(HTML), "plan", ["/v2/billing_groups", "HTTP 200", "not JSON (text/html)"]),
    "200 with an empty body": (on_list((200, JSON, b"")), "plan", ["HTTP 200", "an empty body"]),
    "200 with a list that is an object": (on_list((200, JSON, b'{"data": {"id": "x"}, "meta": {}}')), "plan",
                                          ["HTTP 200", "`data` is not a list"]),
    "200 without meta": (on_list((200, JSON, b'{"data": []}')), "plan", ["without `meta`"]),
    "200 with JSON that is a list": (on_list((200, JSON, b"[]")), "plan", ["not an object"]),
    "an item with a null id": (on_list(listing([{**GROUP, "id": None}])), "apply", ["an item without an id"]),
    "an item without its fields": (on_list(listing([{"id": "g-1"}])), "apply", ["without the documented fields"]),
    "a redirect on GET": (on_list((302, {"location": "https://login.example.com/"}, b"")), "plan",
                          ["HTTP 302", "a redirect to https://login.example.com/"]),
    "a 307 on POST": (on_create((307, {"location": "http://127.0.0.1:9/v2/billing_groups"}, b"")), "apply",
                      ["creating billing group 'Engineering'", "HTTP 307", "redirect"]),
    "a created resource with a null id": (on_create((200, JSON, b'{"data": {"id": null, "name": "Support"}}')),
                                          "apply", ["HTTP 200", "id is null"]),
    "ten million pages": (on_list(listing([GROUP], total_pages=10_000_000)), "plan",
                          [f"limit of {MAX_LIST_ITEMS:,} items", "10,000,000"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_an_answer_the_tool_cannot_read_is_one_message_and_exit_1(case: str, tmp_path: Path) -> None:
    answer, command, expected = CASES[case]
    config = write_config(tmp_path, "c.yaml", "reconciler:\n  prune: [billing_groups]\n"
                                              "billing_groups:\n  - name: Engineering\n  - name: Support\n")
    server = Hostile(answer)
    with server.serve() as url:
        args = [command, str(config)] + (["--auto-approve"] if command == "apply" else [])
        result = CliRunner().invoke(cli, args, env={"TELNYX_API_KEY": API_KEY, "TELNYX_BASE_URL": url})
    assert result.exit_code == 1, result.output
    for text in expected:
        assert text in result.stderr, result.stderr
    assert result.stderr.count("Error:") == 1 and "Traceback" not in result.output and "internal error" not in result.output
    if case != "a 307 on POST" and case != "a created resource with a null id":
        assert server.writes() == [], "something was created or deleted from an unreadable answer"
    assert len(server.seen) < 10, f"{len(server.seen)} requests"


def test_an_object_repeated_across_pages_is_one_resource(tmp_path: Path) -> None:
    # A mock server answering every page with the same example object: no "duplicates" to delete.
    config = write_config(tmp_path, "c.yaml", "reconciler:\n  prune: [billing_groups]\nbilling_groups:\n  - name: Engineering\n")
    server = Hostile(on_list(listing([GROUP], total_pages=3, page_size=1)))
    with server.serve() as url:
        result = CliRunner().invoke(cli, ["plan", str(config), "--detailed-exitcode"],
                                    env={"TELNYX_API_KEY": API_KEY, "TELNYX_BASE_URL": url})
    assert result.exit_code == 0, result.output
    assert sorted(q.get("page[number]") for _, _, q in server.seen) == ["1", "2", "3"]


def test_a_huge_error_detail_is_shortened(tmp_path: Path) -> None:
    detail = "x" * (50 * 2**20)
    body = json.dumps({"errors": [{"code": "10015", "title": "Bad Request", "detail": detail}]}).encode()
    config = write_config(tmp_path, "c.yaml", "billing_groups:\n  - name: Engineering\n")
    server = Hostile(on_list((422, JSON, (body[i:i + 2**20] for i in range(0, len(body), 2**20)))))
    with server.serve() as url:
        result = CliRunner().invoke(cli, ["plan", str(config)], env={"TELNYX_API_KEY": API_KEY, "TELNYX_BASE_URL": url})
    assert result.exit_code == 1
    assert "HTTP 422" in result.stderr and "limit of 1 MiB" in result.stderr
    assert len(result.output) < 5_000


def test_a_long_error_detail_in_a_readable_answer_is_cut() -> None:
    body = json.dumps({"errors": [{"code": "10015", "detail": "y" * 100_000}]}).encode()
    server = Hostile(on_list((422, JSON, body)))
    with server.serve() as url, TelnyxClient(API_KEY, url, max_retries=0) as client:
        with pytest.raises(UnprocessableError) as raised:
            client.list_all("/billing_groups")
    assert "99,500 more characters not shown" in raised.value.message and len(raised.value.message) < 1_000


def test_a_body_that_drips_is_stopped_at_the_deadline() -> None:
    def drip() -> Iterator[bytes]:
        for _ in range(30):
            time.sleep(0.2)
            yield b" "

    server = Hostile(lambda method, path, query: (200, JSON, drip()))
    started = time.monotonic()
    with server.serve() as url, TelnyxClient(API_KEY, url, max_retries=0, deadline=1.0) as client:
        with pytest.raises(TransportError, match="deadline of 1 s per request"):
            client.list_all("/billing_groups")
    assert time.monotonic() - started < 4


def test_an_answer_past_the_size_limit_is_refused_naming_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("reconciler.client.MAX_BODY_BYTES", 2**20)
    items = [{**GROUP, "id": f"g-{i}", "name": "n" * 1000} for i in range(2000)]  # about 2 MiB
    server = Hostile(on_list(listing(items)))
    with server.serve() as url, TelnyxClient(API_KEY, url) as client:
        with pytest.raises(UnreadableAnswerError, match="larger than the limit of 1 MiB per answer"):
            client.list_all("/billing_groups")


def test_pages_are_read_a_window_at_a_time() -> None:
    # 40 pages of one item each; page 2 cannot be read: the read stops, with no more than a window of
    # max_in_flight pages asked for, instead of every page queued up front.
    in_flight, most = [0], [0]
    lock = threading.Lock()

    def answer(method: str, path: str, query: dict[str, str]) -> Reply:
        with lock:
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
        time.sleep(0.05)
        with lock:
            in_flight[0] -= 1
        number = query["page[number]"]
        return HTML if number == "2" else listing([{**GROUP, "id": f"g-{number}"}], total_pages=40, page_size=1)

    server = Hostile(answer)
    with server.serve() as url, TelnyxClient(API_KEY, url, max_in_flight=4) as client:
        with pytest.raises(UnreadableAnswerError, match="page%5Bnumber%5D=2"):
            client.list_all("/billing_groups")
    assert most[0] <= 4 and len(server.seen) <= 1 + 4 + 1, f"{len(server.seen)} pages asked for"


def test_a_page_refused_for_its_size_is_asked_again_once_at_the_fallback_size() -> None:
    refusal = (422, JSON, json.dumps({"errors": [{"code": "10015", "detail": "The 'page[size]' parameter must be "
                                                  "less than or equal to 100.", "source": {"parameter": "page[size]"}}]}).encode())
    server = Hostile(lambda method, path, query: refusal if query.get("page[size]") == "250" else listing([GROUP], 1, 25))
    with server.serve() as url, TelnyxClient(API_KEY, url) as client:
        assert [g["id"] for g in client.list_all("/integration_secrets")] == ["g-1"]
    assert [q["page[size]"] for _, _, q in server.seen] == ["250", "25"]
    always = Hostile(lambda method, path, query: refusal)
    with always.serve() as url, TelnyxClient(API_KEY, url) as client:
        with pytest.raises(UnprocessableError):
            client.list_all("/v2/mobile_phone_numbers")
    assert [q["page[size]"] for _, _, q in always.seen] == ["250", "20"]


def test_an_unreadable_answer_is_not_retried_as_a_transport_failure() -> None:
    server = Hostile(on_list(HTML))
    with server.serve() as url, TelnyxClient(API_KEY, url) as client:
        with pytest.raises(UnreadableAnswerError, match=r"GET http://127\.0\.0\.1:\d+/v2/billing_groups"):
            client.list_all("/billing_groups")
    assert len(server.seen) == 1


SECRETS = [{"identifier": f"secret-{i:02}", "type": "bearer", "token": f"token-value-{i:02}"} for i in range(30)]
PAGE_RULES = {"caps at 20": {"page_size_cap": 20}, "refuses 250": {"page_size_refused_above": 100}}


@pytest.mark.parametrize("rule", list(PAGE_RULES))
def test_lists_without_a_declared_maximum_page_size_are_read_whole(rule: str) -> None:
    # Sandbox setting: the lists whose spec declares no maximum page size cap it, or refuse 250.
    seed = {**generate_account(0, seed=2, mobile=45), "integration_secrets": SECRETS}
    sandbox = Sandbox(api_key=API_KEY, seed=seed, **PAGE_RULES[rule])  # type: ignore[arg-type]
    with TelnyxClient(API_KEY, "http://sandbox.local/v2", transport=sandbox.transport()) as client:
        secrets = client.list_all("/integration_secrets")
        mobiles = client.list_all("/v2/mobile_phone_numbers")
    assert sorted(s["identifier"] for s in secrets) == [s["identifier"] for s in SECRETS]
    assert len({m["id"] for m in mobiles}) == 45
    sizes = {dict(r.query).get("page[size]") for r in sandbox.requests if r.status == 200}
    # capped: later pages asked at the size the server applied; refused: asked again at the fallback size
    assert sizes == ({"250", "20"} if rule == "caps at 20" else {"25", "20"}), sizes


def test_export_and_plan_agree_when_the_server_caps_the_page_size(tmp_path: Path) -> None:
    sandbox = Sandbox(api_key=API_KEY, seed=generate_account(0, seed=2, mobile=45), page_size_cap=20)
    exported = tmp_path / "account.yaml"
    with served(sandbox) as account:
        assert account.run("export", "--out", str(exported)).exit_code == 0
        assert exported.read_text().count("phone_number:") == 45
        assert account.run("plan", str(exported), "--detailed-exitcode").exit_code == 0


def _read_groups(reply: Reply) -> list[Any]:
    server = Hostile(on_list(reply))
    with server.serve() as url, TelnyxClient(API_KEY, url, max_retries=0) as client:
        return client.list_all("/billing_groups")


def test_an_unreadable_item_among_readable_ones_is_named() -> None:
    # A page is converted whole when it can be; when one item cannot, the message still names that item.
    items = [{**GROUP, "id": "g-1"}, {"id": "g-2"}, {**GROUP, "id": "g-3"}]
    server = Hostile(on_list(listing(items)))
    with server.serve() as url, TelnyxClient(API_KEY, url, max_retries=0) as client:
        with pytest.raises(UnreadableAnswerError, match=r"an item \(g-2\) without the documented fields"):
            client.list_all("/billing_groups", transform=lambda raw: raw["name"])


def _pages(*pages: list[dict[str, Any]]) -> Answer:
    """A list of several pages of 2 items, each answered as its page[number] asks."""
    return lambda method, path, query: listing(pages[int(query["page[number]"]) - 1], len(pages), 2)


def test_an_unreadable_item_on_a_later_page_is_named_with_that_page() -> None:
    # Later pages are converted by the threads that fetch them; the message is the same as for the first page.
    pages = [[{**GROUP, "id": "g-1"}, {**GROUP, "id": "g-2"}], [{**GROUP, "id": "g-3"}, {"id": "g-4"}]]
    with Hostile(_pages(*pages)).serve() as url, TelnyxClient(API_KEY, url, max_retries=0) as client:
        with pytest.raises(UnreadableAnswerError, match=r"page%5Bnumber%5D=2.*an item \(g-4\) without the documented"):
            client.list_all("/billing_groups", transform=lambda raw: raw["name"])


def test_items_a_later_page_repeats_are_kept_once_as_converted() -> None:
    pages = [[{**GROUP, "id": "g-1"}, {**GROUP, "id": "g-2"}], [{**GROUP, "id": "g-2"}, {**GROUP, "id": "g-3", "name": "Ops"}],
             [{**GROUP, "id": "g-4"}, {**GROUP, "id": "g-4"}]]
    with Hostile(_pages(*pages)).serve() as url, TelnyxClient(API_KEY, url, max_retries=0) as client:
        read = client.list_all("/billing_groups", transform=lambda raw: (raw["id"], raw["name"]))
    assert read == [("g-1", "Engineering"), ("g-2", "Engineering"), ("g-3", "Ops"), ("g-4", "Engineering")]


def test_an_unreadable_copy_of_an_item_read_before_is_not_read_again() -> None:
    pages = [[{**GROUP, "id": "g-1"}, {**GROUP, "id": "g-2"}], [{"id": "g-2"}, {**GROUP, "id": "g-3", "name": "Ops"}]]
    with Hostile(_pages(*pages)).serve() as url, TelnyxClient(API_KEY, url, max_retries=0) as client:
        read = client.list_all("/billing_groups", transform=lambda raw: (raw["id"], raw["name"]))
    assert read == [("g-1", "Engineering"), ("g-2", "Engineering"), ("g-3", "Ops")]


@pytest.mark.parametrize(("bad", "words"), [
    ({**GROUP, "id": ""}, "an item without an id"),
    ({**GROUP, "id": {"nested": 1}}, "an item without an id"),
    ("g-9", "an item that is not an object"),
])
def test_one_bad_item_among_good_ones_makes_the_page_unreadable(bad: Any, words: str) -> None:
    items = [{**GROUP, "id": f"g-{i}"} for i in range(5)]
    with pytest.raises(UnreadableAnswerError, match=words):
        _read_groups(listing([*items[:3], bad, *items[3:]]))


def test_an_item_repeated_on_one_page_is_one_item() -> None:
    read = _read_groups(listing([{**GROUP, "id": "g-1"}, {**GROUP, "id": "g-2"}, {**GROUP, "id": "g-1"}]))
    assert [item["id"] for item in read] == ["g-1", "g-2"]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
def test_json_in_another_unicode_encoding_is_still_read(encoding: str) -> None:
    # pydantic's parser reads UTF-8 only; the standard parser reads these, as the tool always has.
    _, headers, body = listing([{**GROUP, "id": "g-1", "name": "Eng\ud800"}])
    assert isinstance(body, bytes)
    read = _read_groups((200, headers, body.decode().encode(encoding)))
    assert [item["id"] for item in read] == ["g-1"] and read[0]["name"] == "Eng\ud800"


def test_a_body_that_no_parser_reads_is_not_json() -> None:
    with pytest.raises(UnreadableAnswerError, match="not JSON"):
        _read_groups((200, JSON, b'{"data": [], "meta": {"total_pages": 1}} trailing'))
