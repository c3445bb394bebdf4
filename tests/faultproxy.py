"""A fault-injecting HTTP reverse proxy on 127.0.0.1, put in front of a real S3 server in tests.

boto3 talks real HTTP to the proxy, which forwards every request to the server unless a rule
says otherwise: answer an S3 error (500, 503 SlowDown, 403...), answer late, or drop the
connection. `stop()` closes the listening socket (clients then get "connection refused", as when
the server process is gone) and `start()` brings it back on the same port.
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HOP_BY_HOP = {
    "connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection",
    "expect",  # the proxy already answered 100 Continue to the client
    "server", "date",  # send_response_only() leaves them out; the upstream ones are passed on
}  # fmt: skip


@dataclass
class Request:
    method: str
    path: str  # with the query string
    headers: dict[str, str]  # lower-case names
    body: bytes = b""

    @property
    def key(self) -> str:
        return self.path.split("?", 1)[0]


@dataclass
class Rule:
    """When `match(request)` holds (and `times` is not used up): delay, then answer or drop."""

    match: Callable[[Request], bool]
    status: int | None = None  # an S3 error answer instead of forwarding
    code: str = ""
    delay: float = 0.0  # seconds before forwarding or answering
    gate: threading.Event | None = None  # hold the request until the test sets it
    drop: bool = False  # close the connection without an answer
    times: int | None = None  # None: until removed
    hits: int = 0

    def applies(self, request: Request) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        if not self.match(request):
            return False
        self.hits += 1
        return True


@dataclass
class FaultProxy:
    upstream: str
    port: int = 0
    rules: list[Rule] = field(default_factory=list)
    seen: list[tuple[str, str, int]] = field(default_factory=list)  # method, path, status
    on_request: Callable[[Request], None] | None = None
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _answered: threading.Condition = field(init=False)

    def __post_init__(self) -> None:
        self._answered = threading.Condition(self._lock)  # notified at every recorded answer

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FaultProxy:
        proxy = self

        class Handler(_Handler):
            owner = proxy

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop listening: new connections are refused, as when the server is gone."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()

    def stop_soon(self) -> None:
        """Stop from inside a request handler (shutdown() waits for the serving loop)."""
        threading.Thread(target=self.stop, daemon=True).start()

    def add(self, rule: Rule) -> Rule:
        with self._lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()

    def rule_for(self, request: Request) -> Rule | None:
        with self._lock:
            return next((r for r in self.rules if r.applies(request)), None)

    def record(self, method: str, path: str, status: int) -> None:
        with self._answered:
            self.seen.append((method, path, status))
            self._answered.notify_all()

    def _count(self, method: str | None, status: int | None, contains: str) -> int:
        return sum(
            1
            for m, p, s in self.seen
            if (method is None or m == method) and (status is None or s == status) and contains in p
        )

    def count(self, method: str | None = None, status: int | None = None, contains: str = "") -> int:
        with self._lock:
            return self._count(method, status, contains)

    def wait_for_count(
        self, at_least: int, method: str | None = None, status: int | None = None, contains: str = "",
        timeout: float = 60,
    ) -> None:  # fmt: skip
        """Block until the proxy has answered `at_least` such requests (woken by each answer)."""
        with self._answered:
            if not self._answered.wait_for(
                lambda: self._count(method, status, contains) >= at_least, timeout
            ):
                raise AssertionError(
                    f"timed out waiting for {at_least} {method or ''} {status or ''} {contains!r} answers"
                )


def s3_error_body(code: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
        f"<Message>injected by the test proxy</Message><RequestId>0</RequestId></Error>"
    ).encode()


class _Handler(BaseHTTPRequestHandler):
    owner: FaultProxy
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _handle(self) -> None:
        body = self._body()
        request = Request(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        if self.owner.on_request:
            self.owner.on_request(request)
        rule = self.owner.rule_for(request)
        if rule and rule.gate is not None:
            rule.gate.wait(120)
        if rule and rule.delay:
            time.sleep(rule.delay)
        if rule and rule.drop:
            self.owner.record(self.command, self.path, 0)
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if rule and rule.status:
            payload = s3_error_body(rule.code) if self.command != "HEAD" else b""
            self.owner.record(self.command, self.path, rule.status)
            self.send_response(rule.status)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(s3_error_body(rule.code))))
            self.end_headers()
            self.wfile.write(payload)
            return
        self._forward(body)

    def _forward(self, body: bytes) -> None:
        up = urlsplit(self.owner.upstream)
        conn = http.client.HTTPConnection(up.hostname, up.port, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        if "Content-Length" not in headers and body:
            headers["Content-Length"] = str(len(body))
        try:
            conn.request(self.command, self.path, body=body or None, headers=headers)
            answer = conn.getresponse()
            data = answer.read()
        finally:
            conn.close()
        self.owner.record(self.command, self.path, answer.status)
        self.send_response_only(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in HOP_BY_HOP - {"server", "date"} and name.lower() != "content-length":
                self.send_header(name, value)
        length = answer.getheader("Content-Length") if self.command == "HEAD" else str(len(data))
        self.send_header("Content-Length", length or "0")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle
