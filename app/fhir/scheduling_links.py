"""SMART Scheduling Links: the practice's open times, published for slot aggregators.

A ``$bulk-publish`` manifest lists NDJSON files: the Locations, the Schedules and, per
location, the free Slots of the next ``SCHEDULING_LINKS_DAYS`` days. Only what a patient
may book online is published, and nothing about patients (no PHI): places, services, open
times.

- A published Schedule is one online-bookable, active appointment type at one location where
  an active provider offers it (id ``loc<location>-type<type>``, actor the Location alone).
  It is not the /fhir Schedule API's resource, which is one provider's calendar. A calendar
  withdrawn from publication (``Schedule.active`` False) drops its provider's time here; a
  withdrawn location-wide calendar drops the location. A calendar's planning horizon, when
  set, bounds the times published from it: a provider's calendar at the location their
  times, the location-wide calendar every provider's there (as the /fhir Slot API does).
- A published Slot aggregates the providers: one per (location, type, start), status free,
  ``slot-capacity`` the number of providers free at that start, ``booking-deep-link`` the
  self-scheduling page of that day with the type and location chosen, ``booking-phone`` the
  location's phone. Times carry the location's UTC offset.

Every resource is validated with fhir.resources and written as one compact JSON line.
``_since`` (spec: "servers are free to ignore this parameter") is checked but does not narrow
the files: open time is computed, not stored, so there is no change history to filter by, and
a time that was booked could not be withdrawn from a changes-only file of free Slots. Clients
get the full current set each time, as the spec tells them to expect.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fhir.resources.R4B.location import Location as FhirLocation
from fhir.resources.R4B.schedule import Schedule as FhirSchedule
from fhir.resources.R4B.slot import Slot as FhirSlot
from sqlalchemy import select

from app.extensions import db
from app.fhir.mapping.codes import appointment_type_concept, minute_stamp
from app.practice.models import Location, Provider, provider_location
from app.scheduling import slots
from app.scheduling.models import AppointmentType, Schedule, provider_appointment_type

BOOKING_DEEP_LINK = "http://fhir-registry.smarthealthit.org/StructureDefinition/booking-deep-link"
BOOKING_PHONE = "http://fhir-registry.smarthealthit.org/StructureDefinition/booking-phone"
SLOT_CAPACITY = "http://fhir-registry.smarthealthit.org/StructureDefinition/slot-capacity"
LOCATION_IDENTIFIER_SYSTEM = "urn:frontdesk:location"


class UnknownLocation(LookupError):
    """No such location at this practice."""


@dataclass
class Offer:
    """One published Schedule: an appointment type offered online at a location."""

    location: Location
    kind: AppointmentType
    provider_ids: set[int] = field(default_factory=set)

    @property
    def schedule_id(self) -> str:
        return f"loc{self.location.id}-type{self.kind.id}"


@dataclass(frozen=True)
class PublishedFile:
    resource_type: str  # Location | Schedule | Slot
    location_id: int | None = None  # Slot files: one per location
    state: str | None = None


def offers(practice_id: int) -> list[Offer]:
    """What is published, by location then type: one query for who offers what where, one
    for the calendars withdrawn from publication."""
    withdrawn = {(row.location_id, row.provider_id) for row in db.session.execute(
        select(Schedule.location_id, Schedule.provider_id)
        .where(Schedule.practice_id == practice_id, Schedule.active.is_(False)))}
    found: dict[tuple[int, int], Offer] = {}
    for where, kind, provider_id in db.session.execute(
            select(Location, AppointmentType, Provider.id)
            .join(provider_location, provider_location.c.location_id == Location.id)
            .join(Provider, Provider.id == provider_location.c.provider_id)
            .join(provider_appointment_type,
                  provider_appointment_type.c.provider_id == Provider.id)
            .join(AppointmentType,
                  AppointmentType.id == provider_appointment_type.c.appointment_type_id)
            .where(Location.practice_id == practice_id, Provider.practice_id == practice_id,
                   Provider.active.is_(True), AppointmentType.practice_id == practice_id,
                   AppointmentType.active.is_(True),
                   AppointmentType.bookable_online.is_(True))):
        if (where.id, None) in withdrawn or (where.id, provider_id) in withdrawn:
            continue
        offer = found.setdefault((where.id, kind.id), Offer(where, kind))
        offer.provider_ids.add(provider_id)
    return sorted(found.values(), key=lambda offer: (offer.location.id, offer.kind.id))


def _published_locations(found: Iterable[Offer]) -> list[Location]:
    return list({offer.location.id: offer.location for offer in found}.values())


def published_files(practice_id: int) -> list[PublishedFile]:
    files = [PublishedFile("Location"), PublishedFile("Schedule")]
    files += [PublishedFile("Slot", where.id, where.state or None)
              for where in _published_locations(offers(practice_id))]
    return files


def manifest(*, files: list[PublishedFile], url_of: Callable[[PublishedFile], str],
             request_url: str, now: datetime) -> dict[str, Any]:
    """The bulk-publish manifest: transactionTime is the publication time, ``request`` the
    manifest URL as called; Slot files name their location's state."""
    output: list[dict[str, Any]] = []
    for published in files:
        item: dict[str, Any] = {"type": published.resource_type, "url": url_of(published)}
        if published.resource_type == "Slot" and published.state:
            item["extension"] = {"state": [published.state]}
        output.append(item)
    return {"transactionTime": _instant(now), "request": request_url, "output": output,
            "error": []}


def location_lines(*, practice_id: int, booking_start_url: str) -> list[str]:
    return [_line(FhirLocation, {
        "resourceType": "Location", "id": str(where.id), "name": where.name,
        "telecom": [{"system": "phone", "value": where.phone},
                    {"system": "url", "value": booking_start_url}],
        "address": {"line": [where.address_line], "city": where.city,
                    **({"state": where.state} if where.state else {}),
                    "postalCode": where.postal_code},
        "identifier": [{"system": LOCATION_IDENTIFIER_SYSTEM, "value": str(where.id)}],
    }) for where in _published_locations(offers(practice_id))]


def schedule_lines(*, practice_id: int) -> list[str]:
    return [_line(FhirSchedule, {
        "resourceType": "Schedule", "id": offer.schedule_id,
        "serviceType": [appointment_type_concept(offer.kind.id, offer.kind.name)],
        "actor": [{"reference": f"Location/{offer.location.id}"}],
    }) for offer in offers(practice_id)]


def slot_lines(*, practice_id: int, location_id: int, booking_day_url: str, days: int,
               now: datetime) -> list[str]:
    """The free Slots at one location from ``now`` for ``days`` days, one per type and start
    time, ordered by start then type; none where nothing is bookable online. Raises
    ``UnknownLocation``."""
    where = db.session.get(Location, location_id)
    if where is None or where.practice_id != practice_id:
        raise UnknownLocation(location_id)
    here = [offer for offer in offers(practice_id) if offer.location.id == location_id]
    horizons = {row.provider_id: row for row in db.session.execute(
        select(Schedule).where(Schedule.practice_id == practice_id,
                               Schedule.location_id == location_id)).scalars()}
    lines: list[tuple[datetime, int, str]] = []
    for offer in here:
        zone = ZoneInfo(offer.location.timezone)
        capacity: dict[datetime, set[int]] = defaultdict(set)
        ends: dict[datetime, datetime] = {}
        for slot in slots.find_open_slots(
                appointment_type_id=offer.kind.id, location_id=location_id,
                start=now, end=now + timedelta(days=days), now=now):
            if (slot.provider_id in offer.provider_ids
                    and _within(horizons.get(slot.provider_id), slot.start)
                    and _within(horizons.get(None), slot.start)):
                capacity[slot.start].add(slot.provider_id)
                ends[slot.start] = slot.end
        for start, providers in capacity.items():
            lines.append((start, offer.kind.id, _slot_line(
                offer, start=start.astimezone(zone), end=ends[start].astimezone(zone),
                capacity=len(providers), booking_day_url=booking_day_url)))
    return [line for _, _, line in sorted(lines)]


def _within(calendar: Schedule | None, start: datetime) -> bool:
    """Whether ``start`` lies within the calendar's planning horizon (no calendar, or no
    horizon: yes)."""
    if calendar is None:
        return True
    return ((calendar.horizon_start is None or start >= calendar.horizon_start)
            and (calendar.horizon_end is None or start < calendar.horizon_end))


def _slot_line(offer: Offer, *, start: datetime, end: datetime, capacity: int,
               booking_day_url: str) -> str:
    link = booking_day_url + "?" + urlencode({"type": offer.kind.id,
                                              "location": offer.location.id,
                                              "day": start.date().isoformat()})
    return _line(FhirSlot, {
        "resourceType": "Slot",
        "id": f"{offer.schedule_id}-{minute_stamp(start)}",
        "schedule": {"reference": f"Schedule/{offer.schedule_id}"},
        "status": "free", "start": start.isoformat(), "end": end.isoformat(),
        "extension": [{"url": BOOKING_DEEP_LINK, "valueUrl": link},
                      {"url": BOOKING_PHONE, "valueString": offer.location.phone},
                      {"url": SLOT_CAPACITY, "valueInteger": capacity}],
    })


def _line(model: Any, resource: dict[str, Any]) -> str:
    """Validated with fhir.resources, then written compactly from the same dict (the model's
    own JSON dump costs twice the validation, per line)."""
    model.model_validate(resource)
    return json.dumps(resource, separators=(",", ":"), ensure_ascii=False)


def _instant(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
