"""Editing a patient's demographics and contact points from the record page, telling staff
what a changed number or email means for messaging consent (``contact_changes``)."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.messaging.labels import PURPOSE_GROUP, SOURCE
from app.patients import queries, services
from app.patients.forms import PatientForm
from app.record import contact_changes
from app.record.views import bp
from app.security.permissions import Permission, requires


@bp.route("/<id:patient_id>/edit", methods=["GET", "POST"])
@requires(Permission.PATIENT_EDIT)
def edit(patient_id: int) -> Any:
    try:
        patient = queries.patient_for_edit(practice_id=current_user.practice_id,
                                           patient_id=patient_id)
    except queries.PatientNotFound:
        abort(404, description=_("There is no patient with that number in this practice."))
    form = PatientForm() if request.method == "POST" else PatientForm.of(patient)
    if form.validate_on_submit():
        try:
            changed = contact_changes.edit_patient(practice_id=current_user.practice_id,
                                                   patient_id=patient_id, raw=form.raw())
        except services.PatientInputError as error:
            form.show_errors(error.errors)
        else:
            flash(_("Patient details saved."), "success")
            for category, text in (note for c in changed for note in consent_notes(c)):
                flash(text, category)
            return redirect(url_for("record.patient", patient_id=patient_id))
    status = 400 if form.is_submitted() else 200
    return render_template("patients/form.html", form=form, patient=patient), status


def consent_notes(change: contact_changes.ContactChange) -> list[tuple[str, str]]:
    """What staff are told about consent after a contact point changed."""
    texts = change.channel == "sms"
    notes: list[tuple[str, str]] = []
    if change.new_address:
        states = "; ".join(f"{PURPOSE_GROUP[s.group]}: {_('On') if s.allowed else _('Off')}"
                           for s in change.new_states)
        notes.append(("info", (_(
            "Texts now go to %(new)s. Consent is kept per number, so this number's own "
            "applies (%(states)s); nothing was copied from the old number.",
            new=change.new_address, states=states) if texts else _(
            "Email now goes to %(new)s. Consent is kept per address, so this address's own "
            "applies (%(states)s); nothing was copied from the old one.",
            new=change.new_address, states=states))))
    else:
        notes.append(("info", _("No mobile number on file any more: no texts will be sent.")
                      if texts else _("No email on file any more: no email will be sent.")))
    if change.old_opted_out_by and not change.new_opted_out_by and change.new_address:
        notes.append(("warning", _(
            "%(old)s had opted out of messages (%(source)s); the new contact point has not. If "
            "the patient wants no messages, record that under Messaging consent.",
            old=change.old_address, source=SOURCE.get(change.old_opted_out_by,
                                                       change.old_opted_out_by))))
    if change.new_opted_out_by:
        notes.append(("warning", _(
            "%(new)s opted out of messages earlier (%(source)s): nothing will be sent to it "
            "until the patient opts in again.", new=change.new_address,
            source=SOURCE.get(change.new_opted_out_by, change.new_opted_out_by))))
    return notes
