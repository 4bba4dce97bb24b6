"""flask journeys report: the journeys' weekly numbers (counts only)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.journeys.reports import weekly
from app.practice.cli import for_practice
from app.practice.models import Practice

journeys_cli = AppGroup("journeys", help="Appointment confirmations and reminders.")


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


@journeys_cli.command("report", help="Confirmation rate, reminders per visit and no-show "
                                     "rate per week.")
@click.option("--weeks", type=click.IntRange(1, 104), default=8, show_default=True)
@for_practice
def report_command(practice: Practice, weeks: int) -> None:
    click.echo("week of      visits  confirmed  reminders/visit  no-show rate")
    for row in weekly(practice_id=practice.id, weeks=weeks):
        per_visit = "-" if row.reminders_per_visit is None else f"{row.reminders_per_visit:.1f}"
        click.echo(f"{row.week_start}  {row.visits:6d}  {_percent(row.confirmation_rate):>9}"
                   f"  {per_visit:>15}  {_percent(row.no_show_rate):>12}")
