"""The self-scheduling pages' forms: a time picked, who the patient is, the texted code, and
what a patient on the waitlist could come in for."""

from __future__ import annotations

from babel.dates import get_day_names
from flask_babel import get_locale
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

from app.scheduling import self_service

TIMES_OF_DAY = {self_service.ANY_TIME: _l("Any time"),
                self_service.MORNING: _l("Mornings (before noon)"),
                self_service.AFTERNOON: _l("Afternoons (noon or later)")}


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
                                 for day, name in sorted(day_names("wide").items())]


def day_names(width: str) -> dict[int, str]:
    """Day names in the page's language, 0 = Monday."""
    return dict(get_day_names(width, locale=str(get_locale() or "en")))
