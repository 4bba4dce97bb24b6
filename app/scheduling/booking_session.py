"""Where a patient is in self-scheduling, kept in the signed session cookie between steps.

A move (``start_moving``: the patient opened a reschedule link) keeps the link's token and the
visit's type apart from the choice: a time then chosen for that type moves the visit instead
of booking a new one (``moving_for``). Starting over forgets it.

The state holds the choice (type, location, provider, and a slot's start or, for the
waitlist goal, days and time of day), the identity (name, birth date, phone) encrypted with
the PHI keys, and until when the phone counts as proved. The steps move it on: a choice is
kept (carrying a proved identity over, after "that time was just taken"), an identity is set
(a new one needs its own code), the phone is proved, and the flow ends with the appointment
booked or the waitlist joined. No name, birth date or phone number is readable from the
cookie.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask import session

from app.core.clock import utcnow
from app.core.crypto import DecryptionError
from app.core.types import keyring
from app.scheduling.self_service import CODE_MINUTES, Identity, WaitlistJoined, WaitlistWish

STATE = "self_booking"
JOINED = "waitlist_joined"
BOOKED = "booked_appointment"
MOVING = "moving_visit"
MOVED_FROM = "moved_from"
WAITLIST_GOAL = "waitlist"
_SEAL_CONTEXT = "session.booking_identity"
_CARRIED = ("identity", "verified_until")


@dataclass(frozen=True)
class Choice:
    """What the patient chose before saying who they are, as ids: a slot's start to book, or
    (``wish``) days and a time of day to wait for."""

    appointment_type_id: int | None
    location_id: int | None
    provider_id: int  # 0: any provider
    start: datetime | None
    wish: WaitlistWish | None


def restart() -> None:
    """The first step: nothing chosen yet (and no visit being moved)."""
    session.pop(STATE, None)
    session.pop(MOVING, None)


def start_moving(token: str, appointment_type_id: int) -> None:
    """The patient opened a reschedule link: the times chosen for this type move the visit."""
    session.pop(STATE, None)
    session[MOVING] = {"token": token, "type": appointment_type_id}


def moving_token() -> str | None:
    """The reschedule link's token while a visit is being moved."""
    return (session.get(MOVING) or {}).get("token")


def next_step(choice: dict[str, Any]) -> str:
    """Keep ``choice``; the endpoint that comes next: moving the visit (a time of the type of
    the visit being moved), else the code (identity still proved) or who the patient is."""
    proved = keep_choice(choice)
    moving = session.get(MOVING) or {}
    if "start" in choice and moving.get("type") == choice.get("type"):
        return "book.move"
    return "book.verify" if proved else "book.identity"


def finish_moved(appointment_id: int, moved_from: datetime) -> None:
    finish_booked(appointment_id)
    session.pop(MOVING, None)
    session[MOVED_FROM] = moved_from.isoformat()


def moved_from() -> datetime | None:
    """Where the visit this session moved came from (for the done page)."""
    value = session.get(MOVED_FROM)
    return datetime.fromisoformat(value) if value else None


def keep_choice(choice: dict[str, Any]) -> bool:
    """Keep a new choice, carrying over a proved identity; True when it is still proved (the
    next step is then the confirmation, not who the patient is)."""
    carried = {key: value for key, value in (session.get(STATE) or {}).items()
               if key in _CARRIED}
    session[STATE] = {**choice, **carried}
    return "verified_until" in carried


def wish_choice(*, appointment_type_id: int, location_id: int, provider_id: int,
                weekdays: list[int], time_of_day: str) -> dict[str, Any]:
    """The waitlist goal as a choice to keep."""
    return {"goal": WAITLIST_GOAL, "type": appointment_type_id, "location": location_id,
            "provider": provider_id, "weekdays": weekdays, "time_of_day": time_of_day}


def choice() -> Choice | None:
    """The kept choice; None when there is none (a bookmark, an expired session)."""
    state = session.get(STATE) or {}
    waiting = state.get("goal") == WAITLIST_GOAL
    if "start" not in state and not waiting:
        return None
    wish = WaitlistWish(
        appointment_type_id=state.get("type"), location_id=state.get("location"),
        provider_id=state["provider"] or None, weekdays=tuple(state["weekdays"]),
        time_of_day=state["time_of_day"]) if waiting else None
    return Choice(appointment_type_id=state.get("type"), location_id=state.get("location"),
                  provider_id=state.get("provider", 0), wish=wish,
                  start=None if waiting else datetime.fromisoformat(state["start"]))


def set_identity(who: Identity) -> None:
    """Who the patient says they are. A new identity needs its own code: a phone proved
    earlier in this session proves nothing about the person typed now."""
    state = {key: value for key, value in session[STATE].items() if key != "verified_until"}
    session[STATE] = {**state, "identity": _seal(who)}


def identity() -> Identity | None:
    """The identity kept; None when there is none or it cannot be read."""
    sealed = session[STATE].get("identity")
    try:
        return _unseal(sealed) if isinstance(sealed, str) else None
    except (ValueError, DecryptionError):
        return None


def phone_proved() -> bool:
    return "verified_until" in session[STATE] \
        and datetime.fromisoformat(session[STATE]["verified_until"]) > utcnow()


def stay_verified() -> None:
    """The phone was proved: choosing another time (or type) books without a new code for
    the code's lifetime."""
    until = utcnow() + timedelta(minutes=CODE_MINUTES)
    session[STATE] = {**session[STATE], "verified_until": until.isoformat()}


def finish_booked(appointment_id: int) -> None:
    session.pop(STATE, None)
    session.pop(MOVED_FROM, None)
    session[BOOKED] = appointment_id


def booked() -> int | None:
    """The appointment this session booked last, if any."""
    return session.get(BOOKED, 0) if BOOKED in session else None


def finish_joined(wish: WaitlistWish, joined: WaitlistJoined) -> None:
    session.pop(STATE, None)
    session[JOINED] = {"type": wish.appointment_type_id, "location": wish.location_id,
                       "already": joined.already_waiting,
                       "texts_allowed": joined.texts_allowed}


def joined() -> dict[str, Any] | None:
    """What the session's waitlist join was: type, location, already, texts_allowed."""
    return session.get(JOINED) or None


def _seal(who: Identity) -> str:
    """Encrypted for the session cookie: the flow keeps it between steps, and a cookie left
    on a shared phone must not show who booked."""
    return keyring().encrypt(json.dumps([who.given_name, who.family_name,
                                         who.date_of_birth.isoformat(), who.mobile_phone]),
                             context=_SEAL_CONTEXT)


def _unseal(sealed: str) -> Identity:
    given, family, born, phone = json.loads(keyring().decrypt(sealed, context=_SEAL_CONTEXT))
    return Identity(given, family, date.fromisoformat(born), phone)
