"""The staff form for a patient's demographics and contact points. It only collects the
typed text (and carries the CSRF token): ``services.clean_patient_fields`` checks and
normalizes every field and names the bad ones."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, Form, RadioField, SelectChoice, SelectField, StringField, TelField
from wtforms.validators import InputRequired, Length

from app.patients.merge import FIELD_GROUPS as MERGE_GROUPS
from app.patients.models import Patient
from app.web.fields import IdField

_SHORT = [Length(max=100, message=_l("Use at most %(max)d characters.", max=100))]
_LONG = [Length(max=200, message=_l("Use at most %(max)d characters.", max=200))]


class PatientForm(FlaskForm):
    given_name = StringField(_l("First name"), validators=_SHORT)
    family_name = StringField(_l("Last name"), validators=_SHORT)
    date_of_birth = StringField(_l("Date of birth (YYYY-MM-DD)"), validators=_SHORT)
    sex = SelectField(_l("Sex"), choices=[
        SelectChoice("unknown", _l("Unknown")), SelectChoice("female", _l("Female")),
        SelectChoice("male", _l("Male")), SelectChoice("other", _l("Other"))])
    mobile_phone = TelField(_l("Mobile phone"), validators=_SHORT)
    home_phone = TelField(_l("Home phone"), validators=_SHORT)
    email = EmailField(_l("Email"), validators=_LONG)
    preferred_language = SelectField(_l("Language"), choices=[
        SelectChoice("en", _l("English")), SelectChoice("es", _l("Spanish"))])
    preferred_channel = SelectField(_l("Prefers"), choices=[
        SelectChoice("", _l("Texts when there is a mobile, else email")),
        SelectChoice("sms", _l("Text message")), SelectChoice("email", _l("Email"))])
    address_line = StringField(_l("Address"), validators=_LONG)
    city = StringField(_l("City"), validators=_SHORT)
    state = StringField(_l("State (two letters)"), validators=_SHORT)
    postal_code = StringField(_l("ZIP code"), validators=_SHORT)

    FIELDS = ("given_name", "family_name", "date_of_birth", "sex", "mobile_phone",
              "home_phone", "email", "preferred_language", "preferred_channel",
              "address_line", "city", "state", "postal_code")

    @classmethod
    def of(cls, patient: Patient) -> PatientForm:
        """The form filled with the patient's current values (for the edit page)."""
        data: dict[str, Any] = {name: getattr(patient, name) or "" for name in cls.FIELDS}
        data["date_of_birth"] = patient.date_of_birth.isoformat()
        return cls(formdata=None, data=data)

    def raw(self) -> dict[str, str]:
        return {name: getattr(self, name).data or "" for name in self.FIELDS}

    def show_errors(self, errors: dict[str, str]) -> None:
        for name, reason in errors.items():
            field = getattr(self, name, None)
            if field is not None:
                field.errors = [*field.errors, reason]


SIDES = [SelectChoice("first", _l("First record")), SelectChoice("second", _l("Second record"))]


class PairQuery(Form):
    """The two records a merge page compares (ids in the query string, never names)."""

    first = IdField(_l("First record"), validators=[InputRequired()])
    second = IdField(_l("Second record"), validators=[InputRequired()])


class DismissForm(FlaskForm):
    first_id = IdField(_l("First record"), validators=[InputRequired()])
    second_id = IdField(_l("Second record"), validators=[InputRequired()])


class MergeForm(DismissForm):
    """Which record survives, and per group of fields whose value to keep."""

    keep = RadioField(_l("Keep the record"), choices=SIDES, validators=[
        InputRequired(message=_l("Choose the record to keep."))])

    def taken_from_merged(self, groups: list[str]) -> set[str]:
        merged = "second" if self.keep.data == "first" else "first"
        return {group for group in groups if getattr(self, group).data == merged}


for _group in MERGE_GROUPS:
    setattr(MergeForm, _group, RadioField(_group, choices=SIDES, validators=[
        InputRequired(message=_l("Choose whose value to keep."))]))
