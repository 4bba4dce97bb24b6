"""Patients from the practice's old system: a CSV file, imported or updated in one pass.

Rows are validated before anything is written, so one bad row is rejected with its line number
and reason (in the request's language; the CLI's is English) while the others go in. A second
run matches patients by ``external_id`` (through its blind index) and updates them instead of
creating duplicates.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TextIO

from flask_babel import gettext as _
from sqlalchemy import select

from app.extensions import db
from app.patients.lookups import patients_by_name_and_birth_date
from app.patients.models import Patient
from app.patients.services import (
    PatientFields,
    PatientInputError,
    changed_fields,
    clean_patient_fields,
    create_patient,
    update_patient,
)
from app.security import audit, blind_index

COLUMNS = ("external_id", "first_name", "last_name", "date_of_birth", "sex", "mobile_phone",
           "home_phone", "email", "language", "address_line", "city", "state", "postal_code")
REQUIRED_COLUMNS = ("first_name", "last_name", "date_of_birth")
# CSV column → PatientFields name, where they differ.
_FIELD_FOR_COLUMN = {"first_name": "given_name", "last_name": "family_name",
                     "language": "preferred_language"}
_COMMIT_EVERY = 500


class ImportFileError(ValueError):
    """The file as a whole cannot be imported (no header, missing columns)."""


@dataclass(frozen=True)
class RejectedRow:
    line: int
    reason: str


@dataclass
class ImportReport:
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)
    dry_run: bool = False

    @property
    def rows(self) -> int:
        return self.imported + self.updated + self.unchanged + len(self.rejected)


def read_rows(stream: TextIO) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) pairs. The header must name the required columns; a missing optional
    column reads as empty, and columns we do not know are ignored."""
    reader = csv.DictReader(stream)
    header = [name.strip().lower().lstrip("\ufeff") for name in (reader.fieldnames or [])]
    if not header:
        raise ImportFileError(_("the file is empty: a header row naming the columns is "
                                "required"))
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        raise ImportFileError(_("the header row lacks the column(s): %(columns)s",
                                columns=", ".join(missing)))
    reader.fieldnames = header
    for row in reader:
        if not any((value or "").strip() for value in row.values() if isinstance(value, str)):
            continue  # blank line
        yield reader.line_num, {name: (row.get(name) or "") for name in COLUMNS}


def count_data_rows(stream: TextIO) -> int:
    """Rows after the header (for a progress bar); quoted newlines counted correctly."""
    return max(sum(1 for _ in csv.reader(stream)) - 1, 0)


def import_patients(*, practice_id: int, rows: Iterable[tuple[int, dict[str, str]]],
                    dry_run: bool = False, default_region: str = "US",
                    on_row: Callable[[], None] | None = None) -> ImportReport:
    """Import or update each row; commit in batches (nothing at all on a dry run)."""
    report = ImportReport(dry_run=dry_run)
    known = _existing_by_external_id(practice_id)
    seen: dict[str, int] = {}
    pending = 0
    batch_start = _counts(report)
    for line, row in rows:
        if on_row:
            on_row()
        raw = {_FIELD_FOR_COLUMN.get(name, name): value for name, value in row.items()}
        try:
            values = clean_patient_fields(raw, default_region=default_region)
        except PatientInputError as error:
            report.rejected.append(RejectedRow(line, "; ".join(error.errors.values())))
            continue
        key = blind_index.external_id_index(values.external_id) if values.external_id else None
        if key and key in seen:
            report.rejected.append(RejectedRow(line, _(
                "external_id '%(value)s' already appears on line %(line)d",
                value=values.external_id, line=seen[key])))
            continue
        if key:
            seen[key] = line
        patient = (db.session.get(Patient, known[key]) if key in known
                   else None if key else _same_person(practice_id, values))
        if patient is None:
            report.imported += 1
            if not dry_run:
                create_patient(practice_id=practice_id, values=values, audited=False)
        elif not changed_fields(patient, values):
            report.unchanged += 1
        else:
            report.updated += 1
            if not dry_run:
                update_patient(patient=patient, values=values, audited=False)
        pending += 1
        if not dry_run and pending >= _COMMIT_EVERY:
            _commit_batch(report, batch_start)
            batch_start = _counts(report)
            pending = 0
    if dry_run:
        db.session.rollback()
        return report
    _commit_batch(report, batch_start)
    return report


def import_patients_upload(*, practice_id: int, data: bytes, dry_run: bool = False
                           ) -> ImportReport:
    """An uploaded file's bytes, imported as ``import_patients`` does. A file that is not
    UTF-8 text or has no header row raises ``ImportFileError``, and nothing is written."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportFileError(
            _("the file is not UTF-8 text: save it from the spreadsheet as CSV UTF-8")) from None
    return import_patients(practice_id=practice_id, rows=read_rows(io.StringIO(text, newline="")),
                           dry_run=dry_run)


def _counts(report: ImportReport) -> dict[str, int]:
    return {"imported": report.imported, "updated": report.updated,
            "unchanged": report.unchanged, "rejected": len(report.rejected)}


def _commit_batch(report: ImportReport, batch_start: dict[str, int]) -> None:
    """Commit a batch with its own audit event, so an import stopped midway leaves every
    committed write audited."""
    audit.record(audit.Action.PATIENT_IMPORT, object_type="patient_import", detail={
        name: count - batch_start[name] for name, count in _counts(report).items()})
    db.session.commit()


def _same_person(practice_id: int, values: PatientFields) -> Patient | None:
    """Without an external id, a row updates the one patient with the same name and date of
    birth (never a guess between several)."""
    matches = patients_by_name_and_birth_date(
        practice_id=practice_id, given_name=values.given_name,
        family_name=values.family_name, date_of_birth=values.date_of_birth)
    return matches[0] if len(matches) == 1 else None


def _existing_by_external_id(practice_id: int) -> dict[str, int]:
    return dict(db.session.execute(
        select(Patient.external_id_index, Patient.id).where(
            Patient.practice_id == practice_id, Patient.external_id_index.is_not(None))).all())

