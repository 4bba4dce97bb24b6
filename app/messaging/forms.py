"""Staff forms of the messaging screens: a consent change, the dev outbox's test text."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from app.messaging.labels import CHANNEL, PURPOSE_GROUP
from app.messaging.staff_actions import MAX_REASON_LENGTH
from app.security.auth import strip_text

MAX_DEV_SMS_LENGTH = 1600  # Twilio's limit for one message body


def _channel_choices() -> list[tuple[str, str]]:
    return [(value, str(label)) for value, label in CHANNEL.items()]


def _purpose_choices() -> list[tuple[str, str]]:
    return [(value, str(label)) for value, label in PURPOSE_GROUP.items()]


def _decision_choices() -> list[tuple[str, str]]:
    return [("yes", str(_l("Allowed"))), ("no", str(_l("Stopped")))]


class ConsentForm(FlaskForm):
    channel = SelectField(_l("Contact point"), choices=_channel_choices)
    purpose = SelectField(_l("Messages"), choices=_purpose_choices)
    granted = SelectField(_l("Change to"), choices=_decision_choices)
    reason = TextAreaField(_l("Reason"), filters=[strip_text], validators=[
        DataRequired(message=_l("Say why consent changes, e.g. “Patient asked by phone to stop "
                                "texts”.")),
        Length(max=MAX_REASON_LENGTH,
               message=_l("Use at most %(max)d characters.", max=MAX_REASON_LENGTH)),
    ])

    def limit_channels(self, channels: list[str]) -> None:
        """Offer only the contact points the patient has."""
        self.channel.choices = [(value, label) for value, label in _channel_choices()
                                if value in channels]


class DevSmsForm(FlaskForm):
    patient_id = IntegerField(_l("Patient number"), validators=[
        InputRequired(message=_l("Enter the patient's number (the id in the record's address).")),
        NumberRange(min=1, message=_l("Enter the patient's number (the id in the record's "
                                      "address).")),
    ])
    body = TextAreaField(_l("Text"), filters=[strip_text], validators=[
        DataRequired(message=_l("Write the text to send.")),
        Length(max=MAX_DEV_SMS_LENGTH,
               message=_l("Use at most %(max)d characters.", max=MAX_DEV_SMS_LENGTH)),
    ])
