"""Managers' screen for the canned replies the composer offers."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.inbox import canned
from app.security.permissions import Permission, requires

bp = Blueprint("inbox_canned", __name__, url_prefix="/inbox/canned")


@bp.get("")
@requires(Permission.PRACTICE_SETTINGS)
def index() -> Any:
    return render_template("inbox/canned.html", errors={}, form={},
                           replies=canned.all_replies(practice_id=current_user.practice_id),
                           variables_text=canned.variables_text())


@bp.post("")
@requires(Permission.PRACTICE_SETTINGS)
def save() -> Any:
    raw_id = request.form.get("id", "")
    try:
        canned.save(practice_id=current_user.practice_id, title=request.form.get("title", ""),
                    body=request.form.get("body", ""),
                    active=request.form.get("active", "1") == "1",
                    reply_id=int(raw_id) if raw_id.isdigit() and len(raw_id) < 10 else None)
    except canned.CannedRefused as refused:
        return render_template(
            "inbox/canned.html", errors=refused.errors, form=request.form,
            replies=canned.all_replies(practice_id=current_user.practice_id),
            variables_text=canned.variables_text()), 400
    flash(_("Canned reply saved."), "success")
    return redirect(url_for(".index"))
