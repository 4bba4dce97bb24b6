"""flask users ..."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from app.core import clock
from app.extensions import db
from app.practice.models import Practice
from app.security import staff
from app.security.models import StaffUser
from app.security.passwords import WeakPassword
from app.security.permissions import Role, role_label

users_cli = AppGroup("users", help="Manage staff accounts.")

_password_option = click.option(
    "--password", prompt=True, hide_input=True, confirmation_prompt=True,
    help="Prompted for (twice, hidden) when not given.")


@users_cli.command("create", help="Create a staff account.")
@click.option("--email", required=True, help="Work email, used to sign in.")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--name", "display_name", default=None, help="Name shown to colleagues.")
@_password_option
def create_user(email: str, role: str, display_name: str | None, password: str) -> None:
    practice = db.session.execute(select(Practice).order_by(Practice.id)).scalars().first()
    if practice is None:
        raise click.ClickException("no practice exists yet: run 'flask demo seed' first")
    try:
        user = staff.create_staff(practice_id=practice.id, email=email, role=role,
                                  display_name=display_name, password=password)
    except (staff.StaffError, WeakPassword) as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Created {role_label(role)} account {user.email}.")


@users_cli.command("list", help="List staff accounts.")
def list_users() -> None:
    users = db.session.execute(select(StaffUser).order_by(StaffUser.email)).scalars().all()
    if not users:
        click.echo("No staff accounts.")
    now = clock.utcnow()
    for user in users:
        state = "active" if user.active else "disabled"
        if user.locked_until and user.locked_until > now:
            state += ", locked"
        click.echo(f"{user.email:40} {role_label(user.role):12} {state}")


@users_cli.command("set-password", help="Set a staff member's password and sign out their "
                                        "sessions; also lifts a sign-in lockout.")
@click.option("--email", required=True)
@_password_option
def set_password(email: str, password: str) -> None:
    try:
        user = staff.set_password(user_id=staff.find_by_email(email=email).id,
                                  password=password)
    except (staff.StaffError, WeakPassword) as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Password set for {user.email}; their other sessions are signed out.")


@users_cli.command("disable", help="Stop a staff member from signing in (ends their sessions).")
@click.option("--email", required=True)
def disable(email: str) -> None:
    _set_active(email, active=False)


@users_cli.command("enable", help="Let a disabled staff member sign in again.")
@click.option("--email", required=True)
def enable(email: str) -> None:
    _set_active(email, active=True)


def _set_active(email: str, *, active: bool) -> None:
    try:
        user = staff.update_staff(user_id=staff.find_by_email(email=email).id, active=active)
    except staff.StaffError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"{user.email} is {'enabled' if active else 'disabled'}.")
