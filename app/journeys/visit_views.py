"""The patient's visit pages (public: the signed link is the authorization)."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, g, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import Length

from app.core.clock import utcnow
from app.journeys import render, visit_pages
from app.scheduling import moves
from app.scheduling.booking_rules import BookingError
from app.scheduling.models import Appointment
from app.security import links
from app.security.permissions import public
from app.web import scope

bp = Blueprint("visit", __name__)


class CancelForm(FlaskForm):
    reason = TextAreaField(_l("Reason (optional)"), validators=[Length(max=500)])


@bp.route("/c/<token>", methods=["GET", "POST"])
@public
def show(token: str) -> Any:
    appointment, refused = _open(token)
    if appointment is None:
        return refused
    done = None
    if request.method == "POST" and FlaskForm().validate() and request.form.get("confirm"):
        done = _try(lambda: visit_pages.confirm(appointment_id=appointment.id))
    return _page("journeys/visit.html", appointment, done=done)


@bp.route("/c/<token>/cancel", methods=["GET", "POST"])
@public
def cancel(token: str) -> Any:
    appointment, refused = _open(token)
    if appointment is None:
        return refused
    form = CancelForm()
    if form.validate_on_submit() and _try(lambda: visit_pages.cancel(
            appointment_id=appointment.id, reason=form.reason.data)):
        return redirect(url_for(".show", token=token))
    return _page("journeys/visit_cancel.html", appointment, form=form)


def _open(token: str) -> tuple[Appointment | None, Any]:
    """The link's appointment (the request then acts for its practice, in the patient's
    language), or None and the invalid-link page."""
    try:
        appointment = visit_pages.open_link(token)
    except (links.LinkError, visit_pages.VisitGone) as refused:
        reason = getattr(refused, "reason", "gone")
        status = getattr(refused, "status", 404)
        contact = links.refuse_link(purpose=visit_pages.PURPOSE, reason=reason)
        return None, (render_template("links/invalid.html", contact=contact, reason=reason),
                      status)
    scope.act_for(appointment.practice_id)
    g.locale = request.args.get("lang") or appointment.patient.preferred_language
    return appointment, None


def _try(action: Any) -> bool:
    try:
        action()
    except BookingError:
        return False
    return True


def _page(template: str, appointment: Any, **extra: Any) -> Any:
    zone = ZoneInfo(appointment.location.timezone)
    return render_template(template, visit=visit_pages.page(appointment=appointment,
                                                            now=utcnow()),
                           when=appointment.start_at.astimezone(zone),
                           book_url=render.book_url(appointment, g.locale),
                           move_url=moves.link_for(appointment),
                           form=extra.pop("form", FlaskForm()), **extra)
