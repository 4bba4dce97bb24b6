"""A provider outage opens that provider's circuit: the worker stops calling it, defers what
is due to the end of a doubling pause, and staff see a banner until messages flow again."""

from __future__ import annotations

import itertools
import json

import pytest
from sqlalchemy import select

from app.extensions import db
from app.messaging import circuit, dispatcher
from app.messaging.models import Message, MessageStatus
from tests import factories
from tests.messaging.test_dispatcher import (
    MESSAGES,
    NOON,
    clinic,  # noqa: F401
    mocked,  # noqa: F401
    providers,  # noqa: F401
    queue,
    twilio_error,
    twilio_message,
)

BANNER = "Messages to patients are delayed"


def outbound() -> list[Message]:
    db.session.expire_all()
    return list(db.session.execute(select(Message).order_by(Message.id)).scalars())


@pytest.mark.clock("2026-12-02T15:00:00+00:00")  # NOON: the banner reads the clock
def test_an_outage_opens_the_circuit_defers_the_rest_and_shows_a_banner(
        mocked, providers, clinic, login):  # noqa: F811
    practice, *_ = clinic
    patient = factories.make_patient(practice)
    for n in range(circuit.THRESHOLD + 2):
        queue(patient, f"k{n}")
    throttled = mocked.post(MESSAGES, status=429, json=twilio_error(20429, 429))
    staff = login("front_desk")
    assert BANNER not in staff.get("/").get_data(as_text=True)

    stats = dispatcher.run_once(providers, now=NOON)

    assert throttled.call_count == circuit.THRESHOLD  # then Twilio is left alone
    assert (stats.retried, stats.deferred) == (circuit.THRESHOLD, 2)
    delayed = [m for m in outbound() if m.status_reason == "delayed: twilio unavailable"]
    assert len(delayed) == 2
    assert all(m.status == MessageStatus.SCHEDULED and m.attempts == 0
               and m.send_at == NOON + circuit.FIRST_PAUSE for m in delayed)
    assert BANNER in staff.get("/").get_data(as_text=True)

    sids = itertools.count(1)
    mocked.remove("POST", MESSAGES)
    mocked.add_callback("POST", MESSAGES, callback=lambda request: (201, {}, json.dumps(
        twilio_message(f"SM{next(sids):032x}", "x", "+1"))))
    dispatcher.run_once(providers, now=NOON + circuit.FIRST_PAUSE)  # the trial works: closed
    assert all(m.status == MessageStatus.SENT for m in outbound() if m.id in
               {d.id for d in delayed})
    assert BANNER not in staff.get("/").get_data(as_text=True)


@pytest.mark.parametrize("trials", [1, 2, 6])
def test_each_failed_trial_doubles_the_pause_up_to_ten_minutes(trials):
    breaker = circuit.Breaker("twilio")
    now = NOON
    for _ in range(circuit.THRESHOLD):
        breaker.failed(now)
    assert breaker.closed_at(now) == now + circuit.FIRST_PAUSE
    assert breaker.closed_at(now + circuit.FIRST_PAUSE) is None  # a trial may go
    for _ in range(trials):
        now = breaker.open_until
        breaker.failed(now)
    expected = min(circuit.FIRST_PAUSE * 2 ** trials, circuit.LONGEST_PAUSE)
    assert breaker.open_until == now + expected
    breaker.succeeded()
    assert breaker.closed_at(now) is None and breaker.pause == circuit.FIRST_PAUSE


def test_a_provider_that_answers_with_a_permanent_refusal_is_up():
    breaker = circuit.Breaker("twilio")
    for _ in range(circuit.THRESHOLD - 1):
        breaker.failed(NOON)
    breaker.succeeded()
    breaker.failed(NOON)
    assert breaker.closed_at(NOON) is None
    assert breaker.failures == 1 and breaker.open_until is None
