"""Setting a practice up: the checklist (counts across domains) and the practice settings
screens and service (details and messaging window, senders, locations, providers). It reads
scheduling, patients and staff, so it sits above those domains."""

from __future__ import annotations

from flask import Flask, url_for

from app.security.models import StaffUser
from app.security.permissions import Role
from app.setup.checklist import needs_setup


def init_app(app: Flask) -> None:
    from app.security.auth import set_landing
    from app.setup import views

    app.register_blueprint(views.bp)
    set_landing(app, _checklist_first)


def _checklist_first(user: StaffUser) -> str | None:
    """An admin of a practice that cannot take a booking yet lands on the set-up checklist."""
    if user.role == Role.ADMIN and needs_setup(practice_id=user.practice_id):
        return url_for("setup.index")
    return None
