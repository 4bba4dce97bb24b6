"""The patient record page, composed from the patients, scheduling and messaging domains."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.record import edit_views, views  # noqa: F401 (edit_views adds routes to views.bp)

    app.register_blueprint(views.bp)
