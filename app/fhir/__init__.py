"""Our FHIR R4 API: the standard door into Frontdesk for EHRs and integrators."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.extensions import csrf
    from app.fhir import slot_file_cache
    from app.fhir.publish_views import bp as publish_bp
    from app.fhir.views import bp

    for blueprint in (bp, publish_bp):
        csrf.exempt(blueprint)
        app.register_blueprint(blueprint)
    slot_file_cache.init_app(app)
