"""Every provider webhook (``/webhooks/...``, whoever registers it) is timed into
``frontdesk_webhook_seconds``, labelled by its endpoint and answer status."""

from __future__ import annotations

import time

from flask import Flask, Response, g, request

from app.core.metrics import WEBHOOK_SECONDS


def init_app(app: Flask) -> None:
    @app.before_request
    def start_webhook_clock() -> None:
        if request.path.startswith("/webhooks/"):
            g.webhook_started = time.perf_counter()

    @app.after_request
    def observe_webhook(response: Response) -> Response:
        started = g.pop("webhook_started", None)
        if started is not None:
            WEBHOOK_SECONDS.labels(webhook=request.endpoint or "unknown",
                                   status=str(response.status_code)
                                   ).observe(time.perf_counter() - started)
        return response
