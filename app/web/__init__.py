"""Cross-cutting web pieces: request ids, security headers, error pages, health, home, and
what every template may use (app.web.ui)."""

from __future__ import annotations

from flask import Flask
from werkzeug.routing import IntegerConverter, Map

from app.core.ids import MAX_ROW_ID
from app.web import errors, headers, scope, ui
from app.web.views import bp


class IdConverter(IntegerConverter):
    """``<id:name>``: a row id in a URL. A number no id column can hold matches no route, so
    it is a 404 rather than a database error."""

    def __init__(self, url_map: Map) -> None:
        super().__init__(url_map, max=MAX_ROW_ID)


def init_app(app: Flask) -> None:
    from flask_babel import get_locale

    from app.patients.import_views import bp as patient_import_bp
    from app.patients.views import bp as patients_bp
    from app.practice.views import bp as setup_bp
    from app.security.permissions import role_label

    scope.init_app(app)  # first: every later request hook runs inside the request's scope
    app.url_map.converters["id"] = IdConverter  # before any blueprint's routes
    app.jinja_env.globals.update(current_locale=lambda: str(get_locale() or "en"),
                                 role_label=role_label)
    headers.init_app(app)
    errors.init_app(app)
    ui.init_app(app)
    app.register_blueprint(bp)
    app.register_blueprint(patients_bp)
    app.register_blueprint(patient_import_bp)
    app.register_blueprint(setup_bp)
