"""`flask practice create|list`, and the ``--practice ID`` option of every practice's command.

A command that works on one practice's data is declared with ``@for_practice``: it gains
``--practice ID`` (default: the only practice, when exactly one exists), receives the
``Practice`` as its ``practice`` argument and runs inside ``acting_for(practice.id)``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import click
from flask.cli import AppGroup

from app.core.ids import MAX_ROW_ID
from app.core.tenancy import acting_for
from app.extensions import db
from app.practice.models import Practice
from app.practice.practices import (
    DuplicatePractice,
    PracticeInputError,
    create_practice,
    list_practices,
)

practice_cli = AppGroup("practice", help="Practices served by this deployment.")

_CREATE_HINT = ("flask practice create --name NAME --phone E164 --timezone IANA "
                "[--email EMAIL] [--website URL]")

F = TypeVar("F", bound=Callable[..., Any])


def resolve_practice(practice_id: int | None) -> Practice:
    """The practice ``--practice`` names, or the only one; ClickException (one line) otherwise."""
    if practice_id is not None:
        practice = db.session.get(Practice, practice_id)
        if practice is None:
            raise click.ClickException(
                f"--practice {practice_id}: no such practice (see 'flask practice list')")
        return practice
    practices = list_practices()
    if not practices:
        raise click.ClickException(f"no practice exists yet: create one with '{_CREATE_HINT}'")
    if len(practices) > 1:
        raise click.ClickException(
            f"{len(practices)} practices exist: choose one with --practice ID "
            "(see 'flask practice list')")
    return practices[0]


def for_practice(command: F) -> F:
    """Give a command ``--practice ID``; it receives ``practice`` and acts for it."""

    @click.option("--practice", "practice_id", type=click.IntRange(1, MAX_ROW_ID),
                  default=None, metavar="ID",
                  help="The practice to act for (default: the only practice).")
    @functools.wraps(command)
    def run(*args: Any, practice_id: int | None, **kwargs: Any) -> Any:
        practice = resolve_practice(practice_id)
        with acting_for(practice.id):
            return command(*args, practice=practice, **kwargs)

    return run  # type: ignore[return-value]


@practice_cli.command("create", help="Create a practice and print its id on the first line.")
@click.option("--name", required=True, help="The practice's name, as patients know it.")
@click.option("--phone", required=True, metavar="E164",
              help="The number patients call, e.g. +13125550100 (US numbers may be national).")
@click.option("--timezone", required=True, metavar="IANA", help="e.g. America/Chicago.")
@click.option("--email", default=None, help="Contact email address.")
@click.option("--website", default=None, help="Web address (http:// or https://).")
def create(name: str, phone: str, timezone: str, email: str | None,
           website: str | None) -> None:
    try:
        practice = create_practice(name=name, phone=phone, timezone=timezone, email=email,
                                   website=website)
    except PracticeInputError as error:
        raise click.ClickException(
            "; ".join(f"--{field}: {reason}" for field, reason in error.errors.items())
        ) from None
    except DuplicatePractice as error:
        raise click.ClickException(str(error)) from None
    click.echo(practice.id)
    click.echo(f'Created practice {practice.id} "{practice.name}" ({practice.timezone}). '
               f"Next: flask users create --practice {practice.id} --email EMAIL --role admin")


@practice_cli.command("list", help="List the practices, one a line: id, name, phone, "
                                   "time zone (tab-separated).")
def list_() -> None:
    practices = list_practices()
    if not practices:
        click.echo(f"No practices: create one with '{_CREATE_HINT}'.")
    for practice in practices:
        click.echo(f"{practice.id}\t{practice.name}\t{practice.phone}\t{practice.timezone}")
