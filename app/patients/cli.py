"""flask import patients FILE.csv"""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from app.patients.importer import ImportFileError, count_data_rows, import_patients, read_rows
from app.patients.services import reindex_patients
from app.practice.cli import for_practice
from app.practice.models import Practice

import_cli = AppGroup("import", help="Bring data in from the practice's old system.")
patients_cli = AppGroup("patients", help="Maintain patient records.")


@patients_cli.command("reindex", help="Recompute every patient's blind indexes (the name "
                      "prefixes search uses included), in every practice.")
@click.option("--batch-size", type=click.IntRange(min=1), default=200, show_default=True,
              help="Patients per transaction.")
def reindex_command(batch_size: int) -> None:
    count = reindex_patients(batch_size=batch_size)
    click.echo(f"Reindexed {count} patients")


@import_cli.command("patients", help="Import or update patients from a CSV file.")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check every row and report; write nothing.")
@for_practice
def import_patients_command(practice: Practice, csv_file: Path, dry_run: bool) -> None:
    try:
        with csv_file.open(newline="", encoding="utf-8-sig") as stream:
            total = count_data_rows(stream)  # reads it all: a byte that is not UTF-8 stops here
            stream.seek(0)
            next(read_rows(stream), None)  # so does a bad header, before the progress bar
        with csv_file.open(newline="", encoding="utf-8-sig") as stream, click.progressbar(
                length=total, label="Importing patients") as bar:
            report = import_patients(practice_id=practice.id, rows=read_rows(stream),
                                     dry_run=dry_run, on_row=lambda: bar.update(1))
    except ImportFileError as error:
        raise click.ClickException(f"{csv_file.name}: {error}") from None
    except UnicodeDecodeError:
        raise click.ClickException(
            f"{csv_file.name}: not UTF-8 text (save it from the spreadsheet as CSV UTF-8)"
        ) from None
    heading = "Dry run (nothing written)" if dry_run else "Import finished"
    verb = "would be " if dry_run else ""
    click.echo(f"{heading}: {report.rows} rows")
    click.echo(f"  imported:  {report.imported} {verb}new")
    click.echo(f"  updated:   {report.updated}")
    click.echo(f"  unchanged: {report.unchanged}")
    click.echo(f"  rejected:  {len(report.rejected)}")
    for rejected in report.rejected:
        click.echo(f"    line {rejected.line}: {rejected.reason}")

