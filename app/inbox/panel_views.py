"""Quick actions from the patient panel beside a thread (confirm or cancel a visit), and the
thread's pictures and attached files."""

from __future__ import annotations

import io
from typing import Any

from flask import Blueprint, abort, flash, redirect, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.core.errors import FieldErrors
from app.inbox import media, panel, threads
from app.scheduling import booking
from app.security.permissions import Permission, requires

bp = Blueprint("inbox_panel", __name__, url_prefix="/inbox")


@bp.post("/c/<id:conversation_id>/visits/<id:appointment_id>/confirm")
@requires(Permission.SCHEDULE_WORK)
def confirm(conversation_id: int, appointment_id: int) -> Any:
    try:
        panel.confirm_visit(practice_id=current_user.practice_id,
                            conversation_id=conversation_id, appointment_id=appointment_id,
                            staff_id=current_user.id)
    except (threads.ConversationNotFound, panel.VisitNotInThread):
        abort(404, description=_("That visit is not an upcoming one of this conversation."))
    except FieldErrors as refused:
        flash(" ".join(refused.errors.values()), "error")
    else:
        flash(_("The visit is marked confirmed by the patient."), "success")
    return redirect(url_for("inbox.conversation", conversation_id=conversation_id))


@bp.post("/c/<id:conversation_id>/visits/<id:appointment_id>/cancel")
@requires(Permission.SCHEDULE_WORK)
def cancel(conversation_id: int, appointment_id: int) -> Any:
    notify = request.form.get("notify") == "1"
    try:
        panel.cancel_visit(practice_id=current_user.practice_id,
                           conversation_id=conversation_id, appointment_id=appointment_id,
                           staff_id=current_user.id, reason=request.form.get("reason", ""),
                           notify=notify)
    except (threads.ConversationNotFound, panel.VisitNotInThread):
        abort(404, description=_("That visit is not an upcoming one of this conversation."))
    except booking.BookingError as refused:
        flash("; ".join(refused.errors.values()) if isinstance(refused, FieldErrors)
              else str(refused), "error")
    else:
        flash(_("The visit is cancelled; the patient is sent an apology with a link to book "
                "again.") if notify else _("The visit is cancelled."), "success")
    return redirect(url_for("inbox.conversation", conversation_id=conversation_id))


@bp.get("/media/<id:media_id>")
@requires(Permission.INBOX_WORK)
def media_file(media_id: int) -> Any:
    try:
        found = media.read(practice_id=current_user.practice_id, media_id=media_id)
    except media.MediaNotFound:
        abort(404, description=_("There is no picture with that number in this practice."))
    response = send_file(io.BytesIO(found.data), mimetype=found.content_type,
                         as_attachment=not found.inline and found.filename is not None,
                         download_name=found.filename,
                         conditional=False, etag=False, max_age=None)
    if found.filename is None:
        response.headers["Content-Disposition"] = "inline" if found.inline else "attachment"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response
