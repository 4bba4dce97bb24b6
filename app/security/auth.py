"""Staff sign-in, sign-out, own password, and the session rules (Flask-Login).

Session rules (app/security/sessions.py): the cookie carries only a random session id, looked
up on every request; a staff member idle for SESSION_IDLE_MINUTES is signed out before their
next request is served; every session ends SESSION_ABSOLUTE_HOURS after sign-in, at sign-out,
and when the account's password changes (this browser gets a fresh session) or it is disabled;
a CSRF refusal gets a page that says what to do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import UserMixin, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from app.extensions import login_manager
from app.security import audit_context, sessions, signin, staff
from app.security.models import StaffSession, StaffUser
from app.security.passwords import MIN_LENGTH, WeakPassword
from app.security.permissions import Permission, any_staff, public, reads_session, role_can
from app.web import scope
from app.web.next_url import safe_next

bp = Blueprint("auth", __name__)


class SignedInStaff(UserMixin):
    """The request's view of a staff user and their session; ``get_id`` is the session id,
    the only thing the cookie holds."""

    def __init__(self, user: StaffUser, session_row: StaffSession, session_id: str) -> None:
        self.id = user.id
        self.email = user.email
        self.display_name = user.display_name
        self.role = user.role
        self.practice_id = user.practice_id
        self.session_row = session_row  # loaded once a request: the idle check, the touch
        self._session_id = session_id

    def get_id(self) -> str:
        return self._session_id


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
    app.session_interface = _SessionCookie()
    app.before_request(_act_for_signed_in_staff)
    app.before_request(_sign_out_when_idle)
    app.before_request(_audit_as_signed_in_staff)
    app.register_error_handler(CSRFError, _csrf_refused)
    app.jinja_env.globals["can"] = _can

    @login_manager.user_loader
    def load_user(session_id: str) -> SignedInStaff | None:
        found = sessions.find_live(session_id)
        if found is None:
            return None
        row, user = found
        return SignedInStaff(user, row, session_id)


@bp.route("/sign-in", methods=["GET", "POST"])
@public
def sign_in() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = SignInForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = signin.sign_in(email=form.email.data, password=form.password.data,
                                  ip=request.remote_addr or "unknown")
        except signin.IpBlocked as refused:
            status = 429
            flash(_refusal_text(refused), "error")
        except signin.AccountLocked as refused:
            flash(_refusal_text(refused), "error")
        except signin.InvalidCredentials:
            flash(_("That email and password do not match an active account."), "error")
        else:
            _start_session(user)
            landing = None if request.args.get("next") else _landing(user)
            if landing:
                return redirect(landing)
            return redirect(safe_next(request.args.get("next")) or url_for("home.index"))
    return render_template("auth/sign_in.html", form=form), status


@bp.post("/sign-out")
@any_staff
def sign_out() -> Any:
    sessions.end(_current_session(), reason="sign_out")
    signin.record_sign_out(user_id=current_user.id)
    logout_user()
    audit_context.act_as(None)
    session.clear()
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.sign_in"))


@bp.route("/account/password", methods=["GET", "POST"])
@any_staff
def change_password() -> Any:
    form = PasswordChangeForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = staff.change_password(user_id=current_user.id,
                                         current_password=form.current_password.data,
                                         new_password=form.new_password.data,
                                         ip=request.remote_addr or "unknown")
        except staff.WrongPassword:
            form.current_password.errors.append(_("That is not your current password."))
        except signin.IpBlocked as refused:
            status = 429
            form.current_password.errors.append(_refusal_text(refused))
        except signin.AccountLocked as refused:
            form.current_password.errors.append(_refusal_text(refused))
        except WeakPassword:
            form.new_password.errors.append(
                _("Use at least %(min)d characters.", min=MIN_LENGTH))
        else:
            _start_session(user)
            flash(_("Your password is changed. Any other sessions are signed out."), "info")
            return redirect(url_for("home.index"))
    return render_template("auth/password.html", form=form), status


def _refusal_text(refused: signin.AccountLocked | signin.IpBlocked) -> str:
    """What a locked account or a blocked network is told, at sign-in and at a password
    change alike."""
    if isinstance(refused, signin.IpBlocked):
        return ngettext("Too many failed sign-ins from your network. "
                        "Try again in %(num)d minute.",
                        "Too many failed sign-ins from your network. "
                        "Try again in %(num)d minutes.", refused.minutes)
    return ngettext("This account is locked for %(num)d minute "
                    "after repeated failed sign-ins.",
                    "This account is locked for %(num)d minutes "
                    "after repeated failed sign-ins.", refused.minutes)


def _start_session(user: StaffUser) -> None:
    """A fresh server-side session (no fixation): a new id in a cleared cookie."""
    session.clear()
    session.permanent = True
    row, session_id = sessions.start(
        user=user, absolute_hours=current_app.config["SESSION_ABSOLUTE_HOURS"],
        ip=request.remote_addr, user_agent=request.headers.get("User-Agent"))
    signed_in = SignedInStaff(user, row, session_id)
    login_user(signed_in)
    audit_context.act_as(signed_in)


class _SessionCookie(SecureCookieSessionInterface):
    """Flask's signed session cookie, left out of ``@sessionless`` answers: Flask-Login's
    remember-cookie check reads the session after every request, which would otherwise add
    ``Vary: Cookie`` to a public file the same for everyone."""

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if reads_session(request.endpoint):
            super().save_session(app, session, response)


def _current_session() -> StaffSession:
    return current_user.session_row


def _act_for_signed_in_staff() -> None:
    """A signed-in staff member's requests act for their practice, whatever the page."""
    if reads_session(request.endpoint) and current_user.is_authenticated:
        scope.act_for(current_user.practice_id)


def _audit_as_signed_in_staff() -> None:
    """The signed-in staff member is the actor of this request's audit events."""
    if reads_session(request.endpoint) and current_user.is_authenticated:
        audit_context.act_as(current_user._get_current_object())


def _sign_out_when_idle() -> Any:
    if not reads_session(request.endpoint) or not current_user.is_authenticated:
        return None
    idle_minutes = current_app.config["SESSION_IDLE_MINUTES"]
    row = _current_session()
    if sessions.is_idle(row, idle_minutes=idle_minutes):
        sessions.end(row, reason="idle")
        signin.record_sign_out(user_id=current_user.id, idle_minutes=idle_minutes)
        logout_user()
        session.clear()
        flash(ngettext("You were signed out after %(num)d minute of inactivity.",
                       "You were signed out after %(num)d minutes of inactivity.",
                       idle_minutes), "info")
        if request.headers.get("HX-Request"):  # a live refresh: the whole page goes
            return Response(status=204, headers={"HX-Redirect": url_for("auth.sign_in")})
        next_url = safe_next(request.full_path.rstrip("?")) if request.method == "GET" else None
        return redirect(url_for("auth.sign_in", next=next_url))
    if not sessions.is_passive(current_app.view_functions.get(request.endpoint or "")):
        sessions.touch(row)
    return None


Landing = Callable[[StaffUser], str | None]
_LANDING = "frontdesk.staff_landing"


def set_landing(app: Flask, landing: Landing) -> None:
    """Name where a user goes first after signing in without a ``next`` page: ``landing``
    returns a URL, or None for the home page. A package above security sets it (the set-up
    checklist, ``app.setup``), so security names no screen of theirs."""
    app.extensions[_LANDING] = landing


def _landing(user: StaffUser) -> str | None:
    landing = current_app.extensions.get(_LANDING)
    return landing(user) if landing else None


def _csrf_refused(error: CSRFError) -> Any:
    return render_template("auth/csrf_error.html", error=error), 400


def _can(permission: str) -> bool:
    """For templates: may the signed-in staff member use this permission?"""
    return bool(current_user.is_authenticated
                and role_can(current_user.role, Permission(permission)))
