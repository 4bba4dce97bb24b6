"""Balances and payments: the ledger, the fee schedule, payment links, Stripe webhooks."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Billing's staff screens, the patient's payment pages (and the demo checkout while
    ``PAYMENT_PROVIDER=demo``), the Stripe webhook, and the visit charge posted when
    scheduling reports a visit fulfilled."""
    from app.billing import fees, plan_views  # noqa: F401  (plan_views adds billing's routes)
    from app.billing.public_views import bp as pay_bp
    from app.billing.public_views import demo_bp
    from app.billing.views import bp as billing_bp
    from app.billing.webhooks import bp as webhooks_bp
    from app.billing.wording import describe
    from app.core.events import subscribe
    from app.scheduling.events import AppointmentStatusChanged

    app.register_blueprint(billing_bp)
    app.register_blueprint(pay_bp)
    app.register_blueprint(webhooks_bp)
    if app.config["PAYMENT_PROVIDER"] == "demo":
        app.register_blueprint(demo_bp)
    subscribe(AppointmentStatusChanged)(fees.on_status_changed)
    # Pages of lower domains (the appointment's "collect copay", the record's account link)
    # show their billing actions when this is defined, naming billing's endpoints as strings.
    app.jinja_env.globals["billing_screens"] = True
    app.jinja_env.filters["ledger_text"] = describe
