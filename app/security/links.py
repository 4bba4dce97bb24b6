"""Signed patient links: the only way a patient reaches a page without an account.

A token is an itsdangerous signature (keyed by SECRET_KEY, salted per purpose) over four facts
and nothing else: the purpose, an opaque object id, a random token id and an expiry — no name,
phone or other PHI, since links travel by SMS and email and end up in browser histories.

* Purpose-bound: the salt differs per purpose, so an intake link is refused as a payment link.
* Expiring: each purpose has a default lifetime; the issuer may shorten or lengthen it
  (``max_age``) or give an exact end (``expires_at``, e.g. an appointment's start).
* Single-use where the action is: ``consume_link_token()`` records the token id in
  ``used_link_token`` in the caller's transaction; its primary key makes a second use fail,
  even from two requests at once.

``@patient_link(purpose)`` guards a patient page: a refused link gets the same friendly page
(the practice's name and phone) whether or not the object it names exists, and an audit event
``link.invalid`` with the reason only.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import wraps
from typing import Any, TypeVar

from flask import current_app, render_template
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.core import clock, phones
from app.extensions import db
from app.practice.models import Practice
from app.security import audit
from app.security.models import UsedLinkToken


class LinkPurpose(StrEnum):
    INTAKE_FORM = "intake_form"
    BOOKING = "booking"
    PAYMENT = "payment"
    CONFIRMATION = "confirmation"  # issuers pass expires_at = the appointment's start
    BOOKING_CODE = "booking_code"  # a one-time code to book online
    STAFF_INVITATION = "staff_invitation"  # a new staff member sets their own password
    RESCHEDULE = "reschedule"  # the patient moves one booked visit (issuers pass expires_at)


DEFAULT_MAX_AGE: dict[LinkPurpose, timedelta] = {
    LinkPurpose.INTAKE_FORM: timedelta(days=14),
    LinkPurpose.BOOKING: timedelta(days=30),
    LinkPurpose.PAYMENT: timedelta(days=7),
    LinkPurpose.CONFIRMATION: timedelta(days=30),
    LinkPurpose.BOOKING_CODE: timedelta(days=7),
    LinkPurpose.STAFF_INVITATION: timedelta(days=7),
    LinkPurpose.RESCHEDULE: timedelta(days=30),
}
SINGLE_USE_BY_DEFAULT = frozenset({LinkPurpose.BOOKING_CODE, LinkPurpose.STAFF_INVITATION})

# Short paths: a link must fit in a text message.
LINK_PATHS: dict[LinkPurpose, str] = {
    LinkPurpose.INTAKE_FORM: "/f/",
    LinkPurpose.BOOKING: "/b/",
    LinkPurpose.PAYMENT: "/p/",
    LinkPurpose.CONFIRMATION: "/c/",
    LinkPurpose.BOOKING_CODE: "/k/",
    LinkPurpose.STAFF_INVITATION: "/invite/",
    LinkPurpose.RESCHEDULE: "/m/",
}


class LinkError(Exception):
    """A link was refused; ``reason`` goes to the audit trail, ``status`` to the browser."""

    reason = "tampered"
    status = 404


class LinkInvalid(LinkError):
    """Not a token we signed for this purpose (tampered, truncated, or another purpose's)."""

    def __init__(self, reason: str = "tampered") -> None:
        super().__init__(reason)
        self.reason = reason


class LinkExpired(LinkError):
    reason = "expired"
    status = 410


class LinkUsed(LinkError):
    reason = "used"
    status = 410


@dataclass(frozen=True)
class LinkClaims:
    purpose: LinkPurpose
    subject_id: str
    token_id: str
    expires_at: datetime
    single_use: bool


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"])


def _salt(purpose: LinkPurpose) -> str:
    return f"frontdesk.link.{purpose.value}"


def issue_link_token(purpose: LinkPurpose | str, subject_id: int | str, *,
                     single_use: bool | None = None, max_age: timedelta | None = None,
                     expires_at: datetime | None = None) -> str:
    """A signed token for ``purpose`` naming ``subject_id`` (an opaque id, never PHI)."""
    purpose = LinkPurpose(purpose)
    if expires_at is None:
        expires_at = clock.utcnow() + (max_age or DEFAULT_MAX_AGE[purpose])
    elif max_age is not None:
        raise ValueError("give max_age or expires_at, not both")
    if expires_at.tzinfo is None:
        raise ValueError("expires_at must carry a time zone")
    if single_use is None:
        single_use = purpose in SINGLE_USE_BY_DEFAULT
    payload = {"p": purpose.value, "s": str(subject_id), "j": secrets.token_urlsafe(12),
               "e": int(expires_at.timestamp()), "u": int(single_use)}
    return _serializer().dumps(payload, salt=_salt(purpose))


def verify_link_token(token: str, purpose: LinkPurpose | str) -> LinkClaims:
    """The token's claims, or LinkInvalid (reason tampered or wrong_purpose), LinkExpired,
    LinkUsed (a single-use token already consumed)."""
    purpose = LinkPurpose(purpose)
    serializer = _serializer()
    try:
        payload = serializer.loads(token, salt=_salt(purpose))
    except BadSignature:
        for other in LinkPurpose:
            if other is not purpose and _signed_for(serializer, token, other):
                raise LinkInvalid("wrong_purpose") from None
        raise LinkInvalid() from None
    claims = LinkClaims(purpose=purpose, subject_id=payload["s"], token_id=payload["j"],
                        expires_at=datetime.fromtimestamp(payload["e"], UTC),
                        single_use=bool(payload["u"]))
    if payload["p"] != purpose.value:
        raise LinkInvalid("wrong_purpose")
    if clock.utcnow() >= claims.expires_at:
        raise LinkExpired()
    if claims.single_use and db.session.get(UsedLinkToken, claims.token_id) is not None:
        raise LinkUsed()
    return claims


def _signed_for(serializer: URLSafeTimedSerializer, token: str, purpose: LinkPurpose) -> bool:
    try:
        serializer.loads(token, salt=_salt(purpose))
    except BadSignature:
        return False
    return True


def consume_link_token(claims: LinkClaims) -> None:
    """Spend a single-use token in the caller's transaction (commit it with the action).

    A token already spent raises LinkUsed; the transaction is rolled back then, so the action
    it guarded does not happen twice."""
    if not claims.single_use:
        raise ValueError("only a single-use link can be consumed")
    db.session.flush()  # the caller's own pending changes: their errors are not "used"
    db.session.add(UsedLinkToken(token_id=claims.token_id, purpose=claims.purpose.value))
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise LinkUsed() from None


def public_link_url(purpose: LinkPurpose | str, token: str) -> str:
    """The address a patient opens: PUBLIC_BASE_URL + the purpose's path + the token."""
    return f"{current_app.config['PUBLIC_BASE_URL']}{LINK_PATHS[LinkPurpose(purpose)]}{token}"


@dataclass(frozen=True)
class PracticeContact:
    name: str
    phone: str  # as shown
    tel: str  # E.164, for the tel: link


def refuse_link(*, purpose: LinkPurpose, reason: str) -> PracticeContact | None:
    """Record a refused link (reason only, never the token) and return who to call."""
    audit.record("link.invalid", object_type="link",
                 detail={"purpose": purpose.value, "reason": reason})
    db.session.commit()
    practice = db.session.execute(select(Practice).order_by(Practice.id).limit(1)).scalar()
    if practice is None:
        return None
    return PracticeContact(name=practice.name, phone=phones.display(practice.phone),
                           tel=practice.phone)


F = TypeVar("F", bound=Callable[..., Any])


def patient_link(purpose: LinkPurpose | str) -> Callable[[F], F]:
    """Guard a patient page whose URL carries ``<token>``: the view is called with
    ``link=LinkClaims`` instead of the token. The page is public (no staff sign-in): the
    signed token is its authorization. A refused link gets the invalid-link page: 404 when
    the token is not ours for this purpose, 410 when it expired or was used."""
    purpose = LinkPurpose(purpose)

    def decorate(view: F) -> F:
        @wraps(view)
        def guarded(*args: Any, token: str, **kwargs: Any) -> Any:
            try:
                claims = verify_link_token(token, purpose)
            except LinkError as refused:
                contact = refuse_link(purpose=purpose, reason=refused.reason)
                return render_template("links/invalid.html", contact=contact,
                                       reason=refused.reason), refused.status
            return view(*args, link=claims, **kwargs)

        guarded.is_public = True  # type: ignore[attr-defined]
        guarded.link_purpose = purpose  # type: ignore[attr-defined]
        return guarded  # type: ignore[return-value]

    return decorate
