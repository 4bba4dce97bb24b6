"""flask worker: the process that routes inbound texts, sends due messages and fetches inbound
MMS pictures; flask inbound: the inbound queue seen and routed by hand."""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable
from types import FrameType

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy.exc import OperationalError

from app.adapters.email import get_email_provider
from app.adapters.sms import get_sms_provider
from app.adapters.sms.media import TwilioMediaFetcher
from app.core import logs
from app.core.clock import utcnow
from app.extensions import db
from app.messaging import inbound_queue, media
from app.messaging.dispatcher import Providers, run_once

log = logging.getLogger(__name__)


def build_providers() -> Providers:
    config = current_app.config
    return Providers(sms=get_sms_provider(config), email=get_email_provider(config),
                     public_base_url=config["PUBLIC_BASE_URL"],
                     sms_per_second=float(config["SMS_MESSAGES_PER_SECOND"]))


@click.command("worker", help="Route inbound texts and send due messages; runs until stopped "
               "(--once: drain and exit).")
@click.option("--once", is_flag=True, help="Send everything due now, then exit.")
@click.option("--batch-size", default=100, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--idle-seconds", default=2.0, show_default=True, type=click.FloatRange(0.1, 60),
              help="Pause between polls when nothing is due.")
@with_appcontext
def worker_command(once: bool, batch_size: int, idle_seconds: float) -> None:
    providers = build_providers()
    fetch_media = TwilioMediaFetcher.from_settings(current_app.config)
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    previous = {signum: signal.signal(signum, stop) for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        _work(providers, once=once, batch_size=batch_size, idle_seconds=idle_seconds,
              stopping=lambda: stopping, fetch_media=fetch_media)
    finally:  # an in-process caller (a test, a script) gets its own handlers back
        for signum, handler in previous.items():
            signal.signal(signum, handler)


DB_RETRY_LONGEST_SECONDS = 60


def _work(providers: Providers, *, once: bool, batch_size: int, idle_seconds: float,
          stopping: Callable[[], bool], fetch_media: media.Fetch) -> None:
    outage = 0  # passes in a row that lost the database
    while True:
        logs.bind_unit_of_work()  # each pass's lines share an id
        try:
            routed = _route_inbound()  # first: their replies go out in this pass
            stats = run_once(providers, batch_size=batch_size,
                             max_batches=1 if not once else None, stopping=stopping)
            pictures = media.fetch_pending(fetch=fetch_media)  # MMS pictures still at Twilio
        except OperationalError as error:  # the database went away: wait for it, don't crash
            db.session.remove()  # its connection is dropped; pre-ping checks the next one
            if once:
                raise
            outage += 1
            pause = min(2 ** outage, DB_RETRY_LONGEST_SECONDS)
            log.warning("database unreachable (%s); trying again in %ds",
                        type(error.orig).__name__, pause)
            _pause(pause, stopping)
            if stopping():
                return
            continue
        outage = 0
        busy = (stats.sent + stats.deferred + stats.suppressed + stats.failed + stats.retried
                + pictures + routed.handled)
        if once or stats.problems:
            click.echo(f"sent {stats.sent}, deferred {stats.deferred}, suppressed "
                       f"{stats.suppressed}, failed {stats.failed}, retrying {stats.retried}, "
                       f"reconciled {stats.reconciled}, inbound texts routed {routed.routed}")
            for problem in stats.problems:
                click.echo(f"problem: {problem}", err=True)
        if once or stopping():
            return
        if not busy:
            _pause(idle_seconds, stopping)
        if stopping():
            return


def _route_inbound() -> inbound_queue.RoutingStats:
    """Route waiting texts; a defect there is logged (without the texts) and sending goes on."""
    try:
        return inbound_queue.route_waiting()
    except OperationalError:
        raise
    except Exception as error:
        db.session.rollback()
        log.error("routing inbound texts failed (%s); sending goes on", type(error).__name__)
        return inbound_queue.RoutingStats()


def _pause(seconds: float, stopping: Callable[[], bool]) -> None:
    """Sleep, waking early when asked to stop."""
    deadline = time.monotonic() + seconds
    while not stopping() and (left := deadline - time.monotonic()) > 0:
        time.sleep(min(left, 0.2))


inbound_cli = AppGroup("inbound", help="The inbound queue: texts stored by the webhook, routed "
                                       "by the worker.")


@inbound_cli.command("status", help="How many texts wait to be routed, and how many were "
                                    "refused (sent to a number no practice owns).")
def inbound_status() -> None:
    figures = inbound_queue.figures(utcnow())
    click.echo(f"waiting {figures.waiting} (oldest {figures.oldest_waiting_seconds:.0f} s), "
               f"refused {figures.refused}")


@inbound_cli.command("route", help="Route every waiting text now (what the worker does).")
@click.option("--retry-refused", is_flag=True,
              help="First put refused texts back in the queue (after setting up the number "
                   "or Messaging Service they were sent to).")
def inbound_route(retry_refused: bool) -> None:
    if retry_refused:
        click.echo(f"{inbound_queue.retry_refused()} refused texts queued again")
    total = inbound_queue.RoutingStats()
    while (stats := inbound_queue.route_waiting()).handled:
        total.add(stats)
    click.echo(f"routed {total.routed}, repeated {total.duplicates}, refused {total.refused}, "
               f"waiting to try again {total.postponed}")
