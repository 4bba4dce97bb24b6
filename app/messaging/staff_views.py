"""Staff messaging screens on a patient: the message log, consent changes, the likely opt-out
decision; and the SMS segment count every text box shows."""

from __future__ import annotations

from typing import Any, NoReturn

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from app.adapters.sms.segments import Encoding, count_segments
from app.messaging import consent_panel, message_history, staff_actions
from app.messaging.forms import ConsentForm
from app.patients.queries import PatientNotFound
from app.security.permissions import Permission, any_staff, requires, role_can
from app.web.paging import page_arg

bp = Blueprint("messaging", __name__)

MAX_COUNTED_TEXT = 10_000


def _not_found() -> NoReturn:
    abort(404, description=_("There is no patient with that number in this practice."))


@bp.get("/patients/<id:patient_id>/messages")
@requires(Permission.PATIENT_VIEW)
def message_log(patient_id: int) -> Any:
    try:
        found = message_history.message_log(
            practice_id=current_user.practice_id, patient_id=patient_id, page=page_arg(),
            purposes=message_history.readable_purposes(current_user.role))
    except PatientNotFound:
        _not_found()
    partial = request.headers.get("HX-Request") and not request.headers.get(
        "HX-History-Restore-Request")
    template = "messaging/_log_rows.html" if partial else "messaging/message_log.html"
    return render_template(template, log=found,
                           can_edit=role_can(current_user.role, Permission.PATIENT_EDIT))


@bp.route("/patients/<id:patient_id>/consent", methods=["GET", "POST"])
@requires(Permission.PATIENT_EDIT)
def change_consent(patient_id: int) -> Any:
    form = ConsentForm()
    try:
        overview = consent_panel.consent_overview(practice_id=current_user.practice_id,
                                                  patient_id=patient_id)
    except PatientNotFound:
        _not_found()
    form.limit_channels(overview.channels)
    if form.validate_on_submit():
        try:
            staff_actions.change_consent(
                practice_id=current_user.practice_id, patient_id=patient_id,
                channel=form.channel.data, purpose_group=form.purpose.data,
                granted=form.granted.data == "yes", reason=form.reason.data,
                staff_id=current_user.id)
        except staff_actions.ConsentInputError as error:
            for name, reason in error.errors.items():
                getattr(form, name).errors.append(reason)
        else:
            flash(_("Consent saved."), "success")
            return redirect(url_for("record.patient", patient_id=patient_id) + "#consent")
    return render_template("messaging/consent.html", consent=overview, consent_form=form)


@bp.post("/patients/<id:patient_id>/messages/<id:message_id>/opt-out")
@requires(Permission.PATIENT_EDIT)
def honour_opt_out(patient_id: int, message_id: int) -> Any:
    try:
        staff_actions.honour_likely_opt_out(practice_id=current_user.practice_id,
                                            patient_id=patient_id, message_id=message_id,
                                            staff_id=current_user.id)
    except PatientNotFound:
        _not_found()
    except staff_actions.FlagNotFound:
        flash(_("That message is no longer waiting for a decision."), "warning")
    else:
        flash(_("Texts to this number are stopped: the opt-out is recorded."), "success")
    return redirect(url_for("record.patient", patient_id=patient_id) + "#consent")


@bp.post("/patients/<id:patient_id>/messages/<id:message_id>/not-opt-out")
@requires(Permission.PATIENT_EDIT)
def dismiss_opt_out(patient_id: int, message_id: int) -> Any:
    try:
        staff_actions.dismiss_likely_opt_out(practice_id=current_user.practice_id,
                                             patient_id=patient_id, message_id=message_id)
    except PatientNotFound:
        _not_found()
    except staff_actions.FlagNotFound:
        flash(_("That message is no longer waiting for a decision."), "warning")
    else:
        flash(_("Marked as not an opt-out. Texts continue."), "info")
    return redirect(url_for("record.patient", patient_id=patient_id) + "#messages")


@bp.post("/messaging/segments")
@any_staff
def segments() -> Any:
    """What a text costs as SMS: the counter under every text box asks here, so the count
    has one source of truth (adapters.sms.segments)."""
    text = request.form.get("text", "")
    if len(text) > MAX_COUNTED_TEXT:
        return jsonify(error=_("text: use at most %(max)d characters.",
                               max=MAX_COUNTED_TEXT)), 400
    info = count_segments(text)
    encoding = "GSM-7" if info.encoding is Encoding.GSM7 else _("Unicode")
    label = " · ".join([
        ngettext("%(num)d character", "%(num)d characters", info.characters),
        ngettext("%(num)d segment", "%(num)d segments", info.segments),
    ]) + f" ({encoding})"
    return jsonify(encoding=info.encoding.value, characters=info.characters,
                   segments=info.segments, label=label)
