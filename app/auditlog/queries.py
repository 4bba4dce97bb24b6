"""Reading the audit trail: the admin screen's filtered pages and the CSV export.

An admin sees only their practice's events: the page's ORM queries are scoped by the request's
practice (``app.core.tenancy``), the export names the practice in its query.

Looking at the trail is itself audited: a page loads the names of the patients it mentions, so
each page view appends one ``audit.view`` event and each export one ``audit.export`` event,
with the filter and the number of matching rows (never a name). Dates in a filter are days in
the practice's time zone.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import ColumnElement, Select, func, or_, select

from app.extensions import db
from app.patients.merge import merged_ids
from app.patients.models import Patient
from app.practice.models import Practice
from app.security import audit
from app.security.audit import Action
from app.security.models import AuditEvent
from app.security.signin import normalize_email

PER_PAGE = 50
EXPORT_BATCH = 1000
EXPORT_COLUMNS = ("id", "time", "actor_email", "role", "action", "patient_id", "object_type",
                  "object_id", "ip", "request_id", "client_request_id", "detail")
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class AuditFilter:
    actor_email: str | None = None
    patient_id: int | None = None
    action: str | None = None
    date_from: date | None = None
    date_to: date | None = None

    def as_detail(self) -> dict[str, Any]:
        """The filter as it is recorded in the audit event: ids, dates and a staff email."""
        return {name: value.isoformat() if isinstance(value, date) else value
                for name, value in asdict(self).items() if value not in (None, "")}


@dataclass(frozen=True)
class AuditRow:
    event: AuditEvent
    local_time: datetime
    patient_name: str | None


@dataclass(frozen=True)
class AuditPage:
    rows: list[AuditRow]
    page: int
    pages: int
    total: int
    zone: ZoneInfo

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def practice_zone(*, practice_id: int, default: str) -> ZoneInfo:
    """The practice's own time zone, else the PRACTICE_TIMEZONE setting (``default``)."""
    practice = db.session.get(Practice, practice_id)
    try:
        return ZoneInfo(practice.timezone if practice and practice.timezone else default)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(default)


def _conditions(filters: AuditFilter, zone: ZoneInfo) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.actor_email:
        conditions.append(AuditEvent.actor_email == normalize_email(filters.actor_email))
    if filters.patient_id is not None:  # with the records merged into that patient
        ids = [filters.patient_id, *merged_ids(patient_id=filters.patient_id)]
        conditions.append(or_(AuditEvent.patient_id.in_(ids),
                              *(c for one in ids for c in _lists_naming(one))))
    if filters.action:
        conditions.append(AuditEvent.action == filters.action)
    if filters.date_from is not None:
        conditions.append(AuditEvent.occurred_at >= datetime.combine(
            filters.date_from, time.min, tzinfo=zone))
    if filters.date_to is not None:
        conditions.append(AuditEvent.occurred_at < datetime.combine(
            filters.date_to + timedelta(days=1), time.min, tzinfo=zone))
    return conditions


LIST_KEYS = ("patient_ids", "household_member_ids")


def _lists_naming(patient_id: int) -> list[ColumnElement[bool]]:
    """Events of a list of patients (a search, a calendar day, an API search, a record's
    household) record who was shown as ``"patient_ids":[...]`` (or ``household_member_ids``)
    in their detail (keys sorted, no spaces): the patient filter finds those too. No numeric
    list may follow such a key in a detail."""
    return [AuditEvent.detail.like(f'%"{key}":[{pattern}')
            for key in LIST_KEYS for pattern in (
                f"{patient_id}]%", f"{patient_id},%", f"%,{patient_id}]%",
                f"%,{patient_id},%")]


def events_query(*, filters: AuditFilter, zone: ZoneInfo) -> Select[tuple[AuditEvent]]:
    """The events matching ``filters``, newest first."""
    return (select(AuditEvent).where(*_conditions(filters, zone))
            .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc()))


def _count(statement: Select[Any]) -> int:
    counted = select(func.count()).select_from(statement.order_by(None).subquery())
    return db.session.execute(counted).scalar_one()


def _patient_names(*, practice_id: int, patient_ids: Iterable[int]) -> dict[int, str]:
    wanted = set(patient_ids)
    if not wanted:
        return {}
    patients = db.session.execute(
        select(Patient).where(Patient.id.in_(wanted), Patient.practice_id == practice_id)
    ).scalars()
    return {patient.id: patient.full_name for patient in patients}


def audit_page(*, practice_id: int, filters: AuditFilter, page: int,
               default_zone: str) -> AuditPage:
    """One page (``PER_PAGE`` events, newest first) with the practice's patients' names."""
    zone = practice_zone(practice_id=practice_id, default=default_zone)
    statement = events_query(filters=filters, zone=zone)
    total = _count(statement)
    pages = max(1, math.ceil(total / PER_PAGE))
    page = min(max(page, 1), pages)
    events = list(db.session.execute(
        statement.limit(PER_PAGE).offset((page - 1) * PER_PAGE)).scalars())
    names = _patient_names(practice_id=practice_id,
                           patient_ids=(e.patient_id for e in events if e.patient_id))
    rows = [AuditRow(event=e, local_time=e.occurred_at.astimezone(zone),
                     patient_name=names.get(e.patient_id) if e.patient_id else None)
            for e in events]
    audit.record(Action.AUDIT_VIEW, patient_id=filters.patient_id,
                 detail={"filter": filters.as_detail(), "count": total, "page": page,
                         "patient_ids": sorted(names)})
    db.session.commit()
    return AuditPage(rows=rows, page=page, pages=pages, total=total, zone=zone)


def export_csv(*, practice_id: int, filters: AuditFilter, default_zone: str) -> Iterator[str]:
    """Audit the export, then return the CSV text of every matching event in id order.

    The export is recorded (and committed) before the first row is produced, and covers the
    events that existed at that moment, so the count in the ``audit.export`` event is the
    number of rows in the file. The rows are read ``EXPORT_BATCH`` at a time."""
    zone = practice_zone(practice_id=practice_id, default=default_zone)
    last_id = db.session.execute(select(func.max(AuditEvent.id))).scalar_one() or 0
    # The rows are read from the table (Core), which ORM practice scoping does not reach: the
    # practice is named here.
    conditions = [*_conditions(filters, zone), AuditEvent.id <= last_id,
                  AuditEvent.practice_id == practice_id]
    count = _count(select(AuditEvent.id).where(*conditions))
    audit.record(Action.AUDIT_EXPORT, patient_id=filters.patient_id,
                 detail={"filter": filters.as_detail(), "count": count})
    db.session.commit()
    return _csv_lines(conditions)


def _csv_lines(conditions: list[ColumnElement[bool]]) -> Iterator[str]:
    table = AuditEvent.__table__
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    after = 0
    while True:
        batch = db.session.execute(
            select(table).where(*conditions, table.c.id > after)
            .order_by(table.c.id).limit(EXPORT_BATCH)).all()
        for row in batch:
            writer.writerow([_cell(value) for value in (
                row.id, row.occurred_at.isoformat(), row.actor_email, row.actor_role,
                row.action, row.patient_id, row.object_type, row.object_id, row.ip,
                row.request_id, row.client_request_id, row.detail)])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if len(batch) < EXPORT_BATCH:
            return
        after = batch[-1].id


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_PREFIXES):
        return "'" + value
    return value
