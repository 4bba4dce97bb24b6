"""Who the audit events of this unit of work are by, and which request they came from.

``audit.record`` reads both from here rather than reaching into Flask's request or
Flask-Login, so the trail is written the same way by a page, an API call, a job or a CLI
command. They are set once, where the unit of work begins:

* a web request: ``init_app`` notes the client's IP and the request ids when the request
  begins (after ``app.web.headers`` assigned them) and forgets everything when it ends;
  ``app.security.auth`` names the signed-in staff member once Flask-Login has loaded them
  (and again when someone signs in or out during the request);
* an actor known only to the service (the API token of a FHIR call, the user who is signing
  in) is passed to ``audit.record(actor=...)`` and wins over the one set here;
* nobody signed in (patients' pages, webhooks) and outside any request (CLI commands, jobs):
  the system, recorded with empty actor fields.

An actor is anything with ``id``, ``email`` and ``role`` (a staff user, the signed-in
session's view of one, an API client).
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import Any

from flask import Flask, g, request


@dataclass(frozen=True)
class Origin:
    """Where a request came from: the client's IP, our request id, the client's own id."""

    ip: str | None = None
    request_id: str | None = None
    client_request_id: str | None = None


SYSTEM_ORIGIN = Origin()

_actor: ContextVar[Any] = ContextVar("frontdesk_audit_actor", default=None)
_origin: ContextVar[Origin] = ContextVar("frontdesk_audit_origin", default=SYSTEM_ORIGIN)
_TOKENS = "audit_context_tokens"


def current_actor() -> Any:
    """The actor of this unit of work; None for the system (or nobody signed in)."""
    return _actor.get()


def current_origin() -> Origin:
    return _origin.get()


def act_as(actor: Any) -> None:
    """Name the actor for the rest of this request (None: nobody signed in)."""
    _actor.set(actor)


def init_app(app: Flask) -> None:
    """Register after ``app.web`` (its hook assigns the request ids read here)."""
    app.before_request(_begin)
    app.teardown_request(_end)


def _begin() -> None:
    origin = Origin(ip=request.remote_addr, request_id=g.get("request_id"),
                    client_request_id=g.get("client_request_id"))
    tokens: tuple[Token[Any], Token[Origin]] = (_actor.set(None), _origin.set(origin))
    setattr(g, _TOKENS, tokens)


def _end(_error: BaseException | None) -> None:
    tokens = g.pop(_TOKENS, None)
    if tokens is not None:
        actor_token, origin_token = tokens
        _origin.reset(origin_token)
        _actor.reset(actor_token)
