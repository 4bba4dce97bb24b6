"""The messaging core: conversations, outbox, dispatcher, send-time rules, webhooks."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.messaging.webhooks import bp as webhooks_bp

    app.register_blueprint(webhooks_bp)
    _init_staff_screens(app)


def _init_staff_screens(app: Flask) -> None:
    """The staff messaging screens; the dev outbox only while a console provider is set."""
    from app.messaging import dev_outbox, dev_views, staff_views
    from app.messaging.consent_words import consent_words
    from app.messaging.delays import message_delays
    from app.messaging.labels import messaging_labels

    app.register_blueprint(staff_views.bp)
    if dev_outbox.console_mode(app.config):
        app.register_blueprint(dev_views.bp)
    app.jinja_env.globals.update(messaging_labels=messaging_labels,
                                 message_delays=message_delays)
    app.add_template_filter(consent_words)
