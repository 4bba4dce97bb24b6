"""Fault run: ``flask worker`` processes drain due texts and emails into a fake Twilio and a
fake SendGrid that fail a share of the sends (429, 500, slow answers, timeouts after which
nobody knows whether the message went), while workers are SIGKILLed and restarted and, with
``--pg-restart``, the PostgreSQL server is stopped for 10 seconds. Then every text and every
email must have reached its fake exactly once.

    .venv/bin/python -m bench.fault_run [--messages 20000] [--emails 5000] [--workers 2] \\
        [--kills 10] [--faults 0.2] [--pg-restart]

``--pg-restart`` restarts the local PostgreSQL cluster (``pg_ctlcluster``): every session on
that server is cut off, so it is for ``make bench`` on a machine of your own, never for the
test suite's smoke run.

What the live run leaves behind — texts waiting out their retry back-off (15 s and up) and
texts a killed worker left in ``sending`` (reconciled once ``STALE_SENDING``, 2 minutes, has
passed) — is then settled by dispatcher passes run with the clock moved forward by those
waits (``catch_up``), instead of sleeping through them; the drain time reported is the live
part's. SendGrid has no API to ask whether a mail went: its event webhook tells, so before
each of those passes the fake's ``processed`` events are applied through the service the
webhook calls (``apply_sendgrid_events``), as they would have arrived meanwhile.
"""

from __future__ import annotations

import argparse
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from sqlalchemy import create_engine, text

from bench.common import ROOT, app_env, environment_line, fresh_database, seed
from tests.messaging.fake_sendgrid import FakeSendGrid
from tests.messaging.fake_twilio import FakeTwilio

SID = "AC" + "c3" * 16
TOKEN = "d4" * 16
SERVICE = "MG" + "e5" * 16
SENDGRID_KEY = "SG.bench-fault-run"
FROM_EMAIL = "desk@clinic.example"
EMAIL_SHARE = 4  # one email queued for every four texts
PUBLIC_BASE_URL = "https://clinic.example"
QUIET_SECONDS = 3.0
STARTUP_SECONDS = 60.0  # the live run ends when the fake has heard nothing new for this long
CATCH_UP_STEPS = (timedelta(minutes=3), timedelta(minutes=10), timedelta(minutes=30),
                  timedelta(minutes=50))


def worker_env(database_url: str, fake: FakeTwilio, mail: FakeSendGrid) -> dict[str, str]:
    return app_env(database_url, SMS_PROVIDER="twilio", TWILIO_ACCOUNT_SID=SID,
                   TWILIO_AUTH_TOKEN=TOKEN, TWILIO_MESSAGING_SERVICE_SID=SERVICE,
                   TWILIO_API_BASE_URL=fake.url, SMS_MESSAGES_PER_SECOND="0",
                   EMAIL_PROVIDER="sendgrid", SENDGRID_API_KEY=SENDGRID_KEY,
                   SENDGRID_FROM_EMAIL=FROM_EMAIL, SENDGRID_API_BASE_URL=mail.url,
                   SENDGRID_WEBHOOK_PUBLIC_KEY=mail.webhook_public_key,
                   PROVIDER_TIMEOUT_SECONDS="1", PUBLIC_BASE_URL=PUBLIC_BASE_URL)


def queue_emails(database_url: str, count: int) -> None:
    """``count`` due emails (to bare addresses, keyed ``bench-email:<n>``), in one
    transaction, to the practice ``seed`` made."""
    from app import create_app
    from app.core.clock import utcnow
    from app.core.tenancy import acting_for
    from app.extensions import db
    from app.messaging import outbox
    from app.messaging.models import Purpose
    from app.practice.models import Practice

    app = create_app({"DATABASE_URL": database_url, "LOG_LEVEL": "WARNING"})
    with app.app_context():
        practice_id = db.session.execute(text("SELECT min(id) FROM practice")).scalar_one()
        due = utcnow() - timedelta(minutes=1)
        with acting_for(practice_id):
            name = db.session.get(Practice, practice_id).name
            for n in range(count):
                outbox.enqueue(practice_id=practice_id, purpose=Purpose.APPOINTMENT,
                               idempotency_key=f"bench-email:{n}", channel="email",
                               address=f"patient{n}@example.com", language="en",
                               subject=f"{name}: your visit", send_at=due,
                               body=f"{name}: visit {n} is confirmed.")
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


def _sent_count(fake: FakeTwilio, mail: FakeSendGrid) -> int:
    return len(fake.outbox_id_counts()) + len(mail.reference_counts())


def start_worker(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "flask", "worker", "--idle-seconds", "0.2",
                             "--batch-size", "50"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def restart_postgres(seconds: float) -> None:
    version = subprocess.run(["ls", "/etc/postgresql"], capture_output=True, text=True,
                             check=True).stdout.split()[0]
    cluster = ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main"]
    subprocess.run([*cluster, "stop", "-m", "fast"], check=True)
    time.sleep(seconds)
    subprocess.run([*cluster, "start"], check=True)


def live_run(fake: FakeTwilio, mail: FakeSendGrid, env: dict[str, str], *, messages: int,
             workers: int,
             kills: int, pg_restart: bool, rng: random.Random) -> tuple[float, int]:
    """Workers drain while being killed; returns the seconds until the fake went quiet and
    how many workers were killed."""
    started = time.monotonic()
    running = [start_worker(env) for _ in range(workers)]
    killed, restarted_pg = 0, not pg_restart
    last_count, last_change = 0, time.monotonic() + STARTUP_SECONDS  # until the first send
    try:
        while time.monotonic() - last_change < QUIET_SECONDS:
            time.sleep(0.25)
            count = _sent_count(fake, mail)
            if count != last_count:
                last_count, last_change = count, time.monotonic()
            if killed < kills and count >= messages * (killed + 1) / (kills + 2):
                victim = running.pop(rng.randrange(len(running)))
                victim.send_signal(signal.SIGKILL)
                victim.wait()
                killed += 1
                running.append(start_worker(env))
            if not restarted_pg and count >= messages / 2:
                restart_postgres(10)
                restarted_pg = True
                last_change = time.monotonic()
    finally:
        for process in running:
            process.send_signal(signal.SIGTERM)
        for process in running:
            process.wait(timeout=60)
    return last_change - started, killed


def catch_up(database_url: str, fake: FakeTwilio, mail: FakeSendGrid) -> int:
    """Dispatcher passes at the moments the retries and the stale rows come due; returns
    how many passes it took until nothing was left to send."""
    from app import create_app
    from app.adapters.email.sendgrid import SendGridEmail
    from app.adapters.sms.twilio import TwilioSms
    from app.core.clock import utcnow
    from app.extensions import db
    from app.messaging import delivery_events, dispatcher

    app = create_app({"DATABASE_URL": database_url, "LOG_LEVEL": "WARNING"})
    fake.faults = mail.faults = 0.0
    providers = dispatcher.Providers(
        sms=TwilioSms(account_sid=SID, auth_token=TOKEN, messaging_service_sid=SERVICE,
                      api_base_url=fake.url, timeout=5.0),
        email=SendGridEmail(api_key=SENDGRID_KEY, from_email=FROM_EMAIL,
                            api_base_url=mail.url, timeout=5.0),
        public_base_url=PUBLIC_BASE_URL)
    with app.app_context():
        try:
            for passes, step in enumerate(CATCH_UP_STEPS, start=1):
                delivery_events.apply_sendgrid_events(mail.processed_events())  # the webhook
                dispatcher.run_once(providers, now=utcnow() + step)
                if not waiting(database_url):
                    return passes
            return len(CATCH_UP_STEPS)
        finally:
            db.session.remove()
            db.engine.dispose()


def waiting(database_url: str) -> int:
    engine = create_engine(database_url)
    with engine.connect() as conn:
        left = conn.execute(text("SELECT count(*) FROM message WHERE direction = 'outbound' "
                                 "AND status IN ('scheduled', 'sending')")).scalar_one()
    engine.dispose()
    return left


def fault_run(database_url: str, *, messages: int, workers: int, kills: int, faults: float,
              pg_restart: bool, seed_value: int = 16, emails: int | None = None
              ) -> dict[str, Any]:
    """``messages`` texts and ``emails`` emails (default: one for every ``EMAIL_SHARE``
    texts); ``lost`` and ``duplicated`` count both."""
    emails = messages // EMAIL_SHARE if emails is None else emails
    seed(database_url, patients=min(500, messages), messages=messages)
    queue_emails(database_url, emails)
    fake = FakeTwilio(account_sid=SID, faults=faults, timeout_seconds=1.0,
                      seed=seed_value).start()
    # seed + 10: the first seven draws at 20% hold a timeout and a 500, so even the smoke
    # run's few emails meet both.
    mail = FakeSendGrid(api_key=SENDGRID_KEY, faults=faults, timeout_seconds=1.0,
                        seed=seed_value + 10).start()
    try:
        drain, killed = live_run(fake, mail, worker_env(database_url, fake, mail),
                                 messages=messages + emails, workers=workers, kills=kills,
                                 pg_restart=pg_restart, rng=random.Random(seed_value))
        passes = catch_up(database_url, fake, mail)
        texts = _tally(fake.outbox_id_counts(), range(1, messages + 1))
        mails = _tally(mail.reference_counts(), (f"bench-email:{n}" for n in range(emails)))
        return {"messages": messages, "emails": emails, "workers": workers,
                "worker_kills": killed, "pg_restart": pg_restart, "fault_share": faults,
                "faults_injected": dict(fake.fault_counts),
                "email_faults_injected": dict(mail.fault_counts),
                "live_drain_seconds": round(drain, 1), "catch_up_passes": passes,
                "lost": texts["lost"] + mails["lost"],
                "duplicated": texts["duplicated"] + mails["duplicated"],
                "texts": texts, "email": mails, "left_unsent": waiting(database_url)}
    finally:
        fake.stop()
        mail.stop()


def _tally(counts: Counter, expected: Iterable[Any]) -> dict[str, int]:
    """Lost: expected and never received; duplicated: received more than once."""
    return {"lost": sum(1 for key in expected if counts.get(key, 0) == 0),
            "duplicated": sum(1 for count in counts.values() if count > 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--faults", type=float, default=0.2)
    parser.add_argument("--emails", type=int, default=None,
                        help=f"emails queued too (default: one per {EMAIL_SHARE} texts)")
    parser.add_argument("--pg-restart", action="store_true")
    parser.add_argument("--database-url",
                        default="postgresql://postgres@127.0.0.1:5432/frontdesk_bench")
    args = parser.parse_args()
    print(f"bench.fault_run: {environment_line()}")
    result = fault_run(fresh_database(args.database_url), messages=args.messages,
                       workers=args.workers, kills=args.kills, faults=args.faults,
                       pg_restart=args.pg_restart, emails=args.emails)
    print(result)


if __name__ == "__main__":
    main()
