"""The demo practice's new-patient intake form (a FHIR Questionnaire) and a few patients'
answers to it, so the forms API and its searches have real rows to show."""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

from app.intake import services
from app.patients.models import Patient

INTAKE_URL = "https://demo.frontdesk.test/Questionnaire/new-patient-intake"
INTAKE: dict[str, Any] = {
    "resourceType": "Questionnaire",
    "url": INTAKE_URL,
    "version": "1",
    "name": "NewPatientIntake",
    "title": "New patient intake",
    "status": "active",
    "subjectType": ["Patient"],
    "item": [
        {"linkId": "reason", "text": "What brings you in?", "type": "string"},
        {"linkId": "last-visit", "text": "When was your last dental visit?", "type": "date"},
        {"linkId": "health", "text": "Health history", "type": "group", "item": [
            {"linkId": "health.allergies", "text": "Do you have any allergies?",
             "type": "boolean", "required": True},
            {"linkId": "health.medications", "text": "Medications you take", "type": "text"},
        ]},
        {"linkId": "consent", "text": "I agree to receive appointment reminders by text",
         "type": "boolean", "required": True},
    ],
}
REASONS = ("Cleaning and check-up", "A chipped tooth", "Sensitivity to cold",
           "Second opinion", "Whitening consultation")
MEDICATIONS = ("None", "Ibuprofen as needed", "Lisinopril 10 mg", "Vitamin D")
RESPONDENTS = 12


def build_intake_forms(*, rng: random.Random, practice_id: int, patients: list[Patient],
                       now: datetime) -> int:
    """The intake questionnaire and completed responses from a few patients; returns how
    many responses. Goes through the forms services (validation, encryption, audit)."""
    services.create_questionnaire(practice_id=practice_id, definition=INTAKE)
    respondents = rng.sample(patients, min(RESPONDENTS, len(patients)))
    for patient in respondents:
        answers = [
            {"linkId": "reason", "answer": [{"valueString": rng.choice(REASONS)}]},
            {"linkId": "health", "item": [
                {"linkId": "health.allergies", "answer": [{"valueBoolean": rng.random() < 0.3}]},
                {"linkId": "health.medications",
                 "answer": [{"valueString": rng.choice(MEDICATIONS)}]},
            ]},
            {"linkId": "consent", "answer": [{"valueBoolean": True}]},
        ]
        services.create_response(practice_id=practice_id, source="patient", content={
            "resourceType": "QuestionnaireResponse", "questionnaire": f"{INTAKE_URL}|1",
            "status": "completed", "subject": {"reference": f"Patient/{patient.id}"},
            "authored": now.isoformat(timespec="seconds"), "item": answers})
    return len(respondents)
