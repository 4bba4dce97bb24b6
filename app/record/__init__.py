"""The patient record page, composed from the patients, scheduling and messaging domains."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.record import views

    app.register_blueprint(views.bp)
