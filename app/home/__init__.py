"""The staff home page (the practice's numbers across domains), the staff navigation:
composition above every domain."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.home import views
    from app.home.nav import staff_sections

    app.register_blueprint(views.bp)
    app.jinja_env.globals.update(staff_sections=staff_sections)
