"""Staff sign-in, sign-out and session rules (Flask-Login)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, flash, redirect, render_template, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import UserMixin, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Email

from app.extensions import db, login_manager
from app.security import audit
from app.security.models import StaffUser
from app.security.passwords import DUMMY_HASH, verify_password
from app.security.permissions import any_staff, public

bp = Blueprint("auth", __name__)


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


class SignInForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email()])
    password = PasswordField(_l("Password"), validators=[DataRequired()])


def init_app(app: Flask) -> None:
    login_manager.login_view = "auth.sign_in"
    login_manager.login_message = _l("Please sign in to continue.")
    login_manager.session_protection = "strong"
    app.register_blueprint(bp)

    @login_manager.user_loader
    def load_user(user_id: str) -> SignedInStaff | None:
        raw_id, _, version = user_id.partition(":")
        if not raw_id.isdigit() or not version.isdigit():
            return None
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
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        user = db.session.execute(
            db.select(StaffUser).filter_by(email=email)).scalar_one_or_none()
        ok = verify_password(user.password_hash if user else DUMMY_HASH, form.password.data)
        if user and ok and user.active:
            session.clear()
            session.permanent = True
            login_user(SignedInStaff(user))
            audit.record("auth.sign_in", actor=user)
            db.session.commit()
            return redirect(_safe_next(request.args.get("next")))
        audit.record("auth.sign_in_failed", detail={"email": email})
        db.session.commit()
        flash(_l("That email and password do not match an active account."), "error")
    return render_template("auth/sign_in.html", form=form)


@bp.post("/sign-out")
@any_staff
def sign_out() -> Any:
    audit.record("auth.sign_out")
    db.session.commit()
    logout_user()
    session.clear()
    flash(_l("You are signed out."), "info")
    return redirect(url_for("auth.sign_in"))


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("web.home")
