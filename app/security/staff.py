"""Staff accounts: create, change role, disable, set and change passwords.

One code path for the admin screen, the account page and ``flask users``. Each function is one
transaction and audits what it changed (ids and field names only).
"""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select

from app.core import clock
from app.core.tenancy import across_practices
from app.extensions import db
from app.security import audit, sessions
from app.security.models import StaffUser
from app.security.passwords import hash_password
from app.security.permissions import Role
from app.security.signin import InvalidCredentials, check_current_password, normalize_email


class StaffError(ValueError):
    """A change to a staff account that cannot be made; ``field`` names the form field."""

    field = ""


class DuplicateEmail(StaffError):
    field = "email"


class InvalidEmail(StaffError):
    field = "email"


class UnknownRole(StaffError):
    field = "role"


class WrongPassword(StaffError):
    field = "current_password"


class LastAdmin(StaffError):
    """The change would leave the practice without an active admin: nobody could manage users."""

    field = "role"


class DisablingSelf(StaffError):
    field = "active"


class UnknownStaff(StaffError):
    field = "email"


def staff_of_practice(*, practice_id: int) -> list[StaffUser]:
    return list(db.session.execute(
        select(StaffUser).where(StaffUser.practice_id == practice_id)
        .order_by(StaffUser.display_name, StaffUser.email)).scalars())


def get_staff(*, practice_id: int, user_id: int) -> StaffUser | None:
    user = db.session.get(StaffUser, user_id)
    return user if user is not None and user.practice_id == practice_id else None


def find_by_email(*, practice_id: int, email: str) -> StaffUser:
    """The practice's staff member with this email; ``UnknownStaff`` when the practice has
    none (another practice's account is not found either)."""
    user = db.session.execute(
        select(StaffUser).filter_by(practice_id=practice_id, email=normalize_email(email))
    ).scalar_one_or_none()
    if user is None:
        raise UnknownStaff(f"no staff account with email {normalize_email(email)} "
                           f"in this practice")
    return user


def create_staff(*, practice_id: int, email: str, role: str, display_name: str | None,
                 password: str) -> StaffUser:
    """Raises ``InvalidEmail``, ``DuplicateEmail``, ``UnknownRole`` or
    ``passwords.WeakPassword``."""
    user = add_staff(practice_id=practice_id, email=email, role=role,
                     display_name=display_name, password=password)
    db.session.commit()
    return user


def clean_email(email: str) -> str:
    """The address as stored, or ``InvalidEmail``: checked as the invitation form checks it."""
    email = normalize_email(email)
    try:
        validate_email(email, check_deliverability=False, test_environment=True)
    except EmailNotValidError:
        raise InvalidEmail(f"{email!r} is not an email address") from None
    if len(email) > 254:
        raise InvalidEmail("the email address is longer than 254 characters")
    return email


def add_staff(*, practice_id: int, email: str, role: str, display_name: str | None,
              password: str) -> StaffUser:
    """``create_staff`` in the caller's transaction (an accepted invitation commits it)."""
    email = clean_email(email)
    check_role(role)
    with across_practices():  # an email signs in to one account in the whole deployment
        taken = db.session.execute(select(StaffUser.id).filter_by(email=email)).first()
    if taken:
        raise DuplicateEmail(f"a staff account with email {email} already exists")
    user = StaffUser(practice_id=practice_id, email=email, role=role,
                     display_name=(display_name or "").strip() or email.split("@")[0],
                     password_hash=hash_password(password), active=True,
                     password_changed_at=clock.utcnow())
    db.session.add(user)
    db.session.flush()
    audit.record("staff.create", object_type="staff_user", object_id=user.id,
                 detail={"role": role})
    return user


def update_staff(*, user_id: int, display_name: str | None = None, role: str | None = None,
                 active: bool | None = None, acting_user_id: int | None = None) -> StaffUser:
    """Change name, role or active flag; ``None`` leaves a field as it is.

    Nothing changes when it raises: ``DisablingSelf`` (``acting_user_id`` is the account),
    ``LastAdmin`` (no active admin would remain) or ``UnknownRole``."""
    user = db.session.get(StaffUser, user_id)
    if user is None:
        raise UnknownStaff(f"no staff account with id {user_id}")
    if active is False and user.active and user.id == acting_user_id:
        raise DisablingSelf("you cannot disable your own account")
    if role is not None:
        check_role(role)
    was_active_admin = user.active and user.role == Role.ADMIN.value
    changed: list[str] = []
    if display_name is not None and display_name.strip() != user.display_name:
        user.display_name = display_name.strip()
        changed.append("display_name")
    if role is not None and role != user.role:
        user.role = role
        changed.append("role")
    if active is not None and active != user.active:
        user.active = active
        changed.append("active")
        if not active:
            sessions.end_all(user_id=user.id, reason="disabled")
    if not changed:
        return user
    db.session.flush()
    if was_active_admin and _active_admins(practice_id=user.practice_id) == 0:
        db.session.rollback()
        raise LastAdmin("keep at least one active admin: this change would leave none")
    audit.record("staff.update", object_type="staff_user", object_id=user.id,
                 detail={"changed": changed, "role": user.role, "active": user.active})
    db.session.commit()
    return user


def change_password(*, user_id: int, current_password: str, new_password: str,
                    ip: str) -> StaffUser:
    """The staff member's own change. Ends every session of the account (the caller starts a
    fresh one for the browser that made the change).

    The current password is counted and locked like a sign-in (``signin.AccountLocked``,
    ``signin.IpBlocked``); a wrong one raises ``WrongPassword``, a weak new one
    ``passwords.WeakPassword``."""
    user = db.session.get(StaffUser, user_id)
    if user is None:
        raise UnknownStaff(f"no staff account with id {user_id}")
    try:
        check_current_password(user=user, password=current_password, ip=ip)
    except InvalidCredentials:
        raise WrongPassword("the current password is not right") from None
    _replace_password(user, new_password, reason="password_change")
    audit.record("auth.password_changed", actor=user, object_type="staff_user",
                 object_id=user.id)
    db.session.commit()
    return user


def set_password(*, user_id: int, password: str) -> StaffUser:
    """An operator's reset (``flask users set-password``): ends every session of the account
    and lifts a lockout."""
    user = db.session.get(StaffUser, user_id)
    if user is None:
        raise UnknownStaff(f"no staff account with id {user_id}")
    _replace_password(user, password, reason="password_set")
    user.locked_until = None
    audit.record("staff.password_set", object_type="staff_user", object_id=user.id)
    db.session.commit()
    return user


def _replace_password(user: StaffUser, password: str, *, reason: str) -> None:
    user.password_hash = hash_password(password)
    user.password_changed_at = clock.utcnow()
    sessions.end_all(user_id=user.id, reason=reason)


def check_role(role: str) -> None:
    if role not in {r.value for r in Role}:
        raise UnknownRole(f"{role!r} is not a role")


def _active_admins(*, practice_id: int) -> int:
    return db.session.execute(
        select(func.count(StaffUser.id)).where(
            StaffUser.practice_id == practice_id, StaffUser.role == Role.ADMIN.value,
            StaffUser.active.is_(True))).scalar_one()
