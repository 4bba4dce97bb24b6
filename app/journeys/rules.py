"""The journey a visit gets: the practice's rules for its appointment type, else the
practice's default, else the built-in defaults; and the reminder steps they name.

A reminder step is written ``<number><d|h>:<channels>``, channels ``sms``, ``email`` or both
joined by ``+``; steps are separated by spaces or commas: ``3d:sms 1d:sms+email 2h:sms``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from app.core.errors import FieldErrors
from app.extensions import db
from app.journeys.models import DEFAULT_REMINDERS, JourneyRule

CHANNELS = ("sms", "email")
MAX_STEPS = 6
_STEP = re.compile(r"^(\d{1,3})([dh]):([a-z+]+)$")


class RuleErrors(FieldErrors):
    """A journey setting cannot be saved; names the fields."""


@dataclass(frozen=True)
class Step:
    label: str          # "3d": part of the messages' idempotency keys
    before: timedelta   # how long before the visit's start
    channels: tuple[str, ...]


@dataclass(frozen=True)
class Journey:
    confirmation: bool
    steps: tuple[Step, ...]
    review: bool
    missed_you: bool
    apology: bool
    review_url: str | None
    review_delay: timedelta
    review_period: timedelta
    no_show_after: timedelta
    auto_no_show: bool


def parse_steps(text: str) -> tuple[Step, ...]:
    """The steps ``text`` names, longest lead first; ValueError naming the bad part."""
    steps: dict[str, Step] = {}
    for part in re.split(r"[\s,;]+", text.strip().lower()):
        if not part:
            continue
        match = _STEP.match(part)
        if not match:
            raise ValueError(f"{part!r}: write a step as 3d:sms, 1d:sms+email or 2h:sms")
        number, unit, channels = int(match.group(1)), match.group(2), match.group(3)
        chosen = tuple(dict.fromkeys(channels.split("+")))
        if number == 0 or any(channel not in CHANNELS for channel in chosen):
            raise ValueError(f"{part!r}: a step is at least 1h before, by sms and/or email")
        label = f"{number}{unit}"
        steps[label] = Step(label, timedelta(days=number) if unit == "d"
                            else timedelta(hours=number), chosen)
    if len(steps) > MAX_STEPS:
        raise ValueError(f"at most {MAX_STEPS} reminders")
    return tuple(sorted(steps.values(), key=lambda step: step.before, reverse=True))


def journey_for(practice_id: int, appointment_type_id: int | None) -> Journey:
    rows = {row.appointment_type_id: row for row in db.session.execute(
        select(JourneyRule).where(
            JourneyRule.practice_id == practice_id,
            (JourneyRule.appointment_type_id == appointment_type_id)
            | JourneyRule.appointment_type_id.is_(None))).scalars()}
    default = rows.get(None) or JourneyRule(
        confirmation=True, reminders=DEFAULT_REMINDERS, review=True, missed_you=True,
        apology=True, review_url=None, review_delay_hours=2, review_period_days=180,
        no_show_after_minutes=30, auto_no_show=False)
    own = rows.get(appointment_type_id, default) if appointment_type_id else default
    return Journey(
        confirmation=own.confirmation, steps=parse_steps(own.reminders), review=own.review,
        missed_you=own.missed_you, apology=own.apology, review_url=default.review_url,
        review_delay=timedelta(hours=default.review_delay_hours),
        review_period=timedelta(days=default.review_period_days),
        no_show_after=timedelta(minutes=default.no_show_after_minutes),
        auto_no_show=default.auto_no_show)
