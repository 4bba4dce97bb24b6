"""SIGTERM (a deploy, systemd stopping the service) lets a ``flask worker`` finish the
message in hand, give the rest of its batch back to the queue, and exit 0."""

from __future__ import annotations

import signal
import time

from app.messaging.models import MessageStatus
from tests.messaging.test_delivery_guarantees import (  # noqa: F401
    fake_twilio,
    outbox_rows,
    seed_messages,
    start_worker,
    workers_now,
)


def test_sigterm_finishes_the_message_in_hand_and_gives_the_batch_back(
        practice, fake_twilio, start_worker):  # noqa: F811
    ids = seed_messages(practice, patients=5, messages=20, now=workers_now())
    fake_twilio.latency = 0.5  # the worker is waiting on Twilio when the signal comes
    process = start_worker()
    deadline = time.monotonic() + 90  # a busy machine starts a worker slowly
    while not fake_twilio.messages and time.monotonic() < deadline:
        time.sleep(0.02)
    assert fake_twilio.messages, "the worker never sent"
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=20)

    assert process.returncode == 0, stderr
    reached = fake_twilio.outbox_id_counts()
    rows = {row.id: row for row in outbox_rows(ids)}
    assert 1 <= len(reached) < len(ids) and set(reached.values()) == {1}
    assert all(rows[i].status == MessageStatus.SENT and rows[i].provider_message_id
               for i in reached)
    rest = [row for i, row in rows.items() if i not in reached]
    assert rest and all(row.status == MessageStatus.SCHEDULED and row.attempts == 0
                        for row in rest)
