"""The staff patient record page: one patient's details, household, appointments, messages
and consent. It composes the patients, scheduling and messaging domains, so it lives above them
(the URL stays under /patients)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.messaging import consent_panel, message_history
from app.messaging.forms import ConsentForm
from app.patients.queries import PatientNotFound
from app.patients.views import labels
from app.record import queries
from app.security.permissions import Permission, requires, role_can

bp = Blueprint("record", __name__, url_prefix="/patients")


@bp.get("/<id:patient_id>")
@requires(Permission.PATIENT_VIEW)
def patient(patient_id: int) -> Any:
    try:
        found = queries.patient_record(
            practice_id=current_user.practice_id, patient_id=patient_id,
            schedule=role_can(current_user.role, Permission.SCHEDULE_WORK),
            conversations=role_can(current_user.role, Permission.MESSAGES_ALL))
    except PatientNotFound:
        abort(404, description=_("There is no patient with that number in this practice."))
    except queries.PatientMerged as merged:
        flash(_("That record was merged into this one."), "info")
        return redirect(url_for(".patient", patient_id=merged.survivor_id))
    can_edit = role_can(current_user.role, Permission.PATIENT_EDIT)
    consent = consent_panel.consent_overview(practice_id=current_user.practice_id,
                                             patient_id=patient_id)
    consent_form = None
    if can_edit and consent.channels:
        consent_form = ConsentForm()
        consent_form.limit_channels(consent.channels)
    purposes = message_history.readable_purposes(current_user.role)
    return render_template(
        "record/patient.html", record=found, labels=labels(), can_edit=can_edit,
        consent=consent, consent_form=consent_form, billing_only=purposes is not None,
        log=message_history.message_log(practice_id=current_user.practice_id,
                                        patient_id=patient_id, purposes=purposes))
