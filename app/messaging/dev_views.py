"""/dev/outbox: registered only while a console provider is configured (else it is a 404)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.messaging import dev_outbox
from app.messaging.cli import build_providers
from app.messaging.forms import DevSmsForm
from app.security.permissions import Permission, requires

bp = Blueprint("dev", __name__, url_prefix="/dev")


def _page(form: DevSmsForm) -> Any:
    return render_template("messaging/dev_outbox.html", form=form, limit=dev_outbox.LIMIT,
                           rows=dev_outbox.latest_outbound(practice_id=current_user.practice_id))


@bp.get("/outbox")
@requires(Permission.DEV_TOOLS)
def outbox() -> Any:
    return _page(DevSmsForm())


@bp.post("/outbox/send")
@requires(Permission.DEV_TOOLS)
def send_due() -> Any:
    stats = dev_outbox.send_due(providers=build_providers())
    flash(_("Sent %(sent)d, deferred %(deferred)d, suppressed %(suppressed)d, failed "
            "%(failed)d, retrying %(retried)d, reconciled %(reconciled)d.",
            sent=stats.sent, deferred=stats.deferred, suppressed=stats.suppressed,
            failed=stats.failed, retried=stats.retried, reconciled=stats.reconciled), "info")
    for problem in stats.problems:
        flash(problem, "error")
    return redirect(url_for("dev.outbox"))


@bp.post("/outbox/test-sms")
@requires(Permission.DEV_TOOLS)
def test_sms() -> Any:
    form = DevSmsForm()
    if form.validate_on_submit():
        try:
            message = dev_outbox.queue_test_sms(
                practice_id=current_user.practice_id, patient_id=form.patient_id.data,
                body=form.body.data, staff_id=current_user.id)
        except dev_outbox.DevSmsError as error:
            form.patient_id.errors = [*form.patient_id.errors, error.errors["patient_id"]]
        else:
            flash(_("Queued test text #%(id)d. Send due messages to see it go.", id=message.id),
                  "success")
            return redirect(url_for("dev.outbox"))
    return _page(form)
