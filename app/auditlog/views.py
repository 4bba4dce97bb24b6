"""The audit trail screen for admins: filter, page through, export as CSV."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, render_template, request, stream_with_context
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, EmailField, IntegerField, SelectField, ValidationError
from wtforms.validators import Email, Length, NumberRange, Optional

from app.auditlog import queries as audit_query
from app.core import clock
from app.core.ids import MAX_ROW_ID
from app.security.audit import Action
from app.security.permissions import Permission, requires
from app.web.paging import page_arg

bp = Blueprint("audit", __name__, url_prefix="/admin/audit")

MIN_YEAR, MAX_YEAR = 1900, 2999


def _action_choices() -> list[tuple[str, str]]:
    return [("", str(_l("Any action")))] + [(a.value, a.value) for a in sorted(Action)]


def _plausible_date(form: FlaskForm, field: DateField) -> None:
    if field.data and not MIN_YEAR <= field.data.year <= MAX_YEAR:
        raise ValidationError(_l("Enter a date between %(first)d and %(last)d.",
                                 first=MIN_YEAR, last=MAX_YEAR))


class AuditFilterForm(FlaskForm):
    """The filters, read from the query string (a GET form: no CSRF token)."""

    class Meta:
        csrf = False

    email = EmailField(_l("Staff email"), validators=[
        Optional(), Email(test_environment=True), Length(max=254)])
    patient_id = IntegerField(_l("Patient ID"), validators=[
        Optional(), NumberRange(min=1, max=MAX_ROW_ID)])
    action = SelectField(_l("Action"), choices=_action_choices, validators=[Optional()])
    date_from = DateField(_l("From"), validators=[Optional(), _plausible_date])
    date_to = DateField(_l("To"), validators=[Optional(), _plausible_date])

    def validate_date_to(self, field: DateField) -> None:
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(_l("The end date is before the start date."))

    def filters(self) -> audit_query.AuditFilter:
        return audit_query.AuditFilter(
            actor_email=self.email.data or None, patient_id=self.patient_id.data,
            action=self.action.data or None, date_from=self.date_from.data,
            date_to=self.date_to.data)


def _filter_args() -> dict[str, str]:
    """The filters of this request, for page and export links."""
    return {key: value for key, value in request.args.items() if key != "page" and value}


@bp.get("")
@requires(Permission.AUDIT_VIEW)
def index() -> Any:
    form = AuditFilterForm(request.args)
    if not form.validate():
        return render_template("admin/audit.html", form=form, result=None,
                               filter_args=_filter_args()), 400
    result = audit_query.audit_page(
        practice_id=current_user.practice_id, filters=form.filters(),
        page=page_arg(),
        default_zone=current_app.config["PRACTICE_TIMEZONE"])
    return render_template("admin/audit.html", form=form, result=result,
                           filter_args=_filter_args())


@bp.get("/export.csv")
@requires(Permission.AUDIT_VIEW)
def export() -> Any:
    form = AuditFilterForm(request.args)
    if not form.validate():
        return render_template("admin/audit.html", form=form, result=None,
                               filter_args=_filter_args()), 400
    lines = audit_query.export_csv(practice_id=current_user.practice_id, filters=form.filters(),
                                   default_zone=current_app.config["PRACTICE_TIMEZONE"])
    filename = f"audit-trail-{clock.utcnow():%Y%m%d-%H%M%S}.csv"
    return Response(stream_with_context(lines), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store",
    })
