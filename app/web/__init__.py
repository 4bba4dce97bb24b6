"""Request helpers every package's screens use: the request's practice scope, security headers,
error pages, form fields, paging, ``next`` targets, public URLs, larger requests for views
taking files (``uploads``) and what every template may use (``app.web.ui``). It knows no
domain and serves no page."""

from __future__ import annotations

from flask import Flask
from werkzeug.routing import IntegerConverter, Map

from app.core.ids import MAX_ROW_ID
from app.web import errors, headers, input_guard, scope, ui, uploads


class IdConverter(IntegerConverter):
    """``<id:name>``: a row id in a URL. A number no id column can hold matches no route, so
    it is a 404 rather than a database error."""

    def __init__(self, url_map: Map) -> None:
        super().__init__(url_map, max=MAX_ROW_ID)


def init_app(app: Flask) -> None:
    from flask_babel import get_locale

    scope.init_app(app)  # first: every later request hook runs inside the request's scope
    app.url_map.converters["id"] = IdConverter  # before any blueprint's routes
    app.jinja_env.globals.update(current_locale=lambda: str(get_locale() or "en"))
    headers.init_app(app)
    errors.init_app(app)
    ui.init_app(app)
    uploads.init_app(app)
    input_guard.init_app(app)
