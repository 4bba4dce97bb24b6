"""`flask keys`: make a key, rotate every PHI value to it in resumable batches, see status."""

import base64
import re
from datetime import date

import pytest
from sqlalchemy import select, text

from app.core.crypto import Keyring
from app.core.types import keyring
from app.extensions import db
from app.messaging.models import Conversation, Message
from app.patients.models import Patient
from app.security import keys
from app.security.models import AuditEvent
from tests import factories

KEY_A = "kA:" + base64.urlsafe_b64encode(b"a" * 32).decode()
KEY_B = "kB:" + base64.urlsafe_b64encode(b"b" * 32).decode()


def seed(count: int = 5) -> list[int]:
    practice = factories.make_practice()
    ids = []
    for n in range(count):
        patient = factories.make_patient(practice, given_name=f"Zephyrine{n}",
                                         family_name="Quillfeather", external_id=f"MRN-{n}",
                                         date_of_birth=date(1971, 3, n + 1),
                                         city="Springfield" if n % 2 else None)
        ids.append(patient.id)
    conversation = Conversation(practice_id=practice.id, channel="sms",
                                contact="+13125559876", contact_index="c1")
    db.session.add(conversation)
    db.session.flush()
    db.session.add(Message(practice_id=practice.id, conversation_id=conversation.id,
                           patient_id=ids[0],
                           direction="inbound", channel="sms", body="Running late, sorry"))
    db.session.commit()
    return ids


def raw_key_ids() -> set[str]:
    found = set()
    for column in keys.encrypted_columns():
        for (value,) in db.session.execute(
                text(f"SELECT {column.column} FROM {column.table} "  # noqa: S608
                     f"WHERE {column.column} IS NOT NULL")):
            found.add(Keyring.key_id_of(value))
    return found


def read_back(ids: list[int]) -> list[tuple[str, str, date, str | None]]:
    db.session.expire_all()
    patients = db.session.execute(select(Patient).where(Patient.id.in_(ids))
                                  .order_by(Patient.id)).scalars()
    rows = [(p.given_name, p.family_name, p.date_of_birth, p.external_id) for p in patients]
    body = db.session.execute(select(Message.body)).scalar_one()
    contact = db.session.execute(select(Conversation.contact)).scalar_one()
    return [*rows, (body, contact, date.min, None)]


def expected(ids: list[int]) -> list[tuple[str, str, date, str | None]]:
    rows = [(f"Zephyrine{n}", "Quillfeather", date(1971, 3, n + 1), f"MRN-{n}")
            for n in range(len(ids))]
    return [*rows, ("Running late, sorry", "+13125559876", date.min, None)]


def test_finds_every_encrypted_column_with_its_context(app):
    labels = {column.label: column.context for column in keys.encrypted_columns()}
    assert labels["patient.given_name"] == "patient.given_name"
    assert labels["patient.date_of_birth"] == "patient.date_of_birth"
    assert {"household.phone", "message.body", "conversation.contact",
            "appointment.note"} <= set(labels)
    assert "patient.state" not in labels and "practice.name" not in labels


def test_generate_prints_a_key_entry_the_settings_accept(runner):
    result = runner.invoke(args=["keys", "generate"])
    assert result.exit_code == 0
    entry = result.stdout.strip().splitlines()[0]
    assert re.fullmatch(r"k\d{8}[0-9a-f]{4}:[A-Za-z0-9_-]{43}=", entry)
    ring = Keyring.from_settings(f"{entry},{KEY_A}", base64.b64encode(b"i" * 32).decode())
    assert ring.current_id == entry.partition(":")[0]
    assert "Put it FIRST in PHI_ENCRYPTION_KEY" in result.output
    assert runner.invoke(args=["keys", "generate"]).stdout.strip() != entry


def test_rotate_moves_everything_to_the_new_key_then_the_old_key_can_go(make_app):
    with make_app(PHI_ENCRYPTION_KEY=KEY_A).app_context():
        ids = seed()
        assert raw_key_ids() == {"kA"}

    rotating = make_app(PHI_ENCRYPTION_KEY=f"{KEY_B},{KEY_A}")
    result = rotating.test_cli_runner().invoke(args=["keys", "rotate", "--batch-size", "2"])
    assert result.exit_code == 0, result.output
    assert "  patient.given_name: 2 re-encrypted" in result.output
    assert "  patient.given_name: 1 re-encrypted" in result.output
    assert "patient: " in result.output and "message: 1 value(s) re-encrypted" in result.output
    # 5 patients x (given, family, dob, external id, mobile, email) + 2 cities + contact + body
    assert "Done: 34 value(s) re-encrypted" in result.output
    with rotating.app_context():
        assert raw_key_ids() == {"kB"}
        assert read_back(ids) == expected(ids)
        event = db.session.execute(select(AuditEvent).where(
            AuditEvent.action == "keys.rotate")).scalar_one()
        assert event.object_id == "kB" and '"rows":34' in event.detail

    with make_app(PHI_ENCRYPTION_KEY=KEY_B).app_context():
        assert read_back(ids) == expected(ids)


def test_interrupted_rotation_leaves_both_keys_readable_and_resumes(make_app):
    with make_app(PHI_ENCRYPTION_KEY=KEY_A).app_context():
        ids = seed()

    with make_app(PHI_ENCRYPTION_KEY=f"{KEY_B},{KEY_A}").app_context():
        # conversation.contact (1 row), then two batches of patient.external_id
        first = keys.rotate(batch_size=2, max_batches=3)
        assert not first.finished and first.total == 5
        assert raw_key_ids() == {"kA", "kB"}
        assert read_back(ids) == expected(ids)
        status = keys.key_status()
        assert status["patient.external_id"] == {"kB": 4, "kA": 1}
        assert status["patient.given_name"] == {"kB": 0, "kA": 5}

        rest = keys.rotate(batch_size=2)
        assert rest.finished and rest.total == 29
        assert raw_key_ids() == {"kB"}
        assert keys.rotate(batch_size=2).total == 0  # nothing left: a re-run is harmless
        assert read_back(ids) == expected(ids)


def test_cli_stops_after_max_batches_and_says_how_to_finish(make_app):
    with make_app(PHI_ENCRYPTION_KEY=KEY_A).app_context():
        seed(2)
    runner = make_app(PHI_ENCRYPTION_KEY=f"{KEY_B},{KEY_A}").test_cli_runner()
    result = runner.invoke(args=["keys", "rotate", "--batch-size", "1", "--max-batches", "3"])
    assert result.exit_code == 0
    assert "Stopped after 3 batch(es): 3 value(s) re-encrypted so far" in result.output
    assert "Run 'flask keys rotate' again to finish." in result.output
    status = runner.invoke(args=["keys", "status"])
    assert re.search(r"conversation.contact\s+kB=1, kA=0", status.output)
    assert re.search(r"patient.external_id\s+kB=2, kA=0", status.output)
    assert re.search(r"patient.given_name\s+kB=0, kA=2", status.output)
    assert "value(s) are not under the current key: run 'flask keys rotate'." in status.output
    assert "Done:" in runner.invoke(args=["keys", "rotate"]).output
    assert "Every value is under the current key." in runner.invoke(
        args=["keys", "status"]).output


def test_refuses_while_the_development_key_is_current(app, runner):
    seed(1)
    result = runner.invoke(args=["keys", "rotate"])
    assert result.exit_code == 1
    assert "PHI_ENCRYPTION_KEY is not configured: the current key is the built-in " \
           "development key" in result.output
    assert raw_key_ids() == {"dev1"}


def test_refuses_when_values_need_a_key_that_is_not_listed(make_app):
    with make_app(PHI_ENCRYPTION_KEY=KEY_A).app_context():
        seed(1)
    runner = make_app(PHI_ENCRYPTION_KEY=KEY_B).test_cli_runner()
    status = runner.invoke(args=["keys", "status"])
    assert re.search(r"patient.given_name\s+kB=0, unknown=1", status.output)
    result = runner.invoke(args=["keys", "rotate"])
    assert result.exit_code == 1
    assert "values encrypted with a key that PHI_ENCRYPTION_KEY does not list" in result.output
    assert "patient.given_name" in result.output


def test_a_value_changed_by_the_app_during_rotation_is_not_overwritten(make_app):
    with make_app(PHI_ENCRYPTION_KEY=KEY_A).app_context():
        ids = seed(1)
    app = make_app(PHI_ENCRYPTION_KEY=f"{KEY_B},{KEY_A}")
    with app.app_context():
        column = next(c for c in keys.encrypted_columns() if c.label == "patient.given_name")
        rows, _ = keys._read_batch(column, keyring(), 10, None)
        patient = db.session.get(Patient, ids[0])
        patient.given_name = "Renamed"
        db.session.commit()
        assert keys._rewrite_batch(column, keyring(), rows) == 0
        db.session.commit()
        db.session.expire_all()
        assert db.session.get(Patient, ids[0]).given_name == "Renamed"


@pytest.mark.parametrize("size", ["0", "many"])
def test_bad_batch_size_is_named(make_app, size):
    result = make_app(PHI_ENCRYPTION_KEY=KEY_B).test_cli_runner().invoke(
        args=["keys", "rotate", "--batch-size", size])
    assert result.exit_code == 2
    assert "--batch-size" in result.output
