"""FHIR Communication: every message in and out read and searched; a message to a patient
created through the API is queued in the outbox and sent by the dispatcher; a message not
sent yet can be stopped, and nothing else about a message can be changed."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import pytest
from fhir.resources.R4B.communication import Communication as FhirCommunication
from sqlalchemy import select

from app.adapters.email.console import ConsoleEmail
from app.adapters.sms.console import ConsoleSms
from app.core.clock import utcnow
from app.extensions import db
from app.fhir.mapping.communication import MEDIUM_SYSTEM
from app.messaging import conversations, dispatcher
from app.messaging.models import Direction, Message, MessageStatus
from app.security.models import AuditEvent
from tests import factories
from tests.fhir.outcome import expressions, issues
from tests.messaging.signed_webhooks import (
    PATIENT_PHONE,
    WEBHOOK_SETTINGS,
    inbound_form,
    post_twilio,
)

SMS = {"coding": [{"system": MEDIUM_SYSTEM, "code": "SMSWRIT"}]}
EMAIL = {"coding": [{"system": MEDIUM_SYSTEM, "code": "EMAILWRIT"}]}
MARCH = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


pytestmark = pytest.mark.app_settings(**WEBHOOK_SETTINGS)


@pytest.fixture
def patient(practice):
    return factories.make_patient(practice, mobile_phone=PATIENT_PHONE)


def outgoing(patient, text="Your crown is ready. Lakeside Family Dental", **extra):
    return {"resourceType": "Communication", "status": "preparation",
            "subject": {"reference": f"Patient/{patient.id}"}, "medium": [SMS],
            "payload": [{"contentString": text}], **extra}


def send_due():
    """The dispatcher with the console providers, once, at 11:00 in Chicago on a weekday
    after now (inside the practice's send window whatever time the test runs)."""
    day = utcnow() + timedelta(days=1)
    day += timedelta(days=(2 - day.weekday()) % 7)  # the next Wednesday
    providers = dispatcher.Providers(sms=ConsoleSms(), email=ConsoleEmail(),
                                     public_base_url="https://clinic.example")
    return dispatcher.run_once(providers, now=day.replace(hour=17, minute=0))


def outbound_messages():
    return db.session.execute(select(Message).where(Message.direction == Direction.OUTBOUND)
                              .order_by(Message.id)).scalars().all()


def ids(bundle_response):
    assert bundle_response.status_code == 200, bundle_response.data
    return [int(entry["resource"]["id"]) for entry in bundle_response.get_json().get("entry", [])]


def test_an_inbound_text_and_an_outbound_message_read_as_communications(
        fhir, client, practice, patient):
    response = post_twilio(client, "/webhooks/twilio/sms",
                           inbound_form("Is there parking near the office?"))
    assert response.status_code == 200
    inbound = db.session.execute(select(Message).where(
        Message.direction == Direction.INBOUND)).scalar_one()
    delivered_at = MARCH + timedelta(seconds=5)
    reply = factories.make_message(patient, body="Yes, behind the building.",
                                   status="delivered", created_at=MARCH, sent_at=MARCH,
                                   delivered_at=delivered_at, in_reply_to_id=inbound.id,
                                   provider_message_id="SM" + "c3" * 16)

    came_in = fhir.get(f"/fhir/Communication/{inbound.id}")
    assert came_in.status_code == 200, came_in.data
    resource = FhirCommunication.model_validate(came_in.get_json())
    assert resource.status == "completed"
    assert resource.subject.reference == f"Patient/{patient.id}"
    assert resource.sender.reference == f"Patient/{patient.id}"
    assert [r.display for r in resource.recipient] == [practice.name]
    assert resource.payload[0].contentString == "Is there parking near the office?"
    assert [(c.system, c.code) for c in resource.medium[0].coding] == [(MEDIUM_SYSTEM,
                                                                        "SMSWRIT")]
    assert resource.sent == resource.received == inbound.created_at

    went_out = FhirCommunication.model_validate(
        fhir.get(f"/fhir/Communication/{reply.id}").get_json())
    assert went_out.status == "completed"
    assert went_out.sender.display == practice.name and went_out.sender.reference is None
    assert [r.reference for r in went_out.recipient] == [f"Patient/{patient.id}"]
    assert (went_out.sent, went_out.received) == (MARCH, delivered_at)
    assert went_out.inResponseTo[0].reference == f"Communication/{inbound.id}"
    assert [(i.system, i.value) for i in went_out.identifier] == [
        ("urn:frontdesk:provider-message-id", "SM" + "c3" * 16)]
    assert went_out.category[0].coding[0].code == "conversation"

    reads = db.session.execute(select(AuditEvent).where(
        AuditEvent.action == "fhir.read")).scalars().all()
    assert [(e.patient_id, e.object_id, e.actor_role) for e in reads] == [
        (patient.id, str(inbound.id), "api"), (patient.id, str(reply.id), "api")]


def test_an_unknown_sender_is_shown_masked_and_failures_say_why(fhir, practice):
    stranger = factories.make_message(None, practice=practice, direction="inbound",
                                      address="+13125550999", body="wrong number?")
    failed = factories.make_message(None, practice=practice, address="+13125550998",
                                    status="failed", status_reason="invalid number",
                                    error_code="21211")
    suppressed = factories.make_message(None, practice=practice, address="+13125550997",
                                        status="suppressed", status_reason="opted out (STOP)")

    came_in = fhir.get(f"/fhir/Communication/{stranger.id}").get_json()
    assert came_in["sender"] == {"display": "********0999"}
    assert "subject" not in came_in
    assert fhir.get(f"/fhir/Communication/{failed.id}").get_json()["statusReason"] == {
        "text": "invalid number; provider error code 21211"}
    stopped = fhir.get(f"/fhir/Communication/{suppressed.id}").get_json()
    assert (stopped["status"], stopped["statusReason"]["text"]) == ("not-done",
                                                                     "opted out (STOP)")


def test_another_practices_message_is_not_found(fhir):
    elsewhere = factories.make_patient(factories.make_practice(name="Elsewhere Dental"))
    message = factories.make_message(elsewhere)
    response = fhir.get(f"/fhir/Communication/{message.id}")
    assert response.status_code == 404
    assert issues(response)[0]["diagnostics"] == f"Communication/{message.id} is not known."


def test_search_by_patient_and_sent_range_finds_exactly_their_messages_newest_first(
        fhir, practice, patient):
    other = factories.make_patient(practice)
    day = timedelta(days=1)
    first = factories.make_message(patient, direction="inbound", created_at=MARCH)
    fifth = factories.make_message(patient, created_at=MARCH + 4 * day)
    queued = factories.make_message(patient, status="scheduled", created_at=MARCH + 6 * day)
    tenth = factories.make_message(patient, created_at=MARCH + 9 * day)
    factories.make_message(other, created_at=MARCH + 4 * day)

    assert ids(fhir.get("/fhir/Communication", patient=f"Patient/{patient.id}")) == [
        tenth.id, queued.id, fifth.id, first.id]
    in_range = fhir.client.get("/fhir/Communication", headers=fhir._headers(None), query_string=[
        ("subject", str(patient.id)), ("sent", "ge2026-03-02"), ("sent", "le2026-03-09")])
    assert ids(in_range) == [queued.id, fifth.id]
    assert ids(fhir.get("/fhir/Communication", patient=f"Patient/{patient.id}",
                        sent="2026-03-01")) == [first.id]
    assert ids(fhir.get("/fhir/Communication", patient="Patient/999999")) == []

    searches = db.session.execute(select(AuditEvent).where(
        AuditEvent.action == "fhir.search")).scalars().all()
    assert [e.patient_id for e in searches][:2] == [patient.id, patient.id]


def test_a_text_from_a_household_phone_is_found_under_each_patient_of_the_household(
        fhir, practice):
    parent = factories.make_patient(practice, mobile_phone="+13125550160")
    child = factories.make_patient(practice, mobile_phone="+13125550160")
    thread = conversations.get_or_create(practice_id=practice.id, channel="sms",
                                         address="+13125550160",
                                         patient_ids=[parent.id, child.id])
    db.session.commit()
    shared = factories.make_message(None, practice=practice, direction="inbound",
                                    conversation_id=thread.id, address="+13125550160")

    for member in (parent, child):
        assert ids(fhir.get("/fhir/Communication", patient=f"Patient/{member.id}")) == [
            shared.id]


def test_search_by_status_medium_category_and_received(fhir, patient):
    sent = factories.make_message(patient, created_at=MARCH)
    delivered = factories.make_message(patient, status="delivered", channel="email",
                                       created_at=MARCH, delivered_at=MARCH + timedelta(days=2))
    queued = factories.make_message(patient, status="scheduled", purpose="appointment")
    marketing = factories.make_message(patient, purpose="marketing", status="suppressed")

    assert ids(fhir.get("/fhir/Communication", status="preparation")) == [queued.id]
    assert sorted(ids(fhir.get("/fhir/Communication", status="completed"))) == [
        sent.id, delivered.id]
    assert ids(fhir.get("/fhir/Communication", status="not-done,preparation")) == [
        marketing.id, queued.id]
    assert ids(fhir.get("/fhir/Communication", medium=f"{MEDIUM_SYSTEM}|EMAILWRIT")) == [
        delivered.id]
    assert ids(fhir.get("/fhir/Communication", medium="email")) == [delivered.id]
    assert ids(fhir.get("/fhir/Communication",
                        category="urn:frontdesk:message-purpose|marketing")) == [marketing.id]
    assert ids(fhir.get("/fhir/Communication", received="ge2026-03-02")) == [delivered.id]


def test_create_queues_a_message_that_the_dispatcher_sends(fhir, practice, patient):
    created = fhir.post("/fhir/Communication", outgoing(patient))
    assert created.status_code == 201, created.data
    resource = FhirCommunication.model_validate(created.get_json())
    assert resource.status == "preparation"
    assert created.headers["Location"].startswith(
        f"https://clinic.example/fhir/Communication/{resource.id}/_history/")

    (message,) = outbound_messages()
    assert (message.id, message.status, message.patient_id, message.channel,
            message.purpose, message.body) == (
        int(resource.id), MessageStatus.SCHEDULED, patient.id, "sms", "conversation",
        "Your crown is ready. Lakeside Family Dental")
    created_event = db.session.execute(select(AuditEvent).where(
        AuditEvent.action == "fhir.create")).scalar_one()
    assert (created_event.patient_id, created_event.actor_role) == (patient.id, "api")

    assert send_due().sent == 1
    sent = FhirCommunication.model_validate(
        fhir.get(f"/fhir/Communication/{resource.id}").get_json())
    assert sent.status == "completed" and sent.sent is not None
    assert sent.identifier[0].value.startswith("console-")


def test_without_a_medium_the_patients_preferred_channel_is_used(fhir, practice):
    patient = factories.make_patient(practice, preferred_channel="email")
    posted = outgoing(patient)
    del posted["medium"]
    created = fhir.post("/fhir/Communication", posted)
    assert created.status_code == 201, created.data
    body = created.get_json()
    assert body["medium"][0]["coding"][0]["code"] == "EMAILWRIT"
    assert body["topic"] == {"text": practice.name}  # an email needs a subject line


def test_a_reply_to_a_patients_text_continues_their_conversation(fhir, client, patient):
    post_twilio(client, "/webhooks/twilio/sms", inbound_form("Do you take Delta Dental?"))
    inbound = db.session.execute(select(Message).where(
        Message.direction == Direction.INBOUND)).scalar_one()
    created = fhir.post("/fhir/Communication", outgoing(
        patient, "Yes, we do. Lakeside Family Dental",
        inResponseTo=[{"reference": f"Communication/{inbound.id}"}]))
    assert created.status_code == 201, created.data
    (reply,) = outbound_messages()
    assert (reply.in_reply_to_id, reply.conversation_id) == (inbound.id,
                                                             inbound.conversation_id)


@pytest.mark.parametrize(("change", "expression", "words"), [
    ({"status": "completed"}, "Communication.status", "only messages to send can be created"),
    ({"subject": None}, "Communication.subject", "the patient to write to is required"),
    ({"medium": [{"coding": [{"code": "FAXWRIT"}]}]}, "Communication.medium[0]", "SMSWRIT"),
    ({"payload": [{"contentString": "  "}]}, "Communication.payload[0].contentString",
     "required"),
    ({"payload": [{"contentString": "x" * 1601}]}, "Communication.payload[0].contentString",
     "at most 1600"),
    ({"category": [{"coding": [{"system": "urn:frontdesk:message-purpose",
                                "code": "marketing"}]}]},
     "Communication.category[0]", "only 'conversation'"),
    ({"recipient": [{"reference": "Practitioner/1"}]}, "Communication.recipient[0]",
     "the recipient is the subject patient"),
    ({"inResponseTo": [{"reference": "Communication/999999"}]},
     "Communication.inResponseTo[0]", "is not a message of"),
])
def test_a_message_that_cannot_be_sent_is_refused_naming_the_element(
        fhir, patient, change, expression, words):
    posted = {key: value for key, value in {**outgoing(patient), **change}.items()
              if value is not None}
    response = fhir.post("/fhir/Communication", posted)
    assert response.status_code == 400, response.data
    (issue,) = [i for i in issues(response) if i.get("expression") == [expression]]
    assert words in issue["diagnostics"]
    assert outbound_messages() == []


def test_a_patient_of_another_practice_or_without_a_number_cannot_be_written_to(fhir,
                                                                               practice):
    elsewhere = factories.make_patient(factories.make_practice(name="Elsewhere Dental"))
    refused = fhir.post("/fhir/Communication", outgoing(elsewhere))
    assert refused.status_code == 400
    assert issues(refused)[0]["diagnostics"] == (
        f"Communication.subject: Patient/{elsewhere.id} is not a patient of this practice.")
    no_mobile = factories.make_patient(practice, mobile_phone=None)
    response = fhir.post("/fhir/Communication", outgoing(no_mobile))
    assert response.status_code == 400
    assert expressions(response) == ["Communication.medium"]
    assert outbound_messages() == []


def test_the_official_example_is_refused_then_sent_once_it_describes_a_message_to_send(
        fhir, patient, example):
    official = example("Communication-example.json")
    refused = fhir.post("/fhir/Communication", official)
    assert refused.status_code == 400
    assert expressions(refused) == [
        "Communication.status", "Communication.subject", "Communication.recipient[0]",
        "Communication.medium[0]", "Communication.payload[1]"]
    assert "only messages to send can be created" in issues(refused)[0]["diagnostics"]

    adapted = copy.deepcopy(official)
    adapted.update(status="preparation", subject={"reference": f"Patient/{patient.id}"},
                   medium=[SMS], payload=official["payload"][:1])
    del adapted["recipient"]  # a Practitioner: we write to the subject patient
    created = fhir.post("/fhir/Communication", adapted)
    assert created.status_code == 201, created.data

    back = FhirCommunication.model_validate(
        fhir.get(f"/fhir/Communication/{created.get_json()['id']}").get_json())
    assert back.status == "preparation"
    assert back.subject.reference == f"Patient/{patient.id}"
    assert [r.reference for r in back.recipient] == [f"Patient/{patient.id}"]
    assert back.medium[0].coding[0].code == "SMSWRIT"
    assert back.payload[0].contentString == official["payload"][0]["contentString"]


def test_a_scheduled_message_can_be_stopped_and_is_then_not_sent(fhir, patient):
    created = fhir.post("/fhir/Communication", outgoing(patient))
    served = created.get_json()
    stop = {**served, "status": "not-done"}

    stale = fhir.put(f"/fhir/Communication/{served['id']}", stop,
                     headers={"If-Match": 'W/"1"'})
    assert stale.status_code == 412
    stopped = fhir.put(f"/fhir/Communication/{served['id']}", stop,
                       headers={"If-Match": created.headers["ETag"]})
    assert stopped.status_code == 200, stopped.data
    assert (stopped.get_json()["status"], stopped.get_json()["statusReason"]) == (
        "not-done", {"text": "cancelled through the FHIR API"})
    assert outbound_messages()[0].status == MessageStatus.CANCELLED
    assert send_due().sent == 0
    again = fhir.put(f"/fhir/Communication/{served['id']}", stop)
    assert again.status_code == 200


def test_a_message_cannot_be_edited_or_stopped_once_sent(fhir, patient):
    created = fhir.post("/fhir/Communication", outgoing(patient)).get_json()
    edited = fhir.put(f"/fhir/Communication/{created['id']}",
                      {**created, "payload": [{"contentString": "Something else"}]})
    assert edited.status_code == 409
    assert expressions(edited) == ["Communication.payload"]
    assert "A message cannot be edited" in issues(edited)[0]["diagnostics"]
    marked_sent = fhir.put(f"/fhir/Communication/{created['id']}",
                           {**created, "status": "completed"})
    assert marked_sent.status_code == 409

    sent = factories.make_message(patient, body="See you tomorrow")
    served = fhir.get(f"/fhir/Communication/{sent.id}").get_json()
    response = fhir.put(f"/fhir/Communication/{sent.id}", {**served, "status": "not-done"})
    assert response.status_code == 409
    assert issues(response)[0]["diagnostics"].startswith(
        f"Communication/{sent.id} is 'completed': a message cannot be edited")
    assert db.session.get(Message, sent.id).status == MessageStatus.SENT


def test_a_read_only_token_cannot_send_messages(make_fhir, patient):
    reader = make_fhir("system/Communication.read")
    response = reader.post("/fhir/Communication", outgoing(patient))
    assert response.status_code == 403
    assert issues(response)[0]["code"] == "forbidden"
    assert reader.get("/fhir/Communication").status_code == 200
    assert outbound_messages() == []


@pytest.mark.parametrize("params", [
    {"sent": "2026-13-45"}, {"sent": "xx2026-01-01"}, {"patient": "Practitioner/1"},
    {"status": "sent"}, {"medium": "fax"}, {"category": "recall"}, {"received": "yesterday"},
    {"_lastUpdated": "2026-01-01T10:00"},
])
def test_bad_search_values_are_a_400_naming_the_parameter(fhir, patient, params):
    response = fhir.get("/fhir/Communication", **params)
    assert response.status_code == 400, response.data
    assert expressions(response) == list(params)


@pytest.mark.parametrize("body", [
    [], {"resourceType": "Communication"}, {"resourceType": "Communication", "status": 5},
    {"resourceType": "Communication", "status": "preparation",
     "subject": {"reference": "Patient/abc"}, "payload": [{"contentString": "hi"}]},
    {"resourceType": "Communication", "status": "preparation", "subject": "Patient/1",
     "payload": [{"contentAttachment": {"url": "x"}}]},
    {"resourceType": "Communication", "status": "preparation", "medium": [{}],
     "inResponseTo": [{"reference": "Communication/0"}]},
])
def test_junk_is_refused_with_an_operation_outcome(fhir, patient, body):
    created = fhir.post("/fhir/Communication", body)
    assert created.status_code == 400, created.data
    assert issues(created)
    sent = factories.make_message(patient)
    updated = fhir.put(f"/fhir/Communication/{sent.id}", body)
    assert updated.status_code == 400, updated.data
    for unknown in ("abc", "0", "99999999999", str(sent.id + 1000)):
        assert fhir.get(f"/fhir/Communication/{unknown}").status_code == 404
