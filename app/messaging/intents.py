"""Intent handlers: what a patient's text means to a feature (confirm an appointment, take a
waitlist offer, enter a one-time code), asked after the opt-out, opt-in and HELP keywords and
before the message lands in the shared inbox.

A feature registers a handler once, when its module is imported (from its package's
``init_app``)::

    @register_intent_handler
    def confirm_reply(message, patients, text):
        ...
        return True

A handler receives the stored inbound ``Message``, the patients who share the sender's number
(none for an unknown number, several for a household) and the reply normalized the way the
keyword matcher sees it (``keywords.normalize_reply``: "c." → "C"). It returns True when it
handled the message; then no later handler runs and the conversation is not marked unread.
It runs inside the webhook's transaction: it may write rows and queue replies with
``outbox.enqueue`` (never call a provider), and must not commit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from app.messaging.models import Message
from app.patients.models import Patient

IntentHandler = Callable[[Message, Sequence[Patient], str], bool]

_handlers: list[IntentHandler] = []


def register_intent_handler(handler: IntentHandler) -> IntentHandler:
    """Add ``handler`` after those registered before it; registering it again is a no-op."""
    if handler not in _handlers:
        _handlers.append(handler)
    return handler


def dispatch(message: Message, patients: Sequence[Patient], text: str) -> bool:
    """Offer the message to each handler in registration order; True once one handles it."""
    return any(handler(message, patients, text) for handler in tuple(_handlers))
