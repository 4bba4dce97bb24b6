"""What a domain above messaging adds to a template's context when the message is sent.

Messages are rendered at send time so they carry current data (an appointment moved after the
reminder was queued). A domain that owns templates registers a builder for their name prefix
(journeys: ``journey_``); the dispatcher calls it with the message and the language it renders
in. A builder that finds the message no longer useful (the visit it reminds of has started or
is gone) raises ``NoLongerUseful``: the dispatcher cancels it with the reason, never sends it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.messaging.models import Message

ContextBuilder = Callable[[Message, str], dict[str, Any]]
_builders: dict[str, ContextBuilder] = {}


class NoLongerUseful(Exception):
    """The message's moment has passed; the text says why (plain, no PHI)."""


def register_send_context(prefix: str, builder: ContextBuilder) -> ContextBuilder:
    """Call ``builder(message, language)`` for templates whose name starts with ``prefix``."""
    _builders[prefix] = builder
    return builder


def extra_context(message: Message, language: str) -> dict[str, Any]:
    """The registered builder's context for ``message`` (empty when none applies)."""
    for prefix, builder in tuple(_builders.items()):
        if (message.template or "").startswith(prefix):
            return builder(message, language)
    return {}
