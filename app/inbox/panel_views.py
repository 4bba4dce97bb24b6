"""Quick actions from the patient panel beside a thread, and the thread's pictures."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.core.errors import FieldErrors
from app.inbox import media, panel, threads
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


@bp.get("/media/<id:media_id>")
@requires(Permission.INBOX_WORK)
def media_file(media_id: int) -> Any:
    try:
        found = media.read(practice_id=current_user.practice_id, media_id=media_id)
    except media.MediaNotFound:
        abort(404, description=_("There is no picture with that number in this practice."))
    response = Response(found.data, mimetype=found.content_type)
    response.headers["Content-Disposition"] = "inline" if found.inline else "attachment"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response
