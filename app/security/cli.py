"""flask users ..."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from app.extensions import db
from app.practice.models import Practice
from app.security.models import StaffUser
from app.security.passwords import WeakPassword, hash_password
from app.security.permissions import Role, role_label

users_cli = AppGroup("users", help="Manage staff accounts.")


@users_cli.command("create", help="Create a staff account.")
@click.option("--email", required=True, help="Work email, used to sign in.")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--name", "display_name", default=None, help="Name shown to colleagues.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="Prompted for when not given.")
def create_user(email: str, role: str, display_name: str | None, password: str) -> None:
    email = email.strip().lower()
    practice = db.session.execute(select(Practice).order_by(Practice.id)).scalars().first()
    if practice is None:
        raise click.ClickException("no practice exists yet: run 'flask demo seed' first")
    if db.session.execute(select(StaffUser).filter_by(email=email)).scalar_one_or_none():
        raise click.ClickException(f"a user with email {email} already exists")
    try:
        password_hash = hash_password(password)
    except WeakPassword as error:
        raise click.ClickException(str(error)) from None
    db.session.add(StaffUser(practice_id=practice.id, email=email, role=role,
                             display_name=display_name or email.split("@")[0],
                             password_hash=password_hash))
    db.session.commit()
    click.echo(f"Created {role_label(role)} account {email}.")


@users_cli.command("list", help="List staff accounts.")
def list_users() -> None:
    users = db.session.execute(select(StaffUser).order_by(StaffUser.email)).scalars().all()
    if not users:
        click.echo("No staff accounts.")
    for user in users:
        state = "active" if user.active else "disabled"
        click.echo(f"{user.email:40} {role_label(user.role):12} {state}")
