"""No double booking under concurrency: simultaneous requests for one slot, each in its own
app context and database session as separate web requests would be; and a locked SQLite
database is retried, never a server error."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import event, func, select

from app.extensions import db as _db
from app.scheduling import booking
from app.scheduling.models import Appointment
from tests import factories
from tests.scheduling.test_booking import NOW, Clinic, local_times, make_clinic, slot_at


@pytest.fixture
def clinic(practice) -> Clinic:  # noqa: ANN001
    return make_clinic(practice)


def race(app, clinic: Clinic, contenders: int) -> list[object]:  # noqa: ANN001
    """``contenders`` patients try to book Monday 09:00 at once; each result is the new
    appointment's id or the exception raised."""
    patient_ids = [factories.make_patient(clinic.practice).id for _ in range(contenders)]
    slot = slot_at(clinic, "09:00")
    start = threading.Barrier(contenders)
    results: list[object] = []

    def attempt(patient_id: int) -> None:
        with app.app_context():
            start.wait()
            try:
                results.append(booking.book(patient_id=patient_id, slot=slot, source="patient",
                                            now=NOW).id)
            except BaseException as error:  # reported by the caller's assertions
                results.append(error)

    threads = [threading.Thread(target=attempt, args=(patient_id,))
               for patient_id in patient_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def assert_one_winner(results: list[object], clinic: Clinic) -> None:
    winners = [result for result in results if isinstance(result, int)]
    taken = [result for result in results if isinstance(result, booking.SlotTaken)]
    assert len(winners) == 1, results
    assert len(taken) == len(results) - 1, results
    assert all(str(error) == "That time was just taken" for error in taken)
    assert all(local_times(error.next_slots)[0] == "Mon 09:45" for error in taken)
    booked = _db.session.execute(select(func.count(Appointment.id)).where(
        Appointment.start_at == slot_at(clinic, "09:00").start)).scalar_one()
    assert booked == 1


def test_twenty_simultaneous_bookings_on_postgresql_have_one_winner(postgres_only, app, clinic):
    assert_one_winner(race(app, clinic, 20), clinic)


def test_simultaneous_bookings_on_sqlite_have_one_winner(app, clinic):
    assert_one_winner(race(app, clinic, 4), clinic)


@pytest.fixture
def lock_database(app) -> Iterator[Callable[[], sqlite3.Connection]]:  # noqa: ANN001
    """``lock_database()``: another process takes SQLite's write lock, and from then on the
    app's connections wait only 50 ms for it (instead of the configured 30 s)."""
    if _db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's database-wide write lock")
    holders: list[sqlite3.Connection] = []

    def short_wait(connection, _record) -> None:  # noqa: ANN001
        connection.execute("PRAGMA busy_timeout = 50")

    def lock() -> sqlite3.Connection:
        event.listen(_db.engine, "connect", short_wait)
        _db.session.commit()  # the session lets its connection go; dispose closes it
        _db.engine.dispose()
        holder = sqlite3.connect(_db.engine.url.database, isolation_level=None,
                                 check_same_thread=False)
        holder.execute("BEGIN IMMEDIATE")
        holders.append(holder)
        return holder

    yield lock
    for holder in holders:
        holder.close()
    if event.contains(_db.engine, "connect", short_wait):
        event.remove(_db.engine, "connect", short_wait)


def test_a_database_that_stays_locked_answers_slot_taken(clinic, lock_database):
    holder = lock_database()

    with pytest.raises(booking.SlotTaken) as taken:
        booking.book(patient_id=clinic.patient.id, slot=slot_at(clinic, "09:00"),
                     source="staff", staff_id=clinic.staff.id, now=NOW)

    assert taken.value.next_slots
    assert slot_at(clinic, "09:00") not in taken.value.next_slots
    holder.rollback()
    assert _db.session.execute(select(func.count(Appointment.id))).scalar_one() == 0


def test_a_database_locked_for_a_moment_is_retried(clinic, lock_database):
    threading.Timer(0.08, lock_database().rollback).start()

    appointment = booking.book(patient_id=clinic.patient.id, slot=slot_at(clinic, "09:00"),
                               source="staff", staff_id=clinic.staff.id, now=NOW)

    assert appointment.start_at == slot_at(clinic, "09:00").start


def test_cancelling_in_a_locked_database_says_the_schedule_is_busy(clinic, lock_database):
    appointment_id = booking.book(patient_id=clinic.patient.id, slot=slot_at(clinic, "09:00"),
                                  source="staff", staff_id=clinic.staff.id, now=NOW).id
    holder = lock_database()

    with pytest.raises(booking.ScheduleBusy):
        booking.cancel(appointment_id=appointment_id, reason="Sick", source="patient")

    holder.rollback()
    assert _db.session.get(Appointment, appointment_id).status == "booked"
