"""The one-time code limits hold under concurrency: simultaneous requests for codes, and
simultaneous guesses of a code, each in its own app context and database session as separate
web requests would be (security review findings 3 and 4)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy import func, select

from app.core.clock import utcnow
from app.extensions import db
from app.messaging.models import Message
from app.scheduling import self_service
from app.scheduling.models import OneTimeCode
from app.scheduling.self_service import SelfServiceError
from tests.scheduling.test_self_service import PHONE, make_office, sent_code


def race(app, contenders: int, attempt: Callable[[int], None]) -> list[object]:  # noqa: ANN001
    """Run ``attempt(n)`` for n in range(contenders) at once; each result is None or the
    exception raised."""
    start = threading.Barrier(contenders)
    results: list[object] = []

    def run(n: int) -> None:
        with app.app_context():
            start.wait()
            try:
                attempt(n)
                results.append(None)
            except BaseException as error:  # reported by the caller's assertions
                results.append(error)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(contenders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def refusals(results: list[object]) -> list[str]:
    assert all(r is None or isinstance(r, SelfServiceError) for r in results), results
    return [r.reason for r in results if r is not None]


def codes_texted() -> int:
    return db.session.execute(select(func.count(Message.id)).where(
        Message.template == "booking_code")).scalar_one()


def test_twenty_simultaneous_requests_text_one_phone_three_codes(app, practice):
    practice_id, now = make_office(practice).practice.id, utcnow()
    results = race(app, 20, lambda n: self_service.request_code(
        practice_id=practice_id, e164=PHONE, ip_address=f"10.0.0.{n}", now=now))

    assert refusals(results) == ["too many codes for this number"] * 17
    assert codes_texted() == self_service.MAX_CODES_PER_PHONE


def test_simultaneous_requests_from_one_address_text_only_its_limit(app, practice):
    practice_id, now = make_office(practice).practice.id, utcnow()
    contenders = self_service.MAX_CODES_PER_IP + 6
    results = race(app, contenders, lambda n: self_service.request_code(
        practice_id=practice_id, e164=f"+131255502{n:02d}", ip_address="10.0.0.1",
        now=now))

    assert refusals(results) == ["too many codes from this connection"] * 6
    assert codes_texted() == self_service.MAX_CODES_PER_IP


def test_forty_simultaneous_guesses_get_five_tries(app, practice):
    practice_id = make_office(practice).practice.id
    self_service.request_code(practice_id=practice_id, e164=PHONE, ip_address="1.2.3.4")
    code = sent_code()
    wrong = [f"{(int(code) + n) % 1_000_000:06d}" for n in range(1, 41)]
    results = race(app, 40, lambda n: self_service.verify_code(
        practice_id=practice_id, e164=PHONE, code=wrong[n]))

    reasons = refusals(results)
    assert reasons.count(self_service.WRONG_CODE) == self_service.MAX_ATTEMPTS
    assert reasons.count(self_service.TOO_MANY_TRIES) == 40 - self_service.MAX_ATTEMPTS
    db.session.expire_all()
    row = db.session.execute(select(OneTimeCode).where(OneTimeCode.purpose == "booking")
                             ).scalar_one()
    assert row.attempts == self_service.MAX_ATTEMPTS and row.used_at is None


def test_of_simultaneous_right_answers_only_one_is_accepted(app, practice):
    practice_id = make_office(practice).practice.id
    self_service.request_code(practice_id=practice_id, e164=PHONE, ip_address="1.2.3.4")
    code = sent_code()
    results = race(app, 8, lambda n: self_service.verify_code(
        practice_id=practice_id, e164=PHONE, code=code))

    assert results.count(None) == 1
    assert refusals(results) == [self_service.EXPIRED] * 7
