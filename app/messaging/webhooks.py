"""Provider webhooks: Twilio inbound texts and status callbacks, SendGrid's event webhook.

``@signed_webhook(verifier)`` checks the provider's signature before the view runs, so a view
reads nothing unverified; the view then hands plain values to one service. A refused request
gets a short plain-text answer (never a page, never TwiML), is logged without PHI and writes
nothing. A hook whose secret is not configured refuses every request ("webhook not
configured") rather than trusting unsigned input. The views never call a provider: replies go
through the outbox.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, request

from app.adapters.email.sendgrid import sendgrid_signature_valid
from app.adapters.sms.twilio import twilio_signature_valid
from app.core.clock import utcnow
from app.core.jsonio import JsonRefused, read_json
from app.messaging import delivery_events, inbound, inbound_queue, media
from app.security.permissions import signed_webhook

log = logging.getLogger(__name__)
bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
SENDGRID_REPLAY_WINDOW_SECONDS = 300


def _plain(text: str, status: int) -> Response:
    return Response(text, status=status, mimetype="text/plain")


def _twilio_refusal() -> Response | None:
    """None when the request carries a valid X-Twilio-Signature, else the 403 to answer."""
    token = current_app.config["TWILIO_AUTH_TOKEN"]
    if not token:
        log.warning("refused %s: TWILIO_AUTH_TOKEN is not set", request.path)
        return _plain("webhook not configured", 403)
    # Twilio signed the public URL it called, not the one a TLS proxy forwarded to us.
    url = current_app.config["PUBLIC_BASE_URL"] + request.path
    if request.query_string:
        url += "?" + request.query_string.decode("ascii", "replace")
    if not twilio_signature_valid(token, url, request.form,
                                  request.headers.get("X-Twilio-Signature")):
        log.warning("refused %s: missing or invalid X-Twilio-Signature", request.path)
        return _plain("invalid signature", 403)
    return None


@bp.post("/twilio/sms")
@signed_webhook(_twilio_refusal)
def twilio_sms() -> Response:
    """Stores the text for the worker to route (``messaging.inbound_queue``) and answers."""
    try:
        new = inbound_queue.accept(message_sid=request.form.get("MessageSid", ""),
                                   sender=request.form.get("From", ""),
                                   body=request.form.get("Body", ""),
                                   to=request.form.get("To", ""),
                                   messaging_service_sid=request.form.get(
                                       "MessagingServiceSid", ""),
                                   media=media.media_fields(request.form))
    except inbound.InboundError as error:
        return _plain(str(error), 400)
    log.info("inbound sms %s", "queued" if new else "repeated; already stored")
    return Response(EMPTY_TWIML, mimetype="text/xml")


@bp.post("/twilio/status")
@signed_webhook(_twilio_refusal)
def twilio_status() -> Response:
    try:
        result = delivery_events.apply_twilio_status(
            message_sid=request.form.get("MessageSid", ""),
            status=request.form.get("MessageStatus", ""),
            error_code=request.form.get("ErrorCode"), our_reference=request.args.get("m"))
    except delivery_events.DeliveryEventError as error:
        return _plain(str(error), 400)
    if result.message_id is None:
        log.info("status callback for a message we do not know; ignored")
    return _plain("", 200)


def _sendgrid_refusal() -> Response | None:
    """None when the request carries a valid, fresh event webhook signature, else the 403."""
    key = current_app.config["SENDGRID_WEBHOOK_PUBLIC_KEY"]
    if not key:
        log.warning("refused %s: SENDGRID_WEBHOOK_PUBLIC_KEY is not set", request.path)
        return _plain("webhook not configured", 403)
    if not sendgrid_signature_valid(
            key, request.get_data(), request.headers.get("X-Twilio-Email-Event-Webhook-Signature"),
            request.headers.get("X-Twilio-Email-Event-Webhook-Timestamp"), now=utcnow(),
            max_age_seconds=SENDGRID_REPLAY_WINDOW_SECONDS):
        log.warning("refused %s: missing, invalid or stale event webhook signature",
                    request.path)
        return _plain("invalid signature", 403)
    return None


@bp.post("/sendgrid/events")
@signed_webhook(_sendgrid_refusal)
def sendgrid_events() -> Response:
    try:
        events = read_json(request.get_data())
    except JsonRefused as refused:
        return _plain(f"body: {refused} (expected a JSON array of events)", 400)
    try:
        result = delivery_events.apply_sendgrid_events(events)
    except delivery_events.DeliveryEventError as error:
        return _plain(str(error), 400)
    log.info("sendgrid events: %s applied, %s repeated, %s unmatched, %s skipped",
             result.applied, result.duplicates, result.unmatched, result.skipped)
    return _plain("", 200)
