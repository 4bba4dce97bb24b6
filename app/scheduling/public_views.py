"""Patient self-scheduling pages (public, phone-first): type → location → provider → day →
time → who you are → the texted code → booked. From the day or time page a patient may join
the waitlist instead: days and time of day → who you are → the texted code → on the list.

Choices that carry no PHI (ids, a day) travel in the query string. The chosen slot and the
verification state live in the signed session cookie (``booking_session``); the identity is
kept there encrypted and reaches the server only by POST, so no name, birth date or phone
number is ever in a URL or readable from the cookie. Forms: ``public_forms``; the last step:
``self_service.confirm``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from app.extensions import db
from app.patients.services import PatientInputError
from app.practice.models import Location, Practice
from app.scheduling import booking_session, ics, online, self_service
from app.scheduling.models import Appointment, AppointmentType
from app.scheduling.public_forms import (
    CODE_ERRORS,
    CODES_LIMITED,
    CONFIRM_ERRORS,
    IDENTITY_ERRORS,
    CodeForm,
    IdentityForm,
    TimeForm,
    WaitlistWishForm,
    describe_wish,
    identity_form,
    weekday_date,
)
from app.scheduling.self_service import Confirmed
from app.scheduling.slots import Slot
from app.security.permissions import public
from app.web.scope import act_for_public_practice

bp = Blueprint("book", __name__, url_prefix="/book")
bp.context_processor(lambda: {"weekday_date": weekday_date})


@bp.before_request
def _act_for_the_public_practice() -> None:
    g.public_practice_id = act_for_public_practice()


@bp.before_request
def _remember_language() -> None:
    chosen = request.args.get("lang")
    if chosen:
        session["book_lang"] = chosen
    elif session.get("book_lang"):
        g.locale = session["book_lang"]


def _practice() -> Practice:
    practice_id = g.public_practice_id
    practice = None if practice_id is None else db.session.get(Practice, practice_id)
    if practice is None:
        abort(404)
    return practice


def _start_over() -> NoReturn:
    """A step reached without the choices before it (a bookmark, an expired session):
    back to the first step rather than an error page."""
    abort(redirect(url_for("book.start")))


def _type_and_location() -> tuple[Practice, AppointmentType, Location]:
    if "type" not in request.args or "location" not in request.args:
        _start_over()
    practice = _practice()
    kind = online.bookable_type(practice_id=practice.id,
                                      type_id=request.args.get("type", 0, type=int))
    if kind is None:
        abort(404)
    where = db.session.get(Location, request.args.get("location", 0, type=int))
    if where is None or where not in online.locations_for(kind):
        abort(404)
    return practice, kind, where


def _provider(kind: AppointmentType, where: Location) -> int | None:  # None: first available
    provider_id = request.args.get("provider", 0, type=int) or None
    if provider_id is not None and provider_id not in {
            p.id for p in online.providers_for(kind, where)}:
        abort(404)
    return provider_id


@bp.get("/")
@public
def start() -> Any:
    booking_session.restart()
    return render_template("book/types.html",
                           kinds=online.bookable_types(practice_id=_practice().id))


@bp.get("/location")
@public
def location() -> Any:
    if "type" not in request.args:
        _start_over()
    kind = online.bookable_type(practice_id=_practice().id,
                                      type_id=request.args.get("type", 0, type=int))
    if kind is None:
        abort(404)
    return render_template("book/locations.html", kind=kind,
                           locations=online.locations_for(kind))


@bp.get("/provider")
@public
def provider() -> Any:
    _, kind, where = _type_and_location()
    return render_template("book/providers.html", kind=kind, location=where,
                           providers=online.providers_for(kind, where))


@bp.get("/day")
@public
def day() -> Any:
    _, kind, where = _type_and_location()
    provider_id = _provider(kind, where)
    found = online.open_slots(kind=kind, location=where, provider_id=provider_id)
    days = online.days_with_slots(found, ZoneInfo(where.timezone))
    return render_template("book/days.html", kind=kind, location=where,
                           provider_id=provider_id or 0, days=list(days))


@bp.get("/time")
@public
def time() -> Any:
    _, kind, where = _type_and_location()
    provider_id = _provider(kind, where)
    if "day" not in request.args:
        _start_over()
    try:
        chosen: date | None = date.fromisoformat(request.args.get("day", ""))
    except ValueError:
        chosen = None
    zone = ZoneInfo(where.timezone)
    found = online.days_with_slots(
        online.open_slots(kind=kind, location=where, provider_id=provider_id), zone)
    first, last = online.online_days(kind, where)
    if chosen is None or not first <= chosen <= last:
        return _not_a_bookable_day(kind, where, provider_id, chosen, found, first)
    return render_template("book/times.html", kind=kind, location=where, day=chosen,
                           provider_id=provider_id or 0, slots=found.get(chosen, []),
                           closed=chosen not in found and online.closed_on(
                               kind, where, provider_id, chosen),
                           zone=zone, form=TimeForm())


def _not_a_bookable_day(kind: AppointmentType, where: Location, provider_id: int | None,
                        chosen: date | None, found: dict[date, list[Slot]],
                        first: date) -> Any:
    """A day that cannot be booked online: say why, and offer the open days nearest to it."""
    reason, near = online.unbookable_day(chosen, found, first)
    return render_template("book/day_unbookable.html", kind=kind, location=where,
                           provider_id=provider_id or 0, reason=reason,
                           days=near), 400 if chosen is None else 200


@bp.post("/time")
@public
def pick_time() -> Any:
    _, kind, where = _type_and_location()
    form = TimeForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        start_at = datetime.fromisoformat(form.start.data)
    except ValueError:
        abort(400)
    if start_at.tzinfo is None:
        abort(400)
    return _ask_who({"type": kind.id, "location": where.id,
                     "provider": int(form.provider.data), "start": start_at.isoformat()})


def _ask_who(choice: dict[str, Any]) -> Any:
    """Keep the choice and go on to who the patient is, or to moving the visit of a reschedule
    link. After "that time was just taken" (or a visit for new patients only), a verified
    identity carries over to the new choice."""
    return redirect(url_for(booking_session.next_step(choice)))


@bp.route("/waitlist", methods=["GET", "POST"])
@public
def waitlist_wish() -> Any:
    _, kind, where = _type_and_location()
    provider_id = _provider(kind, where)
    form = WaitlistWishForm()
    if form.validate_on_submit():
        return _ask_who(booking_session.wish_choice(
            appointment_type_id=kind.id, location_id=where.id, provider_id=provider_id or 0,
            weekdays=form.weekdays.data, time_of_day=form.time_of_day.data))
    provider_name = next((p.display_name for p in online.providers_for(kind, where)
                          if p.id == provider_id), None)
    return render_template("book/waitlist.html", form=form, kind=kind, location=where,
                           provider_id=provider_id or 0, provider_name=provider_name)


def _chosen() -> tuple[AppointmentType, Location, Slot | None,
                       self_service.WaitlistWish | None]:
    """What the patient chose before saying who they are: a slot to book, or (the waitlist
    goal) a wish to be offered an earlier time."""
    choice = booking_session.choice()
    if choice is None:
        _start_over()
    kind = None if choice.appointment_type_id is None \
        else db.session.get(AppointmentType, choice.appointment_type_id)
    where = None if choice.location_id is None \
        else db.session.get(Location, choice.location_id)
    if kind is None or where is None:
        abort(404)
    if choice.wish is not None or choice.start is None:
        return kind, where, None, choice.wish
    slot = Slot(start=choice.start,
                end=choice.start + timedelta(minutes=kind.duration_minutes),
                provider_id=choice.provider_id, location_id=where.id,
                appointment_type_id=kind.id)
    return kind, where, slot, None


@bp.route("/identity", methods=["GET", "POST"])
@public
def identity() -> Any:
    kind, where, slot, wish = _chosen()
    form = identity_form(booking_session.identity())
    errors: dict[str, str] = {}
    if form.validate_on_submit():
        errors = _send_code(form, practice_id=kind.practice_id)
        if not errors:
            return redirect(url_for("book.verify"))
    return render_template("book/identity.html", form=form, errors=errors, slot=slot,
                           wish=describe_wish(wish), kind=kind, location=where,
                           zone=ZoneInfo(where.timezone))


def _send_code(form: IdentityForm, *, practice_id: int) -> dict[str, str]:
    """Keep who the patient says they are and text them a code; the fields to correct (none
    when the code was sent)."""
    try:
        who = self_service.clean_identity({
            "given_name": form.given_name.data, "family_name": form.family_name.data,
            "date_of_birth": form.date_of_birth.data.isoformat(),
            "mobile_phone": form.mobile_phone.data})
    except PatientInputError as error:
        return {name: IDENTITY_ERRORS.get(name, _("Please check this."))
                for name in error.errors}
    if not _text_code(who, practice_id=practice_id):
        return {"mobile_phone": str(CODES_LIMITED)}
    booking_session.set_identity(who)
    return {}


def _text_code(who: self_service.Identity, *, practice_id: int) -> bool:
    """Text a new code to the patient's phone; False when the per-phone or per-address
    limit refused it."""
    try:
        self_service.request_code(practice_id=practice_id, e164=who.mobile_phone,
                                  ip_address=request.remote_addr or "",
                                  language=str(get_locale() or "en"))
    except self_service.SelfServiceError:
        return False
    return True


@bp.post("/verify/new-code")
@public
def new_code() -> Any:
    """Text another code to the phone given already (after a code expired or was locked by
    wrong tries): the patient stays on the code step, told what happened."""
    kind = _chosen()[0]
    who = booking_session.identity()
    if who is None:
        return redirect(url_for("book.identity"))
    if not FlaskForm().validate_on_submit():
        abort(400)
    if _text_code(who, practice_id=kind.practice_id):
        flash(_("We texted you a new code. It expires in 10 minutes."), "success")
    else:
        flash(_("We cannot send another code yet: too many codes were asked for. Please wait "
                "15 minutes and try again, or call us."), "error")
    return redirect(url_for("book.verify"))


@bp.route("/verify", methods=["GET", "POST"])
@public
def verify() -> Any:
    kind, where, slot, wish = _chosen()
    who = booking_session.identity()
    if who is None:
        return redirect(url_for("book.identity"))
    verified = booking_session.phone_proved()
    form = FlaskForm() if verified else CodeForm()
    error, spent = None, False
    if form.validate_on_submit():
        confirmed = self_service.confirm(
            practice_id=kind.practice_id, identity=who, slot=slot, wish=wish,
            code=None if verified else form.code.data, language=str(get_locale() or "en"))
        if confirmed.phone_proved:
            booking_session.stay_verified()
        page = _confirmed_page(confirmed, kind, where, wish)
        if page is not None:
            return page
        verified = verified or confirmed.phone_proved
        error = CONFIRM_ERRORS[confirmed.outcome] if confirmed.outcome in CONFIRM_ERRORS \
            else CODE_ERRORS[confirmed.code_refused]
        spent = confirmed.code_refused in (self_service.EXPIRED, self_service.TOO_MANY_TRIES)
    return render_template("book/verify.html", form=form, verified=verified, error=error,
                           spent=spent, slot=slot, wish=describe_wish(wish), kind=kind,
                           location=where, zone=ZoneInfo(where.timezone))


def _confirmed_page(confirmed: Confirmed, kind: AppointmentType, where: Location,
                    wish: self_service.WaitlistWish | None) -> Any:
    """Where the last step leads, or None to show the code page again with its error."""
    if confirmed.appointment is not None:
        booking_session.finish_booked(confirmed.appointment.id)
        return redirect(url_for("book.done"))
    if confirmed.joined is not None and wish is not None:
        booking_session.finish_joined(wish, confirmed.joined)
        return redirect(url_for("book.waitlist_joined"))
    if confirmed.outcome in (self_service.CONFIRM_NEW_PATIENTS_ONLY,
                             self_service.CONFIRM_EXISTING_ONLY):
        new_person = confirmed.outcome == self_service.CONFIRM_EXISTING_ONLY
        return render_template("book/existing_patient.html", kind=kind, location=where,
                               new_person=new_person,
                               kinds=online.types_for(practice_id=kind.practice_id,
                                                      new_patients=new_person)), 409
    if confirmed.outcome in (self_service.CONFIRM_TAKEN, self_service.CONFIRM_OUTSIDE_HOURS):
        outside = confirmed.outcome == self_service.CONFIRM_OUTSIDE_HOURS
        return render_template("book/taken.html", kind=kind, location=where, form=TimeForm(),
                               outside_hours=outside, slots=list(confirmed.next_slots),
                               zone=ZoneInfo(where.timezone)), 409
    return None


def _booked() -> Appointment:
    appointment_id = booking_session.booked()
    if appointment_id is None:
        _start_over()
    appointment = db.session.get(Appointment, appointment_id)
    if appointment is None:
        abort(404)
    return appointment


@bp.get("/waitlist/joined")
@public
def waitlist_joined() -> Any:
    joined = booking_session.joined()
    if not joined:
        _start_over()
    kind = db.session.get(AppointmentType, joined["type"])
    where = db.session.get(Location, joined["location"])
    if kind is None or where is None:
        abort(404)
    return render_template("book/waitlist_joined.html", kind=kind, location=where,
                           already=joined["already"], texts_allowed=joined["texts_allowed"])


@bp.get("/done")
@public
def done() -> Any:
    appointment = _booked()
    return render_template("book/done.html", appointment=appointment,
                           zone=ZoneInfo(appointment.location.timezone),
                           google_url=ics.google_url(appointment),
                           outlook_url=ics.outlook_url(appointment))


@bp.get("/appointment.ics")
@public
def calendar_file() -> Response:
    return Response(ics.to_ics(_booked()), mimetype="text/calendar",
                    headers={"Content-Disposition": "attachment; filename=appointment.ics"})
