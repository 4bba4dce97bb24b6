"""Friendly error pages: never a traceback, on staff or patient pages."""

from __future__ import annotations

import logging

from flask import Flask, g, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)


def _wants_json() -> bool:
    return request.path.startswith(("/api/", "/fhir", "/webhooks/", "/healthz"))


def init_app(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):  # type: ignore[no-untyped-def]
        if _wants_json():
            return jsonify(error=error.name, message=error.description), error.code
        # A view's own description (abort(404, description=...)) is worth showing; Werkzeug's
        # generic English one is replaced by the template's translated text.
        own = error.description if error.description != type(error).description else None
        return render_template("errors/http.html", error=error, message=own), error.code

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):  # type: ignore[no-untyped-def]
        if isinstance(error, HTTPException):
            return http_error(error)
        log.exception("unhandled error on %s %s (request %s, client request %s)",
                      request.method, request.path, g.get("request_id"),
                      g.get("client_request_id"))
        wrapped = InternalServerError()
        if _wants_json():
            return jsonify(error=wrapped.name, message="Something went wrong on our side."), 500
        return render_template("errors/http.html", error=wrapped, message=None), 500
