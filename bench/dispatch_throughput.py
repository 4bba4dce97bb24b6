"""Dispatch throughput: ``flask worker --once`` processes draining due texts from PostgreSQL
through the real twilio SDK into a local fake Twilio, next to a ceiling measured in the same
run: the same processes' worth of the same SDK and fake doing one HTTP round trip plus one bare
INSERT per message — how fast this machine could go if the dispatcher did nothing else.

    .venv/bin/python -m bench.dispatch_throughput [--messages 5000] [--workers 2]

Recreates the scratch database (default ``frontdesk_bench``) and stops by itself.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from sqlalchemy import create_engine, text

from bench.common import (
    CEILING_TABLE,
    DEFAULT_DATABASE,
    ROOT,
    app_env,
    environment_line,
    fresh_database,
    seed,
)
from tests.messaging.fake_twilio import FakeTwilio

SID = "AC" + "c3" * 16
TOKEN = "d4" * 16
SERVICE = "MG" + "e5" * 16
PUBLIC_BASE_URL = "https://clinic.example"
TIMEOUT_SECONDS = 600


def rate(fake: FakeTwilio) -> float:
    """Messages per second between the first and the last request the fake received."""
    stamps = sorted(message.created for message in fake.messages)
    span = (stamps[-1] - stamps[0]).total_seconds()
    return (len(stamps) - 1) / span if span > 0 else float("inf")


def run(commands: list[list[str]], env: dict[str, str]) -> float:
    """Start the processes together, wait for all; returns the wall time."""
    started = time.monotonic()
    processes = [subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
                 for command in commands]
    for process in processes:
        if process.wait(timeout=TIMEOUT_SECONDS) != 0:
            sys.exit(f"{' '.join(process.args)} failed (exit {process.returncode})")
    return time.monotonic() - started


def dispatch(database_url: str, *, messages: int, workers: int, latency: float) -> float:
    seed(database_url, patients=min(500, messages), messages=messages)
    fake = FakeTwilio(account_sid=SID, latency=latency).start()
    env = app_env(database_url, SMS_PROVIDER="twilio", TWILIO_ACCOUNT_SID=SID,
                  TWILIO_AUTH_TOKEN=TOKEN, TWILIO_MESSAGING_SERVICE_SID=SERVICE,
                  TWILIO_API_BASE_URL=fake.url, SMS_MESSAGES_PER_SECOND="0",
                  PUBLIC_BASE_URL=PUBLIC_BASE_URL)
    try:
        wall = run([[sys.executable, "-m", "flask", "worker", "--once"]] * workers, env)
        counts = fake.outbox_id_counts()
        if len(counts) != messages or max(counts.values()) != 1:
            sys.exit(f"expected {messages} messages once each, the fake got "
                     f"{len(fake.messages)} requests for {len(counts)} messages")
        print(f"dispatch: {messages} messages, {workers} workers: {rate(fake):,.0f} messages/s "
              f"({wall:.1f} s wall, process start-up included)")
        return rate(fake)
    finally:
        fake.stop()


def ceiling(database_url: str, *, messages: int, workers: int, latency: float) -> float:
    fake = FakeTwilio(account_sid=SID, latency=latency).start()
    share = messages // workers
    command = [sys.executable, "-m", "bench.dispatch_throughput", "--ceiling-client",
               str(share), "--fake-url", fake.url, "--database-url", database_url]
    try:
        wall = run([command] * workers, app_env(database_url))
        print(f"ceiling:  {share * workers} x (Twilio SDK POST + one bare INSERT), {workers} "
              f"processes: {rate(fake):,.0f} messages/s ({wall:.1f} s wall)")
        return rate(fake)
    finally:
        fake.stop()


def ceiling_client(count: int, fake_url: str, database_url: str) -> None:
    """One ceiling process: the SDK call the dispatcher makes, then one INSERT and commit."""
    from app.adapters.sms.twilio import TwilioSms

    sms = TwilioSms(account_sid=SID, auth_token=TOKEN, messaging_service_sid=SERVICE,
                    api_base_url=fake_url)
    engine = create_engine(database_url)
    for n in range(count):
        sent = sms.send_sms(to=f"+1312555{n % 500:04d}", body=f"Lakeside: visit {n} is confirmed.",
                            status_callback_url=f"{PUBLIC_BASE_URL}/webhooks/twilio/status?m={n}",
                            idempotency_key=f"m{n}")
        with engine.begin() as conn:
            conn.execute(text(f"INSERT INTO {CEILING_TABLE} (ref) VALUES (:ref)"),
                         {"ref": sent.provider_message_id})
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--latency", type=float, default=0.0,
                        help="seconds the fake Twilio waits before answering")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE)
    parser.add_argument("--ceiling-client", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--fake-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.ceiling_client is not None:
        ceiling_client(args.ceiling_client, args.fake_url, args.database_url)
        return
    print(f"bench.dispatch_throughput: {environment_line()}")
    database_url = fresh_database(args.database_url)
    dispatch(database_url, messages=args.messages, workers=args.workers, latency=args.latency)
    ceiling(database_url, messages=args.messages, workers=args.workers, latency=args.latency)


if __name__ == "__main__":
    main()
