"""Production operations: /healthz (live), /readyz (database reachable, migrations at head)
and /metrics (Prometheus), and the timing of every provider webhook. The metric objects the
lower layers count with live in ``app/core/metrics.py``."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.ops import timing, views

    app.register_blueprint(views.bp)
    if app.config["METRICS_TOKEN"]:  # without a token there is no /metrics at all (404)
        app.register_blueprint(views.metrics_bp)
    timing.init_app(app)
