"""Read side of the staff calendar: a location's day (each provider's appointments and open
slots), a compact week (booked and open counts per day), one appointment with the times it
could move to, and the slot a booking form names.

Times come back in the location's zone. Open slots are the staff's view of the slot engine:
the appointment type's notice and horizon rules are for patients, so they are asked for as
the booking service does for staff (only the past is closed). Reading appointments with their
patients appends an audit event (ids and counts, no PHI).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app.core.clock import utcnow
from app.extensions import db
from app.practice.models import Location, Provider
from app.scheduling import slots
from app.scheduling.models import Appointment, AppointmentStatus, AppointmentType
from app.scheduling.slots import Slot
from app.security import audit

T = TypeVar("T", Location, AppointmentType, Provider)
MOVE_CHOICES = 10
# Never-held appointments are left off the calendar; the patient's record still lists them.
HIDDEN_STATUSES = (AppointmentStatus.CANCELLED, AppointmentStatus.ENTERED_IN_ERROR)


class CalendarNotFound(LookupError):
    """No such location, provider, appointment type or appointment in this practice; ``field``
    names the argument."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


@dataclass(frozen=True)
class SlotRow:
    slot: Slot
    starts: datetime  # in the location's zone
    provider_name: str = ""


@dataclass(frozen=True)
class AppointmentRow:
    appointment: Appointment
    starts: datetime  # in the location's zone
    ends: datetime


@dataclass
class ProviderColumn:
    provider: Provider
    appointments: list[AppointmentRow] = field(default_factory=list)
    open_slots: list[SlotRow] = field(default_factory=list)


@dataclass(frozen=True)
class Setting:
    """What every calendar page chooses from and has chosen."""

    locations: list[Location]
    location: Location | None
    appointment_types: list[AppointmentType]
    appointment_type: AppointmentType | None
    day: date
    zone: ZoneInfo

    def shifted(self, days: int) -> str:
        """The chosen day moved by ``days``, as the calendar's ``date`` argument."""
        return (self.day + timedelta(days=days)).isoformat()


@dataclass(frozen=True)
class DayView:
    setting: Setting
    columns: list[ProviderColumn]


@dataclass(frozen=True)
class WeekDay:
    day: date
    booked: int
    open: int


@dataclass(frozen=True)
class WeekView:
    setting: Setting
    providers: list[Provider]
    provider: Provider | None  # None: the whole location
    days: list[WeekDay]


@dataclass(frozen=True)
class AppointmentDetail:
    row: AppointmentRow
    moves: list[SlotRow]


def setting(*, practice_id: int, location_id: int | None = None, day: date | None = None,
            appointment_type_id: int | None = None, now: datetime | None = None) -> Setting:
    """The practice's locations and active types, the chosen ones (default: the first), and
    the day (default: today in the location's zone)."""
    locations = list(db.session.execute(select(Location).where(
        Location.practice_id == practice_id).order_by(Location.name, Location.id)).scalars())
    kinds = list(db.session.execute(select(AppointmentType).where(
        AppointmentType.practice_id == practice_id, AppointmentType.active.is_(True)
    ).order_by(AppointmentType.name, AppointmentType.id)).scalars())
    location = _chosen(locations, location_id, "location_id")
    kind = _chosen(kinds, appointment_type_id, "appointment_type_id")
    zone = ZoneInfo(location.timezone) if location else UTC
    return Setting(locations=locations, location=location, appointment_types=kinds,
                   appointment_type=kind, zone=zone,
                   day=day or (now or utcnow()).astimezone(zone).date())


def day_view(*, practice_id: int, location_id: int | None = None, day: date | None = None,
             appointment_type_id: int | None = None, now: datetime | None = None) -> DayView:
    chosen = setting(practice_id=practice_id, location_id=location_id, day=day,
                     appointment_type_id=appointment_type_id, now=now)
    if chosen.location is None:
        return DayView(setting=chosen, columns=[])
    start, end = _span(chosen.day, 1, chosen.zone)
    columns = {p.id: ProviderColumn(p) for p in _providers(chosen.location)}
    appointments = list(db.session.execute(
        select(Appointment).options(joinedload(Appointment.patient),
                                    joinedload(Appointment.appointment_type))
        .where(Appointment.location_id == chosen.location.id, Appointment.start_at >= start,
               Appointment.start_at < end,
               Appointment.status.not_in([str(s) for s in HIDDEN_STATUSES]))
        .order_by(Appointment.start_at, Appointment.id)).scalars())
    for appointment in appointments:
        column = columns.get(appointment.provider_id)
        if column is None:  # a provider no longer at this location keeps a column that day
            column = columns[appointment.provider_id] = ProviderColumn(appointment.provider)
        column.appointments.append(_row(appointment, chosen.zone))
    for slot in _open(chosen, start, end, provider_id=None, now=now):
        if slot.provider_id in columns:
            columns[slot.provider_id].open_slots.append(SlotRow(slot, slot.start.astimezone(
                chosen.zone)))
    audit.record(audit.Action.APPOINTMENT_VIEW, object_type="location",
                 object_id=chosen.location.id,
                 detail={"query": "day", "count": len(appointments)})
    db.session.commit()
    return DayView(setting=chosen, columns=list(columns.values()))


def week_view(*, practice_id: int, location_id: int | None = None, day: date | None = None,
              appointment_type_id: int | None = None, provider_id: int | None = None,
              now: datetime | None = None) -> WeekView:
    """The seven days from ``day``'s Monday: booked appointments and open slots per day, for
    one provider or the whole location."""
    chosen = setting(practice_id=practice_id, location_id=location_id, day=day,
                     appointment_type_id=appointment_type_id, now=now)
    monday = chosen.day - timedelta(days=chosen.day.weekday())
    week = [monday + timedelta(days=n) for n in range(7)]
    if chosen.location is None:
        return WeekView(setting=chosen, providers=[], provider=None,
                        days=[WeekDay(d, 0, 0) for d in week])
    providers = _providers(chosen.location)
    provider = _chosen(providers, provider_id, "provider_id") if provider_id else None
    start, end = _span(monday, 7, chosen.zone)
    query = (select(Appointment.start_at)
             .where(Appointment.location_id == chosen.location.id, Appointment.start_at >= start,
                    Appointment.start_at < end,
                    Appointment.status.not_in([str(s) for s in HIDDEN_STATUSES])))
    if provider is not None:
        query = query.where(Appointment.provider_id == provider.id)
    booked = Counter(at.astimezone(chosen.zone).date() for at in db.session.scalars(query))
    open_ = Counter(slot.start.astimezone(chosen.zone).date() for slot in _open(
        chosen, start, end, provider_id=provider.id if provider else None, now=now))
    return WeekView(setting=chosen, providers=providers, provider=provider,
                    days=[WeekDay(d, booked[d], open_[d]) for d in week])


def appointment_detail(*, practice_id: int, appointment_id: int, now: datetime | None = None
                       ) -> AppointmentDetail:
    """One appointment (with its patient) and the next open times it could move to: the same
    type at the same location, with any provider."""
    appointment = db.session.get(Appointment, appointment_id)
    if appointment is None or appointment.practice_id != practice_id:
        raise CalendarNotFound("appointment_id")
    zone = ZoneInfo(appointment.location.timezone)
    moves: list[SlotRow] = []
    if appointment.status in (AppointmentStatus.PROPOSED, AppointmentStatus.PENDING,
                              AppointmentStatus.BOOKED):
        kind = appointment.appointment_type
        begin = (now or utcnow()).astimezone(UTC)
        names = {p.id: p.display_name for p in appointment.location.providers}
        moves = [SlotRow(slot, slot.start.astimezone(zone), names.get(slot.provider_id, ""))
                 for slot in slots.find_open_slots(
            appointment_type_id=kind.id, location_id=appointment.location_id, start=begin,
            end=begin + timedelta(days=max(kind.max_days_ahead, 1)), limit=MOVE_CHOICES,
            now=begin - timedelta(minutes=kind.min_notice_minutes or 0),
            exclude_appointment_id=appointment.id)]
    audit.record(audit.Action.APPOINTMENT_VIEW, patient_id=appointment.patient_id,
                 object_type="appointment", object_id=appointment.id,
                 detail={"query": "calendar_detail"})
    db.session.commit()
    return AppointmentDetail(row=_row(appointment, zone), moves=moves)


def slot_for(*, practice_id: int, appointment_type_id: int, provider_id: int, location_id: int,
             start: datetime) -> SlotRow:
    """The slot a form names (its end from the type's duration), shown in the location's
    zone. It is not checked for being open: booking does that."""
    kind = db.session.get(AppointmentType, appointment_type_id)
    provider = db.session.get(Provider, provider_id)
    location = db.session.get(Location, location_id)
    for name, found in (("appointment_type_id", kind), ("provider_id", provider),
                        ("location_id", location)):
        if found is None or found.practice_id != practice_id:
            raise CalendarNotFound(name)
    assert kind is not None and location is not None  # checked above
    begins = start.astimezone(UTC)
    slot = Slot(start=begins, end=begins + timedelta(minutes=kind.duration_minutes),
                provider_id=provider_id, location_id=location_id,
                appointment_type_id=appointment_type_id)
    return SlotRow(slot, begins.astimezone(ZoneInfo(location.timezone)))


def local_day(appointment: Appointment) -> date:
    """The appointment's day in its location's zone."""
    return appointment.start_at.astimezone(ZoneInfo(appointment.location.timezone)).date()


def _chosen(options: list[T], wanted: int | None, name: str) -> T | None:
    if wanted is None:
        return options[0] if options else None
    for option in options:
        if option.id == wanted:
            return option
    raise CalendarNotFound(name)


def _providers(location: Location) -> list[Provider]:
    return sorted((p for p in location.providers if p.active),
                  key=lambda p: (p.family_name, p.given_name, p.id))


def _span(first: date, days: int, zone: ZoneInfo) -> tuple[datetime, datetime]:
    def midnight(day: date) -> datetime:
        return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)

    return midnight(first), midnight(first + timedelta(days=days))


def _open(chosen: Setting, start: datetime, end: datetime, *, provider_id: int | None,
          now: datetime | None) -> list[Slot]:
    """Open slots in [start, end) as staff may book them: from now on, notice and horizon
    not applying."""
    kind, location = chosen.appointment_type, chosen.location
    if kind is None or location is None:
        return []
    begin = max(start, (now or utcnow()).astimezone(UTC))
    if begin >= end:
        return []
    return slots.find_open_slots(
        appointment_type_id=kind.id, location_id=location.id, provider_id=provider_id,
        start=begin, end=end, now=begin - timedelta(minutes=kind.min_notice_minutes or 0))


def _row(appointment: Appointment, zone: ZoneInfo) -> AppointmentRow:
    return AppointmentRow(appointment, appointment.start_at.astimezone(zone),
                          appointment.end_at.astimezone(zone))
