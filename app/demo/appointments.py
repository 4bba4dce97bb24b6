"""Six weeks of past and six weeks of future appointments on each provider's working days.

Times are laid out in the location's own zone (08:00-17:00 with a lunch hour) and stored in
UTC. Each provider works at one location a day, and a provider's busy intervals are tracked
so no two of their appointments overlap."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.demo import data
from app.patients.models import Patient
from app.practice.models import Location, Provider
from app.scheduling.models import (
    Appointment,
    AppointmentStatus,
    AppointmentType,
    ParticipantStatus,
)

WEEKS_EACH_WAY = 6
DAY_START, LUNCH_START, LUNCH_END, DAY_END = time(8), time(12), time(13), time(17)
NOSHOW_SHARE, CANCELLED_SHARE = 0.08, 0.07
PICK_FROM, MIN_DAYS_BETWEEN_VISITS = 8, 7
CANCEL_REASONS = ("Schedule conflict", "Work conflict", "No transportation",
                  "Cancelled by text reply", "Out of town")


@dataclass
class Calendar:
    """Busy intervals per provider, and the days each patient is already booked on."""

    busy: dict[int, list[tuple[datetime, datetime]]] = field(
        default_factory=lambda: defaultdict(list))
    patient_days: dict[int, list[date]] = field(default_factory=lambda: defaultdict(list))

    def is_free(self, provider_id: int, start: datetime, end: datetime) -> bool:
        return all(end <= taken_start or start >= taken_end
                   for taken_start, taken_end in self.busy[provider_id])

    def hold(self, provider_id: int, start: datetime, end: datetime) -> None:
        self.busy[provider_id].append((start, end))


@dataclass(frozen=True)
class Staffing:
    provider: Provider
    spec: data.ProviderSpec


def _booking_chance(day: date, today: date) -> float:
    """Past days were nearly full; the further ahead, the more open time is left to book."""
    ahead = (day - today).days
    return 0.9 if ahead <= 0 else max(0.45, 0.9 - 0.012 * ahead)


def _status(rng: random.Random, start: datetime, now: datetime) -> tuple[str, str]:
    if start >= now:
        soon = start - now < timedelta(days=3)
        confirmed = rng.random() < (0.7 if soon else 0.35)
        return (AppointmentStatus.BOOKED,
                ParticipantStatus.ACCEPTED if confirmed else ParticipantStatus.NEEDS_ACTION)
    roll = rng.random()
    if roll < NOSHOW_SHARE:
        return AppointmentStatus.NOSHOW, rng.choice(
            (ParticipantStatus.ACCEPTED, ParticipantStatus.NEEDS_ACTION))
    if roll < NOSHOW_SHARE + CANCELLED_SHARE:
        return AppointmentStatus.CANCELLED, ParticipantStatus.DECLINED
    return AppointmentStatus.FULFILLED, ParticipantStatus.ACCEPTED


def build_appointments(*, rng: random.Random, practice_id: int, staffing: list[Staffing],
                       locations: dict[str, Location], types: dict[str, AppointmentType],
                       patients_by_place: dict[str, list[Patient]], now: datetime,
                       today: date) -> list[Appointment]:
    """The appointments (not yet added to the session) for every working day from six weeks
    before ``today`` to six weeks after."""
    calendar = Calendar()
    appointments: list[Appointment] = []
    days = [today + timedelta(days=n)
            for n in range(-7 * WEEKS_EACH_WAY, 7 * WEEKS_EACH_WAY + 1)]
    for day in days:
        for staff in staffing:
            place_key = staff.spec.schedule.get(day.weekday())
            if place_key is None:
                continue
            appointments += _fill_day(
                rng=rng, practice_id=practice_id, calendar=calendar, staff=staff,
                location=locations[place_key], types=types,
                patients=patients_by_place[place_key], day=day, now=now,
                chance=_booking_chance(day, today))
    return appointments


def _fill_day(*, rng: random.Random, practice_id: int, calendar: Calendar, staff: Staffing,
              location: Location, types: dict[str, AppointmentType], patients: list[Patient],
              day: date, now: datetime, chance: float) -> list[Appointment]:
    zone = ZoneInfo(location.timezone)
    mix = data.HYGIENIST_MIX if staff.spec.hygienist else data.DENTIST_MIX
    names, weights = list(mix), list(mix.values())
    cursor = datetime.combine(day, DAY_START, zone)
    lunch_start = datetime.combine(day, LUNCH_START, zone)
    lunch_end = datetime.combine(day, LUNCH_END, zone)
    day_end = datetime.combine(day, DAY_END, zone)
    booked: list[Appointment] = []
    while cursor < day_end:
        kind = types[rng.choices(names, weights)[0]]
        end = cursor + timedelta(minutes=kind.duration_minutes)
        if cursor < lunch_end and end > lunch_start:
            cursor = lunch_end
            continue
        if end > day_end:
            break
        if rng.random() > chance:  # left open
            cursor += timedelta(minutes=30)
            continue
        start_utc, end_utc = cursor.astimezone(UTC), end.astimezone(UTC)
        patient = _pick_patient(rng, calendar, patients, day, new=kind.for_new_patients)
        if patient is not None and calendar.is_free(staff.provider.id, start_utc, end_utc):
            calendar.hold(staff.provider.id, start_utc, end_utc)
            booked.append(_appointment(rng, practice_id=practice_id, patient=patient,
                                       staff=staff, location=location, kind=kind,
                                       start=start_utc, end=end_utc, now=now))
        cursor = end + timedelta(minutes=15 if rng.random() < 0.15 else 0)
    return booked


def _pick_patient(rng: random.Random, calendar: Calendar, patients: list[Patient],
                  day: date, *, new: bool) -> Patient | None:
    """Of a few patients drawn at random, one not booked within a week of ``day`` and with the
    fewest visits so far, so visits spread across the practice; for a visit for new patients,
    one with no visit yet (days are filled in order, so it is their first)."""
    candidates = [patient for patient in rng.sample(patients, PICK_FROM)
                  if all(abs((day - other).days) > MIN_DAYS_BETWEEN_VISITS
                         for other in calendar.patient_days[patient.id])
                  and not (new and calendar.patient_days[patient.id])]
    if not candidates:
        return None
    patient = min(candidates, key=lambda p: len(calendar.patient_days[p.id]))
    calendar.patient_days[patient.id].append(day)
    return patient


def _appointment(rng: random.Random, *, practice_id: int, patient: Patient, staff: Staffing,
                 location: Location, kind: AppointmentType, start: datetime, end: datetime,
                 now: datetime) -> Appointment:
    status, patient_status = _status(rng, start, now)
    return Appointment(
        practice_id=practice_id, patient_id=patient.id, provider_id=staff.provider.id,
        location_id=location.id, appointment_type_id=kind.id, start_at=start, end_at=end,
        status=status, patient_status=patient_status, source="demo",
        cancel_reason=(rng.choice(CANCEL_REASONS) if status == AppointmentStatus.CANCELLED
                       else None),
        created_at=min(now, start - timedelta(days=rng.randint(2, 60), hours=rng.randint(0, 9))),
        updated_at=min(now, start),
    )
