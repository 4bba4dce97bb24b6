"""Appointment journeys: confirmations, reminders, two-way replies, follow-ups.

``rules`` (per practice and appointment type) say what a visit gets; ``planner`` plans its
messages through their idempotency keys; ``subscribers`` re-plan on every change the booking
service announces; ``render`` fills the messages when they are sent; ``understanding`` reads
patients' replies and ``replies`` acts on them.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """The settings screen, the booking events' subscribers, the reply intent, the send-time
    context."""
    from app.core.events import subscribe
    from app.journeys import render, replies, subscribers, views, visit_views
    from app.messaging.intents import register_intent_handler
    from app.messaging.send_context import register_send_context
    from app.scheduling import events
    from app.scheduling.waitlist import intent as waitlist_intent

    app.register_blueprint(views.bp)
    app.register_blueprint(visit_views.bp)
    subscribe(events.AppointmentBooked)(subscribers.on_booked)
    subscribe(events.AppointmentRescheduled)(subscribers.on_rescheduled)
    subscribe(events.AppointmentCancelled)(subscribers.on_cancelled)
    subscribe(events.AppointmentStatusChanged)(subscribers.on_status_changed)
    subscribe(events.PatientResponded)(subscribers.on_responded)
    register_intent_handler(replies.handle_reply)
    waitlist_intent.register_booked_reply(replies.answer_waitlist_yes)
    register_send_context("journey_", render.build_context)
