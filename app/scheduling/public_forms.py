"""The self-scheduling pages' forms: a time picked, who the patient is, the texted code, and
what a patient on the waitlist could come in for; what the pages say when one is refused; and
days and a waitlist wish in words."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime

from babel.dates import format_skeleton, get_day_names
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
from wtforms.widgets import CheckboxInput, ListWidget, TextInput

from app.core import phones
from app.extensions import db
from app.practice.models import Provider
from app.scheduling import self_service

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
CODES_LIMITED = _l("Too many codes were asked for. Please wait 15 minutes and try again.")
CONFIRM_ERRORS = {
    self_service.CONFIRM_NOT_BOOKABLE: _l("That time can no longer be booked online. "
                                          "Please call us."),
    self_service.CONFIRM_NOT_OFFERED: _l("This visit can no longer be chosen online. "
                                         "Please call us."),
    self_service.CONFIRM_BUSY: _l("We are very busy right now. Please try again."),
}


class TimeForm(FlaskForm):
    start = HiddenField(validators=[DataRequired()])
    provider = HiddenField(validators=[DataRequired(), Regexp(r"^\d+$")])


# How a date of birth is typed in each page language (a browser's own date picker follows the
# browser's language, not the page's: a Spanish page showed mm/dd/yyyy).
DATE_FORMATS = {"en": ("%m/%d/%Y", _l("MM/DD/YYYY")), "es": ("%d/%m/%Y", _l("DD/MM/YYYY"))}


class LocalDateField(DateField):
    """A date typed as the page's language writes it (or as YYYY-MM-DD): 05/17/1975 on
    English pages, 17/05/1975 on Spanish ones."""

    widget = TextInput()

    @property
    def hint(self) -> str:
        """How to type it on this page: "MM/DD/YYYY" / "DD/MM/AAAA"."""
        return str(date_format()[1])

    def _value(self) -> str:
        if self.raw_data:
            return " ".join(self.raw_data)
        return self.data.strftime(date_format()[0]) if self.data else ""

    def process_formdata(self, valuelist: list[str]) -> None:
        text = " ".join(valuelist).strip().replace("-", "/").replace(".", "/")
        self.data = None
        for pattern in (date_format()[0], "%Y/%m/%d"):
            try:
                self.data = datetime.strptime(text, pattern).date()  # noqa: DTZ007 (a day)
                return
            except ValueError:
                continue
        if text:
            raise ValueError(self.gettext("Not a valid date value."))


def date_format() -> tuple[str, object]:
    """(strptime pattern, what to show as the hint) in the page's language."""
    return DATE_FORMATS.get(str(get_locale() or "en"), DATE_FORMATS["en"])



class IdentityForm(FlaskForm):
    given_name = StringField(_l("First name"), validators=[DataRequired(), Length(max=100)])
    family_name = StringField(_l("Last name"), validators=[DataRequired(), Length(max=100)])
    date_of_birth = LocalDateField(_l("Date of birth"), validators=[DataRequired()])
    mobile_phone = TelField(_l("Mobile number"), validators=[DataRequired(), Length(max=30)])


def identity_form(known: self_service.Identity | None) -> IdentityForm:
    """The identity form, filled in with what the patient gave before (to correct a wrong
    number without typing the rest again); what was posted wins."""
    return IdentityForm(data=None if known is None else {
        **asdict(known), "mobile_phone": phones.display(known.mobile_phone)})


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
                                 for day, name in sorted(day_names("wide").items())]


def day_names(width: str) -> dict[int, str]:
    """Day names in the page's language, 0 = Monday."""
    return dict(get_day_names(width, locale=str(get_locale() or "en")))


def weekday_date(day: date) -> str:
    """A day to choose, with its weekday, in the page's language: "Thu, Dec 3, 2026"."""
    return format_skeleton("yMMMEd", day, locale=str(get_locale() or "en"))


def describe_wish(wish: self_service.WaitlistWish | None) -> str | None:
    """The wish in words for the page: provider, days, time of day."""
    if wish is None:
        return None
    names = day_names("abbreviated")
    days = _("Any day") if len(wish.weekdays) == 7 else ", ".join(
        names[day] for day in sorted(wish.weekdays))
    provider = db.session.get(Provider, wish.provider_id) if wish.provider_id else None
    parts = [provider.display_name] if provider else []
    return " · ".join([*parts, days, str(TIMES_OF_DAY[wish.time_of_day])])
