"""The set-up checklist and the practice settings screens: practice details and messaging
window, senders, locations and providers."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import Field

from app.core import phones
from app.core.errors import FieldErrors
from app.practice import directory
from app.practice.models import Location, Provider
from app.practice.practices import get_practice
from app.security.permissions import Permission, requires
from app.setup import checklist, settings
from app.setup.forms import LocationForm, PracticeForm, ProviderForm, SendersForm, zone_names
from app.web.scope import public_practice_id

bp = Blueprint("setup", __name__)

DETAIL_FIELDS = ("name", "phone", "email", "website", "timezone", "send_window_start",
                 "send_window_end")
SENDER_FIELDS = ("sms_from_number", "sms_messaging_service_sid", "email_from_address")
LOCATION_FIELDS = ("name", "address_line", "city", "state", "postal_code", "phone", "timezone")
PROVIDER_FIELDS = ("prefix", "given_name", "family_name", "credentials", "npi", "active")


@bp.get("/setup")
@requires(Permission.PRACTICE_SETTINGS)
def index() -> Any:
    config = current_app.config
    steps = checklist.checklist(
        practice_id=current_user.practice_id,
        deployment_sms_sender=bool(config["TWILIO_FROM_NUMBER"]
                                   or config["TWILIO_MESSAGING_SERVICE_SID"]))
    return render_template("setup/checklist.html", steps=steps,
                           remaining=sum(not step.done for step in steps),
                           books_online=current_user.practice_id == public_practice_id())


@bp.route("/settings/practice", methods=["GET", "POST"])
@requires(Permission.PRACTICE_SETTINGS)
def details() -> Any:
    practice = get_practice(practice_id=current_user.practice_id)
    form = PracticeForm(obj=practice)
    _show_phone(form.phone)
    if form.validate_on_submit() and _saved(form, lambda: settings.update_details(
            practice_id=practice.id, values=settings.clean_details(_data(form, DETAIL_FIELDS)))):
        flash(_("Saved the practice details."), "success")
        return redirect(url_for(".index"))
    return _page("setup/details.html", form, zones=zone_names())


@bp.route("/settings/senders", methods=["GET", "POST"])
@requires(Permission.SETTINGS_MANAGE)
def senders() -> Any:
    practice = get_practice(practice_id=current_user.practice_id)
    form = SendersForm(obj=practice)
    _show_phone(form.sms_from_number)
    if form.validate_on_submit() and _saved(form, lambda: settings.update_senders(
            practice_id=practice.id, values=settings.clean_senders(_data(form, SENDER_FIELDS)))):
        flash(_("Saved the senders."), "success")
        return redirect(url_for(".index"))
    config = current_app.config
    return _page("setup/senders.html", form, defaults={
        "sms_from_number": phones.display(config["TWILIO_FROM_NUMBER"] or None),
        "sms_messaging_service_sid": config["TWILIO_MESSAGING_SERVICE_SID"],
        "email_from_address": config["SENDGRID_FROM_EMAIL"]})


@bp.get("/settings/locations")
@requires(Permission.PRACTICE_SETTINGS)
def locations() -> Any:
    return render_template("setup/locations.html",
                           locations=settings.list_locations(practice_id=current_user.practice_id))


@bp.route("/settings/locations/new", methods=["GET", "POST"])
@requires(Permission.PRACTICE_SETTINGS)
def create_location() -> Any:
    return _location_form(None)


@bp.route("/settings/locations/<id:location_id>", methods=["GET", "POST"])
@requires(Permission.PRACTICE_SETTINGS)
def edit_location(location_id: int) -> Any:
    location = settings.get_location(practice_id=current_user.practice_id,
                                     location_id=location_id)
    if location is None:
        abort(404, description=_("There is no location with that number in this practice."))
    return _location_form(location)


@bp.get("/settings/providers")
@requires(Permission.PRACTICE_SETTINGS)
def providers() -> Any:
    return render_template("setup/providers.html",
                           providers=settings.list_providers(practice_id=current_user.practice_id))


@bp.route("/settings/providers/new", methods=["GET", "POST"])
@requires(Permission.PRACTICE_SETTINGS)
def create_provider() -> Any:
    return _provider_form(None)


@bp.route("/settings/providers/<id:provider_id>", methods=["GET", "POST"])
@requires(Permission.PRACTICE_SETTINGS)
def edit_provider(provider_id: int) -> Any:
    provider = settings.get_provider(practice_id=current_user.practice_id,
                                     provider_id=provider_id)
    if provider is None:
        abort(404, description=_("There is no provider with that number in this practice."))
    return _provider_form(provider)


def _location_form(location: Location | None) -> Any:
    form = LocationForm(obj=location)
    _show_phone(form.phone)
    if form.validate_on_submit() and _saved(form, lambda: settings.save_location(
            practice_id=current_user.practice_id, location=location,
            values=directory.clean_location_fields(_data(form, LOCATION_FIELDS)))):
        flash(_("Saved the location %(name)s.", name=form.name.data), "success")
        return redirect(url_for(".locations"))
    return _page("setup/location_form.html", form, location=location, zones=zone_names())


def _provider_form(provider: Provider | None) -> Any:
    form = ProviderForm(obj=provider)
    form.location_ids.choices = [
        (location.id, location.name)
        for location in settings.list_locations(practice_id=current_user.practice_id)]
    if provider is not None and not form.is_submitted():
        form.location_ids.data = [location.id for location in provider.locations]
    if form.validate_on_submit() and _saved(form, lambda: settings.save_provider(
            practice_id=current_user.practice_id, provider=provider,
            values=directory.clean_provider_fields(_data(form, PROVIDER_FIELDS)),
            location_ids=form.location_ids.data or [])):
        name = " ".join(filter(None, (form.prefix.data, form.given_name.data,
                                      form.family_name.data)))
        flash(_("Saved the provider %(name)s.", name=name), "success")
        return redirect(url_for(".providers"))
    return _page("setup/provider_form.html", form, provider=provider)


def _show_phone(field: Field) -> None:
    """A stored E.164 number shown as people write it; what is typed is kept as typed."""
    if not field.raw_data and field.data:
        field.data = phones.display(field.data)


def _data(form: FlaskForm, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(form, name).data for name in names}


def _saved(form: FlaskForm, save: Any) -> bool:
    """Run ``save``; put a service's field errors beside their fields. True when saved."""
    try:
        save()
    except FieldErrors as error:
        errors = error.errors
    else:
        return True
    for name, reason in errors.items():
        field = getattr(form, name, None)
        if field is None:
            flash(reason, "error")
        else:
            field.errors = [*field.errors, reason]
    return False


def _page(template: str, form: FlaskForm, **context: Any) -> Any:
    return render_template(template, form=form, **context), 400 if form.errors else 200
