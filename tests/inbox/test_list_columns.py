"""The conversation's derived list columns (``last_message_id``, ``needs_action``) equal what
its messages say after every kind of event that adds or changes a message: inbound texts,
flags, keyword replies, staff replies, scheduled replies cancelled, the dispatcher attaching
a reminder, the outbox cancelling and re-planning, staff settling a flag, closing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, select

from app.adapters.email.console import ConsoleEmail
from app.adapters.sms.console import ConsoleSms
from app.core.clock import utcnow
from app.extensions import db
from app.messaging import dispatcher, outbox, staff_actions
from app.messaging.models import Conversation, Direction, Message, MessageStatus, Purpose
from tests import factories
from tests.inbox.conftest import PATIENT_PHONE, WEBHOOK_SETTINGS, text_in

pytestmark = pytest.mark.app_settings(**WEBHOOK_SETTINGS)
OTHER_PHONE = "+13125550177"
# 15:00 UTC = 09:00 in Chicago: inside the sending window, whatever the test clock says
NOON = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)


def kept() -> dict[int, tuple[int | None, bool]]:
    db.session.expire_all()
    return {c.id: (c.last_message_id, c.needs_action)
            for c in db.session.execute(select(Conversation)).scalars()}


def computed() -> dict[int, tuple[int | None, bool]]:
    """The same two facts worked out from the messages in Python."""
    db.session.expire_all()
    result: dict[int, tuple[int | None, bool]] = {
        cid: (None, False) for cid in db.session.execute(select(Conversation.id)).scalars()}
    for message in db.session.execute(select(Message).order_by(Message.id)).scalars():
        if message.conversation_id is None:
            continue
        last, flagged = result[message.conversation_id]
        if message.status != MessageStatus.CANCELLED:
            last = message.id
        result[message.conversation_id] = (last, flagged or message.needs_staff_action)
    return result


def latest(**where: object) -> Message:
    stmt = select(Message).filter_by(**where).order_by(Message.id.desc()).limit(1)
    return db.session.execute(stmt).scalar_one()


def conversation_of(phone_message: Message) -> Conversation:
    return db.session.get(Conversation, phone_message.conversation_id)


def test_texts_flags_replies_and_cancels_keep_the_columns_true(client, patient, staff_client):
    text_in(client, "Is parking free?")
    first = latest(direction=Direction.INBOUND)
    assert kept() == computed() == {first.conversation_id: (first.id, False)}
    cid = first.conversation_id

    text_in(client, "please stop texting me")  # a likely opt-out: waits for staff
    flagged = latest(direction=Direction.INBOUND)
    assert kept() == computed() == {cid: (flagged.id, True)}

    _, alice = staff_client()
    alice.post(f"/inbox/c/{cid}/reply", data={"body": "Yes, it is.", "token": "a" * 24})
    reply = latest(direction=Direction.OUTBOUND)
    assert kept() == computed() == {cid: (reply.id, False)}  # answering settles the flag

    later = (utcnow() + timedelta(days=1)).astimezone(ZoneInfo("America/Chicago"))
    alice.post(f"/inbox/c/{cid}/reply", data={
        "body": "See you tomorrow.", "token": "b" * 24, "zone": "America/Chicago",
        "send_at": later.strftime("%Y-%m-%dT%H:%M")})
    scheduled = latest(direction=Direction.OUTBOUND)
    assert kept() == computed() == {cid: (scheduled.id, False)}
    alice.post(f"/inbox/c/{cid}/messages/{scheduled.id}/cancel")
    assert kept() == computed() == {cid: (reply.id, False)}  # the cancelled one is not shown

    text_in(client, "STOP")  # the keyword's confirmation is queued into the conversation
    confirmation = latest(direction=Direction.OUTBOUND)
    assert confirmation.purpose == Purpose.SYSTEM
    assert kept() == computed() == {cid: (confirmation.id, False)}

    text_in(client, "please stop texting me", sender=OTHER_PHONE)
    other = latest(direction=Direction.INBOUND)
    assert kept() == computed()
    assert kept()[other.conversation_id] == (other.id, True)
    alice.post(f"/inbox/c/{other.conversation_id}/status", data={"status": "closed"})
    assert kept() == computed()
    assert kept()[other.conversation_id] == (other.id, False)


def test_staff_settling_a_flag_on_the_patient_page_clears_needs_action(
        client, patient, staff_client):
    text_in(client, "please stop texting me")
    flagged = latest(direction=Direction.INBOUND)
    assert kept() == computed() == {flagged.conversation_id: (flagged.id, True)}
    staff_actions.dismiss_likely_opt_out(practice_id=patient.practice_id,
                                         patient_id=patient.id, message_id=flagged.id)
    db.session.commit()
    assert kept() == computed() == {flagged.conversation_id: (flagged.id, False)}


def test_the_outbox_and_the_dispatcher_keep_the_columns_true(client, practice, patient):
    location = factories.make_location(practice, timezone="America/Chicago")
    factories.make_provider(practice, locations=[location])
    text_in(client, "Hello")
    received = latest(direction=Direction.INBOUND)
    cid = received.conversation_id

    reminder = outbox.enqueue(practice_id=practice.id, patient_id=patient.id,
                              purpose=Purpose.APPOINTMENT, idempotency_key="bench:reminder",
                              template="help_reply", send_at=NOON)
    db.session.commit()
    assert kept() == computed() == {cid: (received.id, False)}  # not in a thread until sent
    providers = dispatcher.Providers(sms=ConsoleSms(), email=ConsoleEmail(),
                                     public_base_url="https://clinic.example")
    assert dispatcher.run_once(providers, now=NOON).sent == 1
    assert latest(id=reminder.id).conversation_id == cid  # the worker put it in the thread
    assert kept() == computed() == {cid: (reminder.id, False)}

    queued = outbox.enqueue(practice_id=practice.id, patient_id=patient.id,
                            conversation_id=cid, channel="sms", address=PATIENT_PHONE,
                            purpose=Purpose.APPOINTMENT, idempotency_key="visit:9:24h",
                            body="Your visit is tomorrow.", send_at=NOON + timedelta(days=30))
    db.session.commit()
    assert kept() == computed() == {cid: (queued.id, False)}
    assert outbox.cancel(idempotency_key_prefix="visit:9:", reason="visit cancelled") == 1
    db.session.commit()
    assert kept() == computed() == {cid: (reminder.id, False)}
    assert outbox.retime(message_id=queued.id, send_at=NOON + timedelta(days=31), context={})
    db.session.commit()
    assert kept() == computed() == {cid: (queued.id, False)}


def statements_of(client, url: str) -> int:
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_rest) -> None:  # noqa: ANN001
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        response = client.get(url)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert response.status_code == 200
    return len(seen)


def test_a_page_takes_the_same_statements_for_one_row_or_many(client, practice, patient,
                                                              staff_client):
    """No statement per row: names, latest messages, assignees and flags of every row come
    from a fixed number of queries."""
    me, alice = staff_client()
    text_in(client, "First")
    alice.get("/inbox")  # the first page of a session writes its own rows once
    one = statements_of(alice, "/inbox")
    for n in range(6):
        person = factories.make_patient(practice, mobile_phone=f"+1312555{2000 + n:04d}")
        if n == 0:  # a household: two patients on one number
            factories.make_patient(practice, mobile_phone=person.mobile_phone)
        text_in(client, "please stop texting me" if n == 1 else f"Question {n}",
                sender=person.mobile_phone)
    for cid in db.session.execute(select(Conversation.id)).scalars():
        alice.post(f"/inbox/c/{cid}/assign",
                   data={"assign": "me" if cid % 2 else "team:billing"})
    page = alice.get("/inbox").get_data(as_text=True)
    assert page.count("data-conversation=") == 7 and "Test front_desk" in page
    assert statements_of(alice, "/inbox") == one
