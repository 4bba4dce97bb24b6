"""Staff sign-in with per-account and per-IP lockouts, and sign-out auditing.

The same counting guards the current password a signed-in staff member types to change it
(``check_current_password``): a stolen session cannot guess it without limit, and its
failures lock the account for sign-in too.

Every attempt that reaches a password check leaves a ``SignInAttempt`` row; the lockouts are
counted from those rows, so they hold across processes and machines. Attempts refused because
of a lockout are audited but not counted, so a lockout lifts on time however often it is hit.

An unknown email and a wrong password look alike from outside: same message, same argon2 work,
and an unknown email "locks" after the same number of failures as a real account. Audit
events name the account through their actor when it exists; a typed email that matches no
account is kept only in ``SignInAttempt`` (the lockout needs it), never in the audit detail.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import delete, func, select

from app.core import clock
from app.core.metrics import SIGN_IN_FAILURES
from app.core.tenancy import across_practices
from app.extensions import db
from app.security import audit
from app.security.audit import Action
from app.security.models import SignInAttempt, StaffUser
from app.security.passwords import dummy_hash, verify_password


class SignInRefused(Exception):
    """The sign-in did not succeed; subclasses say why, never whether the password was right."""


class InvalidCredentials(SignInRefused):
    pass


class _Lockout(SignInRefused):
    def __init__(self, until: datetime, now: datetime) -> None:
        super().__init__(until.isoformat())
        self.until = until
        self.minutes = max(1, math.ceil((until - now).total_seconds() / 60))


class AccountLocked(_Lockout):
    pass


class IpBlocked(_Lockout):
    pass


@dataclass(frozen=True)
class LockoutPolicy:
    max_failures: int
    max_failures_per_ip: int
    window: timedelta

    @classmethod
    def from_config(cls, config: Any) -> LockoutPolicy:
        return cls(max_failures=config["LOGIN_MAX_FAILURES"],
                   max_failures_per_ip=config["LOGIN_MAX_FAILURES_PER_IP"],
                   window=timedelta(minutes=config["LOGIN_LOCKOUT_MINUTES"]))


def normalize_email(email: str) -> str:
    return email.strip().lower()


def sign_in(*, email: str, password: str, ip: str) -> StaffUser:
    """Check a staff member's credentials and return the account, or raise ``SignInRefused``.

    Commits the attempt and its audit events either way."""
    policy = LockoutPolicy.from_config(current_app.config)
    now = clock.utcnow()
    email = normalize_email(email)
    with across_practices():  # an email names one account in the whole deployment
        user = db.session.execute(select(StaffUser).filter_by(email=email)).scalar_one_or_none()
    try:
        _refuse_if_locked(email=email, user=user, ip=ip, now=now, policy=policy,
                          failed=Action.SIGN_IN_FAILED)
        ok = verify_password(user.password_hash if user else dummy_hash(), password)
        if user is None or not ok or not user.active:
            _record_failure(email=email, user=user, ip=ip, now=now, policy=policy,
                            failed=Action.SIGN_IN_FAILED)
    except SignInRefused as refusal:
        db.session.commit()
        SIGN_IN_FAILURES.labels(reason=type(refusal).__name__).inc()
        raise
    db.session.add(SignInAttempt(at=now, email=email, ip=ip, succeeded=True))
    user.last_sign_in_at = now
    user.locked_until = None
    audit.record(Action.SIGN_IN, actor=user, occurred_at=now)
    db.session.commit()
    return user


def check_current_password(*, user: StaffUser, password: str, ip: str) -> None:
    """A signed-in staff member's current password, typed again (to change it), counted and
    locked exactly like a sign-in: raises ``InvalidCredentials``, ``AccountLocked`` or
    ``IpBlocked`` after committing the failure and its audit events (action
    ``auth.password_change_failed``). A right password counts as a success, so earlier
    failures stop counting; the caller commits it with the change."""
    policy = LockoutPolicy.from_config(current_app.config)
    now = clock.utcnow()
    try:
        _refuse_if_locked(email=user.email, user=user, ip=ip, now=now, policy=policy,
                          failed=Action.PASSWORD_CHANGE_FAILED)
        if not verify_password(user.password_hash, password):
            _record_failure(email=user.email, user=user, ip=ip, now=now, policy=policy,
                            failed=Action.PASSWORD_CHANGE_FAILED)
    except SignInRefused:
        db.session.commit()
        raise
    db.session.add(SignInAttempt(at=now, email=user.email, ip=ip, succeeded=True))


def record_sign_out(*, user_id: int, idle_minutes: int | None = None) -> None:
    """Audit a sign-out: by the staff member, or by the idle timeout."""
    user = db.session.get(StaffUser, user_id)
    if idle_minutes is None:
        audit.record("auth.sign_out", actor=user)
    else:
        audit.record("auth.idle_sign_out", actor=user, detail={"idle_minutes": idle_minutes})
    db.session.commit()


def prune_attempts(*, now: datetime | None = None) -> int:
    """Delete sign-in attempts no lockout can count any more; return how many. Commits.

    The lockouts look back one window. Attempts are kept for twice the window, and at least a
    day, so a window lengthened since they were made still finds them."""
    policy = LockoutPolicy.from_config(current_app.config)
    now = now or clock.utcnow()
    keep = max(policy.window * 2, timedelta(days=1))
    result = db.session.execute(delete(SignInAttempt).where(SignInAttempt.at < now - keep))
    db.session.commit()
    return result.rowcount


def _refuse_if_locked(*, email: str, user: StaffUser | None, ip: str, now: datetime,
                      policy: LockoutPolicy, failed: Action) -> None:
    ip_until = _ip_blocked_until(ip=ip, now=now, policy=policy)
    if ip_until is not None:
        audit.record(failed, actor=user, occurred_at=now, detail={"reason": "ip_blocked"})
        raise IpBlocked(ip_until, now)
    account_until = _account_locked_until(email=email, user=user, now=now, policy=policy)
    if account_until is not None:
        audit.record(failed, actor=user, occurred_at=now, detail={"reason": "account_locked"})
        raise AccountLocked(account_until, now)


def _record_failure(*, email: str, user: StaffUser | None, ip: str, now: datetime,
                    policy: LockoutPolicy, failed: Action) -> None:
    """Count the failure, lock the account and block the IP when over their limits, and raise
    the refusal the person should see."""
    db.session.add(SignInAttempt(at=now, email=email, ip=ip, succeeded=False))
    audit.record(failed, actor=user, occurred_at=now, detail={"reason": "credentials"})
    db.session.flush()
    refusal: SignInRefused = InvalidCredentials(email)
    if len(_account_failures(email=email, now=now, policy=policy)) >= policy.max_failures:
        until = now + policy.window
        if user is not None:
            user.locked_until = until
        audit.record(Action.ACCOUNT_LOCKED, actor=user, occurred_at=now,
                     detail={"failures": policy.max_failures})
        refusal = AccountLocked(until, now)
    ip_until = _ip_blocked_until(ip=ip, now=now, policy=policy)
    if ip_until is not None:
        audit.record(Action.IP_BLOCKED, occurred_at=now,
                     detail={"failures": policy.max_failures_per_ip})
        refusal = IpBlocked(ip_until, now)
    raise refusal


def _ip_blocked_until(*, ip: str, now: datetime, policy: LockoutPolicy) -> datetime | None:
    """The block lifts when the oldest failure that keeps the count at the limit ages out."""
    failures = db.session.execute(
        select(SignInAttempt.at)
        .where(SignInAttempt.ip == ip, SignInAttempt.succeeded.is_(False),
               SignInAttempt.at > now - policy.window)
        .order_by(SignInAttempt.at.desc())
        .limit(policy.max_failures_per_ip)
    ).scalars().all()
    if len(failures) < policy.max_failures_per_ip:
        return None
    return failures[-1] + policy.window


def _account_failures(*, email: str, now: datetime, policy: LockoutPolicy) -> list[datetime]:
    """Failures for this email in the window since its last successful sign-in, newest first."""
    last_success = db.session.execute(
        select(func.max(SignInAttempt.at))
        .where(SignInAttempt.email == email, SignInAttempt.succeeded.is_(True))
    ).scalar_one_or_none()
    since = now - policy.window
    if last_success is not None:
        since = max(since, last_success)
    return list(db.session.execute(
        select(SignInAttempt.at)
        .where(SignInAttempt.email == email, SignInAttempt.succeeded.is_(False),
               SignInAttempt.at > since)
        .order_by(SignInAttempt.at.desc())
    ).scalars())


def _account_locked_until(*, email: str, user: StaffUser | None, now: datetime,
                          policy: LockoutPolicy) -> datetime | None:
    if user is not None:
        return user.locked_until if user.locked_until and user.locked_until > now else None
    # No account row to hold the lock: derive it from the attempts, so an unknown email
    # locks exactly like a real one and does not reveal that it is unknown.
    failures = _account_failures(email=email, now=now, policy=policy)
    if len(failures) < policy.max_failures:
        return None
    until = failures[0] + policy.window
    return until if until > now else None
