"""`flask audit verify`: the hash chain catches edited and deleted rows once they are sealed; a
checkpoint catches rows deleted from the end. Sealing chains committed rows in commit order."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select, text

from app.core.tenancy import CrossPracticeWrite, acting_for
from app.extensions import db
from app.security import audit
from app.security.audit import Action
from app.security.models import AuditEvent


def _events(count: int) -> list[AuditEvent]:
    """``count`` events, committed and sealed (the scheduler's audit-seal job)."""
    events = [audit.record(Action.PATIENT_VIEW, patient_id=n + 1, object_type="patient",
                           object_id=n + 1, detail={"n": n}) for n in range(count)]
    db.session.commit()
    assert audit.seal() == count
    return events


def _verify(runner, *args: str):  # noqa: ANN001, ANN202
    return runner.invoke(args=["audit", "verify", *args])


def test_a_clean_trail_verifies_and_prints_a_checkpoint(runner):
    events = _events(5)

    result = _verify(runner)

    assert result.exit_code == 0, result.output
    assert "Audit trail intact: 5 events verified" in result.output
    assert f"{events[-1].id}:{events[-1].chain_hash}" in result.output


def test_an_empty_trail_verifies(runner):
    result = _verify(runner)

    assert result.exit_code == 0
    assert "Audit trail intact: 0 events verified" in result.output


@pytest.mark.parametrize(("column", "value"), [
    ("action", "patient.search"),
    ("patient_id", 999),
    ("detail", '{"n":99}'),
    ("chain_hash", "f" * 64),
])
def test_an_edited_row_is_named(runner, column, value):
    events = _events(5)
    target = events[2]
    db.session.execute(text(f"UPDATE audit_event SET {column} = :value WHERE id = :id"),
                       {"value": value, "id": target.id})
    db.session.commit()

    result = _verify(runner)

    assert result.exit_code == 1
    assert f"broken at row {target.id} ({target.occurred_at.isoformat()}," in result.output
    assert f"row {target.id} was edited" in result.output
    assert "2 events before it verified" in result.output


def test_a_deleted_middle_row_names_the_row_after_the_gap(runner):
    events = _events(5)
    db.session.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": events[2].id})
    db.session.commit()

    result = _verify(runner)

    assert result.exit_code == 1
    assert f"broken at row {events[3].id}" in result.output
    assert (f"row {events[3].id} does not follow row {events[1].id}: "
            "a row between them was deleted") in result.output


def test_a_deleted_first_row_is_caught(runner):
    events = _events(3)
    db.session.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": events[0].id})
    db.session.commit()

    result = _verify(runner)

    assert result.exit_code == 1
    assert f"row {events[1].id} does not start the chain" in result.output


def test_deleting_the_last_rows_is_caught_only_by_the_checkpoint(runner):
    events = _events(3)
    last_id = events[-1].id
    checkpoint = f"{last_id}:{events[-1].chain_hash}"
    db.session.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": last_id})
    db.session.commit()

    assert "2 events verified" in _verify(runner).output  # the chain alone cannot tell
    result = _verify(runner, "--expect-last", checkpoint)

    assert result.exit_code == 1
    assert f"checkpoint event {last_id} is missing" in result.output
    assert f"ends at event {events[1].id}" in result.output


def test_a_deleted_last_row_followed_by_new_events_still_fails_the_checkpoint(runner):
    """SQLite hands the deleted id out again, so the new row can even take its place."""
    events = _events(3)
    last_id = events[-1].id
    checkpoint = f"{last_id}:{events[-1].chain_hash}"
    db.session.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": last_id})
    db.session.commit()
    _events(2)

    result = _verify(runner, "--expect-last", checkpoint)

    assert result.exit_code == 1
    assert "Audit trail truncated" in result.output


def test_a_checkpoint_from_an_earlier_run_still_matches_after_more_events(runner):
    first = _events(2)
    _events(2)

    result = _verify(runner, "--expect-last", f"{first[-1].id}:{first[-1].chain_hash}")

    assert result.exit_code == 0, result.output
    assert "4 events verified" in result.output


def test_a_checkpoint_with_another_hash_fails(runner):
    events = _events(2)

    result = _verify(runner, "--expect-last", f"{events[-1].id}:{'0' * 64}")

    assert result.exit_code == 1
    assert f"event {events[-1].id} does not match the checkpoint hash" in result.output


def test_a_malformed_checkpoint_is_refused_with_the_expected_form(runner):
    result = _verify(runner, "--expect-last", "12")

    assert result.exit_code == 2
    assert "ID:HASH" in result.output


def test_verification_reads_in_batches_across_a_break(app):
    events = _events(7)
    assert audit.verify_chain(batch_size=2).verified == 7
    db.session.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": events[4].id})
    db.session.commit()

    report = audit.verify_chain(batch_size=2)

    assert report.broken is not None
    assert (report.broken.id, report.broken.previous_id) == (events[5].id, events[3].id)
    assert report.verified == 4


def test_rolled_back_appends_are_not_tampering(runner):
    _events(2)
    audit.record(Action.PATIENT_VIEW, patient_id=1)
    db.session.rollback()  # on PostgreSQL the sequence keeps the id: a gap in the ids
    _events(2)

    result = _verify(runner)

    assert result.exit_code == 0, result.output
    assert "4 events verified" in result.output


def test_actions_may_be_given_as_constants_or_strings(app):
    audit.record(Action.PATIENT_CREATE, patient_id=1)
    audit.record("patient.create", patient_id=2)
    db.session.commit()

    stored = db.session.execute(select(AuditEvent.action)).scalars().all()

    assert stored == ["patient.create", "patient.create"]
    assert audit.verify_chain().intact


def test_an_event_recorded_now_is_stored_as_one_recorded_at_the_flush(app):
    """``record_now`` (one event per API call) writes the row ``record`` would, and it
    chains and verifies like any other."""
    facts = {"patient_id": 7, "object_type": "patient", "object_id": 7, "detail": {"n": 1}}
    audit.record(Action.PATIENT_VIEW, **facts)
    audit.record_now(Action.PATIENT_VIEW, **facts)
    db.session.commit()

    columns = [column for column in AuditEvent.__table__.c
               if column.name not in ("id", "occurred_at")]  # the clock ticks between them
    first, second = db.session.execute(select(*columns).order_by(AuditEvent.id)).all()
    assert first == second and first.patient_id == 7
    assert audit.seal() == 2 and audit.verify_chain().intact


def test_an_event_recorded_now_for_another_practice_is_refused(app):
    other_practices_client = SimpleNamespace(id=1, email="api-token:x", role="api",
                                             practice_id=2)
    with acting_for(1), pytest.raises(CrossPracticeWrite):
        audit.record_now(Action.FHIR_READ, actor=other_practices_client)
    db.session.commit()
    assert db.session.execute(select(func.count(AuditEvent.id))).scalar_one() == 0


def test_concurrent_appends_keep_one_chain(app, runner):
    """Four sessions appending at once. Runs on both databases: PostgreSQL serializes appends
    with the advisory lock, SQLite with the INSERT's write lock (reading the previous hash
    before inserting forked the chain there)."""
    start = threading.Barrier(4)
    failures: list[BaseException] = []

    def append(worker: int) -> None:
        try:
            with app.app_context():
                start.wait()
                for n in range(25):
                    audit.record(Action.PATIENT_VIEW, object_type="worker",
                                 object_id=f"{worker}-{n}")
                    db.session.commit()
        except BaseException as error:  # reported by the assertion below
            failures.append(error)

    threads = [threading.Thread(target=append, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert db.session.execute(select(func.count(AuditEvent.id))).scalar_one() == 100
    result = _verify(runner)
    assert result.exit_code == 0, result.output
    assert "100 events verified" in result.output


def test_recording_inserts_an_unsealed_row_that_verification_seals(app):
    event = audit.record(Action.PATIENT_VIEW, patient_id=1)
    db.session.commit()
    assert (event.chain_seq, event.chain_hash) == (None, None)

    report = audit.verify_chain()

    assert report.intact and report.verified == 1
    assert (event.chain_seq, report.last_hash) == (1, event.chain_hash)
    assert audit.seal() == 0  # sealed once


def test_a_sealed_event_is_never_changed_or_deleted_through_the_orm(app):
    event = _events(1)[0]

    event.detail = '{"n":99}'
    with pytest.raises(ValueError, match="never changed or deleted"):
        db.session.flush()
    db.session.rollback()
    db.session.delete(event)
    with pytest.raises(ValueError, match="never changed or deleted"):
        db.session.flush()


@pytest.mark.usefixtures("postgres_only")
def test_rows_committing_out_of_id_order_are_chained_in_commit_order(app, make_app):
    """A transaction that drew the lower id commits after one with a higher id that was
    already sealed: its row is sealed later, further down the chain, which still verifies."""
    other = make_app()
    with other.app_context():
        early = audit.record(Action.PATIENT_VIEW, patient_id=1)
        db.session.flush()  # id drawn, not committed
        early_id = early.id
        with app.app_context():
            late = _events(1)[0]
            assert late.id > early_id and late.chain_seq == 1
        db.session.commit()
    audit.record(Action.PATIENT_VIEW, patient_id=3)
    db.session.commit()
    assert audit.seal() == 2

    rows = db.session.execute(select(AuditEvent.id, AuditEvent.chain_seq)
                              .order_by(AuditEvent.chain_seq)).all()
    assert [seq for _, seq in rows] == [1, 2, 3]
    assert rows[1].id == early_id
    report = audit.verify_chain()
    assert report.intact and report.verified == 3
