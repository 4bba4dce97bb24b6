"""Domain events: a change in one domain tells the others, inside the same transaction.

A service calls ``publish(AppointmentBooked(...))`` after making its change; every subscriber
runs synchronously in the caller's transaction, so whatever it writes (outbox messages,
waitlist offers) commits or rolls back with the change itself. Subscribers register from their
package's ``init_app`` (``subscribe(EventType)(handler)``) and must not commit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any, TypeVar

E = TypeVar("E")
_subscribers: dict[type, list[Callable[[Any], None]]] = defaultdict(list)


def subscribe(event_type: type[E]) -> Callable[[Callable[[E], None]], Callable[[E], None]]:
    def register(handler: Callable[[E], None]) -> Callable[[E], None]:
        if handler not in _subscribers[event_type]:
            _subscribers[event_type].append(handler)
        return handler

    return register


def publish(event: object) -> None:
    for handler in list(_subscribers[type(event)]):
        handler(event)
