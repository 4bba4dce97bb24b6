"""Staff invitations: an admin invites a staff member by email and role, and the invitee
chooses their own password through a signed, expiring, single-use link.

The link is shown to the admin to pass on. Frontdesk sends email only to patients, through
the outbox, whose rules (consent, quiet hours, the patient's language) are not a staff
member's; there is no email path for staff, and an invitation is not a patient message.

The invitation keeps the id of its one valid token: a new link (``renew``) or a revocation
makes an older link worthless, and accepting spends the token (``consume_link_token``) in
the transaction that creates the account.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from app.core import clock
from app.core.tenancy import across_practices
from app.extensions import db
from app.security import audit, links, staff
from app.security.links import LinkInvalid, LinkPurpose, LinkUsed
from app.security.models import StaffInvitation, StaffUser
from app.security.signin import normalize_email

PURPOSE = LinkPurpose.STAFF_INVITATION


class AlreadyInvited(staff.StaffError):
    field = "email"


class InvitationNotFound(LookupError):
    """No open invitation with that id in this practice."""


@dataclass(frozen=True)
class IssuedLink:
    invitation: StaffInvitation
    url: str


def pending(*, practice_id: int) -> list[StaffInvitation]:
    """Invitations neither accepted nor revoked (expired ones too: the admin renews them)."""
    return list(db.session.execute(
        select(StaffInvitation).where(StaffInvitation.practice_id == practice_id,
                                      StaffInvitation.accepted_at.is_(None),
                                      StaffInvitation.revoked_at.is_(None))
        .order_by(StaffInvitation.created_at.desc(), StaffInvitation.id.desc())).scalars())


def invite(*, practice_id: int, email: str, role: str, invited_by_id: int) -> IssuedLink:
    """Raises ``staff.DuplicateEmail`` (an account has the address), ``AlreadyInvited`` (an
    open invitation in this practice has it) or ``staff.UnknownRole``."""
    email = normalize_email(email)
    staff.check_role(role)
    if db.session.execute(select(StaffUser.id).filter_by(email=email)).first():
        raise staff.DuplicateEmail(f"a staff account with email {email} already exists")
    if any(invitation.email == email for invitation in pending(practice_id=practice_id)):
        raise AlreadyInvited(f"{email} is already invited: renew or revoke that invitation")
    invitation = StaffInvitation(practice_id=practice_id, email=email, role=role, token_id="",
                                 expires_at=clock.utcnow(), invited_by_id=invited_by_id)
    db.session.add(invitation)
    db.session.flush()
    url = _new_link(invitation)
    audit.record(audit.Action.STAFF_INVITE, object_type="staff_invitation",
                 object_id=invitation.id, detail={"role": role})
    db.session.commit()
    return IssuedLink(invitation, url)


def renew(*, practice_id: int, invitation_id: int) -> IssuedLink:
    """A fresh link (a full lifetime again); the previous one stops working."""
    invitation = _open(practice_id, invitation_id)
    url = _new_link(invitation)
    audit.record(audit.Action.STAFF_INVITE_RENEWED, object_type="staff_invitation",
                 object_id=invitation.id)
    db.session.commit()
    return IssuedLink(invitation, url)


def revoke(*, practice_id: int, invitation_id: int) -> StaffInvitation:
    invitation = _open(practice_id, invitation_id)
    invitation.revoked_at = clock.utcnow()
    audit.record(audit.Action.STAFF_INVITE_REVOKED, object_type="staff_invitation",
                 object_id=invitation.id)
    db.session.commit()
    return invitation


def open_link(token: str) -> tuple[StaffInvitation, links.LinkClaims]:
    """The invitation a link names, or a ``links.LinkError``: not ours (``LinkInvalid``),
    expired (``LinkExpired``), used, replaced by a newer link or revoked (``LinkUsed``)."""
    claims = links.verify_link_token(token, PURPOSE)
    with across_practices():  # the signed link names the practice, not a session
        invitation = db.session.get(StaffInvitation, int(claims.subject_id))
    if invitation is None:
        raise LinkInvalid()
    if (invitation.token_id != claims.token_id or invitation.accepted_at is not None
            or invitation.revoked_at is not None):
        raise LinkUsed()
    return invitation, claims


def accept(*, token: str, display_name: str, password: str) -> StaffUser:
    """Create the invitee's account with the password they chose, and spend the link.

    Raises a ``links.LinkError`` (see ``open_link``), ``passwords.WeakPassword`` or
    ``staff.DuplicateEmail`` (an account with the address was made meanwhile)."""
    invitation, claims = open_link(token)
    user = staff.add_staff(practice_id=invitation.practice_id, email=invitation.email,
                           role=invitation.role, display_name=display_name, password=password)
    invitation.accepted_at = clock.utcnow()
    links.consume_link_token(claims)
    audit.record(audit.Action.STAFF_INVITE_ACCEPTED, actor=user,
                 object_type="staff_invitation", object_id=invitation.id)
    db.session.commit()
    return user


def _open(practice_id: int, invitation_id: int) -> StaffInvitation:
    invitation = db.session.get(StaffInvitation, invitation_id)
    if (invitation is None or invitation.practice_id != practice_id
            or invitation.accepted_at is not None or invitation.revoked_at is not None):
        raise InvitationNotFound(invitation_id)
    return invitation


def _new_link(invitation: StaffInvitation) -> str:
    token = links.issue_link_token(PURPOSE, invitation.id)
    claims = links.verify_link_token(token, PURPOSE)
    invitation.token_id = claims.token_id
    invitation.expires_at = claims.expires_at
    return links.public_link_url(PURPOSE, token)
