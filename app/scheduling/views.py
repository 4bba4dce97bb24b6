"""The staff calendar: a location's day and week, booking a patient into an open slot, and
moving, cancelling, checking in and out an appointment."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import Form

from app.patients import queries as patient_queries
from app.patients.views import STATUS_LABELS
from app.scheduling import booking, calendar_queries, new_bookings
from app.scheduling.calendar_queries import CalendarNotFound
from app.scheduling.forms import (
    BookForm,
    BookQuery,
    CalendarQuery,
    CancelForm,
    MoveDayQuery,
    MoveForm,
    NoteForm,
    SeenForm,
    StatusForm,
    desk_actions,
)
from app.scheduling.grid import SlotRow
from app.security.permissions import Permission, requires

bp = Blueprint("scheduling", __name__, url_prefix="/schedule")


@bp.get("")
@requires(Permission.SCHEDULE_WORK)
def index() -> Any:
    query = CalendarQuery(request.args)
    view = _read(query, calendar_queries.day_view)
    return render_template("scheduling/day.html", view=view, query=query,
                           labels=STATUS_LABELS, booking_for=_booking_for(query))


@bp.get("/week")
@requires(Permission.SCHEDULE_WORK)
def week() -> Any:
    query = CalendarQuery(request.args)
    view = _read(query, calendar_queries.week_view, with_provider=True)
    return render_template("scheduling/week.html", view=view, query=query,
                           labels=STATUS_LABELS, booking_for=_booking_for(query))


@bp.get("/book")
@requires(Permission.SCHEDULE_WORK)
def book_form() -> Any:
    """The booking page for the slot in the query string. The patient search posts to
    ``book_search``, so no name, birth date or phone is ever in a URL; ``q`` is not read."""
    return _book_page(BookQuery(without_q(request.args)))


@bp.post("/book/patients")
@requires(Permission.SCHEDULE_WORK)
def book_search() -> Any:
    return _book_page(BookQuery(request.form))


def without_q(args: Any) -> Any:
    """The query string without ``q``: a patient search is posted, never read from a URL."""
    kept = args.copy()
    kept.poplist("q")
    return kept


def _book_page(query: BookQuery) -> Any:
    if not query.validate():
        flash(_("Choose an open time on the calendar first."), "error")
        return redirect(url_for(".index"))
    slot = _slot(query)
    result = _booking_for(query)
    if query.q.data is not None:
        try:
            result = patient_queries.search_patients(practice_id=current_user.practice_id,
                                                     query=query.q.data)
        except patient_queries.InvalidSearch as error:
            query.q.errors = [error.errors["q"]]
    partial = request.headers.get("HX-Request") and not request.headers.get(
        "HX-History-Restore-Request")
    template = "scheduling/_patients.html" if partial else "scheduling/book.html"
    return render_template(template, slot=slot, query=query, result=result, form=BookForm())


@bp.post("/book")
@requires(Permission.SCHEDULE_WORK)
def book() -> Any:
    form = BookForm()
    if not form.validate():
        return _book_again(form, None, 400)
    slot = _slot(form)
    try:
        appointment = booking.book(patient_id=form.patient_id.data, slot=slot.slot,
                                   source="staff", staff_id=current_user.id)
    except booking.SlotTaken as taken:  # or outside working hours: its message says which
        flash(str(taken), "warning")
        return _book_again(form, slot, 409, alternatives=taken.next_slots)
    except booking.BookingInputError as error:
        _field_errors(form, error.errors)
        return _book_again(form, slot, 400)
    flash(_("Booked."), "success")
    return redirect(url_for(".index", location_id=appointment.location_id,
                            appointment_type_id=appointment.appointment_type_id,
                            date=slot.starts.date().isoformat()))


@bp.get("/appointments/<id:appointment_id>")
@requires(Permission.SCHEDULE_WORK)
def appointment(appointment_id: int) -> Any:
    """The appointment; ``?day=`` lists that day's open times to move it to."""
    return _detail(appointment_id, CancelForm(formdata=None), day=MoveDayQuery(request.args))


@bp.post("/appointments/<id:appointment_id>/status")
@requires(Permission.SCHEDULE_WORK)
def set_status(appointment_id: int) -> Any:
    form = StatusForm()
    if not form.validate():
        flash(_("Choose check-in, check-out or no-show."), "error")
        return redirect(url_for(".appointment", appointment_id=appointment_id))
    return _change(appointment_id, lambda: booking.set_status(
        appointment_id=appointment_id, status=form.status.data, source="staff",
        staff_id=current_user.id), _("Status saved."))


@bp.post("/appointments/<id:appointment_id>/cancel")
@requires(Permission.SCHEDULE_WORK)
def cancel(appointment_id: int) -> Any:
    form = CancelForm()
    if not form.validate():
        return _detail(appointment_id, form, 400)
    return _change(appointment_id, lambda: booking.cancel(
        appointment_id=appointment_id, reason=form.reason.data, source="staff",
        staff_id=current_user.id, by_practice=form.by_practice.data), _("Appointment cancelled."))


@bp.post("/appointments/<id:appointment_id>/move")
@requires(Permission.SCHEDULE_WORK)
def move(appointment_id: int) -> Any:
    form = MoveForm()
    if not form.validate():
        flash(_("Choose a time from the calendar."), "error")
        return redirect(url_for(".appointment", appointment_id=appointment_id))
    slot = _slot(form)
    return _change(appointment_id, lambda: booking.reschedule(
        appointment_id=appointment_id, new_slot=slot.slot, source="staff",
        staff_id=current_user.id), _("Appointment moved."))


def _booking_for(query: Form) -> patient_queries.SearchResult | None:
    """The patient chosen on their record ("Book a visit"), carried by id through the
    calendar to the booking page; None when none is (or the id names nobody here)."""
    if query.patient_id.errors or not query.patient_id.data:
        return None
    return patient_queries.chosen_patient(practice_id=current_user.practice_id,
                                          patient_id=query.patient_id.data)


@bp.get("/new-bookings")
@requires(Permission.SCHEDULE_WORK)
def new_bookings_list() -> Any:
    """Visits patients booked themselves (online, from the waitlist) to look at."""
    found = new_bookings.unseen(practice_id=current_user.practice_id, staff_id=current_user.id)
    return render_template("scheduling/new_bookings.html", bookings=found, form=SeenForm(),
                           labels=STATUS_LABELS)


@bp.post("/new-bookings/seen")
@requires(Permission.SCHEDULE_WORK)
def mark_seen() -> Response:
    """Mark one visit (``appointment_id``) or, without one, the whole list seen."""
    form = SeenForm()
    if not form.validate():
        abort(400)
    marked = new_bookings.mark_seen(
        practice_id=current_user.practice_id, staff_id=current_user.id,
        appointment_ids=None if form.appointment_id.data is None else [form.appointment_id.data])
    flash(ngettext("Marked %(num)d booking seen.", "Marked %(num)d bookings seen.", marked),
          "success")
    return redirect(url_for(".new_bookings_list"))


def _read(query: CalendarQuery, read: Any, *, with_provider: bool = False) -> Any:
    """Call the read service with the query's choices; a choice that names nothing in this
    practice becomes that field's error and the page falls back to the defaults."""
    query.validate()
    choices: dict[str, Any] = {
        name: getattr(query, name).data for name in ("location_id", "appointment_type_id")
        if not getattr(query, name).errors}
    if not query.date.errors:
        choices["day"] = query.date.data
    if with_provider and not query.provider_id.errors:
        choices["provider_id"] = query.provider_id.data
    try:
        return read(practice_id=current_user.practice_id, **choices)
    except CalendarNotFound as missing:
        getattr(query, missing.field).errors = [_("Nothing with that number in this practice.")]
        return read(practice_id=current_user.practice_id,
                    day=choices.get("day"))


def _slot(form: Form) -> SlotRow:
    return _slot_or_404(appointment_type_id=form.appointment_type_id.data,
                        provider_id=form.provider_id.data, location_id=form.location_id.data,
                        start=form.start.data)


def _slot_or_404(**fields: Any) -> SlotRow:
    try:
        return calendar_queries.slot_for(practice_id=current_user.practice_id, **fields)
    except CalendarNotFound:
        abort(404, description=_("That time is not on this practice's calendar."))


def _book_again(form: BookForm, slot: SlotRow | None, status: int, *,
                alternatives: list[Any] | None = None) -> Any:
    """The booking page again, with the form's errors or the times to offer instead."""
    if slot is None:
        if form.appointment_type_id.errors or form.provider_id.errors \
                or form.location_id.errors or form.start.errors:
            flash(_("Choose an open time on the calendar first."), "error")
            return redirect(url_for(".index"))
        slot = _slot(form)
    rows = None if alternatives is None else [
        _slot_or_404(appointment_type_id=s.appointment_type_id, provider_id=s.provider_id,
                     location_id=s.location_id, start=s.start) for s in alternatives]
    query = BookQuery(data={"appointment_type_id": slot.slot.appointment_type_id,
                            "provider_id": slot.slot.provider_id,
                            "location_id": slot.slot.location_id,
                            "start": slot.slot.start.isoformat()})
    return render_template("scheduling/book.html", slot=slot, query=query, result=None,
                           form=form, alternatives=rows), status


def _field_errors(form: FlaskForm, errors: dict[str, str]) -> None:
    for name, reason in errors.items():
        field = getattr(form, name, None) or form.start
        field.errors = [*field.errors, reason]


def _found(appointment_id: int, move_day: Any = None) -> calendar_queries.AppointmentDetail:
    try:
        return calendar_queries.appointment_detail(practice_id=current_user.practice_id,
                                                   appointment_id=appointment_id,
                                                   move_day=move_day)
    except CalendarNotFound:
        abort(404, description=_("There is no appointment with that number in this practice."))


def _detail(appointment_id: int, cancel_form: CancelForm, status: int = 200,
            day: MoveDayQuery | None = None) -> Any:
    day = day or MoveDayQuery()
    detail = _found(appointment_id, day.day.data if day.validate() else None)
    return render_template(
        "scheduling/appointment.html", detail=detail, labels=STATUS_LABELS, day=day,
        cancel_form=cancel_form, action_form=StatusForm(formdata=None),
        note_form=NoteForm(formdata=None, data={"note": detail.row.appointment.note}),
        actions=desk_actions(detail.row.appointment)), status


def _change(appointment_id: int, change: Any, done: str) -> Response:
    """Run one booking-service change; its refusal becomes a message on the appointment."""
    try:
        appointment = change()
    except booking.AppointmentNotFound:
        abort(404, description=_("There is no appointment with that number in this practice."))
    except booking.SlotTaken as taken:
        flash(str(taken), "warning")
    except booking.BookingInputError as error:
        if "staff_id" in error.errors:  # the appointment is another practice's
            abort(404, description=_("There is no appointment with that number in this "
                                     "practice."))
        flash("; ".join(error.errors.values()), "error")
    except booking.BookingError as error:
        flash(str(error), "error")
    else:
        flash(done, "success")
        return redirect(url_for(".index", location_id=appointment.location_id,
                                date=calendar_queries.local_day(appointment).isoformat()))
    return redirect(url_for(".appointment", appointment_id=appointment_id))
