"""Which practice the current unit of work acts for.

One deployment serves many practices. A web request (the signed-in staff member's or the API
token's practice), a webhook (the practice owning the number it was sent to), a CLI command
(``--practice``) and a scheduler job (one practice at a time) each declare the practice they
act for with ``acting_for``; queries of practice data are scoped to it by one mechanism
instead of a filter remembered in each query.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_current_practice_id: ContextVar[int | None] = ContextVar("frontdesk_practice_id",
                                                          default=None)


def current_practice_id() -> int | None:
    """The practice this unit of work acts for, or None outside any practice's work."""
    return _current_practice_id.get()


@contextmanager
def acting_for(practice_id: int) -> Iterator[None]:
    """Act for ``practice_id`` inside the block (nesting restores the outer practice)."""
    token = _current_practice_id.set(practice_id)
    try:
        yield
    finally:
        _current_practice_id.reset(token)
