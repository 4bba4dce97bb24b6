"""flask demo seed / flask demo logins"""

from __future__ import annotations

import time

import click
from flask.cli import AppGroup

from app.demo import seed

demo_cli = AppGroup("demo", help="The demo practice (Lakeside Family Dental).")


@demo_cli.command("seed", help="Create the demo practice; a second run changes nothing.")
@click.option("--if-empty", is_flag=True,
              help="Seed only when the database has no practice at all (used by make run).")
def seed_command(if_empty: bool) -> None:
    if if_empty and seed.any_practice_exists():
        click.echo("A practice is already set up; the demo seed is not needed.")
        return
    started = time.monotonic()
    try:
        summary = seed.seed_demo()
    except seed.DemoAlreadySeeded:
        click.echo("The demo practice already exists; nothing changed.")
        return
    except seed.DemoSeedConflict as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Seeded {summary.practice_name} in {time.monotonic() - started:.1f} s:")
    click.echo(f"  {summary.locations} locations, {summary.providers} providers, "
               f"{summary.staff} staff accounts")
    click.echo(f"  {summary.patients} patients ({summary.households} households sharing a "
               f"phone)")
    click.echo(f"  {summary.appointments} appointments")
    click.echo(f"  {summary.conversations} conversations ({summary.unread_conversations} unread)")
    click.echo(f"  {summary.form_responses} intake forms answered")


@demo_cli.command("logins", help="Print the demo staff sign-ins.")
def logins_command() -> None:
    logins = seed.demo_logins()
    if not logins:
        click.echo("The demo practice is not seeded: run 'flask demo seed'.")
        return
    click.echo("Demo sign-ins:")
    for login in logins:
        click.echo(f"  {login.email:34} {login.role_label:12} password: {login.password}")
