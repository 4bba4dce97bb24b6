"""The practice a web request acts for (the mechanism itself is ``app.core.tenancy``).

Every request runs ``fail_closed``: until something below names the practice, a query of
practice data raises instead of reading every practice's rows. Who names it:

* staff pages: the signed-in staff member's practice (``app.security.auth``, right after
  Flask-Login loads the user);
* the FHIR API: the bearer token's practice (``app.fhir.access``);
* the public patient pages (/book) and the published slots ($bulk-publish): the practice
  this installation serves to the public, ``public_practice_id()``;
* webhooks: the practice owning the number, Messaging Service or message the provider's
  request is about, chosen inside the service (``app.messaging.inbound``,
  ``app.messaging.delivery_events``).

The scope ends with the request (``teardown_request``).
"""

from __future__ import annotations

from contextlib import ExitStack

from flask import Flask, g
from sqlalchemy import select

from app.core import tenancy
from app.extensions import db
from app.practice.models import Practice

_STACK = "practice_scope"


def init_app(app: Flask) -> None:
    """Register first, so the scope wraps every other request hook."""
    app.before_request(_begin)
    app.teardown_request(_end)


def act_for(practice_id: int) -> None:
    """Scope the rest of this request to ``practice_id``."""
    g.get(_STACK).enter_context(tenancy.acting_for(practice_id))


def public_practice_id() -> int | None:
    """The practice the public patient pages and published slots serve: the installation's
    first practice, whoever asks (so publicly cached answers never depend on a session)."""
    return db.session.execute(select(Practice.id).order_by(Practice.id).limit(1)
                              ).scalar_one_or_none()


def act_for_public_practice() -> int | None:
    """Scope this request to the public practice; None (nothing scoped) when none exists."""
    practice_id = public_practice_id()
    if practice_id is not None:
        act_for(practice_id)
    return practice_id


def _begin() -> None:
    stack = ExitStack()
    stack.enter_context(tenancy.fail_closed())
    setattr(g, _STACK, stack)


def _end(_error: BaseException | None) -> None:
    stack = g.pop(_STACK, None)
    if stack is not None:
        stack.close()
