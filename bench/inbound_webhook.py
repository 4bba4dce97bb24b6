"""Inbound webhook throughput and latency: gunicorn (2 workers) serving the app on 127.0.0.1
against PostgreSQL, hit by signed ``POST /webhooks/twilio/sms`` requests (twilio's
``RequestValidator`` signature, a unique MessageSid each, senders from a pool of patients'
numbers) from a bounded thread pool. The webhook stores each text and a worker routes it
(``messaging.inbound_queue``): the storm measures the web tier, as the ceiling does; then one
``flask worker`` routes the stored texts and its rate is measured (texts routed per second;
every text must end as a routed message). In production the two run side by side, on their
own cores or machines. Next to it, the ceiling measured in the same run: the same gunicorn and Flask
stack answering the same path with one bare INSERT (``bench.ceiling_app``).

    .venv/bin/python -m bench.inbound_webhook [--requests 1000] [--steps 1,2,4,8,16]

Recreates the scratch database (default ``frontdesk_bench``) and stops by itself.
"""

from __future__ import annotations

import argparse
import itertools
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import requests
from twilio.request_validator import RequestValidator

from bench.common import (
    CEILING_TABLE,
    DEFAULT_DATABASE,
    ROOT,
    app_env,
    environment_line,
    fresh_database,
    libpq_url,
    percentile,
    seed,
)

TOKEN = "d4" * 16
PATH = "/webhooks/twilio/sms"
BODIES = ("Running 10 minutes late, sorry!", "Thanks, see you then", "Can I move to Friday?",
          "Is parking validated?", "HELP")
WARM_UP = 20
STARTUP_SECONDS = 30


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Gunicorn:
    """``gunicorn -w 2`` serving ``target`` on a free loopback port, stopped on exit."""

    def __init__(self, target: str, env: dict[str, str]) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", "2", "--bind",
             f"127.0.0.1:{self.port}", "--log-level", "warning", target],
            cwd=ROOT, env={**env, "PUBLIC_BASE_URL": self.base_url})

    def __enter__(self) -> Gunicorn:
        try:
            self._wait_until_ready()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                sys.exit(f"gunicorn exited with {self._process.returncode}")
            try:
                if requests.get(self.base_url + "/healthz", timeout=5).ok:
                    return
            except requests.RequestException:
                pass  # bound but the workers are still importing the app
            time.sleep(0.2)
        sys.exit(f"gunicorn did not answer within {STARTUP_SECONDS} s")

    def __exit__(self, *exc: object) -> None:
        self._process.terminate()
        self._process.wait(timeout=30)


class Worker:
    """One ``flask worker`` routing the stored texts (and sending their replies to the console
    provider, unpaced: the routing is measured, not the per-sender pacing of the replies),
    stopped on exit."""

    def __init__(self, env: dict[str, str]) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "flask", "worker", "--idle-seconds", "0.2"], cwd=ROOT,
            env={**env, "SMS_MESSAGES_PER_SECOND": "0"}, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc: object) -> None:
        self._process.terminate()
        self._process.wait(timeout=60)


def wait_until_routed(database_url: str, *, timeout: float = 600) -> float:
    """Seconds until the inbound queue is empty."""
    started = time.perf_counter()
    while count_rows(database_url, "SELECT count(*) FROM inbound_text"):
        if time.perf_counter() - started > timeout:
            sys.exit(f"the worker did not route every text within {timeout:.0f} s")
        time.sleep(0.1)
    return time.perf_counter() - started


def signed_posts(base_url: str, numbers: list[str], count: int, prefix: str
                 ) -> list[Callable[[requests.Session], requests.Response]]:
    """``count`` inbound texts as Twilio would post them, each with its own MessageSid."""
    validator = RequestValidator(TOKEN)
    senders = itertools.cycle(numbers)
    bodies = itertools.cycle(BODIES)
    calls = []
    for n in range(count):
        sid = f"SM{prefix}{n:030x}"
        form = {"MessageSid": sid, "SmsMessageSid": sid, "AccountSid": "AC" + "c3" * 16,
                "MessagingServiceSid": "MG" + "e5" * 16, "From": next(senders),
                "To": "+13125550100", "Body": next(bodies), "NumMedia": "0",
                "NumSegments": "1", "SmsStatus": "received", "ApiVersion": "2010-04-01"}
        headers = {"X-Twilio-Signature": validator.compute_signature(base_url + PATH, form)}
        calls.append(lambda session, form=form, headers=headers: session.post(
            base_url + PATH, data=form, headers=headers, timeout=30))
    return calls


def load(calls: list[Callable[[requests.Session], requests.Response]], concurrency: int
         ) -> tuple[float, list[float]]:
    """Fire the calls from ``concurrency`` threads (one keep-alive session each); returns
    requests per second and each request's latency. Exits on any non-200 answer."""
    local = threading.local()

    def fire(call: Callable[[requests.Session], requests.Response]) -> float:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        started = time.perf_counter()
        response = call(local.session)
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise RuntimeError(f"HTTP {response.status_code}: {response.text[:200]}")
        return elapsed

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(fire, calls[:WARM_UP]))
        started = time.perf_counter()
        latencies = list(pool.map(fire, calls[WARM_UP:]))
        return len(latencies) / (time.perf_counter() - started), latencies


def count_rows(database_url: str, sql: str) -> int:
    with psycopg.connect(libpq_url(database_url)) as conn:
        return conn.execute(sql).fetchone()[0]


def measure(database_url: str, *, requests_count: int, steps: tuple[int, ...], patients: int
            ) -> dict[str, Any]:
    """The product's webhook and the bare-INSERT ceiling on a fresh database, at a rising
    rate: ``requests_count`` posts at each step's number of concurrent clients, the product
    and the ceiling alternating step by step (both servers up), so both see the same load.
    Printed and returned: every step, and the peak of each (req/s, p50 and p99 in ms)."""
    numbers = seed(database_url, patients=patients)
    env = app_env(database_url, TWILIO_AUTH_TOKEN=TOKEN, TWILIO_FROM_NUMBER="+13125550100")
    per_step = requests_count + WARM_UP
    rows = []
    with Gunicorn("wsgi:app", env) as product, Gunicorn("bench.ceiling_app:app", env) as bare:
        for n, clients in enumerate(steps):
            measured = {}
            for name, server in (("product", product), ("ceiling", bare)):
                rate, latencies = load(signed_posts(server.base_url, numbers, per_step,
                                                    f"{name[0]}{n}"), clients)
                measured[name] = {"req_per_s": rate,
                                  "p50_ms": percentile(latencies, 0.5) * 1000,
                                  "p99_ms": percentile(latencies, 0.99) * 1000}
            rows.append({"clients": clients, **measured})
            print(f"  {clients:>2} clients: product {_line(measured['product'])}; "
                  f"ceiling {_line(measured['ceiling'])}")
    total = per_step * len(steps)
    if count_rows(database_url, f"SELECT count(*) FROM {CEILING_TABLE}") != total:
        sys.exit("the ceiling app did not store every request")
    with Worker(env):
        routing_seconds = wait_until_routed(database_url)
    stored = count_rows(database_url, "SELECT count(*) FROM message WHERE direction = 'inbound'")
    if stored != total:
        sys.exit(f"expected {total} inbound messages routed, found {stored}")
    peak = max((row["product"] for row in rows), key=lambda step: step["req_per_s"])
    ceiling = max((row["ceiling"] for row in rows), key=lambda step: step["req_per_s"])
    routed_per_second = total / routing_seconds
    print(f"inbound:  peak {_line(peak)}; ceiling (bare INSERTs behind the same stack) peak "
          f"{_line(ceiling)}; one worker routed all {total:,} texts at "
          f"{routed_per_second:,.0f} texts/s (start-up included)")
    return {**peak, "ceiling_req_per_s": ceiling["req_per_s"], "ceiling_p99_ms":
            ceiling["p99_ms"], "routed_per_s": routed_per_second, "steps": rows}


def _line(step: dict[str, float]) -> str:
    return (f"{step['req_per_s']:,.0f} req/s, p50 {step['p50_ms']:.1f} ms, "
            f"p99 {step['p99_ms']:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000, help="posts at each step")
    parser.add_argument("--steps", default="1,2,4,8,16",
                        help="concurrent clients at each step, rising")
    parser.add_argument("--patients", type=int, default=200)
    parser.add_argument("--database-url", default=DEFAULT_DATABASE)
    args = parser.parse_args()
    steps = tuple(int(step) for step in args.steps.split(","))
    print(f"bench.inbound_webhook: {environment_line()}, gunicorn 2 sync workers, "
          f"{args.requests} posts at each of {len(steps)} steps")
    measure(fresh_database(args.database_url), requests_count=args.requests, steps=steps,
            patients=args.patients)

if __name__ == "__main__":
    main()
