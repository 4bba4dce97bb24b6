"""Our FHIR R4 API: the standard door into Frontdesk for EHRs and integrators."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.extensions import csrf
    from app.fhir.views import bp

    csrf.exempt(bp)
    app.register_blueprint(bp)
