"""flask worker: the process that sends due messages."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from types import FrameType

import click
from flask import current_app
from flask.cli import with_appcontext

from app.adapters.email import get_email_provider
from app.adapters.sms import get_sms_provider
from app.core import logs
from app.messaging.dispatcher import Providers, run_once


def build_providers() -> Providers:
    config = current_app.config
    return Providers(sms=get_sms_provider(config), email=get_email_provider(config),
                     public_base_url=config["PUBLIC_BASE_URL"],
                     sms_per_second=float(config["SMS_MESSAGES_PER_SECOND"]))


@click.command("worker", help="Send due messages; runs until stopped (--once: drain and exit).")
@click.option("--once", is_flag=True, help="Send everything due now, then exit.")
@click.option("--batch-size", default=100, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--idle-seconds", default=2.0, show_default=True, type=click.FloatRange(0.1, 60),
              help="Pause between polls when nothing is due.")
@with_appcontext
def worker_command(once: bool, batch_size: int, idle_seconds: float) -> None:
    providers = build_providers()
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    previous = {signum: signal.signal(signum, stop) for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        _work(providers, once=once, batch_size=batch_size, idle_seconds=idle_seconds,
              stopping=lambda: stopping)
    finally:  # an in-process caller (a test, a script) gets its own handlers back
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _work(providers: Providers, *, once: bool, batch_size: int, idle_seconds: float,
          stopping: Callable[[], bool]) -> None:
    while True:
        logs.bind_unit_of_work()  # each pass's lines share an id
        stats = run_once(providers, batch_size=batch_size, max_batches=1 if not once else None,
                         stopping=stopping)
        busy = stats.sent + stats.deferred + stats.suppressed + stats.failed + stats.retried
        if once or stats.problems:
            click.echo(f"sent {stats.sent}, deferred {stats.deferred}, suppressed "
                       f"{stats.suppressed}, failed {stats.failed}, retrying {stats.retried}, "
                       f"reconciled {stats.reconciled}")
            for problem in stats.problems:
                click.echo(f"problem: {problem}", err=True)
        if once or stopping():
            return
        if not busy:
            time.sleep(idle_seconds)
        if stopping():
            return
