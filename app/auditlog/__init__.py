"""The audit trail screen for admins (filter, page through, export as CSV). It shows the
patients' names an event mentions, so it sits above the patients domain; the trail itself is
``app.security.audit``."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.auditlog import views

    app.register_blueprint(views.bp)
