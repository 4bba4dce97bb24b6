"""Calendar settings for managers: appointment types (create, edit, deactivate, who offers
each) and each provider's weekly hours per location, time off and extra hours."""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from app.core.clock import local_to_utc, utcnow
from app.practice.models import Location
from app.scheduling import (
    appointment_types,
    booking,
    calendar_queries,
    calendar_settings,
    calendars,
    time_off,
)
from app.scheduling.appointment_types import AppointmentTypeFields, AppointmentTypeNotFound
from app.scheduling.calendar_settings import ProviderCalendar, ProviderNotFound
from app.scheduling.calendars import CalendarInputError, ExceptionNotFound, WeeklyInterval
from app.scheduling.forms import MoveForm
from app.scheduling.models import ScheduleException, WorkingHours
from app.scheduling.open_time import TIME_OFF
from app.scheduling.settings_forms import (
    EVERY_LOCATION,
    EXCEPTION_KINDS,
    WEEKDAYS,
    AppointmentTypeForm,
    ExceptionForm,
    WeeklyHoursForm,
)
from app.scheduling.slots import Slot
from app.security.permissions import Permission, requires

bp = Blueprint("calendar_settings", __name__, url_prefix="/settings/calendars")

TYPE_FIELDS = ("name", "duration_minutes", "buffer_before_minutes", "buffer_after_minutes",
               "for_new_patients", "bookable_online", "active", "min_notice_minutes",
               "max_days_ahead", "name_es")
# Where a calendars service's error about an exception is shown on the form.
EXCEPTION_ERROR_FIELDS = {"starts_at": "start_time", "ends_at": "end_time",
                          "location_id": "location_id", "label": "label"}


@bp.get("")
@requires(Permission.CALENDARS_MANAGE)
def index() -> Any:
    return render_template(
        "scheduling/settings/index.html",
        providers=calendar_settings.providers(practice_id=current_user.practice_id),
        types=appointment_types.list_appointment_types(practice_id=current_user.practice_id))


@bp.route("/types/new", methods=["GET", "POST"])
@requires(Permission.CALENDARS_MANAGE)
def create_type() -> Any:
    form = _type_form()
    if form.validate_on_submit():
        try:
            kind = appointment_types.create_appointment_type(
                practice_id=current_user.practice_id, fields=_type_fields(form),
                provider_ids=form.provider_ids.data or [])
        except CalendarInputError as error:
            _show_errors(form, error.errors)
        else:
            flash(_("Saved the appointment type %(name)s.", name=kind.name), "success")
            return redirect(url_for(".index"))
    return _type_page(form, None)


@bp.route("/types/<id:appointment_type_id>", methods=["GET", "POST"])
@requires(Permission.CALENDARS_MANAGE)
def edit_type(appointment_type_id: int) -> Any:
    try:
        kind = appointment_types.get_appointment_type(practice_id=current_user.practice_id,
                                                      appointment_type_id=appointment_type_id)
    except AppointmentTypeNotFound:
        abort(404, description=_("There is no appointment type with that number in this "
                                 "practice."))
    form = _type_form(obj=kind)
    if request.method == "GET":
        form.provider_ids.data = [provider.id for provider in kind.providers]
    if form.validate_on_submit():
        try:
            kind = appointment_types.update_appointment_type(
                practice_id=current_user.practice_id, appointment_type_id=kind.id,
                fields=_type_fields(form), provider_ids=form.provider_ids.data or [])
        except CalendarInputError as error:
            _show_errors(form, error.errors)
        else:
            flash(_("Saved the appointment type %(name)s.", name=kind.name), "success")
            return redirect(url_for(".index"))
    return _type_page(form, kind)


@bp.get("/providers/<id:provider_id>")
@requires(Permission.CALENDARS_MANAGE)
def provider(provider_id: int) -> Any:
    return _provider_page(_calendar(provider_id),
                          location_id=request.args.get("location_id", type=int))


@bp.post("/providers/<id:provider_id>/hours")
@requires(Permission.CALENDARS_MANAGE)
def set_hours(provider_id: int) -> Any:
    calendar = _calendar(provider_id)
    form = _hours_form(calendar)
    if not form.validate():
        return _provider_page(calendar, hours_form=form, status=400)
    placed = [(weekday, number, WeeklyInterval(weekday, start, end))
              for weekday, day in enumerate(form.days)
              for number, start, end in day.form.intervals()]
    replaced = _later_hours_replaced(calendar, form)
    if replaced and not form.replace_later.data:
        form.replace_later.errors = [_("Tick the box to replace them, or choose an end date "
                                       "before they begin.")]
        return _provider_page(calendar, hours_form=form, replaced=replaced, status=400)
    try:
        calendars.set_weekly_hours(
            practice_id=current_user.practice_id, provider_id=provider_id,
            location_id=form.location_id.data, intervals=[i for _, _, i in placed],
            valid_from=form.valid_from.data, valid_until=form.valid_until.data)
    except CalendarInputError as error:
        _show_hours_errors(form, placed, error.errors)
        return _provider_page(calendar, hours_form=form, status=400)
    flash(_("Saved the weekly hours."), "success")
    return redirect(url_for(".provider", provider_id=provider_id,
                            location_id=form.location_id.data))


@bp.post("/providers/<id:provider_id>/exceptions")
@requires(Permission.CALENDARS_MANAGE)
def add_exception(provider_id: int) -> Any:
    calendar = _calendar(provider_id)
    form = _exception_form(calendar)
    if not form.validate():
        return _provider_page(calendar, exception_form=form, status=400)
    location = next((hours.location for hours in calendar.hours
                     if hours.location.id == form.location_id.data), None)
    zone = calendar_settings.exception_zone(location, calendar.practice_zone)
    starts, ends = (local_to_utc(wall.date(), wall.time(), zone) for wall in form.local_span())
    add = calendars.add_time_off if form.kind.data == TIME_OFF else calendars.add_extra_hours
    try:
        added = add(practice_id=current_user.practice_id, provider_id=provider_id,
                    location_id=location.id if location else None, starts_at=starts,
                    ends_at=ends, label=form.label.data or None)
    except CalendarInputError as error:
        _show_errors(form, {EXCEPTION_ERROR_FIELDS.get(name, name): reason
                            for name, reason in error.errors.items()})
        return _provider_page(calendar, exception_form=form, status=400)
    return _after_adding(provider_id, added)


def _after_adding(provider_id: int, added: ScheduleException) -> Response:
    """Time off over booked visits leads to them, to move or cancel each; else back."""
    count = 0 if added.kind != TIME_OFF else time_off.count_affected(
        practice_id=current_user.practice_id, provider_id=provider_id, exception_id=added.id)
    if not count:
        flash(_("Added to the calendar."), "success")
        return redirect(url_for(".provider", provider_id=provider_id))
    flash(ngettext("Added, but %(num)d booked visit falls in this time off: move or cancel it.",
                   "Added, but %(num)d booked visits fall in this time off: move or cancel "
                   "them.", count), "warning")
    return redirect(url_for(".affected", provider_id=provider_id, exception_id=added.id))


@bp.get("/providers/<id:provider_id>/exceptions/<id:exception_id>/visits")
@requires(Permission.CALENDARS_MANAGE)
def affected(provider_id: int, exception_id: int) -> Any:
    calendar = _calendar(provider_id)
    try:
        visits = time_off.affected(practice_id=current_user.practice_id,
                                   provider_id=provider_id, exception_id=exception_id)
    except time_off.TimeOffNotFound:
        abort(404, description=_("That time off is not on this provider's calendar."))
    return render_template("scheduling/settings/time_off_visits.html", calendar=calendar,
                           visits=visits, exception_id=exception_id, form=FlaskForm())


@bp.post("/providers/<id:provider_id>/exceptions/<id:exception_id>/visits/<id:appointment_id>")
@requires(Permission.CALENDARS_MANAGE)
def resolve(provider_id: int, exception_id: int, appointment_id: int) -> Response:
    """Move the visit to the open time posted, or (no time posted) cancel it; either way the
    patient is texted."""
    form = MoveForm()
    try:
        if form.validate():
            time_off.move(practice_id=current_user.practice_id, appointment_id=appointment_id,
                          new_slot=_slot_of(form), staff_id=current_user.id)
        elif FlaskForm().validate() and "start" not in request.form:
            time_off.cancel(practice_id=current_user.practice_id,
                            appointment_id=appointment_id, staff_id=current_user.id)
        else:
            abort(400)
    except (booking.AppointmentNotFound, calendar_queries.CalendarNotFound):
        abort(404, description=_("There is no appointment with that number in this practice."))
    except booking.BookingError as error:
        flash(str(error), "error")
    else:
        flash(_("Done: the patient is texted."), "success")
    return redirect(url_for(".affected", provider_id=provider_id, exception_id=exception_id))


def _slot_of(form: MoveForm) -> Slot:
    row = calendar_queries.slot_for(practice_id=current_user.practice_id,
                                    appointment_type_id=form.appointment_type_id.data,
                                    provider_id=form.provider_id.data,
                                    location_id=form.location_id.data, start=form.start.data)
    return row.slot


@bp.post("/providers/<id:provider_id>/exceptions/<id:exception_id>/remove")
@requires(Permission.CALENDARS_MANAGE)
def remove_exception(provider_id: int, exception_id: int) -> Response:
    if not FlaskForm().validate():
        abort(400)
    try:
        calendars.remove_exception(practice_id=current_user.practice_id,
                                   provider_id=provider_id, exception_id=exception_id)
    except (CalendarInputError, ExceptionNotFound):
        abort(404, description=_("That time off or extra hours is not on this provider's "
                                 "calendar."))
    flash(_("Removed."), "success")
    return redirect(url_for(".provider", provider_id=provider_id))


# -- appointment types -------------------------------------------------------------------------

def _type_form(**kwargs: Any) -> AppointmentTypeForm:
    form = AppointmentTypeForm(**kwargs)
    form.provider_ids.choices = [
        (provider.id, provider.display_name if provider.active
         else _("%(name)s (inactive)", name=provider.display_name))
        for provider in calendar_settings.providers(practice_id=current_user.practice_id)]
    return form


def _type_fields(form: AppointmentTypeForm) -> AppointmentTypeFields:
    return AppointmentTypeFields(**{name: getattr(form, name).data for name in TYPE_FIELDS})


def _type_page(form: AppointmentTypeForm, kind: Any) -> Any:
    status = 400 if form.errors else 200
    return render_template("scheduling/settings/type_form.html", form=form, kind=kind), status


def _show_errors(form: FlaskForm, errors: dict[str, str]) -> None:
    """A service's field errors under the form's fields (others above the form)."""
    for name, reason in errors.items():
        field = getattr(form, name, None)
        if field is None:
            flash(reason, "error")
        else:
            field.errors = [*field.errors, reason]


# -- a provider's calendar -------------------------------------------------------------------

def _calendar(provider_id: int) -> ProviderCalendar:
    try:
        return calendar_settings.provider_calendar(practice_id=current_user.practice_id,
                                                   provider_id=provider_id)
    except ProviderNotFound:
        abort(404, description=_("There is no provider with that number in this practice."))


def _hours_form(calendar: ProviderCalendar, **kwargs: Any) -> WeeklyHoursForm:
    form = WeeklyHoursForm(**kwargs)
    form.location_id.choices = [(hours.location.id, hours.location.name)
                                for hours in calendar.hours]
    return form


def _fill_current_hours(form: WeeklyHoursForm, calendar: ProviderCalendar,
                        location_id: int | None) -> list[str]:
    """Show the hours in force today at the chosen location (default: the first with
    hours). Returns the weekdays with more intervals than the form has room for (hours that
    came from elsewhere, such as the FHIR API), which saving the form would drop."""
    location = next((hours.location for hours in calendar.hours
                     if hours.location.id == location_id), None)
    if location is None and calendar.hours:
        location = next((hours.location for hours in calendar.hours if hours.rows),
                        calendar.hours[0].location)
    if location is None:
        return []
    form.location_id.data = location.id
    today = _today(location)
    week = calendar_settings.hours_on(provider_id=calendar.provider.id,
                                      location_id=location.id, day=today)
    form.valid_from.data, form.valid_until.data = calendar_settings.shown_period(
        provider_id=calendar.provider.id, location_id=location.id, day=today)
    for weekday, day in enumerate(form.days):
        for number, (start, end) in enumerate(week.get(weekday, [])[:2], start=1):
            getattr(day.form, f"start_{number}").data = start
            getattr(day.form, f"end_{number}").data = end
    return [str(WEEKDAYS[weekday]) for weekday, intervals in sorted(week.items())
            if len(intervals) > 2]


def _today(location: Location) -> date:
    return utcnow().astimezone(ZoneInfo(location.timezone)).date()


def _later_hours_replaced(calendar: ProviderCalendar, form: WeeklyHoursForm
                          ) -> list[WorkingHours]:
    """Dated hours the form did not show that saving it would replace (none at a location
    the provider does not work at: the service refuses that)."""
    location = next((hours.location for hours in calendar.hours
                     if hours.location.id == form.location_id.data), None)
    if location is None:
        return []
    return calendar_settings.later_hours_replaced(
        provider_id=calendar.provider.id, location_id=location.id,
        valid_from=form.valid_from.data, valid_until=form.valid_until.data,
        today=_today(location))


def _show_hours_errors(form: WeeklyHoursForm, placed: list[tuple[int, int, WeeklyInterval]],
                       errors: dict[str, str]) -> None:
    """``intervals[i]`` and ``intervals[i].end_time`` name the i-th interval sent: shown on
    its weekday's row."""
    for name, reason in errors.items():
        if name.startswith("intervals["):
            index = int(name[len("intervals["):name.index("]")])
            weekday, number, _interval = placed[index]
            part = "end" if name.endswith(".end_time") else "start"
            field = getattr(form.days[weekday].form, f"{part}_{number}")
            field.errors = [*field.errors, reason]
        else:
            _show_errors(form, {name: reason})


def _exception_form(calendar: ProviderCalendar, **kwargs: Any) -> ExceptionForm:
    form = ExceptionForm(prefix="exception", **kwargs)
    zone = calendar.practice_zone.key
    form.location_id.choices = [
        (EVERY_LOCATION, _("All locations (times in %(zone)s)", zone=zone)),
        *((hours.location.id, _("%(name)s (times in %(zone)s)", name=hours.location.name,
                                 zone=hours.location.timezone)) for hours in calendar.hours)]
    return form


def _provider_page(calendar: ProviderCalendar, *, hours_form: WeeklyHoursForm | None = None,
                   exception_form: ExceptionForm | None = None, location_id: int | None = None,
                   replaced: list[WorkingHours] | None = None, status: int = 200) -> Any:
    """The provider's page; a form not given is shown fresh, the weekly one filled with the
    hours in force at ``location_id`` and the dates they are in force. ``replaced``: the
    later hours the weekly form would replace, listed for the manager to confirm."""
    crowded_days: list[str] = []
    if hours_form is None:
        hours_form = _hours_form(calendar, formdata=None)
        crowded_days = _fill_current_hours(hours_form, calendar, location_id)
    return render_template(
        "scheduling/settings/provider.html", calendar=calendar, hours_form=hours_form,
        exception_form=exception_form or _exception_form(calendar, formdata=None),
        remove_form=FlaskForm(formdata=None), weekdays=WEEKDAYS, kinds=EXCEPTION_KINDS,
        crowded_days=crowded_days, replaced=replaced or []), status
