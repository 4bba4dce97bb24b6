"""The journey settings screen: the practice's default journey and each type's own."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm

from app.journeys import settings
from app.journeys.forms import DefaultJourneyForm, TypeJourneyForm
from app.journeys.rules import RuleErrors
from app.security.permissions import Permission, requires

bp = Blueprint("journeys_settings", __name__, url_prefix="/settings/journeys")


@bp.route("", methods=["GET", "POST"])
@requires(Permission.CALENDARS_MANAGE)
def index() -> Any:
    practice_id = current_user.practice_id
    form = DefaultJourneyForm(obj=settings.default_rule(practice_id=practice_id))
    if form.validate_on_submit() and _saved(form, lambda values: settings.save_default(
            practice_id=practice_id, values=values)):
        return redirect(url_for(".index"))
    return render_template("journeys/settings.html", form=form,
                           types=settings.overview(practice_id=practice_id))


@bp.route("/types/<id:appointment_type_id>", methods=["GET", "POST"])
@requires(Permission.CALENDARS_MANAGE)
def edit_type(appointment_type_id: int) -> Any:
    practice_id = current_user.practice_id
    found = _type(practice_id, appointment_type_id)
    form = TypeJourneyForm(obj=found.rule or settings.default_rule(practice_id=practice_id))
    if form.validate_on_submit() and _saved(form, lambda values: settings.save_for_type(
            practice_id=practice_id, appointment_type_id=appointment_type_id, values=values)):
        return redirect(url_for(".index"))
    return render_template("journeys/type.html", form=form, found=found,
                           reset_form=FlaskForm())


@bp.post("/types/<id:appointment_type_id>/reset")
@requires(Permission.CALENDARS_MANAGE)
def reset_type(appointment_type_id: int) -> Any:
    _type(current_user.practice_id, appointment_type_id)
    settings.reset_type(practice_id=current_user.practice_id,
                        appointment_type_id=appointment_type_id)
    flash(_("The appointment type follows the practice's journey again."), "success")
    return redirect(url_for(".index"))


def _type(practice_id: int, appointment_type_id: int) -> settings.TypeJourney:
    try:
        return settings.type_rule(practice_id=practice_id,
                                  appointment_type_id=appointment_type_id)
    except settings.TypeNotFound:
        abort(404)


def _saved(form: FlaskForm, save: Any) -> bool:
    values = {name: field.data for name, field in form._fields.items()}
    try:
        save(values)
    except RuleErrors as error:
        for name, reason in error.errors.items():
            form[name].errors = [*form[name].errors, reason]
        return False
    flash(_("Saved the journey settings."), "success")
    return True
