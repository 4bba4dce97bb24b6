"""The journeys' numbers for reports, per week (Monday to Sunday in the practice's zone):
how many visits were confirmed, how many reminders were sent per visit, and the no-show
rate. Counts only: no patient is named, so reading them is not audited.

* visits: appointments starting in the week, except cancelled and entered in error;
* confirmation rate: of those, the share the patient confirmed (``confirmed_at``);
* reminders per visit: journey reminders sent (texts and emails; a household's one text
  counts once) that week, divided by its visits;
* no-show rate: no-shows over the visits that ended one way or the other (arrived, checked
  in, fulfilled or no-show).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.core.clock import local_to_utc, utcnow
from app.extensions import db
from app.messaging.models import Message, MessageStatus
from app.practice.models import Practice
from app.scheduling.models import Appointment, AppointmentStatus

S = AppointmentStatus
_SENT = (MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.UNDELIVERED)
_SEEN = (S.ARRIVED, S.CHECKED_IN, S.FULFILLED, S.NOSHOW)


@dataclass(frozen=True)
class WeekNumbers:
    week_start: date  # the Monday, local
    visits: int
    confirmed: int
    reminders_sent: int
    no_shows: int
    seen_or_missed: int

    @property
    def confirmation_rate(self) -> float | None:
        return self.confirmed / self.visits if self.visits else None

    @property
    def reminders_per_visit(self) -> float | None:
        return self.reminders_sent / self.visits if self.visits else None

    @property
    def no_show_rate(self) -> float | None:
        return self.no_shows / self.seen_or_missed if self.seen_or_missed else None


def weekly(*, practice_id: int, weeks: int = 8, until: datetime | None = None
           ) -> list[WeekNumbers]:
    """The last ``weeks`` weeks up to the one holding ``until`` (now), oldest first."""
    zone = ZoneInfo(db.session.get(Practice, practice_id).timezone)
    today = (until or utcnow()).astimezone(zone).date()
    first = today - timedelta(days=today.weekday(), weeks=weeks - 1)
    start = local_to_utc(first, time(0), zone)
    end = local_to_utc(first + timedelta(weeks=weeks), time(0), zone)

    def week_of(at: datetime) -> date:
        day = at.astimezone(zone).date()
        return day - timedelta(days=day.weekday())

    visits, confirmed, no_shows, seen, reminders = (Counter(), Counter(), Counter(),
                                                    Counter(), Counter())
    for start_at, status, confirmed_at in db.session.execute(
            select(Appointment.start_at, Appointment.status, Appointment.confirmed_at)
            .where(Appointment.practice_id == practice_id, Appointment.start_at >= start,
                   Appointment.start_at < end,
                   Appointment.status.notin_((S.CANCELLED, S.ENTERED_IN_ERROR)))):
        week = week_of(start_at)
        visits[week] += 1
        confirmed[week] += confirmed_at is not None
        seen[week] += status in _SEEN
        no_shows[week] += status == S.NOSHOW
    for (sent_at,) in db.session.execute(
            select(Message.sent_at).where(Message.practice_id == practice_id,
                                          Message.template == "journey_reminder",
                                          Message.status.in_(_SENT),
                                          Message.sent_at >= start, Message.sent_at < end)):
        reminders[week_of(sent_at)] += 1
    return [WeekNumbers(week, visits[week], confirmed[week], reminders[week], no_shows[week],
                        seen[week])
            for week in (first + timedelta(weeks=n) for n in range(weeks))]
