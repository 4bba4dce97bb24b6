"""`flask api-token create|list|revoke`: bearer tokens for FHIR API clients."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.core.ids import MAX_ROW_ID
from app.fhir import auth
from app.practice.cli import for_practice
from app.practice.models import Practice

api_token_cli = AppGroup("api-token", help="Bearer tokens for the FHIR API.")


@api_token_cli.command("create")
@click.option("--name", required=True, help="Who uses the token, e.g. 'Acme EHR sync'.")
@click.option("--scopes", required=True,
              help="Space-separated SMART system scopes, e.g. 'system/Patient.read'.")
@for_practice
def create(practice: Practice, name: str, scopes: str) -> None:
    """Issue a token and print it once: only its hash is kept."""
    try:
        issued = auth.create_token(name=name, scopes=scopes, practice_id=practice.id)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"API token {issued.id} created. Copy it now; it will not be shown again:")
    click.echo(issued.token)


@api_token_cli.command("list")
@for_practice
def list_(practice: Practice) -> None:
    """The practice's tokens: id, state, name, scopes, last use (never the token itself)."""
    rows = auth.list_tokens(practice_id=practice.id)
    if not rows:
        click.echo("No API tokens.")
    for row in rows:
        state = "active" if row.active else "revoked"
        used = row.last_used_at.isoformat(timespec="seconds") if row.last_used_at else "never"
        click.echo(f"{row.id}\t{state}\t{row.name}\t{row.scopes}\tlast used {used}")


@api_token_cli.command("revoke")
@click.argument("token_id", type=click.IntRange(1, MAX_ROW_ID))
@for_practice
def revoke(practice: Practice, token_id: int) -> None:
    """Revoke one of the practice's tokens at once."""
    try:
        row = auth.revoke_token(practice_id=practice.id, token_id=token_id)
    except LookupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"API token {row.id} ({row.name}) revoked.")
