"""The journey settings managers and admins change: the practice's default journey with the
practice-wide settings, and an override per appointment type."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from flask_babel import gettext as _
from sqlalchemy import select

from app.extensions import db
from app.journeys.models import DEFAULT_REMINDERS, JourneyRule
from app.journeys.rules import RuleErrors, parse_steps
from app.scheduling.models import AppointmentType

JOURNEY_FIELDS = ("confirmation", "reminders", "review", "missed_you", "apology")
PRACTICE_FIELDS = ("review_url", "review_delay_hours", "review_period_days",
                   "no_show_after_minutes", "auto_no_show")
_BOUNDS = {"review_delay_hours": (0, 720), "review_period_days": (1, 3650),
           "no_show_after_minutes": (5, 1440)}


class TypeNotFound(LookupError):
    """No appointment type with that id in the practice."""


@dataclass(frozen=True)
class TypeJourney:
    kind: AppointmentType
    rule: JourneyRule | None  # None: the practice default applies


def default_rule(*, practice_id: int) -> JourneyRule:
    """The practice's default row (not saved until ``save_default``)."""
    return _row(practice_id, None) or JourneyRule(
        practice_id=practice_id, appointment_type_id=None, confirmation=True,
        reminders=DEFAULT_REMINDERS, review=True, missed_you=True, apology=True,
        review_url=None, review_delay_hours=2, review_period_days=180,
        no_show_after_minutes=30, auto_no_show=False)


def overview(*, practice_id: int) -> list[TypeJourney]:
    kinds = db.session.execute(select(AppointmentType).where(
        AppointmentType.practice_id == practice_id).order_by(AppointmentType.name,
                                                             AppointmentType.id)).scalars()
    rules = {row.appointment_type_id: row for row in db.session.execute(
        select(JourneyRule).where(JourneyRule.practice_id == practice_id)).scalars()}
    return [TypeJourney(kind, rules.get(kind.id)) for kind in kinds]


def save_default(*, practice_id: int, values: dict[str, object]) -> JourneyRule:
    """Save the default journey and the practice-wide settings; ``RuleErrors`` names bad
    fields."""
    clean = _checked(values, JOURNEY_FIELDS + PRACTICE_FIELDS)
    row = _row(practice_id, None) or JourneyRule(practice_id=practice_id)
    return _save(row, clean)


def type_rule(*, practice_id: int, appointment_type_id: int) -> TypeJourney:
    kind = db.session.get(AppointmentType, appointment_type_id)
    if kind is None or kind.practice_id != practice_id:
        raise TypeNotFound(appointment_type_id)
    return TypeJourney(kind, _row(practice_id, appointment_type_id))


def save_for_type(*, practice_id: int, appointment_type_id: int,
                  values: dict[str, object]) -> JourneyRule:
    """Give the type its own journey (confirmation, reminders, follow-ups)."""
    found = type_rule(practice_id=practice_id, appointment_type_id=appointment_type_id)
    clean = _checked(values, JOURNEY_FIELDS)
    default = default_rule(practice_id=practice_id)
    row = found.rule or JourneyRule(practice_id=practice_id,
                                    appointment_type_id=appointment_type_id,
                                    **{name: getattr(default, name) for name in PRACTICE_FIELDS})
    return _save(row, clean)


def reset_type(*, practice_id: int, appointment_type_id: int) -> None:
    """The type follows the practice default again."""
    found = type_rule(practice_id=practice_id, appointment_type_id=appointment_type_id)
    if found.rule is not None:
        db.session.delete(found.rule)
    db.session.commit()


def _row(practice_id: int, appointment_type_id: int | None) -> JourneyRule | None:
    kind = JourneyRule.appointment_type_id
    return db.session.execute(select(JourneyRule).where(
        JourneyRule.practice_id == practice_id,
        kind.is_(None) if appointment_type_id is None else kind == appointment_type_id)
    ).scalar_one_or_none()


def _save(row: JourneyRule, clean: dict[str, object]) -> JourneyRule:
    for name, value in clean.items():
        setattr(row, name, value)
    db.session.add(row)
    db.session.commit()
    return row


def _checked(values: dict[str, object], names: tuple[str, ...]) -> dict[str, object]:
    errors: dict[str, str] = {}
    clean: dict[str, object] = {}
    for name in names:
        value = values.get(name)
        if name in ("confirmation", "review", "missed_you", "apology", "auto_no_show"):
            clean[name] = bool(value)
        elif name == "reminders":
            text = str(value or "").strip()
            try:
                steps = parse_steps(text)
            except ValueError as bad:
                errors[name] = str(bad)
            else:
                clean[name] = " ".join(
                    f"{step.label}:{'+'.join(step.channels)}" for step in steps)
        elif name == "review_url":
            url = str(value or "").strip()
            parts = urlsplit(url)
            if url and (parts.scheme != "https" or not parts.netloc or len(url) > 300):
                errors[name] = _("Give the review page's https:// address (at most 300 "
                                 "characters).")
            clean[name] = url or None
        else:
            low, high = _BOUNDS[name]
            if not isinstance(value, int) or not low <= value <= high:
                errors[name] = _("Give a whole number from %(low)d to %(high)d.", low=low,
                                 high=high)
            clean[name] = value
    if errors:
        raise RuleErrors(errors)
    return clean
