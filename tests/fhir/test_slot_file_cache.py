"""The published slot files are computed at most once a minute per process, and again right
after a booking commits (app/fhir/slot_file_cache.py)."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta

from sqlalchemy import event

from app.core import clock
from app.core.clock import utcnow
from app.extensions import db
from app.scheduling import booking, online
from tests import factories
from tests.fhir.test_scheduling_links import _slots_at, office  # noqa: F401


def test_a_change_outside_booking_shows_once_the_minute_is_over(
        client, office, practice):  # noqa: F811
    before = _slots_at(client, office.chicago, office.cleaning)
    start = min(before)
    patient = factories.make_patient(practice)
    factories.make_appointment(patient, office.rivera, office.chicago,  # no booking event
                               start_at=datetime.fromisoformat(start).astimezone(UTC),
                               appointment_type=office.cleaning)
    assert _slots_at(client, office.chicago, office.cleaning)[start] == 2  # the cached file
    with clock.frozen_at(utcnow() + timedelta(seconds=61)):
        assert _slots_at(client, office.chicago, office.cleaning)[start] == 1


def test_a_booking_empties_the_cache_when_it_commits(client, office, practice):  # noqa: F811
    before = _slots_at(client, office.chicago, office.cleaning)
    slot = online.open_slots(kind=office.cleaning, location=office.chicago,
                                   provider_id=None)[0]
    start = next(s for s in before if datetime.fromisoformat(s) == slot.start)
    assert before[start] == 2
    staff = factories.make_staff(practice)
    booking.book(patient_id=factories.make_patient(practice).id, slot=slot, source="staff",
                 staff_id=staff.id)
    assert _slots_at(client, office.chicago, office.cleaning)[start] == 1



def test_a_cached_file_costs_no_query_no_session_and_an_etag_match_costs_no_body(
        app, client, login, office):  # noqa: F811
    """Aggregators poll the file: served from the cache it reads no database and no staff
    session (the same answer for a signed-in staff member, with no ``Vary: Cookie`` and no
    cookie set, so shared caches may keep it); ``If-None-Match`` with its ETag is a 304."""
    path = f"/fhir/$bulk-publish/slots-{office.chicago.id}.ndjson"
    first = client.get(path)
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        staff = login("front_desk")
        statements.clear()
        answers = [client.get(path), staff.get(path),
                   client.get(path, headers={"If-None-Match": first.headers["ETag"]})]
    finally:
        event.remove(db.engine, "before_cursor_execute", count)

    assert statements == []
    assert [a.status_code for a in answers] == [200, 200, 304]
    assert answers[0].data == answers[1].data == first.data and answers[2].data == b""
    for answer in (first, *answers):
        assert answer.headers["Cache-Control"] == "public, max-age=60"
        assert answer.headers["ETag"] == first.headers["ETag"]
        assert "Cookie" not in answer.headers.get("Vary", "")
        assert "Set-Cookie" not in answer.headers
    assert "Vary" in staff.get("/home").headers  # pages still vary by the staff cookie


def test_a_gzip_poller_gets_the_same_file_compressed_with_its_own_etag(
        client, office):  # noqa: F811
    """``Accept-Encoding: gzip`` gets the cached file gzip-compressed: it decompresses to
    exactly the identity body, under its own ETag (a 304 by that ETag, not by the other
    encoding's); both encodings say ``Vary: Accept-Encoding``."""
    path = f"/fhir/$bulk-publish/slots-{office.chicago.id}.ndjson"
    gzip_asked = {"Accept-Encoding": "gzip, deflate"}
    plain, packed = client.get(path), client.get(path, headers=gzip_asked)

    assert plain.status_code == packed.status_code == 200
    assert "Content-Encoding" not in plain.headers
    assert packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.data) == plain.data and len(packed.data) < len(plain.data)
    assert int(packed.headers["Content-Length"]) == len(packed.data)
    for answer in (plain, packed):
        assert answer.headers["Vary"] == "Accept-Encoding"
        assert answer.headers["Content-Type"] == "application/fhir+ndjson"
        assert answer.headers["Cache-Control"] == "public, max-age=60"
    assert packed.headers["ETag"] != plain.headers["ETag"]

    revalidated = client.get(path, headers={**gzip_asked,
                                            "If-None-Match": packed.headers["ETag"]})
    assert (revalidated.status_code, revalidated.data) == (304, b"")
    assert revalidated.headers["ETag"] == packed.headers["ETag"]
    assert revalidated.headers["Vary"] == "Accept-Encoding"
    other_encoding = client.get(path, headers={"If-None-Match": packed.headers["ETag"]})
    assert (other_encoding.status_code, other_encoding.data) == (200, plain.data)
    refused = client.get(path, headers={"Accept-Encoding": "gzip;q=0, identity"})
    assert "Content-Encoding" not in refused.headers and refused.data == plain.data
