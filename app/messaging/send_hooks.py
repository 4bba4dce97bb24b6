"""The last word before a templated message goes out, for the domains above messaging.

A domain that queued a message about something that may change before the message is sent (a
waitlist offer whose time may be booked meanwhile, whose window must start when the patient
can read it) registers a check for its template: ``register_before_send("waitlist_offer",
check)``. The dispatcher calls it once the send-time rules allow the message, in the
transaction that prepares it: ``check(message, now)`` may update the domain's own rows (they
commit with the prepared message) and returns None to send, or a reason (stored in plain
text: no PHI) to cancel the message instead. Messaging imports no such domain.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from app.messaging.models import Message

BeforeSend = Callable[[Message, datetime], str | None]
_checks: dict[str, list[BeforeSend]] = {}


def register_before_send(template: str, check: BeforeSend) -> BeforeSend:
    """Run ``check`` before each message of ``template`` is sent; registering it again is a
    no-op."""
    registered = _checks.setdefault(template, [])
    if check not in registered:
        registered.append(check)
    return check


def cancel_reason(message: Message, *, now: datetime) -> str | None:
    """Why ``message`` must not go after all (the first check to say so), or None."""
    for check in tuple(_checks.get(message.template or "", ())):
        reason = check(message, now)
        if reason:
            return reason
    return None
