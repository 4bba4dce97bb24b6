"""What the loopback fakes of SendGrid and Stripe share (``tests/messaging/fake_sendgrid.py``,
``tests/billing/fake_stripe.py``): a threaded HTTP server on 127.0.0.1 that the real SDKs reach
through their base-URL settings, from the test's process or from worker processes, where
``responses`` cannot reach; a count of every call by kind; and injected faults.

Faults, as ``tests/messaging/fake_twilio.py`` injects them: with ``faults=0.2`` a fifth of the
calls that create something, drawn from a seeded random stream, get one of ``FAULT_KINDS``:
``429`` and ``500`` (nothing kept: the provider refused), ``slow`` (kept, answered after
``SLOW_SECONDS``) or ``timeout`` (kept, answered only after ``timeout_seconds`` + 0.5 s, so
the client gives up not knowing whether it went). ``fault_counts`` says how many of each.
``latency`` delays every answer to a create, as a distant provider would.
"""

from __future__ import annotations

import json
import random
import threading
import time
from abc import ABC, abstractmethod
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

FAULT_KINDS = ("429", "500", "slow", "timeout")
SLOW_SECONDS = 0.3


@dataclass
class Answer:
    status: int
    payload: Any = None  # JSON-able, or None for an empty body
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Call:
    method: str
    path: str  # without the query string
    query: str
    headers: dict[str, str]
    body: bytes


class FakeProvider(ABC):
    """Subclasses answer ``handle(call)``; ``creates(call)`` says which calls faults hit."""

    def __init__(self, *, latency: float = 0.0, faults: float = 0.0,
                 timeout_seconds: float = 1.0, seed: int = 16) -> None:
        self.latency = latency
        self.faults = faults
        self.timeout_seconds = timeout_seconds
        self.fault_counts: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()  # every call received, by kind
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        server_class = type("Server", (ThreadingHTTPServer,), {"request_queue_size": 256})
        self._server = server_class(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._server.handle_error = lambda request, address: None  # a client gave up: fine
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True)

    # -- what subclasses fill in ---------------------------------------------------------

    def kind_of(self, call: Call) -> str:
        """The name a call is counted under."""
        return f"{call.method} {call.path}"

    def creates(self, call: Call) -> bool:
        return call.method == "POST"

    @abstractmethod
    def handle(self, call: Call) -> Answer:
        """The provider's answer to a call that meets no fault."""

    @abstractmethod
    def fault_answer(self, kind: str) -> Answer:
        """The provider's own answer to an injected 429 or 500."""

    # -- the server ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeProvider:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> FakeProvider:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _fault(self) -> str | None:
        with self._lock:
            if not self.faults or self._random.random() >= self.faults:
                return None
            kind = self._random.choice(FAULT_KINDS)
            self.fault_counts[kind] += 1
            return kind

    def _answer(self, call: Call) -> tuple[Answer, float]:
        with self._lock:
            self.calls[self.kind_of(call)] += 1
        if not self.creates(call):
            return self.handle(call), 0.0
        fault = self._fault()
        if fault in ("429", "500"):
            return self.fault_answer(fault), 0.0
        delay = {"slow": SLOW_SECONDS, "timeout": self.timeout_seconds + 0.5}.get(fault or "", 0)
        return self.handle(call), self.latency + delay  # kept before the wait, as a crash would

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the SDKs' pooled sessions expect
            disable_nagle_algorithm = True

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                url = urlsplit(self.path)
                call = Call(self.command, url.path, url.query,
                            {k.lower(): v for k, v in self.headers.items()},
                            self.rfile.read(length) if length else b"")
                answer, delay = fake._answer(call)
                if delay:
                    time.sleep(delay)
                data = b"" if answer.payload is None else json.dumps(answer.payload).encode()
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                if answer.payload is not None:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = _serve  # noqa: N815

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                """Quiet: the counts say what came in."""

        return Handler
