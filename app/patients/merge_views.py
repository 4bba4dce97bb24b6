"""Duplicate records: the list of likely pairs and of online bookings flagged for review, the
side-by-side merge, and "not the same person"."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.patients import duplicates, merge
from app.patients.forms import DismissForm, MergeForm, PairQuery
from app.patients.queries import PatientNotFound
from app.patients.services import PatientInputError
from app.patients.views import bp, labels
from app.security.permissions import Permission, requires

GROUP_LABELS = {
    "name": _l("Name"), "date_of_birth": _l("Date of birth"), "sex": _l("Sex"),
    "mobile_phone": _l("Mobile"), "home_phone": _l("Home phone"), "email": _l("Email"),
    "preferred_language": _l("Language"), "preferred_channel": _l("Prefers"),
    "address": _l("Address"), "external_id": _l("Record number (old system)"),
}


@bp.get("/duplicates")
@requires(Permission.PATIENT_MERGE)
def duplicates_list() -> Any:
    practice_id = current_user.practice_id
    return render_template(
        "patients/duplicates.html", review=duplicates.needs_review(practice_id=practice_id),
        pairs=duplicates.likely_pairs(practice_id=practice_id), form=DismissForm())


@bp.post("/duplicates/dismiss")
@requires(Permission.PATIENT_MERGE)
def dismiss() -> Any:
    form = DismissForm()
    if form.validate():
        try:
            duplicates.dismiss(practice_id=current_user.practice_id,
                               first_id=form.first_id.data, second_id=form.second_id.data,
                               staff_id=current_user.id)
        except duplicates.DuplicateError as error:
            flash(error.errors["second_id"], "error")
        else:
            flash(_("Marked as different people."), "success")
    return redirect(url_for(".duplicates_list"))


@bp.get("/merge")
@requires(Permission.PATIENT_MERGE)
def merge_form() -> Any:
    query = PairQuery(request.args)
    if not query.validate():
        flash(_("Choose two records to compare from the list."), "error")
        return redirect(url_for(".duplicates_list"))
    return _merge_page(query.first.data, query.second.data, None)


@bp.post("/merge")
@requires(Permission.PATIENT_MERGE)
def merge_records() -> Any:
    form = MergeForm()
    if not form.validate():
        if form.first_id.errors or form.second_id.errors:
            return redirect(url_for(".duplicates_list"))
        return _merge_page(form.first_id.data, form.second_id.data, form, 400)
    ids = {"first": form.first_id.data, "second": form.second_id.data}
    survivor_id = ids[form.keep.data]
    try:
        result = merge.merge_patients(
            practice_id=current_user.practice_id, survivor_id=survivor_id,
            merged_id=ids["second" if form.keep.data == "first" else "first"],
            take_from_merged=form.taken_from_merged(list(merge.FIELD_GROUPS)),
            staff_id=current_user.id)
    except (merge.MergeError, PatientInputError) as error:
        flash("; ".join(error.errors.values()), "error")
        return _merge_page(ids["first"], ids["second"], form, 400)
    flash(_("Records merged: %(moved)d linked items moved to this record.",
            moved=sum(result.moved.values())), "success")
    return redirect(url_for("record.patient", patient_id=survivor_id))


def _merge_page(first_id: int, second_id: int, form: MergeForm | None, status: int = 200
                ) -> Any:
    try:
        first, second = merge.merge_candidates(practice_id=current_user.practice_id,
                                               first_id=first_id, second_id=second_id)
    except PatientNotFound:
        abort(404, description=_("Both records must be this practice's own and not merged "
                                 "already."))
    if form is None:
        chosen = merge.default_choices(first, second)
        form = MergeForm(formdata=None, data={
            "first_id": first.id, "second_id": second.id, "keep": "first",
            **{g: "first" if side == "survivor" else "second" for g, side in chosen.items()}})
    return render_template("patients/merge.html", form=form, first=first, second=second,
                           groups=merge.FIELD_GROUPS, group_labels=GROUP_LABELS,
                           labels=labels()), status
