"""Admin screens for staff accounts: list, create, change role, disable and enable."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length

from app.core import clock
from app.security import staff
from app.security.auth import strip_text
from app.security.passwords import MIN_LENGTH, WeakPassword
from app.security.permissions import Permission, Role, requires, role_can, role_label

bp = Blueprint("users", __name__, url_prefix="/admin/users")


def _role_choices() -> list[tuple[str, str]]:
    return [(role.value, role_label(role)) for role in Role]


class StaffCreateForm(FlaskForm):
    email = EmailField(_l("Work email"), filters=[strip_text],
                       validators=[DataRequired(), Email(test_environment=True), Length(max=254)])
    display_name = StringField(_l("Name"), filters=[strip_text],
                               validators=[DataRequired(), Length(max=120)])
    role = SelectField(_l("Role"), choices=_role_choices, validators=[DataRequired()])
    password = PasswordField(_l("First password"), validators=[
        DataRequired(),
        Length(min=MIN_LENGTH, message=_l("Use at least %(min)d characters.", min=MIN_LENGTH)),
    ])


class StaffEditForm(FlaskForm):
    display_name = StringField(_l("Name"), filters=[strip_text],
                               validators=[DataRequired(), Length(max=120)])
    role = SelectField(_l("Role"), choices=_role_choices, validators=[DataRequired()])
    active = BooleanField(_l("Active: may sign in"))


@bp.get("")
@requires(Permission.USERS_MANAGE)
def index() -> Any:
    return render_template("admin/users.html", now=clock.utcnow(),
                           users=staff.staff_of_practice(practice_id=current_user.practice_id))


@bp.route("/new", methods=["GET", "POST"])
@requires(Permission.USERS_MANAGE)
def create() -> Any:
    form = StaffCreateForm()
    if form.validate_on_submit():
        try:
            user = staff.create_staff(practice_id=current_user.practice_id,
                                      email=form.email.data, role=form.role.data,
                                      display_name=form.display_name.data,
                                      password=form.password.data)
        except staff.DuplicateEmail:
            form.email.errors.append(_("A staff account with this email already exists."))
        except WeakPassword:
            form.password.errors.append(_("Use at least %(min)d characters.", min=MIN_LENGTH))
        else:
            flash(_("Created the account for %(email)s.", email=user.email), "info")
            return redirect(url_for("users.index"))
    return render_template("admin/users_form.html", form=form, user=None)


@bp.route("/<id:user_id>", methods=["GET", "POST"])
@requires(Permission.USERS_MANAGE)
def edit(user_id: int) -> Any:
    user = staff.get_staff(practice_id=current_user.practice_id, user_id=user_id)
    if user is None:
        abort(404)
    form = StaffEditForm(obj=user)
    if form.validate_on_submit():
        try:
            user = staff.update_staff(user_id=user.id, display_name=form.display_name.data,
                                      role=form.role.data, active=form.active.data,
                                      acting_user_id=current_user.id)
        except staff.DisablingSelf:
            form.active.errors.append(_("You cannot disable your own account."))
        except staff.LastAdmin:
            form.role.errors.append(_("Keep at least one active admin: this change would "
                                      "leave the practice without one."))
        else:
            flash(_("Saved the account for %(email)s.", email=user.email), "info")
            if user.id == current_user.id and not role_can(user.role,
                                                           Permission.USERS_MANAGE):
                return redirect(url_for("home.index"))
            return redirect(url_for("users.index"))
    return render_template("admin/users_form.html", form=form, user=user)
