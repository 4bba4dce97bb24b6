"""Staff patient search (one patient's record page is ``app.record``)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import Form, SearchField
from wtforms.validators import Length

from app.patients import queries, services
from app.patients.forms import PatientForm
from app.security.permissions import Permission, requires

bp = Blueprint("patients", __name__, url_prefix="/patients")

LANGUAGE_LABELS = {"en": _l("English"), "es": _l("Spanish")}
SEX_LABELS = {"female": _l("Female"), "male": _l("Male"), "other": _l("Other"),
              "unknown": _l("Unknown")}
CHANNEL_LABELS = {"sms": _l("Text message"), "email": _l("Email")}
STATUS_LABELS = {
    "proposed": _l("Proposed"), "pending": _l("Pending"), "booked": _l("Booked"),
    "arrived": _l("Arrived"), "checked-in": _l("Checked in"), "fulfilled": _l("Completed"),
    "cancelled": _l("Cancelled"), "noshow": _l("No-show"),
    "entered-in-error": _l("Entered in error"),
}


class SearchForm(Form):
    q = SearchField(_l("Find a patient"), validators=[
        Length(max=queries.MAX_QUERY_LENGTH,
               message=_l("Use at most %(max)d characters.", max=queries.MAX_QUERY_LENGTH)),
    ])


@bp.get("")
@requires(Permission.PATIENT_VIEW)
def search() -> Any:
    """The search form and the recently updated patients. Searching is a POST
    (``search_results``): names, birth dates and phones stay out of URLs, browser history and
    access logs, so a ``q`` in the query string is not read."""
    return _search_page(SearchForm())


@bp.post("/search")
@requires(Permission.PATIENT_VIEW)
def search_results() -> Any:
    return _search_page(SearchForm(request.form))


@bp.route("/new", methods=["GET", "POST"])
@requires(Permission.PATIENT_EDIT)
def new() -> Any:
    form = PatientForm()
    if form.validate_on_submit():
        try:
            patient = services.add_patient(practice_id=current_user.practice_id, raw=form.raw())
        except services.PatientInputError as error:
            form.show_errors(error.errors)
        else:
            flash(_("Patient added."), "success")
            return redirect(url_for("record.patient", patient_id=patient.id))
    status = 400 if form.is_submitted() else 200
    return render_template("patients/form.html", form=form, patient=None), status


def _search_page(form: SearchForm) -> Any:
    result = None
    if form.validate():
        try:
            result = queries.search_patients(practice_id=current_user.practice_id,
                                             query=form.q.data or "")
        except queries.InvalidSearch as error:
            form.q.errors = [*form.q.errors, error.errors["q"]]
    partial = request.headers.get("HX-Request") and not request.headers.get(
        "HX-History-Restore-Request")
    template = "patients/_results.html" if partial else "patients/search.html"
    return render_template(template, form=form, result=result, labels=labels())


def labels() -> dict[str, dict[str, Any]]:
    """The words the patient pages show for stored codes (language, sex, channel, status)."""
    return {"language": LANGUAGE_LABELS, "sex": SEX_LABELS, "channel": CHANNEL_LABELS,
            "status": STATUS_LABELS}
