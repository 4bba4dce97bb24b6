"""Patient records, households, CSV import, and the staff patient search."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.patients import import_views, merge_views, views  # noqa: F401 (merge_views: on views.bp)

    app.register_blueprint(views.bp)
    app.register_blueprint(import_views.bp)
