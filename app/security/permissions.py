"""Roles and what each may do: the one permission matrix.

Every staff route declares the permission it needs with ``@requires(Permission.X)``; routes
open to the public (patient links, sign-in) declare ``@public``, routes any signed-in staff
member may use ``@any_staff``, and provider webhooks ``@signed_webhook(verifier)``, which
checks the provider's signature before the view runs. A test walks the URL
map and fails for any route that declares none, and checks every role against every route.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from functools import wraps
from typing import Any, TypeVar

from flask import abort
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_login import current_user

from app.extensions import csrf


class Role(StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    FRONT_DESK = "front_desk"
    BILLING = "billing"
    MARKETING = "marketing"


class Permission(StrEnum):
    DASHBOARD_VIEW = "dashboard.view"           # the practice home page (no patient detail)
    PATIENT_VIEW = "patient.view"               # open a single patient's record
    PATIENT_EDIT = "patient.edit"
    PATIENT_MERGE = "patient.merge"             # merge duplicate records, dismiss look-alikes
    INBOX_WORK = "inbox.work"                   # read and answer conversations
    MESSAGES_ALL = "messages.all"               # every message and conversation on a record
                                                # (without it: billing messages only)
    SCHEDULE_WORK = "schedule.work"             # book, move, cancel, check in
    FORMS_WORK = "forms.work"                   # send and review intake forms
    PAYMENT_LINK_SEND = "payment_link.send"
    BALANCE_VIEW = "balance.view"
    BALANCE_ADJUST = "balance.adjust"
    DENIALS_WORK = "denials.work"
    CAMPAIGNS_MANAGE = "campaigns.manage"       # aggregates only, never a single patient
    REPORTS_VIEW = "reports.view"
    USERS_MANAGE = "users.manage"
    SETTINGS_MANAGE = "settings.manage"
    CALENDARS_MANAGE = "calendars.manage"       # appointment types, provider hours, time off
    PRACTICE_SETTINGS = "practice.settings"     # set-up checklist, practice details,
                                                # locations, providers, patient CSV import
    AUDIT_VIEW = "audit.view"
    DEV_TOOLS = "dev.tools"                     # the development outbox


_FRONT_DESK = frozenset({
    Permission.DASHBOARD_VIEW, Permission.PATIENT_VIEW, Permission.PATIENT_EDIT,
    Permission.INBOX_WORK, Permission.MESSAGES_ALL, Permission.SCHEDULE_WORK,
    Permission.FORMS_WORK,
    Permission.PAYMENT_LINK_SEND, Permission.BALANCE_VIEW,
    Permission.PATIENT_MERGE,
})

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.FRONT_DESK: _FRONT_DESK,
    Role.MANAGER: _FRONT_DESK | {Permission.REPORTS_VIEW, Permission.DENIALS_WORK,
                                 Permission.BALANCE_ADJUST,
                                 Permission.CALENDARS_MANAGE, Permission.PRACTICE_SETTINGS},
    # Billing (minimum necessary, 45 CFR 164.502(b)): the patient's details, contact points and
    # consent, past visits (what is billed) and billing messages; not the conversations about
    # care and scheduling, nor upcoming visits.
    Role.BILLING: frozenset({
        Permission.DASHBOARD_VIEW, Permission.PATIENT_VIEW, Permission.BALANCE_VIEW,
        Permission.BALANCE_ADJUST, Permission.DENIALS_WORK, Permission.PAYMENT_LINK_SEND,
    }),
    Role.MARKETING: frozenset({Permission.DASHBOARD_VIEW, Permission.CAMPAIGNS_MANAGE}),
    Role.ADMIN: frozenset(Permission),
}


ROLE_LABELS = {
    Role.ADMIN: lazy_pgettext("role", "Admin"),  # the person; the nav's "Admin" is the section
    Role.MANAGER: _l("Manager"), Role.FRONT_DESK: _l("Front desk"),
    Role.BILLING: _l("Billing"), Role.MARKETING: _l("Marketing"),
}


def role_label(role: str) -> str:
    try:
        return str(ROLE_LABELS[Role(role)])
    except ValueError:
        return role


def role_can(role: str, permission: Permission) -> bool:
    try:
        return permission in ROLE_PERMISSIONS[Role(role)]
    except ValueError:
        return False


F = TypeVar("F", bound=Callable[..., Any])


def requires(permission: Permission) -> Callable[[F], F]:
    """Declare (and enforce) the permission a staff view needs. Anonymous → sign-in page;
    signed in without the permission → 403."""

    def decorate(view: F) -> F:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            from app.extensions import login_manager

            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not role_can(current_user.role, permission):
                abort(403)
            return view(*args, **kwargs)

        guarded.required_permission = permission  # type: ignore[attr-defined]
        return guarded  # type: ignore[return-value]

    return decorate


def public(view: F) -> F:
    """Declare a route open without a staff sign-in (patient links, webhooks, sign-in)."""
    view.is_public = True  # type: ignore[attr-defined]
    return view


def sessionless(view: F) -> F:
    """Declare a public route that never reads the staff session, because its caller has none
    to show: the published slot files (the same for everyone), the FHIR API (its bearer token
    says who calls) and the provider webhooks (``signed_webhook`` declares it). A request
    loads no signed-in user, touches no session row, sets no cookie and the answer does not
    vary by cookie (shared caches may keep a public file)."""
    view.is_sessionless = True  # type: ignore[attr-defined]
    return view


def reads_session(endpoint: str | None) -> bool:
    """Whether the request hooks may look at the staff session for this endpoint."""
    from flask import current_app

    if endpoint == "static":
        return False
    return not getattr(current_app.view_functions.get(endpoint or ""), "is_sessionless", False)


def any_staff(view: F) -> F:
    """Declare a route for any signed-in staff member whatever the role (sign out, own
    password). Carries no patient data."""

    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        from app.extensions import login_manager

        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        return view(*args, **kwargs)

    guarded.any_staff = True  # type: ignore[attr-defined]
    return guarded  # type: ignore[return-value]


def signed_webhook(verifier: Callable[[], Any]) -> Callable[[F], F]:
    """Declare (and enforce) a route that an outside system calls (Twilio, SendGrid, Stripe):
    open without a staff sign-in, sessionless and exempt from CSRF, because the caller has no
    session. ``verifier()`` checks the provider's signature on the current request before the view
    runs: it returns None for a verified request, else the response that refuses it, which is
    answered instead of calling the view."""

    def decorate(view: F) -> F:
        @wraps(view)
        def verified(*args: Any, **kwargs: Any) -> Any:
            refusal = verifier()
            if refusal is not None:
                return refusal
            return view(*args, **kwargs)

        verified.is_public = True  # type: ignore[attr-defined]
        verified.signed_webhook = True  # type: ignore[attr-defined]
        sessionless(verified)
        verified.signature_verifier = verifier  # type: ignore[attr-defined]
        csrf.exempt(verified)
        return verified  # type: ignore[return-value]

    return decorate
