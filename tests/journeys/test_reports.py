"""The weekly numbers for reports: confirmation rate, reminders per visit, no-show rate."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from app.core.clock import utcnow
from app.extensions import db
from app.journeys.reports import weekly
from tests import factories
from tests.journeys.kit import make_clinic


def test_a_week_of_visits_gives_the_three_rates(practice, runner):
    clinic = make_clinic(practice)
    base = utcnow() - timedelta(days=7)
    outcomes = [("fulfilled", True), ("fulfilled", True), ("noshow", False),
                ("booked", False), ("cancelled", True)]
    patient = factories.make_patient(practice)
    for n, (status, confirmed) in enumerate(outcomes):
        visit = factories.make_appointment(patient, clinic.provider, clinic.location,
                                           appointment_type=clinic.kind, status=status,
                                           start_at=base + timedelta(minutes=30 * n))
        visit.confirmed_at = base - timedelta(days=1) if confirmed else None
    db.session.commit()
    for _ in range(3):
        factories.make_message(patient, template="journey_reminder", created_at=base)
    factories.make_message(patient, template="journey_reminder", status="cancelled")

    rows = weekly(practice_id=practice.id, weeks=3)
    local = base.astimezone(ZoneInfo(practice.timezone)).date()
    (week,) = [row for row in rows if row.week_start <= local < row.week_start +
               timedelta(days=7)]
    assert (week.visits, week.confirmed, week.no_shows) == (4, 2, 1)
    assert week.confirmation_rate == 0.5
    assert week.reminders_per_visit == 0.75
    assert week.no_show_rate == 1 / 3
    assert all(row.visits == 0 for row in rows if row is not week)
    assert all(row.confirmation_rate is None for row in rows if row is not week)

    result = runner.invoke(args=["journeys", "report", "--weeks", "3"])
    assert result.exit_code == 0, result.output
    assert f"{week.week_start}       4        50%              0.8           33%" in result.output
