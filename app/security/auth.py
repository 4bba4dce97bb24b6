"""Staff sign-in, sign-out, own password, and the session rules (Flask-Login).

Session rules: a staff member idle for SESSION_IDLE_MINUTES is signed out before their next
request is served; a password change signs out every other session (the session version in
``get_id``); a CSRF refusal gets a page that says what to do.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import UserMixin, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from app.core import clock
from app.core.tenancy import across_practices
from app.extensions import db, login_manager
from app.security import signin, staff
from app.security.models import StaffUser
from app.security.passwords import MIN_LENGTH, WeakPassword
from app.security.permissions import Permission, any_staff, public, role_can
from app.web import scope

bp = Blueprint("auth", __name__)

LAST_SEEN = "last_seen"  # session key: epoch seconds of the staff member's last request


class SignedInStaff(UserMixin):
    """The session's view of a staff user; ``get_id`` carries the session version so a
    password change signs out every other session."""

    def __init__(self, user: StaffUser) -> None:
        self.id = user.id
        self.email = user.email
        self.display_name = user.display_name
        self.role = user.role
        self.practice_id = user.practice_id
        self.session_version = user.session_version

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"


def strip_text(value: str | None) -> str | None:
    """WTForms filter: surrounding spaces (pasted addresses) are not part of the value."""
    return value.strip() if isinstance(value, str) else value


class SignInForm(FlaskForm):
    # test_environment also accepts *.test addresses: the demo accounts (README) use one.
    email = EmailField(_l("Email"), filters=[strip_text],
                       validators=[DataRequired(), Email(test_environment=True)])
    password = PasswordField(_l("Password"), validators=[DataRequired()])


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired()])
    new_password = PasswordField(_l("New password"), validators=[
        DataRequired(),
        Length(min=MIN_LENGTH, message=_l("Use at least %(min)d characters.", min=MIN_LENGTH)),
    ])
    confirm_password = PasswordField(_l("New password again"), validators=[
        DataRequired(), EqualTo("new_password", message=_l("The two new passwords differ.")),
    ])


def init_app(app: Flask) -> None:
    login_manager.login_view = "auth.sign_in"
    login_manager.login_message = _l("Please sign in to continue.")
    login_manager.session_protection = "strong"
    app.register_blueprint(bp)
    app.before_request(_act_for_signed_in_staff)
    app.before_request(_sign_out_when_idle)
    app.register_error_handler(CSRFError, _csrf_refused)
    app.jinja_env.globals["can"] = _can

    @login_manager.user_loader
    def load_user(user_id: str) -> SignedInStaff | None:
        raw_id, _, version = user_id.partition(":")
        if not raw_id.isdigit() or not version.isdigit():
            return None
        with across_practices():  # whose practice the request is for is what this decides
            user = db.session.get(StaffUser, int(raw_id))
        if user is None or not user.active or user.session_version != int(version):
            return None
        return SignedInStaff(user)


@bp.route("/sign-in", methods=["GET", "POST"])
@public
def sign_in() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("web.home"))
    form = SignInForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = signin.sign_in(email=form.email.data, password=form.password.data,
                                  ip=request.remote_addr or "unknown")
        except signin.IpBlocked as refused:
            status = 429
            flash(ngettext("Too many failed sign-ins from your network. "
                           "Try again in %(num)d minute.",
                           "Too many failed sign-ins from your network. "
                           "Try again in %(num)d minutes.", refused.minutes), "error")
        except signin.AccountLocked as refused:
            flash(ngettext("This account is locked for %(num)d minute "
                           "after repeated failed sign-ins.",
                           "This account is locked for %(num)d minutes "
                           "after repeated failed sign-ins.", refused.minutes), "error")
        except signin.InvalidCredentials:
            flash(_("That email and password do not match an active account."), "error")
        else:
            _start_session(user)
            return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/sign_in.html", form=form), status


@bp.post("/sign-out")
@any_staff
def sign_out() -> Any:
    signin.record_sign_out(user_id=current_user.id)
    logout_user()
    session.clear()
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.sign_in"))


@bp.route("/account/password", methods=["GET", "POST"])
@any_staff
def change_password() -> Any:
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            user = staff.change_password(user_id=current_user.id,
                                         current_password=form.current_password.data,
                                         new_password=form.new_password.data)
        except staff.WrongPassword:
            form.current_password.errors.append(_("That is not your current password."))
        except WeakPassword:
            form.new_password.errors.append(
                _("Use at least %(min)d characters.", min=MIN_LENGTH))
        else:
            _start_session(user)
            flash(_("Your password is changed. Any other sessions are signed out."), "info")
            return redirect(url_for("web.home"))
    return render_template("auth/password.html", form=form)


def _start_session(user: StaffUser) -> None:
    """A fresh session (no fixation) carrying the account's current session version."""
    session.clear()
    session.permanent = True
    login_user(SignedInStaff(user))
    session[LAST_SEEN] = int(clock.utcnow().timestamp())


def _act_for_signed_in_staff() -> None:
    """A signed-in staff member's requests act for their practice, whatever the page."""
    if request.endpoint != "static" and current_user.is_authenticated:
        scope.act_for(current_user.practice_id)


def _sign_out_when_idle() -> Any:
    if request.endpoint == "static" or not current_user.is_authenticated:
        return None
    idle_minutes = current_app.config["SESSION_IDLE_MINUTES"]
    now = int(clock.utcnow().timestamp())
    last_seen = session.get(LAST_SEEN)
    if isinstance(last_seen, int) and now - last_seen > idle_minutes * 60:
        signin.record_sign_out(user_id=current_user.id, idle_minutes=idle_minutes)
        logout_user()
        session.clear()
        flash(ngettext("You were signed out after %(num)d minute of inactivity.",
                       "You were signed out after %(num)d minutes of inactivity.",
                       idle_minutes), "info")
        next_url = request.full_path.rstrip("?") if request.method == "GET" else None
        return redirect(url_for("auth.sign_in", next=next_url))
    session[LAST_SEEN] = now
    return None


def _csrf_refused(error: CSRFError) -> Any:
    return render_template("auth/csrf_error.html", error=error), 400


def _can(permission: str) -> bool:
    """For templates: may the signed-in staff member use this permission?"""
    return bool(current_user.is_authenticated
                and role_can(current_user.role, Permission(permission)))


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("web.home")
