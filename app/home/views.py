from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from app.home import dashboard
from app.security.permissions import Permission, requires

bp = Blueprint("home", __name__)


@bp.get("/")
@requires(Permission.DASHBOARD_VIEW)
def index():  # type: ignore[no-untyped-def]
    return render_template("home/index.html", summary=dashboard.practice_summary(
        practice_id=current_user.practice_id))
