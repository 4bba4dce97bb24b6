"""The waitlist: patients waiting for an earlier time, offered freed slots by SMS.

``entries`` puts patients on the list and takes them off; ``offers`` offers a freed slot to the
best-matching batch and expires offers unanswered; ``intent`` books an offer a patient answers
YES; ``queries`` is what the staff screen (``views``, ``forms``) reads. ``states`` holds the
entry and offer states they share."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """The staff screen, the subscribers that offer a freed slot and withdraw the offers of a
    booked one, the YES-reply intent, the check that starts an offer's window at its send."""
    from app.core.events import subscribe
    from app.messaging.intents import register_intent_handler
    from app.messaging.send_hooks import register_before_send
    from app.scheduling import events
    from app.scheduling.waitlist import intent, offers, views

    app.register_blueprint(views.bp)
    subscribe(events.AppointmentCancelled)(offers.on_cancelled)
    subscribe(events.AppointmentRescheduled)(offers.on_rescheduled)
    subscribe(events.AppointmentBooked)(offers.on_booked)
    register_intent_handler(intent.take_offer)
    register_before_send("waitlist_offer", offers.before_offer_sent)
