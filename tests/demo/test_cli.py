"""flask demo on a database without the demo practice, and a seed at an awkward hour."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from app.demo.seed import seed_demo
from app.messaging.models import Conversation
from app.patients.models import Patient
from app.practice.models import Practice
from app.scheduling.models import Appointment
from tests import factories


def test_if_empty_skips_when_any_practice_exists(runner, db) -> None:
    factories.make_practice(name="Elm Street Dental")
    result = runner.invoke(args=["demo", "seed", "--if-empty"])
    assert result.exit_code == 0
    assert result.output.strip() == "A practice is already set up; the demo seed is not needed."
    assert db.session.execute(select(func.count(Practice.id))).scalar_one() == 1
    assert db.session.execute(select(func.count(Patient.id))).scalar_one() == 0


def test_logins_says_when_the_demo_is_not_seeded(runner, db) -> None:
    result = runner.invoke(args=["demo", "logins"])
    assert result.exit_code == 0
    assert "not seeded" in result.output and "@demo.frontdesk.test" not in result.output


def test_seed_refuses_a_demo_email_already_in_use(runner, db) -> None:
    other = factories.make_practice(name="Elm Street Dental")
    factories.make_staff(other, role="admin", email="admin@demo.frontdesk.test")
    result = runner.invoke(args=["demo", "seed"])
    assert result.exit_code == 1
    assert "admin@demo.frontdesk.test already exists" in result.output
    assert db.session.execute(select(func.count(Practice.id))).scalar_one() == 1


def test_seeding_late_on_a_friday_keeps_messages_in_the_past_and_in_office_hours(db) -> None:
    friday_night = datetime(2026, 11, 28, 5, 0, tzinfo=UTC)  # Fri 23:00 in Chicago
    summary = seed_demo(now=friday_night)
    assert (summary.patients, summary.conversations, summary.unread_conversations) == (500, 40, 8)
    zone = ZoneInfo("America/Denver")  # the earlier of the two zones
    for conversation in db.session.execute(select(Conversation)).scalars():
        first = conversation.messages[0].created_at
        assert conversation.last_message_at <= friday_night
        assert time(8) <= first.astimezone(zone).time() and first.astimezone(
            ZoneInfo("America/Chicago")).time() < time(18)
    future = db.session.execute(select(Appointment.status).where(
        Appointment.start_at >= friday_night)).scalars().all()
    assert future and set(future) == {"booked"}
