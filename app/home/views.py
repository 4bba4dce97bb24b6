from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from app.home import dashboard
from app.scheduling import new_bookings
from app.security.permissions import Permission, requires, role_can

bp = Blueprint("home", __name__)


@bp.get("/")
@requires(Permission.DASHBOARD_VIEW)
def index():  # type: ignore[no-untyped-def]
    new = new_bookings.count_unseen(practice_id=current_user.practice_id,
                                    staff_id=current_user.id) \
        if role_can(current_user.role, Permission.SCHEDULE_WORK) else None
    return render_template("home/index.html", summary=dashboard.practice_summary(
        practice_id=current_user.practice_id, staff_id=current_user.id), new_bookings=new)
