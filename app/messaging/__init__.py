"""The messaging core: conversations, outbox, dispatcher, send-time rules, webhooks."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.messaging.webhooks import bp as webhooks_bp

    app.register_blueprint(webhooks_bp)
