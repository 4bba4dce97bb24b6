"""The staff note on an appointment, saved from the appointment page (encrypted, audited by
``booking.set_note``; staff only: no patient page or message shows it)."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.scheduling import booking
from app.scheduling.forms import NoteForm
from app.scheduling.views import bp
from app.security.permissions import Permission, requires


@bp.post("/appointments/<id:appointment_id>/note")
@requires(Permission.SCHEDULE_WORK)
def save_note(appointment_id: int) -> Any:
    form = NoteForm()
    if not form.validate():
        flash("; ".join(form.note.errors) or _("The note was not saved."), "error")
        return redirect(url_for(".appointment", appointment_id=appointment_id))
    try:
        booking.set_note(appointment_id=appointment_id, note=form.note.data, source="staff",
                         staff_id=current_user.id)
    except booking.AppointmentNotFound:
        abort(404, description=_("There is no appointment with that number in this practice."))
    except booking.BookingInputError as error:
        if "staff_id" in error.errors:  # the appointment is another practice's
            abort(404, description=_("There is no appointment with that number in this "
                                     "practice."))
        flash("; ".join(error.errors.values()), "error")
    else:
        flash(_("Note saved."), "success")
    return redirect(url_for(".appointment", appointment_id=appointment_id))
