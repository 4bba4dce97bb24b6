"""Delivery guarantees, proven against a fake Twilio that counts what it received.

Real ``flask worker`` processes drive the real twilio SDK (``TWILIO_API_BASE_URL`` aims it at
``FakeTwilio``) on the test's database. Every message carries its outbox id in the status
callback (``?m=<id>``), so the fake can tell which message each request was. The races those
runs reach only by chance (two workers reconciling one row, a worker reaching a row someone
else has since reclaimed) are also played out deterministically with a scripted provider.
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from app.adapters.email.console import ConsoleEmail
from app.adapters.sending import ProviderConfigurationError, SendResult, TransientSendError
from app.adapters.sms.twilio import TwilioSms
from app.core.clock import utcnow
from app.extensions import db
from app.messaging import dispatcher, outbox, reconcile
from app.messaging.models import Message, MessageStatus, Purpose
from app.patients.models import Patient
from tests.messaging.fake_twilio import FakeTwilio

ROOT = Path(__file__).resolve().parents[2]
SID = "AC" + "c3" * 16
TOKEN = "d4" * 16
SERVICE = "MG" + "e5" * 16
PUBLIC_BASE_URL = "https://clinic.example"


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    server = FakeTwilio(account_sid=SID).start()
    yield server
    server.stop()


def workers_now() -> datetime:
    """The clock of the worker subprocesses: the test process's clock is frozen
    (tests/conftest.py), theirs is the wall clock, so times they act on come from theirs."""
    return datetime.now(UTC)


def midday_zone(now: datetime) -> str:
    """A fixed-offset zone where it is around noon at ``now``, so quiet hours defer nothing
    whenever the suite runs."""
    offset = 12 - now.hour  # -11 .. +12
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"  # POSIX sign: GMT-5 is UTC+5


def seed_messages(practice, *, patients: int, messages: int, now: datetime | None = None
                  ) -> list[int]:
    """``messages`` texts due at ``now`` (this process's clock unless given) spread over
    ``patients`` patients, queued in one transaction; each text is distinct, as real
    reminders (with their times) are."""
    now = now or utcnow()
    practice.timezone = midday_zone(now)
    people = [Patient(practice_id=practice.id, given_name="Maria", family_name=f"Bench{n}",
                      date_of_birth=utcnow().date() - timedelta(days=10_000 + n),
                      mobile_phone=f"+1312555{n:04d}", preferred_language="en")
              for n in range(patients)]
    for person in people:
        person.refresh_indexes()
    db.session.add_all(people)
    db.session.flush()
    due = now - timedelta(minutes=1)
    ids = [outbox.enqueue(practice_id=practice.id, patient_id=people[n % patients].id,
                          purpose=Purpose.APPOINTMENT, idempotency_key=f"guarantee:{n}",
                          body=f"{practice.name}: visit {n} is confirmed. Reply STOP to opt out.",
                          send_at=due).id
           for n in range(messages)]
    db.session.commit()
    db.session.close()  # the workers own the database now (SQLite: no lock held here)
    return ids


@pytest.fixture
def start_worker(app, fake_twilio) -> Iterator[Callable[..., subprocess.Popen]]:
    """``start_worker("--once")``: a ``flask worker`` process on this test's database, sending
    to the fake Twilio. Any still running when the test ends is killed."""
    started: list[subprocess.Popen] = []

    def start(*args: str) -> subprocess.Popen:
        started.append(worker(app, fake_twilio, *args))
        return started[-1]

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.communicate()


def worker(app, fake: FakeTwilio, *args: str) -> subprocess.Popen:
    env = {**os.environ, "FLASK_APP": "wsgi", "FRONTDESK_ENV": "test", "LOG_LEVEL": "WARNING",
           "DATABASE_URL": app.config["DATABASE_URL"],
           "SECRET_KEY": app.config["SECRET_KEY"],
           "PHI_ENCRYPTION_KEY": app.config["PHI_ENCRYPTION_KEY"],
           "PHI_INDEX_KEY": app.config["PHI_INDEX_KEY"],
           "PUBLIC_BASE_URL": PUBLIC_BASE_URL, "SMS_PROVIDER": "twilio",
           "EMAIL_PROVIDER": "console",
           "TWILIO_ACCOUNT_SID": SID, "TWILIO_AUTH_TOKEN": TOKEN,
           "TWILIO_MESSAGING_SERVICE_SID": SERVICE, "TWILIO_API_BASE_URL": fake.url,
           "SMS_MESSAGES_PER_SECOND": "0"}
    return subprocess.Popen([sys.executable, "-m", "flask", "worker", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def kill_while_sending(fake: FakeTwilio, victims: list[subprocess.Popen]) -> None:
    """SIGKILL the victims at a random moment once sending has (re)started (a worker starting
    on a busy machine may take many seconds to send its first)."""
    before = len(fake.messages)
    deadline = time.monotonic() + 60
    while len(fake.messages) <= before and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(random.uniform(0, 0.4))
    for victim in victims:
        victim.send_signal(signal.SIGKILL)
        victim.communicate()


def outbox_rows(ids: list[int]) -> list[Message]:
    db.session.expire_all()
    return list(db.session.execute(select(Message).where(Message.id.in_(ids))).scalars())


def assert_each_sent_exactly_once(fake: FakeTwilio, ids: list[int]) -> None:
    counts = fake.outbox_id_counts()
    duplicated = sorted(i for i, n in counts.items() if n > 1)
    lost = sorted(set(ids) - set(counts))
    assert (duplicated, lost) == ([], []), f"duplicated {duplicated[:10]}, lost {lost[:10]}"
    strangers = [m for m in fake.messages if m.outbox_id not in set(ids)]
    assert len(fake.messages) == len(ids), f"texts that are none of the test's: {strangers}"
    rows = outbox_rows(ids)
    assert {row.status for row in rows} == {MessageStatus.SENT}
    assert sorted(row.provider_message_id for row in rows) == sorted(m.sid for m in fake.messages)
    by_sid = {m.sid: m for m in fake.messages}
    assert all(by_sid[row.provider_message_id].outbox_id == row.id for row in rows)


def test_four_workers_send_5000_messages_exactly_once(practice, fake_twilio, start_worker,
                                                      postgres_only):
    ids = seed_messages(practice, patients=500, messages=5000, now=workers_now())

    workers = [start_worker("--once") for _ in range(4)]
    outputs = [w.communicate(timeout=300) for w in workers]

    assert [w.returncode for w in workers] == [0] * 4, [err for _, err in outputs]
    sent = [int(re.search(r"sent (\d+)", out).group(1)) for out, _ in outputs]
    assert sum(sent) == 5000
    assert all(sent), f"every worker should have shared the queue: {sent}"
    assert_each_sent_exactly_once(fake_twilio, ids)


def test_workers_killed_at_random_lose_nothing_and_send_nothing_twice(practice, fake_twilio,
                                                                      start_worker):
    """SIGKILL workers mid-run (Twilio takes 200 ms to answer, so most kills land between
    Twilio accepting a message and the worker recording it), restart them, then let the next
    worker past the stale threshold reconcile: every message reaches Twilio exactly once.
    PostgreSQL runs three workers at once; SQLite, where one worker is enough, one."""
    fake_twilio.latency = 0.2
    ids = seed_messages(practice, patients=50, messages=300, now=workers_now())
    parallel = 3 if db.engine.dialect.name == "postgresql" else 1
    loop = ("--batch-size", "10", "--idle-seconds", "0.2")
    workers = [start_worker(*loop) for _ in range(parallel)]
    for _ in range(6):
        if len(fake_twilio.messages) > len(ids) * 0.6:
            break
        kill_while_sending(fake_twilio, [random.choice(workers)])
        workers = [w if w.returncode is None else start_worker(*loop) for w in workers]
    kill_while_sending(fake_twilio, workers)  # the last kill leaves every claim behind

    in_sending = [row for row in outbox_rows(ids) if row.status == MessageStatus.SENDING]
    reached_twilio = set(fake_twilio.outbox_id_counts())
    assert len(reached_twilio) < len(ids), "the workers finished before the last kill"
    assert any(row.id in reached_twilio for row in in_sending), \
        "no kill landed between Twilio accepting a message and the worker recording it"

    fake_twilio.latency = 0.0
    providers = dispatcher.Providers(
        sms=TwilioSms(account_sid=SID, auth_token=TOKEN, messaging_service_sid=SERVICE,
                      api_base_url=fake_twilio.url),
        email=ConsoleEmail(), public_base_url=PUBLIC_BASE_URL)
    stats = dispatcher.run_once(providers, now=workers_now() + reconcile.STALE_SENDING
                                + timedelta(minutes=1))

    assert stats.reconciled == len(in_sending)
    assert_each_sent_exactly_once(fake_twilio, ids)


class ScriptedSms:
    """An SMS provider that lets a test play another worker while a call is in flight."""

    name = "scripted"

    def __init__(self, *, while_sending=None, while_looking=None) -> None:
        self.callbacks: list[str] = []
        self.while_sending = while_sending
        self.while_looking = while_looking

    def send_sms(self, *, to, body, status_callback_url, idempotency_key, sender=None
                 ) -> SendResult:
        self.callbacks.append(status_callback_url)
        if self.while_sending:
            self.while_sending(len(self.callbacks))
        return SendResult(f"SM{len(self.callbacks):032x}", "queued")

    def fetch_status(self, provider_message_id: str) -> SendResult | None:
        return None

    def find_sent(self, *, to, body, created_after, exclude_ids=(), sender=None
                  ) -> SendResult | None:
        if self.while_looking:
            self.while_looking()
        return None  # Twilio had not listed it when we asked


def another_worker(message_id: int, **values) -> None:
    """What another worker commits on its own connection, meanwhile."""
    with db.engine.begin() as connection:
        connection.execute(update(Message).where(Message.id == message_id).values(**values))


def scripted(sms: ScriptedSms) -> dispatcher.Providers:
    return dispatcher.Providers(sms=sms, email=ConsoleEmail(), public_base_url=PUBLIC_BASE_URL)


def test_two_workers_reconciling_one_stale_message_send_it_once(app, practice):
    [message_id] = seed_messages(practice, patients=1, messages=1)
    now = utcnow()
    another_worker(message_id, status=MessageStatus.SENDING, channel="sms",
                   address="+13125550000", sending_started_at=now - timedelta(minutes=10))
    # While we ask Twilio, the other worker finds it unsent, resends it and records the send.
    sms = ScriptedSms(while_looking=lambda: another_worker(
        message_id, status=MessageStatus.SENT, provider_message_id="SM" + "9" * 32))

    stats = dispatcher.run_once(scripted(sms), now=now)

    assert (stats.reconciled, sms.callbacks) == (0, [])
    [row] = outbox_rows([message_id])
    assert (row.status, row.provider_message_id) == (MessageStatus.SENT, "SM" + "9" * 32)


def test_a_worker_never_sends_a_message_another_worker_has_since_claimed(app, practice):
    first, second, third = seed_messages(practice, patients=1, messages=3)
    now = utcnow()
    # While we send the first, another worker takes the second over (as it would after
    # finding our claim stale) and is sending it itself.
    sms = ScriptedSms(while_sending=lambda n: n == 1 and another_worker(
        second, sending_started_at=now + timedelta(minutes=3)))

    stats = dispatcher.run_once(scripted(sms), now=now)

    assert sms.callbacks == [f"{PUBLIC_BASE_URL}/webhooks/twilio/status?m={first}",
                             f"{PUBLIC_BASE_URL}/webhooks/twilio/status?m={third}"]
    assert stats.sent == 2
    rows = {row.id: row for row in outbox_rows([second])}
    assert rows[second].status == MessageStatus.SENDING  # the other worker's, to finish


def test_concurrent_claims_take_at_most_a_batch_each_and_never_the_same_row(
        app, practice, postgres_only):
    ids = seed_messages(practice, patients=10, messages=400)
    barrier = threading.Barrier(4)
    claims: list[list[int]] = []

    def claim_until_empty() -> None:
        with app.app_context():
            barrier.wait()
            while batch := dispatcher.claim_due(limit=5, now=utcnow()):
                claims.append(batch)
            db.session.remove()

    threads = [threading.Thread(target=claim_until_empty) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert max(len(batch) for batch in claims) <= 5
    claimed = [message_id for batch in claims for message_id in batch]
    assert sorted(claimed) == sorted(ids)


def test_a_refused_configuration_gives_the_whole_batch_back(app, practice):
    ids = seed_messages(practice, patients=2, messages=4)

    def refuse(n: int) -> None:
        raise ProviderConfigurationError(20003, "Authenticate")

    stats = dispatcher.run_once(scripted(ScriptedSms(while_sending=refuse)), now=utcnow())

    assert stats.problems == ["provider refused our configuration: 20003: Authenticate"]
    rows = outbox_rows(ids)
    assert {(row.status, row.attempts) for row in rows} == {(MessageStatus.SCHEDULED, 0)}


def test_an_outage_while_reconciling_leaves_the_stale_message_and_sends_the_rest(app, practice):
    stale, due = seed_messages(practice, patients=2, messages=2)
    now = utcnow()
    another_worker(stale, status=MessageStatus.SENDING, channel="sms", address="+13125550000",
                   sending_started_at=now - timedelta(minutes=10))

    def outage() -> None:
        raise TransientSendError(20503, "Service Unavailable", outcome_unknown=True)

    sms = ScriptedSms(while_looking=outage)
    stats = dispatcher.run_once(scripted(sms), now=now)

    assert sms.callbacks == [f"{PUBLIC_BASE_URL}/webhooks/twilio/status?m={due}"]
    assert stats.reconciled == 0
    [row] = outbox_rows([stale])
    assert row.status == MessageStatus.SENDING  # asked again on the next pass
