"""Staff invitations: admins invite, renew and revoke; the invitee opens the link and
chooses a password."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from app.core import clock
from app.practice.practices import get_practice
from app.security import invitations, links, staff
from app.security.auth import strip_text
from app.security.passwords import MIN_LENGTH, WeakPassword
from app.security.permissions import Permission, Role, public, requires, role_label
from app.web import scope

bp = Blueprint("invitations", __name__)


class InviteForm(FlaskForm):
    email = EmailField(_l("Work email"), filters=[strip_text],
                       validators=[DataRequired(), Email(test_environment=True), Length(max=254)])
    role = SelectField(_l("Role"), validators=[DataRequired()], default=Role.FRONT_DESK.value,
                       choices=lambda: [(role.value, role_label(role)) for role in Role])


class AcceptForm(FlaskForm):
    display_name = StringField(_l("Your name"), filters=[strip_text],
                               validators=[DataRequired(), Length(max=120)])
    password = PasswordField(_l("Choose a password"), validators=[
        DataRequired(),
        Length(min=MIN_LENGTH, message=_l("Use at least %(min)d characters.", min=MIN_LENGTH)),
    ])
    confirm_password = PasswordField(_l("The password again"), validators=[
        DataRequired(), EqualTo("password", message=_l("The two passwords differ."))])


@bp.route("/admin/invitations", methods=["GET", "POST"])
@requires(Permission.USERS_MANAGE)
def index() -> Any:
    form = InviteForm()
    issued = None
    if form.validate_on_submit():
        try:
            issued = invitations.invite(practice_id=current_user.practice_id,
                                        email=form.email.data, role=form.role.data,
                                        invited_by_id=current_user.id)
        except staff.DuplicateEmail:
            form.email.errors.append(_("A staff account with this email already exists."))
        except invitations.AlreadyInvited:
            form.email.errors.append(_("This address is already invited: renew or revoke that "
                                       "invitation below."))
        else:
            form = InviteForm(formdata=None)
    return _list_page(form, issued)


@bp.post("/admin/invitations/<id:invitation_id>/renew")
@requires(Permission.USERS_MANAGE)
def renew(invitation_id: int) -> Any:
    _check_csrf()
    try:
        issued = invitations.renew(practice_id=current_user.practice_id,
                                   invitation_id=invitation_id)
    except invitations.InvitationNotFound:
        abort(404)
    return _list_page(InviteForm(formdata=None), issued)


@bp.post("/admin/invitations/<id:invitation_id>/revoke")
@requires(Permission.USERS_MANAGE)
def revoke(invitation_id: int) -> Any:
    _check_csrf()
    try:
        invitation = invitations.revoke(practice_id=current_user.practice_id,
                                        invitation_id=invitation_id)
    except invitations.InvitationNotFound:
        abort(404)
    flash(_("Revoked the invitation for %(email)s: its link no longer works.",
            email=invitation.email), "info")
    return redirect(url_for(".index"))


@bp.route("/invite/<token>", methods=["GET", "POST"])
@public
def accept(token: str) -> Any:
    try:
        invitation, _claims = invitations.open_link(token)
    except links.LinkError as refused:
        return _refused(refused)
    scope.act_for(invitation.practice_id)
    form = AcceptForm()
    if form.validate_on_submit():
        try:
            user = invitations.accept(token=token, display_name=form.display_name.data,
                                      password=form.password.data)
        except links.LinkError as refused:
            return _refused(refused)
        except WeakPassword:
            form.password.errors.append(_("Use at least %(min)d characters.", min=MIN_LENGTH))
        except staff.DuplicateEmail:
            form.display_name.errors.append(
                _("A staff account with this email already exists: sign in with it."))
        else:
            flash(_("Your account is ready, %(email)s: sign in with your new password.",
                    email=user.email), "success")
            return redirect(url_for("auth.sign_in"))
    return render_template(
        "admin/accept_invitation.html", form=form, invitation=invitation,
        role=role_label(invitation.role),
        practice_shown=get_practice(practice_id=invitation.practice_id),
    ), 400 if form.errors else 200


def _list_page(form: InviteForm, issued: invitations.IssuedLink | None) -> Any:
    zone = ZoneInfo(get_practice(practice_id=current_user.practice_id).timezone)
    return render_template(
        "admin/invitations.html", form=form, issued=issued, now=clock.utcnow(), zone=zone,
        revoke_form=FlaskForm(formdata=None),
        invitations=invitations.pending(practice_id=current_user.practice_id),
    ), 400 if form.errors else 200


def _check_csrf() -> None:
    if not FlaskForm().validate():
        abort(400)


def _refused(refused: links.LinkError) -> Any:
    links.refuse_link(purpose=invitations.PURPOSE, reason=refused.reason)
    return render_template("admin/invitation_invalid.html", reason=refused.reason), \
        refused.status
