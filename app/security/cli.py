"""flask users ..."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.core import clock
from app.practice.cli import for_practice
from app.practice.models import Practice
from app.security import staff
from app.security.passwords import WeakPassword
from app.security.permissions import Role, role_label

users_cli = AppGroup("users", help="Manage staff accounts.")

_password_option = click.option(
    "--password", default=None, help="Prompted for (twice, hidden) when not given.")


def _password(given: str | None) -> str:
    """The password given, else asked for once the practice and the account are known."""
    if given is not None:
        return given
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@users_cli.command("create", help="Create a staff account.")
@click.option("--email", required=True, help="Work email, used to sign in.")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--name", "display_name", default=None, help="Name shown to colleagues.")
@_password_option
@for_practice
def create_user(practice: Practice, email: str, role: str, display_name: str | None,
                password: str | None) -> None:
    try:
        email = staff.clean_email(email)  # before asking for a password
        user = staff.create_staff(practice_id=practice.id, email=email, role=role,
                                  display_name=display_name, password=_password(password))
    except (staff.StaffError, WeakPassword) as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Created {role_label(role)} account {user.email} at {practice.name} "
               f"(practice {practice.id}).")


@users_cli.command("list", help="List the practice's staff accounts.")
@for_practice
def list_users(practice: Practice) -> None:
    users = sorted(staff.staff_of_practice(practice_id=practice.id), key=lambda u: u.email)
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
@for_practice
def set_password(practice: Practice, email: str, password: str | None) -> None:
    try:
        user_id = staff.find_by_email(practice_id=practice.id, email=email).id
        user = staff.set_password(user_id=user_id, password=_password(password))
    except (staff.StaffError, WeakPassword) as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Password set for {user.email}; their other sessions are signed out.")


@users_cli.command("disable", help="Stop a staff member from signing in (ends their sessions).")
@click.option("--email", required=True)
@for_practice
def disable(practice: Practice, email: str) -> None:
    _set_active(practice, email, active=False)


@users_cli.command("enable", help="Let a disabled staff member sign in again.")
@click.option("--email", required=True)
@for_practice
def enable(practice: Practice, email: str) -> None:
    _set_active(practice, email, active=True)


def _set_active(practice: Practice, email: str, *, active: bool) -> None:
    try:
        user = staff.update_staff(
            user_id=staff.find_by_email(practice_id=practice.id, email=email).id, active=active)
    except staff.StaffError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"{user.email} is {'enabled' if active else 'disabled'}.")
