"""Two practices on one database, with look-alike data (``tests/security/two_practices``:
the same patient names, birth dates, phones, emails and external ids; the same provider,
location and appointment type names; messages, hours, time off, waitlist entries, forms,
audit events and API tokens in both).

Practice B's staff walk every staff route of the URL map, and practice B's API token every
FHIR interaction, and find nothing of practice A: A's ids are 404s, and list pages and bundles
hold only B's rows. Practice A's non-PHI text carries ``MARK`` (an extra patient's external
id, a location, a provider, a type, a staff name, a message, a time-off label, an audit
object id), so a page showing any of it leaks A; links and bundle entries are checked by id
for the look-alike rows, which carry no mark.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from app.core.clock import utcnow
from app.core.tenancy import (
    across_practices,
)
from app.extensions import db
from app.fhir.registry import handlers
from app.messaging.models import Conversation
from app.patients.models import Patient
from app.practice.models import Provider
from app.scheduling.models import Appointment, AppointmentType
from app.security.models import StaffUser
from tests.security.two_practices import (
    INTAKE_URL,
    MARK,
    PHONE,
    Seeded,
    sign_in,
    snapshot,
    two_practices,
)


@pytest.fixture
def two(app: Flask) -> tuple[Seeded, Seeded]:
    return two_practices()


# Links to a record in a staff page, by URL prefix -> the URL argument naming that record.
LINKS = {"patients": "patient_id", "billing/patients": "patient_id", "inbox/c": "conversation_id",
         "schedule/appointments": "appointment_id",
         "admin/users": "user_id", "settings/calendars/providers": "provider_id",
         "settings/calendars/types": "appointment_type_id"}


def _a_rows(a: Seeded) -> dict[str, set[int]]:
    """Every id of practice A's rows that staff pages link to."""
    with across_practices():
        def ids(model: type) -> set[int]:
            return set(db.session.execute(select(model.id).where(
                model.practice_id == a.practice.id)).scalars())
        return {"patient_id": ids(Patient), "appointment_id": ids(Appointment),
                "user_id": ids(StaffUser), "provider_id": ids(Provider),
                "appointment_type_id": ids(AppointmentType),
                "conversation_id": ids(Conversation)}


def _leaks(body: str, a_rows: dict[str, set[int]]) -> list[str]:
    body = re.sub(r'value="[^"]*"', "", body)  # what was typed into a field comes back in it
    found = [MARK] if MARK in body else []
    for prefix, argument in LINKS.items():
        for match in re.finditer(rf"/{prefix}/(\d+)", body):
            if int(match.group(1)) in a_rows[argument]:
                found.append(match.group(0))
    return found


def _staff_routes(app: Flask):  # noqa: ANN202
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if rule.endpoint == "static" or getattr(view, "is_public", False) \
                or getattr(view, "signed_webhook", False) or rule.endpoint == "auth.sign_out":
            continue
        yield rule


def _list_urls(a: Seeded) -> list[str]:
    """Staff pages listing rows, plain and with practice A's ids in their query string."""
    ids = a.ids
    return [
        "/", "/patients", "/patients?q=Garcia", f"/patients?q={MARK}-7", "/patients?q=EXT-100",
        f"/patients?q={PHONE}", "/schedule", f"/schedule?location_id={ids['location_id']}",
        "/schedule/week", f"/schedule/week?provider_id={ids['provider_id']}"
        f"&appointment_type_id={ids['appointment_type_id']}",
        "/schedule/waitlist", f"/schedule/waitlist?location_id={ids['location_id']}"
        f"&appointment_type_id={ids['appointment_type_id']}",
        f"/schedule/book?appointment_type_id={ids['appointment_type_id']}"
        f"&provider_id={ids['provider_id']}&location_id={ids['location_id']}"
        f"&patient_id={ids['patient_id']}",
        "/settings/calendars", "/admin/users", "/admin/audit",
        f"/admin/audit?patient_id={ids['patient_id']}", "/admin/audit?action=patient.view",
        "/admin/audit/export.csv", "/dev/outbox", "/billing/", "/billing/requests",
        "/billing/fees", "/inbox", "/inbox?unread=1", "/inbox/canned",
    ]


@pytest.mark.parametrize("role", ["admin", "front_desk"])
def test_practice_b_staff_find_nothing_of_practice_a(app, two, role):
    a, b = two
    a_rows = _a_rows(a)
    before = snapshot(a.practice.id)
    client = sign_in(app, b.staff[role])
    problems: list[str] = []
    walked = 0
    for rule in _staff_routes(app):
        if not rule.arguments:
            continue
        missing = rule.arguments - a.ids.keys()
        assert not missing, f"{rule.rule}: give Seeded.ids practice A's {sorted(missing)}"
        url = app.url_map.bind("localhost").build(
            rule.endpoint, {name: a.ids[name] for name in rule.arguments})
        for method in sorted((rule.methods or set()) & {"GET", "POST"}):
            response = client.open(url, method=method)
            walked += 1
            # A POST with an empty form may be refused (400) or sent back (302) before the
            # id is looked at; that it changed nothing of A's is checked below.
            allowed = (403, 404) if method == "GET" else (302, 400, 403, 404)
            if response.status_code not in allowed:
                problems.append(f"{method} {url}: {response.status_code}")
            if response.status_code != 302:
                problems += [f"{method} {url}: {leak}"
                             for leak in _leaks(response.get_data(as_text=True), a_rows)]
    for url in _list_urls(a):
        response = client.get(url)
        walked += 1
        if response.status_code >= 500:
            problems.append(f"GET {url}: {response.status_code}")
        problems += [f"GET {url}: {leak}"
                     for leak in _leaks(response.get_data(as_text=True), a_rows)]
    assert walked > 30
    assert problems == [], "\n".join(problems)
    assert snapshot(a.practice.id) == before


def test_practice_b_staff_see_their_own_look_alike_rows(app, two):
    a, b = two
    client = sign_in(app, b.staff["admin"])
    twin_b = min(b.patient_ids)
    found = client.get("/patients?q=Garcia").get_data(as_text=True)
    assert f"/patients/{twin_b}" in found
    assert client.get(f"/patients/{twin_b}").status_code == 200
    audit_csv = client.get("/admin/audit/export.csv").get_data(as_text=True)
    assert f"-audit-{twin_b}" in audit_csv
    assert client.get(f"/schedule/appointments/{b.ids['appointment_id']}").status_code == 200


def test_changes_sent_with_practice_a_ids_change_nothing_of_practice_a(app, two):
    a, b = two
    before = snapshot(a.practice.id)
    client = sign_in(app, b.staff["admin"])
    ids = a.ids
    posts = {
        f"/schedule/appointments/{ids['appointment_id']}/cancel": {"reason": "not ours"},
        f"/schedule/appointments/{ids['appointment_id']}/status": {"status": "arrived"},
        f"/schedule/waitlist/{ids['entry_id']}/remove": {},
        f"/settings/calendars/providers/{ids['provider_id']}/exceptions/"
        f"{ids['exception_id']}/remove": {},
        f"/settings/calendars/types/{ids['appointment_type_id']}": {
            "name": "Renamed", "duration_minutes": "30", "buffer_before_minutes": "0",
            "buffer_after_minutes": "0"},
        f"/patients/{ids['patient_id']}/consent": {
            "channel": "sms", "purpose": "marketing", "granted": "yes", "reason": "asked"},
        f"/patients/{ids['patient_id']}/messages/{ids['message_id']}/opt-out": {},
        f"/billing/patients/{ids['patient_id']}/adjustments": {
            "reason": "discount", "direction": "lower", "amount": "10", "note": "not ours"},
        f"/billing/patients/{ids['patient_id']}/links": {"kind": "amount", "amount": "5"},
        f"/billing/appointments/{ids['appointment_id']}/copay": {},
        f"/billing/requests/{ids['request_id']}/resend": {},
        f"/billing/plans/{ids['plan_id']}/cancel": {"reason": "not ours"},
        f"/billing/plans/{ids['plan_id']}/card/withdraw": {},
        f"/billing/patients/{ids['patient_id']}/refunds": {"payment": "1", "amount": "1",
                                                          "note": "not ours"},
        "/schedule/waitlist": {"patient_id": ids["patient_id"],
                               "appointment_type_id": ids["appointment_type_id"],
                               "location_id": ids["location_id"]},
    }
    for url, data in posts.items():
        assert client.post(url, data=data).status_code in (302, 400, 404), url
    assert snapshot(a.practice.id) == before


def _fhir(client, token: str, path: str, params: dict | None = None):  # noqa: ANN001, ANN202
    return client.get(path, query_string=params or {}, headers={
        "Authorization": f"Bearer {token}", "Accept": "application/fhir+json"})


def _entry_ids(bundle: dict) -> set[str]:
    return {entry["resource"]["id"] for entry in bundle.get("entry", [])}


def _searches(a: Seeded) -> dict[str, list[dict[str, str]]]:
    """Searches per resource type: a plain one, and ones naming practice A's rows."""
    day = (utcnow() + timedelta(days=1)).date()
    patient = f"Patient/{a.ids['patient_id']}"
    return {
        "Patient": [{}, {"family": "Garcia"}, {"identifier": "EXT-100"}, {"phone": PHONE},
                    {"_id": str(a.ids["patient_id"])}],
        "Practitioner": [{}, {"family": "Rivera"}, {"_id": str(a.ids["provider_id"])}],
        "Location": [{}, {"name": "Main"}, {"_id": str(a.ids["location_id"])}],
        "Appointment": [{}, {"patient": patient},
                        {"practitioner": f"Practitioner/{a.ids['provider_id']}"}],
        "Schedule": [{}, {"actor": f"Practitioner/{a.ids['provider_id']}"}],
        "Slot": [{"schedule": f"Schedule/{a.schedule_id}", "start": f"ge{day.isoformat()}"}],
        "Communication": [{}, {"patient": patient}],
        "Questionnaire": [{}, {"url": INTAKE_URL}],
        "QuestionnaireResponse": [{}, {"patient": patient}],
    }


def test_practice_b_token_finds_nothing_of_practice_a(app, client, two):
    a, b = two
    searches = _searches(a)
    assert set(searches) == set(handlers()), "a resource type without searches here"
    problems: list[str] = []
    for resource_type, params_list in searches.items():
        a_ids: set[str] = set()
        for params in params_list:
            response = _fhir(client, a.token, f"/fhir/{resource_type}", params)
            assert response.status_code == 200, (resource_type, params, response.json)
            a_ids |= _entry_ids(response.json)
        assert a_ids, f"practice A's own token finds no {resource_type}"
        for resource_id in sorted(a_ids):
            status = _fhir(client, b.token, f"/fhir/{resource_type}/{resource_id}").status_code
            if status != 404:
                problems.append(f"read {resource_type}/{resource_id}: {status}")
        for params in params_list:
            response = _fhir(client, b.token, f"/fhir/{resource_type}", params)
            if response.status_code == 200:
                leaked = _entry_ids(response.json) & a_ids
                if leaked or MARK in response.get_data(as_text=True):
                    problems.append(f"search {resource_type} {params}: {sorted(leaked)}")
            elif response.status_code not in (400, 404):
                problems.append(f"search {resource_type} {params}: {response.status_code}")
    assert problems == [], "\n".join(problems)


def _send(client, method: str, token: str, path: str, body: dict):  # noqa: ANN001, ANN202
    return client.open(path, method=method, data=json.dumps(body), headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json",
        "Accept": "application/fhir+json"})


def test_practice_b_token_changes_nothing_of_practice_a(app, client, two):
    """Every resource of A's, sent back as an update by B's token, is a 404; creating
    resources that point at A's patient, practitioner, location or schedule is refused."""
    a, b = two
    resources = [entry["resource"] for resource_type, params_list in _searches(a).items()
                 for entry in _fhir(client, a.token, f"/fhir/{resource_type}",
                                    params_list[-1]).json.get("entry", [])]
    before = snapshot(a.practice.id)
    problems: list[str] = []
    for resource in resources:
        resource_type = resource["resourceType"]
        path = f"/fhir/{resource_type}/{resource['id']}"
        status = _send(client, "PUT", b.token, path, resource).status_code
        # Open time is refused by the shape of its id, before any lookup.
        refused = (400, 404) if resource_type == "Slot" else (404,)
        if status not in refused:
            problems.append(f"PUT {path}: {status}")
        if resource_type in ("Appointment", "Communication", "Schedule", "Slot"):
            copy = {k: v for k, v in resource.items() if k not in ("id", "meta")}
            status = _send(client, "POST", b.token, f"/fhir/{resource_type}",
                           copy).status_code
            if status not in (400, 404, 409, 422):
                problems.append(f"POST {resource_type} pointing at A's rows: {status}")
    assert problems == [], "\n".join(problems)
    assert snapshot(a.practice.id) == before
