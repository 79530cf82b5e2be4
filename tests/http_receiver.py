"""A local HTTP receiver for notification tests: records every POST and can be told to fail,
answer an errcode, or be slow, per path."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest


@dataclass
class Request:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Behaviour:
    fail_first: int = 0  # answer HTTP 500 to this many requests first
    errcode: int = 0  # the errcode of a 200 answer (WeCom and DingTalk style)
    delay: float = 0.0  # sleep this long before answering


@dataclass
class Receiver:
    base: str = ""
    requests: list[Request] = field(default_factory=list)
    behaviour: dict[str, Behaviour] = field(default_factory=dict)  # by path
    lock: threading.Lock = field(default_factory=threading.Lock)

    def on(self, path: str) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if r.path == path]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            parts = urlsplit(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with rec.lock:
                seen = sum(1 for r in rec.requests if r.path == parts.path)
                rec.requests.append(Request(parts.path, parse_qs(parts.query), dict(self.headers), body))
            how = rec.behaviour.get(parts.path, Behaviour())
            if how.delay:
                time.sleep(how.delay)
            if seen < how.fail_first:
                self._answer(500, b"boom")
            else:
                self._answer(200, json.dumps({"errcode": how.errcode, "errmsg": "ok" if not how.errcode else "no"})
                             .encode())

        def _answer(self, status: int, body: bytes) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except OSError:
                pass  # the client gave up (timeout test)

        def log_message(self, *_args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 128  # the default listen backlog (5) drops connects under concurrent senders

    server = Server(("127.0.0.1", 0), Handler)
    rec.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield rec
    server.shutdown()
    server.server_close()
