"""Staff forms of the billing screens. Amounts stay text here: the services read them as
cents and name the field when they are not an amount."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import Length

from app.security.auth import strip_text
from app.web.fields import IdField


def _link_kinds() -> list[tuple[str, str]]:
    return [("balance", str(_l("Full balance"))), ("amount", str(_l("Chosen amount")))]


def _reasons() -> list[tuple[str, str]]:
    return [("write_off", str(_l("Write-off"))), ("discount", str(_l("Discount"))),
            ("correction", str(_l("Correction")))]


def _directions() -> list[tuple[str, str]]:
    return [("lower", str(_l("Lowers the balance"))), ("raise", str(_l("Raises the balance")))]


class SendLinkForm(FlaskForm):
    kind = SelectField(_l("Pay"), choices=_link_kinds)
    amount = StringField(_l("Amount (for a chosen amount)"), filters=[strip_text],
                         validators=[Length(max=20)])
    next = HiddenField()


class AdjustmentForm(FlaskForm):
    reason = SelectField(_l("Reason"), choices=_reasons)
    direction = SelectField(_l("Effect"), choices=_directions)
    amount = StringField(_l("Amount"), filters=[strip_text], validators=[Length(max=20)])
    note = TextAreaField(_l("Why"), filters=[strip_text], validators=[Length(max=500)])


class RefundForm(FlaskForm):
    payment = IdField(_l("Payment"))
    amount = StringField(_l("Amount"), filters=[strip_text], validators=[Length(max=20)])
    note = TextAreaField(_l("Why"), filters=[strip_text], validators=[Length(max=500)])


class FeeForm(FlaskForm):
    appointment_type = IdField(_l("Appointment type"))
    fee = StringField(_l("Fee"), filters=[strip_text], validators=[Length(max=20)])
    copay = StringField(_l("Copay"), filters=[strip_text], validators=[Length(max=20)])


class PlanForm(FlaskForm):
    installments = IntegerField(_l("Installments"))
    first_due = DateField(_l("First due"))


class CancelPlanForm(FlaskForm):
    reason = TextAreaField(_l("Why the plan is cancelled"), filters=[strip_text],
                           validators=[Length(max=500)])
