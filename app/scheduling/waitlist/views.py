"""The staff waitlist screen: who is waiting, the offers made, adding and removing a patient."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from app.patients import queries as patient_queries
from app.scheduling.views import without_q
from app.scheduling.waitlist import entries, queries
from app.scheduling.waitlist.forms import OFFER_LABELS, WaitlistForm, WaitlistQuery, weekday_names
from app.scheduling.waitlist.states import WaitlistInputError
from app.security.permissions import Permission, requires

bp = Blueprint("waitlist", __name__, url_prefix="/schedule/waitlist")


@bp.get("")
@requires(Permission.SCHEDULE_WORK)
def index() -> Any:
    """The waitlist with the filters in the query string. The patient search posts to
    ``search``, so no name, birth date or phone is ever in a URL; ``q`` is not read."""
    query = WaitlistQuery(without_q(request.args))
    query.validate()
    form = WaitlistForm(formdata=None)
    return _page(query, form, None)


@bp.post("/patients")
@requires(Permission.SCHEDULE_WORK)
def search() -> Any:
    query = WaitlistQuery(request.form)
    query.validate()
    result = _search(query.q)
    if request.headers.get("HX-Request") and not request.headers.get(
            "HX-History-Restore-Request"):
        return render_template("scheduling/_waitlist_patients.html", query=query,
                               result=result, chosen=None)
    form = WaitlistForm(formdata=None, q=query.q.data)
    return _page(query, form, result)


@bp.post("")
@requires(Permission.SCHEDULE_WORK)
def add() -> Any:
    form = WaitlistForm()
    form.offer(queries.options(practice_id=current_user.practice_id))
    if form.validate():
        try:
            entries.add_entry(
                practice_id=current_user.practice_id, patient_id=form.patient_id.data,
                appointment_type_id=form.appointment_type_id.data,
                location_id=form.location_id.data, provider_ids=form.provider_ids.data,
                weekdays=form.weekdays.data, earliest_time=form.earliest_time.data,
                latest_time=form.latest_time.data, priority=form.priority.data)
        except WaitlistInputError as error:
            for name, reason in error.errors.items():
                field = getattr(form, name, form.patient_id)
                field.errors = [*field.errors, reason]
        else:
            flash(_("Added to the waitlist."), "success")
            return redirect(url_for(".index"))
    query = WaitlistQuery(data={"q": form.q.data or None})
    query.validate()
    return _page(query, form, _search(query.q), status=400)


@bp.post("/<id:entry_id>/remove")
@requires(Permission.SCHEDULE_WORK)
def remove(entry_id: int) -> Response:
    try:
        entries.remove_entry(practice_id=current_user.practice_id, entry_id=entry_id)
    except WaitlistInputError as error:
        flash("; ".join(str(reason) for reason in error.errors.values()), "error")
    else:
        flash(_("Removed from the waitlist."), "success")
    return redirect(url_for(".index"))


def _search(q: Any) -> patient_queries.SearchResult | None:
    """The patients a search field names (None before a search); a bad search becomes the
    field's error."""
    if not q.data or q.errors:
        return None
    try:
        return patient_queries.search_patients(practice_id=current_user.practice_id,
                                               query=q.data)
    except patient_queries.InvalidSearch as error:
        q.errors = [error.errors["q"]]
        return None


def _page(query: WaitlistQuery, form: WaitlistForm, result: Any, status: int = 200) -> Any:
    options = queries.options(practice_id=current_user.practice_id)
    form.offer(options)
    waiting = queries.waiting_entries(
        practice_id=current_user.practice_id,
        location_id=None if query.location_id.errors else query.location_id.data,
        appointment_type_id=(None if query.appointment_type_id.errors
                             else query.appointment_type_id.data))
    offers = queries.recent_offers(practice_id=current_user.practice_id)
    return render_template(
        "scheduling/waitlist.html", query=query, form=form, result=result,
        chosen=form.patient_id.data, options=options, entries=waiting, offers=offers,
        day_names=weekday_names(), offer_labels=OFFER_LABELS), status
