"""Patient self-scheduling pages (public, phone-first): type → location → provider → day →
time → who you are → the texted code → booked. From the day or time page a patient may join
the waitlist instead: days and time of day → who you are → the texted code → on the list.

Choices that carry no PHI (ids, a day) travel in the query string. The chosen slot and the
verification state live in the signed session cookie; the identity (name, birth date, phone)
is kept there encrypted with the PHI keys and reaches the server only by POST, so no name,
birth date or phone number is ever part of a URL or readable from the cookie.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

from babel.dates import get_day_names
from flask import (
    Blueprint,
    Response,
    abort,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    HiddenField,
    RadioField,
    SelectChoice,
    SelectMultipleField,
    StringField,
    TelField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from app.core.clock import utcnow
from app.core.crypto import DecryptionError
from app.extensions import db
from app.patients.services import PatientInputError
from app.practice.models import Location, Practice, Provider
from app.scheduling import booking, ics, self_service, waitlist
from app.scheduling.models import Appointment, AppointmentType
from app.scheduling.slots import Slot
from app.security.permissions import public
from app.web.scope import act_for_public_practice

bp = Blueprint("book", __name__, url_prefix="/book")
STATE = "self_booking"
JOINED = "waitlist_joined"
WAITLIST_GOAL = "waitlist"
TIMES_OF_DAY = {self_service.ANY_TIME: _l("Any time"),
                self_service.MORNING: _l("Mornings (before noon)"),
                self_service.AFTERNOON: _l("Afternoons (noon or later)")}
IDENTITY_ERRORS = {
    "given_name": _l("Please enter your first name."),
    "family_name": _l("Please enter your last name."),
    "date_of_birth": _l("Please enter a real date of birth."),
    "mobile_phone": _l("Please enter a mobile number we can text."),
}
CODE_ERRORS = {
    self_service.EXPIRED: _l("This code has expired. Please ask for a new one."),
    self_service.TOO_MANY_TRIES: _l("Too many tries. Please ask for a new code."),
    self_service.WRONG_CODE: _l("That code is not right. Please check the text we sent."),
}


class TimeForm(FlaskForm):
    start = HiddenField(validators=[DataRequired()])
    provider = HiddenField(validators=[DataRequired(), Regexp(r"^\d+$")])


class IdentityForm(FlaskForm):
    given_name = StringField(_l("First name"), validators=[DataRequired(), Length(max=100)])
    family_name = StringField(_l("Last name"), validators=[DataRequired(), Length(max=100)])
    date_of_birth = DateField(_l("Date of birth"), validators=[DataRequired()])
    mobile_phone = TelField(_l("Mobile number"), validators=[DataRequired(), Length(max=30)])


class CodeForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=12)])


class WaitlistWishForm(FlaskForm):
    """When a patient could come in: days of the week and a time of day."""

    weekdays = SelectMultipleField(
        _l("Days that suit you"), coerce=int, default=list(range(7)),
        widget=ListWidget(prefix_label=False), option_widget=CheckboxInput(),
        validators=[InputRequired(message=_l("Choose one or more days."))])
    time_of_day = RadioField(_l("Time of day"), default=self_service.ANY_TIME,
                             choices=[SelectChoice(value, label)
                                      for value, label in TIMES_OF_DAY.items()],
                             validators=[InputRequired(message=_l("Choose a time of day."))])

    def __init__(self) -> None:
        super().__init__()
        self.weekdays.choices = [SelectChoice(day, name)
                                 for day, name in sorted(_day_names("wide").items())]


def _day_names(width: str) -> dict[int, str]:
    """Day names in the page's language, 0 = Monday."""
    return dict(get_day_names(width, locale=str(get_locale() or "en")))


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
    kind = self_service.bookable_type(practice_id=practice.id,
                                      type_id=request.args.get("type", 0, type=int))
    if kind is None:
        abort(404)
    where = db.session.get(Location, request.args.get("location", 0, type=int))
    if where is None or where not in self_service.locations_for(kind):
        abort(404)
    return practice, kind, where


def _provider(kind: AppointmentType, where: Location) -> int | None:
    """The chosen provider, None for "first available"."""
    provider_id = request.args.get("provider", 0, type=int) or None
    if provider_id is not None and provider_id not in {
            p.id for p in self_service.providers_for(kind, where)}:
        abort(404)
    return provider_id


@bp.get("/")
@public
def start() -> Any:
    session.pop(STATE, None)
    return render_template("book/types.html",
                           kinds=self_service.bookable_types(practice_id=_practice().id))


@bp.get("/location")
@public
def location() -> Any:
    if "type" not in request.args:
        _start_over()
    kind = self_service.bookable_type(practice_id=_practice().id,
                                      type_id=request.args.get("type", 0, type=int))
    if kind is None:
        abort(404)
    return render_template("book/locations.html", kind=kind,
                           locations=self_service.locations_for(kind))


@bp.get("/provider")
@public
def provider() -> Any:
    _, kind, where = _type_and_location()
    return render_template("book/providers.html", kind=kind, location=where,
                           providers=self_service.providers_for(kind, where))


@bp.get("/day")
@public
def day() -> Any:
    _, kind, where = _type_and_location()
    provider_id = _provider(kind, where)
    found = self_service.open_slots(kind=kind, location=where, provider_id=provider_id)
    days = self_service.days_with_slots(found, ZoneInfo(where.timezone))
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
        chosen = date.fromisoformat(request.args.get("day", ""))
    except ValueError:
        abort(404)
    zone = ZoneInfo(where.timezone)
    found = self_service.days_with_slots(
        self_service.open_slots(kind=kind, location=where, provider_id=provider_id), zone)
    return render_template("book/times.html", kind=kind, location=where, day=chosen,
                           provider_id=provider_id or 0, slots=found.get(chosen, []),
                           zone=zone, form=TimeForm())


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
    """Keep the choice and go on to who the patient is. After "that time was just taken" (or
    a visit for new patients only), a verified identity carries over to the new choice."""
    carried = {key: value for key, value in (session.get(STATE) or {}).items()
               if key in ("identity", "verified_until")}
    session[STATE] = {**choice, **carried}
    return redirect(url_for("book.verify" if "verified_until" in carried else "book.identity"))


@bp.route("/waitlist", methods=["GET", "POST"])
@public
def waitlist_wish() -> Any:
    _, kind, where = _type_and_location()
    provider_id = _provider(kind, where)
    form = WaitlistWishForm()
    if form.validate_on_submit():
        return _ask_who({"goal": WAITLIST_GOAL, "type": kind.id, "location": where.id,
                         "provider": provider_id or 0, "weekdays": form.weekdays.data,
                         "time_of_day": form.time_of_day.data})
    provider_name = next((p.display_name for p in self_service.providers_for(kind, where)
                          if p.id == provider_id), None)
    return render_template("book/waitlist.html", form=form, kind=kind, location=where,
                           provider_id=provider_id or 0, provider_name=provider_name)


def _chosen() -> tuple[AppointmentType, Location, Slot | None,
                       self_service.WaitlistWish | None]:
    """What the patient chose before saying who they are: a slot to book, or (the waitlist
    goal) a wish to be offered an earlier time."""
    state = session.get(STATE) or {}
    if "start" not in state and state.get("goal") != WAITLIST_GOAL:
        _start_over()
    kind = db.session.get(AppointmentType, state["type"]) if "type" in state else None
    where = db.session.get(Location, state["location"]) if "location" in state else None
    if kind is None or where is None:
        abort(404)
    if state.get("goal") == WAITLIST_GOAL:
        return kind, where, None, self_service.WaitlistWish(
            appointment_type_id=kind.id, location_id=where.id,
            provider_id=state["provider"] or None, weekdays=tuple(state["weekdays"]),
            time_of_day=state["time_of_day"])
    start_at = datetime.fromisoformat(state["start"])
    slot = Slot(start=start_at, end=start_at + timedelta(minutes=kind.duration_minutes),
                provider_id=state["provider"], location_id=where.id,
                appointment_type_id=kind.id)
    return kind, where, slot, None


def _describe(wish: self_service.WaitlistWish | None) -> str | None:
    """The wish in words for the page: provider, days, time of day."""
    if wish is None:
        return None
    names = _day_names("abbreviated")
    days = _("Any day") if len(wish.weekdays) == 7 else ", ".join(
        names[day] for day in sorted(wish.weekdays))
    provider = db.session.get(Provider, wish.provider_id) if wish.provider_id else None
    parts = [provider.display_name] if provider else []
    return " · ".join([*parts, days, str(TIMES_OF_DAY[wish.time_of_day])])


@bp.route("/identity", methods=["GET", "POST"])
@public
def identity() -> Any:
    kind, where, slot, wish = _chosen()
    form = IdentityForm()
    errors: dict[str, str] = {}
    if form.validate_on_submit():
        try:
            who = self_service.clean_identity({
                "given_name": form.given_name.data, "family_name": form.family_name.data,
                "date_of_birth": form.date_of_birth.data.isoformat(),
                "mobile_phone": form.mobile_phone.data})
            self_service.request_code(practice_id=kind.practice_id, e164=who.mobile_phone,
                                      ip_address=request.remote_addr or "",
                                      language=str(get_locale() or "en"))
        except PatientInputError as error:
            errors = {name: IDENTITY_ERRORS.get(name, _("Please check this."))
                      for name in error.errors}
        except self_service.SelfServiceError:
            errors = {"mobile_phone": _("Too many codes were asked for. Please wait 15 minutes "
                                        "and try again.")}
        else:
            # A new identity needs its own code: a phone proved earlier in this session
            # proves nothing about the person typed now.
            state = {key: value for key, value in session[STATE].items()
                     if key != "verified_until"}
            session[STATE] = {**state, "identity": who.seal()}
            return redirect(url_for("book.verify"))
    return render_template("book/identity.html", form=form, errors=errors, slot=slot,
                           wish=_describe(wish), kind=kind, location=where,
                           zone=ZoneInfo(where.timezone))


@bp.route("/verify", methods=["GET", "POST"])
@public
def verify() -> Any:
    kind, where, slot, wish = _chosen()
    sealed = session[STATE].get("identity")
    try:
        who = self_service.Identity.unseal(sealed) if isinstance(sealed, str) else None
    except (ValueError, DecryptionError):
        who = None
    if who is None:
        return redirect(url_for("book.identity"))
    verified = "verified_until" in session[STATE] \
        and datetime.fromisoformat(session[STATE]["verified_until"]) > utcnow()
    form = FlaskForm() if verified else CodeForm()
    error = None
    if form.validate_on_submit():
        try:
            if not verified:
                self_service.verify_code(practice_id=kind.practice_id, e164=who.mobile_phone,
                                         code=form.code.data)
            if wish is not None:
                return _join_waitlist(kind.practice_id, who, wish)
            appointment = self_service.book_for(
                practice_id=kind.practice_id, identity=who, slot=slot,
                language=str(get_locale() or "en"))
        except self_service.NewPatientsOnly:
            _stay_verified()
            return render_template("book/existing_patient.html", kind=kind, kinds=(
                self_service.types_for_existing_patients(practice_id=kind.practice_id))), 409
        except self_service.SelfServiceError as refused:
            error = CODE_ERRORS[refused.reason]
        except booking.SlotTaken as taken:
            _stay_verified()
            return render_template("book/taken.html", kind=kind, location=where,
                                   slots=taken.next_slots, zone=ZoneInfo(where.timezone),
                                   form=TimeForm()), 409
        except booking.BookingInputError:
            error = _("That time can no longer be booked online. Please call us.")
        except waitlist.WaitlistInputError:
            _stay_verified()
            verified = True
            error = _("This visit can no longer be chosen online. Please call us.")
        except booking.BookingError:  # the schedule stayed locked through every retry
            _stay_verified()
            verified = True
            error = _("We are very busy right now. Please try again.")
        else:
            session.pop(STATE, None)
            session["booked_appointment"] = appointment.id
            return redirect(url_for("book.done"))
    return render_template("book/verify.html", form=form, verified=verified, error=error,
                           slot=slot, wish=_describe(wish), kind=kind,
                           location=where, zone=ZoneInfo(where.timezone))


def _join_waitlist(practice_id: int, who: self_service.Identity,
                   wish: self_service.WaitlistWish) -> Any:
    joined = self_service.join_waitlist(
        practice_id=practice_id, identity=who, wish=wish,
        language=str(get_locale() or "en"))
    session.pop(STATE, None)
    session[JOINED] = {"type": wish.appointment_type_id, "location": wish.location_id,
                       "already": joined.already_waiting,
                       "texts_allowed": joined.texts_allowed}
    return redirect(url_for("book.waitlist_joined"))


def _stay_verified() -> None:
    """The phone was proved: choosing another time (or type) books without a new code for
    the code's lifetime."""
    until = utcnow() + timedelta(minutes=self_service.CODE_MINUTES)
    session[STATE] = {**session[STATE], "verified_until": until.isoformat()}


def _booked() -> Appointment:
    if "booked_appointment" not in session:
        _start_over()
    appointment = db.session.get(Appointment, session.get("booked_appointment", 0))
    if appointment is None:
        abort(404)
    return appointment


@bp.get("/waitlist/joined")
@public
def waitlist_joined() -> Any:
    joined = session.get(JOINED)
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
