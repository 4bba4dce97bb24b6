"""Frequency caps for non-urgent messages: a patient never gets more than we promise.

FCC 15-72 exempts healthcare messages (appointment and exam reminders, wellness checkups,
pre-registration, lab results, prescriptions) only when the provider sends at most one a day and
three a week. We read "a day" as the patient's local calendar day, what a patient means by it
(with quiet hours, two capped texts on consecutive days are still at least 11 hours apart), and
"a week" as any rolling 7 x 24 hours, the strict reading: no 7-day stretch ever holds four, even
across a calendar-week boundary. Caps defer, never drop.

Only capped messages count and are checked: the caller decides which messages are non-urgent
(reminders, recalls, campaigns) and leaves out immediate replies, one-time codes and messages
the patient asked for. Apply caps before quiet hours: deferring into the quiet-hours window
start can only move a message later, which never breaks a cap once it holds.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, time, timedelta

from app.messaging.quiet_hours import require_aware, wall_clock_instants, zone_for

WEEK = timedelta(days=7)


def next_time_under_caps(now_utc: datetime, *, sent_utc: Iterable[datetime], tz: str,
                         per_day: int = 1, per_week: int = 3) -> datetime:
    """The earliest instant at or after ``now_utc`` (returned in UTC) at which one more capped
    message keeps the patient within ``per_day`` messages per local calendar day and
    ``per_week`` per rolling 7 days. Equal to ``now_utc`` when it may go now.

    ``sent_utc`` holds the send times of the capped messages already sent to the patient.
    """
    require_aware("now_utc", now_utc)
    if per_day < 1 or per_week < 1:
        raise ValueError(f"caps must be at least 1, got per_day={per_day} per_week={per_week}")
    zone = zone_for(tz)
    sent = []
    for instant in sent_utc:
        require_aware("sent_utc", instant)
        sent.append(instant.astimezone(UTC))
    sent.sort()

    candidate = now_utc.astimezone(UTC)
    while True:
        day = candidate.astimezone(zone).date()
        on_day = sum(1 for instant in sent if instant.astimezone(zone).date() == day)
        if on_day >= per_day:
            candidate = wall_clock_instants(day + timedelta(days=1), time(0, 0), zone)[0]
            continue
        in_week = [instant for instant in sent if instant > candidate - WEEK]
        if len(in_week) >= per_week:
            candidate = in_week[len(in_week) - per_week] + WEEK
            continue
        return candidate
