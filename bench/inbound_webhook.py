"""Inbound webhook throughput and latency: gunicorn (2 workers) serving the app on 127.0.0.1
against PostgreSQL, hit by signed ``POST /webhooks/twilio/sms`` requests (twilio's
``RequestValidator`` signature, a unique MessageSid each, senders from a pool of patients'
numbers) from a bounded thread pool. The webhook stores each text and a worker routes it
(``messaging.inbound_queue``): the storm measures the web tier, as the ceiling does; then one
``flask worker`` routes the stored texts and its rate is measured (texts routed per second;
every text must end as a routed message). In production the two run side by side, on their
own cores or machines. Next to it, the ceiling measured in the same run: the same gunicorn and Flask
stack answering the same path with one bare INSERT (``bench.ceiling_app``).

    .venv/bin/python -m bench.inbound_webhook [--requests 2000] [--concurrency 8]

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
    latency_line,
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
    """One ``flask worker`` routing inbound texts (and sending their replies to the console
    provider) beside the web server, stopped on exit."""

    def __init__(self, env: dict[str, str]) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "flask", "worker", "--idle-seconds", "0.2"], cwd=ROOT,
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

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


def measure(database_url: str, *, requests_count: int, concurrency: int, patients: int
            ) -> dict[str, float]:
    """The product's webhook and the bare-INSERT ceiling on a fresh database; printed and
    returned (req/s, p50 and p99 in ms)."""
    numbers = seed(database_url, patients=patients)
    env = app_env(database_url, TWILIO_AUTH_TOKEN=TOKEN, TWILIO_FROM_NUMBER="+13125550100")
    total = requests_count + WARM_UP
    with Gunicorn("wsgi:app", env) as server:
        per_second, latencies = load(signed_posts(server.base_url, numbers, total, "a"),
                                     concurrency)
    with Worker(env):
        routing_seconds = wait_until_routed(database_url)
    stored = count_rows(database_url, "SELECT count(*) FROM message WHERE direction = 'inbound'")
    if stored != total:
        sys.exit(f"expected {total} inbound messages routed, found {stored}")
    routed_per_second = total / routing_seconds
    print(f"inbound:  {requests_count} signed webhooks: {per_second:,.0f} req/s, "
          f"{latency_line(latencies)}; one worker routed them at {routed_per_second:,.0f} "
          f"texts/s (start-up included)")
    result = {"req_per_s": per_second, "p50_ms": percentile(latencies, 0.5) * 1000,
              "p99_ms": percentile(latencies, 0.99) * 1000,
              "routed_per_s": routed_per_second}
    with Gunicorn("bench.ceiling_app:app", env) as server:
        per_second, latencies = load(signed_posts(server.base_url, numbers, total, "b"),
                                     concurrency)
    if count_rows(database_url, f"SELECT count(*) FROM {CEILING_TABLE}") != total:
        sys.exit("the ceiling app did not store every request")
    print(f"ceiling:  {requests_count} bare INSERTs behind the same stack: {per_second:,.0f} "
          f"req/s, {latency_line(latencies)}")
    return {**result, "ceiling_req_per_s": per_second,
            "ceiling_p99_ms": percentile(latencies, 0.99) * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--patients", type=int, default=200)
    parser.add_argument("--database-url", default=DEFAULT_DATABASE)
    args = parser.parse_args()
    print(f"bench.inbound_webhook: {environment_line()}, gunicorn 2 sync workers, "
          f"{args.concurrency} concurrent clients")
    measure(fresh_database(args.database_url), requests_count=args.requests,
            concurrency=args.concurrency, patients=args.patients)

if __name__ == "__main__":
    main()
