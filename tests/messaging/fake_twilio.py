"""A fake Twilio Messages API on 127.0.0.1, for tests and benchmarks that drive the real
twilio SDK (through ``TWILIO_API_BASE_URL``) from other processes, where ``responses`` cannot
reach.

It implements the three calls the SMS adapter makes, in Twilio's shapes:

* ``POST /2010-04-01/Accounts/<sid>/Messages.json`` — stores the message (To, Body,
  StatusCallback, sender) *before* the optional latency, so a client killed while waiting
  leaves a message Twilio "sent", as a real crash would; answers 201 with a fresh SM sid.
* ``GET .../Messages.json?To=...&PageSize=...`` — newest first, one page (``find_sent``).
* ``GET .../Messages/<sid>.json`` — one message, or Twilio's 404 (``fetch_status``).

Faults (the benchmark's fault run): with ``faults=0.2`` a fifth of the POSTs, drawn from a
seeded random stream, get one of ``FAULT_KINDS``: ``429`` and ``500`` (nothing stored), ``slow``
(stored, answered after ``SLOW_SECONDS``) or ``timeout`` (stored, answered only after
``timeout_seconds`` + 0.5 s, so the client gives up not knowing whether it went).
``fault_counts`` says how many of each it injected.
"""

from __future__ import annotations

import itertools
import json
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class FakeMessage:
    sid: str
    to: str
    body: str
    status_callback: str
    messaging_service_sid: str | None
    from_: str | None
    created: datetime

    @property
    def outbox_id(self) -> int | None:
        """The outbox row id the dispatcher put in the status callback (``?m=<id>``)."""
        values = parse_qs(urlsplit(self.status_callback).query).get("m")
        return int(values[0]) if values else None


FAULT_KINDS = ("429", "500", "slow", "timeout")
SLOW_SECONDS = 0.3


class FakeTwilio:
    def __init__(self, *, account_sid: str, latency: float = 0.0, faults: float = 0.0,
                 timeout_seconds: float = 1.0, seed: int = 16) -> None:
        self.account_sid = account_sid
        self.latency = latency
        self.faults = faults
        self.timeout_seconds = timeout_seconds
        self.fault_counts: Counter[str] = Counter()
        self._random = random.Random(seed)
        self._messages: list[FakeMessage] = []
        self._lock = threading.Lock()
        self._sids = itertools.count(1)
        server_class = type("Server", (ThreadingHTTPServer,), {"request_queue_size": 256})
        self._server = server_class(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._server.handle_error = lambda request, address: None  # a killed client: fine
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def messages(self) -> list[FakeMessage]:
        with self._lock:
            return list(self._messages)

    def outbox_id_counts(self) -> Counter[int | None]:
        """How many times each outbox message id reached the fake."""
        return Counter(message.outbox_id for message in self.messages)

    def start(self) -> FakeTwilio:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def _create(self, form: dict[str, list[str]]) -> FakeMessage:
        def first(name: str) -> str | None:
            return form.get(name, [None])[0]

        with self._lock:
            message = FakeMessage(
                sid=f"SM{next(self._sids):032x}", to=first("To") or "", body=first("Body") or "",
                status_callback=first("StatusCallback") or "",
                messaging_service_sid=first("MessagingServiceSid"), from_=first("From"),
                created=datetime.now(UTC))
            self._messages.append(message)
        return message

    def _fault(self) -> str | None:
        with self._lock:
            if not self.faults or self._random.random() >= self.faults:
                return None
            kind = self._random.choice(FAULT_KINDS)
            self.fault_counts[kind] += 1
            return kind

    def _find(self, sid: str) -> FakeMessage | None:
        with self._lock:
            return next((m for m in self._messages if m.sid == sid), None)

    def _list(self, to: str | None, page_size: int) -> list[FakeMessage]:
        with self._lock:
            matching = [m for m in self._messages if to is None or m.to == to]
        return list(reversed(matching))[:page_size]

    def _resource(self, message: FakeMessage) -> dict:
        created = format_datetime(message.created.replace(microsecond=0))
        return {"account_sid": self.account_sid, "api_version": "2010-04-01",
                "body": message.body, "date_created": created, "date_sent": None,
                "date_updated": created, "direction": "outbound-api", "error_code": None,
                "error_message": None, "from": message.from_,
                "messaging_service_sid": message.messaging_service_sid, "num_media": "0",
                "num_segments": "1", "price": None, "price_unit": "USD", "sid": message.sid,
                "status": "queued", "subresource_uris": {}, "to": message.to,
                "uri": f"{self._base_path()}/Messages/{message.sid}.json"}

    def _base_path(self) -> str:
        return f"/2010-04-01/Accounts/{self.account_sid}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self
        messages_path = f"{fake._base_path()}/Messages.json"
        one_prefix = f"{fake._base_path()}/Messages/"

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's pooled session expects
            disable_nagle_algorithm = True  # headers and body go out in two writes

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode())
                if urlsplit(self.path).path != messages_path:
                    self._json(404, _error(20404, "The requested resource was not found"))
                    return
                fault = fake._fault()
                if fault in ("429", "500"):
                    code = 20429 if fault == "429" else 20500
                    self._json(int(fault), _error(code, "injected fault", status=int(fault)))
                    return
                message = fake._create(form)
                delay = {"slow": SLOW_SECONDS, "timeout": fake.timeout_seconds + 0.5}
                if fake.latency or fault:
                    time.sleep(fake.latency + delay.get(fault or "", 0.0))
                self._json(201, fake._resource(message))

            def do_GET(self) -> None:  # noqa: N802
                url = urlsplit(self.path)
                query = parse_qs(url.query)
                if url.path == messages_path:
                    page_size = int(query.get("PageSize", ["50"])[0])
                    found = fake._list(query.get("To", [None])[0], page_size)
                    self._json(200, {
                        "messages": [fake._resource(m) for m in found], "end": len(found) - 1,
                        "first_page_uri": self.path, "next_page_uri": None, "page": 0,
                        "page_size": page_size, "previous_page_uri": None, "start": 0,
                        "uri": self.path})
                    return
                sid = url.path.removeprefix(one_prefix).removesuffix(".json")
                message = fake._find(sid) if url.path.startswith(one_prefix) else None
                if message is None:
                    self._json(404, _error(20404, "The requested resource was not found"))
                else:
                    self._json(200, fake._resource(message))

            def _json(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        return Handler


def _error(code: int, message: str, *, status: int = 404) -> dict:
    return {"code": code, "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status}
