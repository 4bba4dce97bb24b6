"""Moving a visit online (public: the signed reschedule link is the authorization).

``/m/<token>`` opens online booking pre-filled for the visit; the time then picked comes here
(``/book/move``, on the booking pages' blueprint) instead of "who you are", to move the visit
(``moves``); ``/book/moved`` says it is done. A link that cannot
move its visit gets a page saying why, with the way to book a new visit.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, g, redirect, render_template, request, session, url_for
from flask_wtf import FlaskForm

from app.extensions import db
from app.scheduling import booking, booking_session, ics, moves
from app.scheduling.booking_rules import BookingInputError
from app.scheduling.models import Appointment
from app.scheduling.public_forms import TimeForm
from app.scheduling.public_views import bp as book_bp
from app.scheduling.slots import Slot
from app.security import links
from app.security.permissions import public
from app.web import scope

bp = Blueprint("move", __name__)
_STATUS = {moves.EXPIRED: 410, moves.INVALID: 404}


@book_bp.context_processor
def _moving_banner() -> dict[str, Any]:
    """The booking pages say which visit a time chosen now moves."""
    if "moving" not in g:
        g.moving = moves.moving(booking_session.moving_token())
    return {"moving": g.moving}


@bp.get("/m/<token>")
@public
def start(token: str) -> Any:
    try:
        appointment = moves.open_link(token)
    except moves.MoveRefused as refused:
        return _refused(refused)
    scope.act_for(appointment.practice_id)
    moves.record_opened(appointment)
    language = request.args.get("lang") or appointment.patient.preferred_language
    booking_session.start_moving(token, appointment.appointment_type_id)
    return redirect(url_for("book.day", type=appointment.appointment_type_id,
                            location=appointment.location_id,
                            provider=appointment.provider_id, lang=language))


@book_bp.route("/move", methods=["GET", "POST"])
@public
def move() -> Any:
    token, choice = booking_session.moving_token(), booking_session.choice()
    if token is None or choice is None or choice.start is None:
        return redirect(url_for("book.start"))
    try:
        appointment = moves.open_link(token)
    except moves.MoveRefused as refused:
        return _refused(refused)
    _speak_for(appointment)
    kind, was = appointment.appointment_type, moves.local_start(appointment)
    slot = Slot(start=choice.start, end=choice.start + timedelta(minutes=kind.duration_minutes),
                provider_id=choice.provider_id, location_id=choice.location_id or 0,
                appointment_type_id=kind.id)
    error = None
    if FlaskForm().validate_on_submit():
        try:
            moved = moves.move(token=token, slot=slot)
        except moves.MoveRefused as refused:
            return _refused(refused)
        except booking.SlotTaken as taken:
            return _taken(appointment, taken)
        except BookingInputError as refused:
            error = "; ".join(refused.errors.values())
        else:
            booking_session.finish_moved(moved.id, was)
            return redirect(url_for("book.moved"))
    return render_template("book/move.html", appointment=appointment, was=was, slot=slot,
                           zone=ZoneInfo(appointment.location.timezone), error=error,
                           form=FlaskForm()), 400 if error else 200


@book_bp.get("/moved")
@public
def moved() -> Any:
    was, appointment_id = booking_session.moved_from(), booking_session.booked()
    appointment = db.session.get(Appointment, appointment_id) if appointment_id else None
    if appointment is None or was is None:
        return redirect(url_for("book.start"))
    _speak_for(appointment)
    return render_template("book/done.html", appointment=appointment, moved_from=was,
                           zone=ZoneInfo(appointment.location.timezone),
                           google_url=ics.google_url(appointment),
                           outlook_url=ics.outlook_url(appointment))


def _speak_for(appointment: Any) -> None:
    scope.act_for(appointment.practice_id)
    g.locale = session.get("book_lang") or appointment.patient.preferred_language


def _taken(appointment: Any, taken: booking.SlotTaken) -> Any:
    return render_template(
        "book/taken.html", kind=appointment.appointment_type, location=appointment.location,
        form=TimeForm(), outside_hours=isinstance(taken, booking.OutsideHours),
        slots=list(taken.next_slots), zone=ZoneInfo(appointment.location.timezone)), 409


def _refused(refused: moves.MoveRefused) -> Any:
    """Why the link cannot move the visit, and how to book a new one."""
    visit = refused.appointment
    contact = None
    if visit is None:
        contact = links.refuse_link(purpose=moves.PURPOSE, reason=refused.reason)
    else:
        _speak_for(visit)
    return render_template(
        "book/move_refused.html", reason=refused.reason, visit=visit, contact=contact,
        was=moves.local_start(visit) if visit is not None else None,
        book_url=url_for("book.start", lang=g.get("locale"))), _STATUS.get(refused.reason, 409)
