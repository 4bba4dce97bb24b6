"""The demo practice, "Lakeside Family Dental": built once, in one transaction, the same way
every time (``random.Random(2026)``, relative to today).

Patients go through the patients service unaudited, and the seed records one audit event of
its own (counts only). Only the five staff passwords are hashed, so the seed takes seconds."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.core.clock import utcnow
from app.demo import data
from app.demo.appointments import Staffing, build_appointments
from app.demo.billing import build_billing
from app.demo.hours import build_schedules, build_working_hours, offer_appointment_types
from app.demo.intake import build_intake_forms
from app.demo.journeys import build_journeys
from app.demo.people import create_patients
from app.demo.threads import build_conversations
from app.extensions import db
from app.messaging.conversations import refresh_derived
from app.practice.models import Location, Practice, Provider
from app.scheduling.models import AppointmentType
from app.security import audit
from app.security.models import StaffUser
from app.security.passwords import hash_password
from app.security.permissions import role_label

RANDOM_SEED = 2026


class DemoAlreadySeeded(Exception):
    """The demo practice exists; seeding again would change nothing."""


class DemoSeedConflict(Exception):
    """Something outside the demo already uses a name the demo needs (a staff email)."""


@dataclass(frozen=True)
class SeedSummary:
    practice_name: str
    locations: int
    providers: int
    patients: int
    households: int
    appointments: int
    conversations: int
    unread_conversations: int
    staff: int
    form_responses: int


@dataclass(frozen=True)
class DemoLogin:
    email: str
    role: str
    password: str

    @property
    def role_label(self) -> str:
        return role_label(self.role)


def staff_emails() -> list[str]:
    return [f"{local}@{data.STAFF_DOMAIN}" for local, _, _ in data.STAFF]


def any_practice_exists() -> bool:
    return db.session.execute(select(Practice.id).limit(1)).first() is not None


def demo_practice() -> Practice | None:
    return db.session.execute(
        select(Practice).where(Practice.name == data.PRACTICE["name"]).order_by(Practice.id)
    ).scalars().first()


def demo_logins() -> list[DemoLogin]:
    """The demo sign-ins that exist, in the README's order (empty when not seeded)."""
    roles = dict(db.session.execute(
        select(StaffUser.email, StaffUser.role).where(StaffUser.email.in_(staff_emails()))).all())
    return [DemoLogin(email, roles[email], data.STAFF_PASSWORD)
            for email in staff_emails() if email in roles]


def seed_demo(*, now: datetime | None = None) -> SeedSummary:
    """Create the demo practice and commit it. Raises ``DemoAlreadySeeded`` when it exists
    and ``DemoSeedConflict`` when a demo staff email is already taken."""
    if demo_practice() is not None:
        raise DemoAlreadySeeded(data.PRACTICE["name"])
    taken = db.session.execute(
        select(StaffUser.email).where(StaffUser.email.in_(staff_emails()))).scalars().first()
    if taken is not None:
        raise DemoSeedConflict(f"a staff account {taken} already exists outside the demo "
                               f"practice")
    now = now or utcnow()
    try:
        summary = _build(random.Random(RANDOM_SEED), now)  # noqa: S311 (fiction, not secrets)
    except Exception:
        db.session.rollback()
        raise
    db.session.commit()
    return summary


def _build(rng: random.Random, now: datetime) -> SeedSummary:
    practice = Practice(**data.PRACTICE)
    db.session.add(practice)
    db.session.flush()
    locations = {place.key: Location(
        practice=practice, name=place.name, address_line=place.address_line, city=place.city,
        state=place.state, postal_code=place.postal_code, phone=place.phone,
        timezone=place.timezone) for place in data.PLACES}
    staffing = [Staffing(Provider(
        practice=practice, given_name=spec.given_name, family_name=spec.family_name,
        prefix=spec.prefix, credentials=spec.credentials, npi=spec.npi, active=True,
        locations=[locations[key] for key in sorted(set(spec.schedule.values()))]), spec)
        for spec in data.PROVIDERS]
    types = {name: AppointmentType(
        practice_id=practice.id, name=name, name_es=name_es, duration_minutes=minutes,
        for_new_patients=new, bookable_online=online)
        for name, name_es, minutes, new, online in data.APPOINTMENT_TYPES}
    staff = [StaffUser(practice_id=practice.id, email=f"{local}@{data.STAFF_DOMAIN}", role=role,
                       display_name=name, password_hash=hash_password(data.STAFF_PASSWORD),
                       active=True, password_changed_at=now)
             for local, role, name in data.STAFF]
    db.session.add_all([*locations.values(), *(s.provider for s in staffing),
                        *types.values(), *staff])
    db.session.flush()
    hours = build_working_hours(staffing=staffing, locations=locations)
    db.session.add_all([*hours, *build_schedules(practice_id=practice.id, hours=hours)])
    offer_appointment_types(staffing=staffing, types=types)

    today = now.astimezone(ZoneInfo(practice.timezone)).date()
    roster = create_patients(rng=rng, practice_id=practice.id, today=today)
    appointments = build_appointments(
        rng=rng, practice_id=practice.id, staffing=staffing, locations=locations, types=types,
        patients_by_place=roster.by_place, now=now, today=today)
    db.session.add_all(appointments)
    db.session.flush()
    front_desk = next(user for user in staff if user.role == "front_desk")
    conversations = build_conversations(
        rng=rng, practice_id=practice.id, practice_name=practice.name,
        by_mobile=roster.by_mobile, locations=locations, appointments=appointments,
        front_desk_id=front_desk.id, now=now)
    db.session.add_all(conversations)
    db.session.flush()
    refresh_derived([conversation.id for conversation in conversations])
    form_responses = build_intake_forms(
        rng=rng, practice_id=practice.id,
        patients=[p for group in roster.by_place.values() for p in group], now=now)
    db.session.add_all(build_billing(
        rng=rng, practice_id=practice.id, types=types, appointments=appointments,
        patients=[p for group in roster.by_place.values() for p in group],
        zones={place.id: ZoneInfo(place.timezone) for place in locations.values()}))
    db.session.add_all(build_journeys(
        practice_id=practice.id,
        patients=[p for group in roster.by_place.values() for p in group]))

    summary = SeedSummary(
        practice_name=practice.name, locations=len(locations), providers=len(staffing),
        patients=sum(len(group) for group in roster.by_place.values()),
        households=len(roster.households), appointments=len(appointments),
        conversations=len(conversations),
        unread_conversations=sum(1 for c in conversations if c.unread), staff=len(staff),
        form_responses=form_responses)
    audit.record(audit.Action.DEMO_SEED, object_type="practice", object_id=practice.id,
                 detail={"patients": summary.patients, "appointments": summary.appointments,
                         "conversations": summary.conversations, "staff": summary.staff})
    return summary
