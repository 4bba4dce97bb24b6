"""The journey messages' context at send time: the visits as they are now, in the patient's
language and the location's zone.

The outbox row holds only appointment ids (``appointment_ids``), so a visit moved, re-assigned
or re-located after the message was queued is named as it is when the message goes. A
reminder or confirmation whose visits have all started, ended or been cancelled, a review
request for a visit no longer fulfilled and a "we missed you" for a visit no longer a no-show
are cancelled instead of sent (``NoLongerUseful``).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton, format_time
from flask import current_app
from sqlalchemy import select

from app.core.clock import utcnow
from app.extensions import db
from app.journeys import visit_pages
from app.journeys.rules import journey_for
from app.messaging.models import Message
from app.messaging.send_context import NoLongerUseful
from app.scheduling import moves
from app.scheduling.models import Appointment, AppointmentStatus

S = AppointmentStatus
_UPCOMING = ("journey_confirmation", "journey_reminder")
_NEEDS_STATUS = {"journey_review": S.FULFILLED, "journey_missed_you": S.NOSHOW}


def build_context(message: Message, language: str) -> dict[str, Any]:
    ids = json.loads(message.context or "{}").get("appointment_ids", [])
    visits = list(db.session.execute(
        select(Appointment).where(Appointment.id.in_(ids))
        .order_by(Appointment.start_at, Appointment.id)).scalars()) if ids else []
    if message.template in _UPCOMING:
        now = utcnow()
        visits = [v for v in visits if v.status in (S.BOOKED, S.PENDING) and v.start_at > now]
        if not visits:
            raise NoLongerUseful("not sent: its visits have started, ended or were cancelled")
    needed = _NEEDS_STATUS.get(message.template or "")
    if needed and (not visits or visits[0].status != needed):
        raise NoLongerUseful(f"not sent: the visit is no longer {needed}")
    context: dict[str, Any] = {
        "visits": [visit_context(visit, language) for visit in visits],
        "ask_confirmation": any(visit.confirmed_at is None for visit in visits),
        "book_url": book_url(visits[0] if visits else None, language),
    }
    if message.template == "journey_confirmation" and len(visits) == 1:
        context["visit_url"] = visit_pages.link_for(visits[0])
    if message.template == "journey_reschedule":  # a time picked there moves the visit
        context["move_url"] = moves.link_for(visits[0]) if len(visits) == 1 \
            else context["book_url"]
    if message.template == "journey_review" and visits:
        context["review_url"] = journey_for(visits[0].practice_id,
                                            visits[0].appointment_type_id).review_url
    return context


def when(visit: Appointment, language: str) -> str:
    """The visit's start as a text says it, in the location's zone, with the zone named."""
    local = visit.start_at.astimezone(ZoneInfo(visit.location.timezone))
    locale = language if language in ("en", "es") else "en"
    return (f"{format_skeleton('MMMEd', local, locale=locale)}, "
            f"{format_time(local, 'short', tzinfo=local.tzinfo, locale=locale)} "
            f"{local.tzname()}")


def visit_context(visit: Appointment, language: str) -> dict[str, str]:
    """Who, when, where and with whom: never the visit's type (it could reveal a
    condition)."""
    place = visit.location
    return {"name": visit.patient.given_name, "when": when(visit, language),
            "location": place.name, "provider": visit.provider.display_name,
            "address": f"{place.address_line}, {place.city}, {place.state} {place.postal_code}"}


def book_url(visit: Appointment | None, language: str) -> str:
    """Online booking, pre-filled with the visit's type, location and provider when the type
    can be booked online."""
    base = f"{current_app.config['PUBLIC_BASE_URL']}/book/"
    if visit is None or not visit.appointment_type.bookable_online:
        return f"{base}?{urlencode({'lang': language})}"
    return f"{base}day?" + urlencode({"type": visit.appointment_type_id,
                                      "location": visit.location_id,
                                      "provider": visit.provider_id, "lang": language})
