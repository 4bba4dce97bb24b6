"""The practice settings forms. They check shape only; the services (``app.setup.settings``
and ``app.practice.directory``) check values and name every bad field."""

from __future__ import annotations

from functools import cache
from zoneinfo import available_timezones

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField, TimeField
from wtforms.validators import InputRequired

from app.scheduling.settings_forms import CheckboxesField
from app.security.auth import strip_text


@cache
def zone_names() -> tuple[str, ...]:
    """IANA zone names offered as suggestions (the services accept any IANA name)."""
    return tuple(sorted(name for name in available_timezones() if "/" in name
                  and not name.startswith(("Etc/", "SystemV/", "posix/", "right/"))))


class PracticeForm(FlaskForm):
    name = StringField(_l("Practice name"), filters=[strip_text])
    phone = StringField(_l("Phone patients call"), filters=[strip_text])
    email = StringField(_l("Email"), filters=[strip_text])
    website = StringField(_l("Website"), filters=[strip_text])
    timezone = StringField(_l("Time zone (IANA, e.g. America/Chicago)"), filters=[strip_text])
    send_window_start = TimeField(_l("Texts and emails go out from"), validators=[
        InputRequired(message=_l("Give the time messages may start."))])
    send_window_end = TimeField(_l("until"), validators=[
        InputRequired(message=_l("Give the time messages must stop."))])


class SendersForm(FlaskForm):
    sms_from_number = StringField(_l("SMS number (E.164, e.g. +13125550100)"),
                                  filters=[strip_text])
    sms_messaging_service_sid = StringField(_l("Twilio Messaging Service SID (MG…)"),
                                            filters=[strip_text])
    email_from_address = StringField(_l("Email sender address"), filters=[strip_text])


class LocationForm(FlaskForm):
    name = StringField(_l("Name"), filters=[strip_text])
    address_line = StringField(_l("Street address"), filters=[strip_text])
    city = StringField(_l("City"), filters=[strip_text])
    state = StringField(_l("State"), filters=[strip_text])
    postal_code = StringField(_l("Postal code"), filters=[strip_text])
    phone = StringField(_l("Phone"), filters=[strip_text])
    timezone = StringField(_l("Time zone (IANA, e.g. America/Chicago)"), filters=[strip_text])


class ProviderForm(FlaskForm):
    prefix = StringField(_l("Prefix (e.g. Dr.)"), filters=[strip_text])
    given_name = StringField(_l("Given name"), filters=[strip_text])
    family_name = StringField(_l("Family name"), filters=[strip_text])
    credentials = StringField(_l("Credentials (e.g. DDS, MD)"), filters=[strip_text])
    npi = StringField(_l("NPI (ten digits)"), filters=[strip_text])
    location_ids = CheckboxesField(_l("Works at"), coerce=int, choices=[],
                                   validate_choice=False)
    active = BooleanField(_l("Active: sees patients"), default=True)
