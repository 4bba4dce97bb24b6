"""flask audit ..."""

from __future__ import annotations

import re

import click
from flask.cli import AppGroup

from app.security import audit

audit_cli = AppGroup("audit", help="Seal and check the audit trail.")

_CHECKPOINT = re.compile(r"^(\d+):([0-9a-fA-F]{64})$")


def _checkpoint(ctx: click.Context, param: click.Parameter,
                value: str | None) -> tuple[int, str] | None:
    if value is None:
        return None
    match = _CHECKPOINT.match(value.strip())
    if match is None:
        raise click.BadParameter("use ID:HASH as printed by an earlier 'flask audit verify' "
                                 "(e.g. 1234:9f86d0...), the hash being 64 hex digits")
    return int(match.group(1)), match.group(2).lower()


@audit_cli.command("verify", help="Recompute the audit trail's hash chain and name the first "
                                  "broken link. Exits 1 when the trail was tampered with.")
@click.option("--expect-last", callback=_checkpoint, metavar="ID:HASH",
              help="A checkpoint printed by an earlier run: fails when that event was deleted "
                   "from the end of the trail (which the chain alone cannot show).")
def verify(expect_last: tuple[int, str] | None) -> None:
    report = audit.verify_chain(expect_last=expect_last)
    if report.broken is not None:
        broken = report.broken
        raise click.ClickException(
            f"Audit trail broken at row {broken.id} "
            f"({broken.occurred_at.isoformat()}, {broken.action}): {broken.explanation}. "
            f"{report.verified} events before it verified.")
    if report.checkpoint_problem is not None:
        raise click.ClickException(
            f"Audit trail truncated: {report.checkpoint_problem}. "
            f"{report.verified} events verified.")
    click.echo(f"Audit trail intact: {report.verified} events verified.")
    if report.last_id is not None:
        click.echo(f"Checkpoint (keep it outside the database; pass it back with "
                   f"--expect-last to detect deleted trailing events): "
                   f"{report.last_id}:{report.last_hash}")


@audit_cli.command("seal", help="Chain every committed audit event not yet in the hash chain "
                                "(the scheduler's audit-seal job does it every minute).")
def seal() -> None:
    click.echo(f"{audit.seal()} audit events sealed.")
