"""The demo practice's journeys: a review page to ask for reviews on, and the patients who
agreed (on the intake form) to marketing texts or emails — a review request is marketing, so
only they get one after a visit is checked out."""

from __future__ import annotations

import random

from app.journeys.models import JourneyRule
from app.messaging.conversations import contact_index
from app.messaging.models import ConsentEntry, Purpose
from app.patients.models import Patient

REVIEW_URL = "https://g.page/r/lakeside-family-dental-demo/review"  # fiction
TEXT_SHARE, EMAIL_SHARE = 0.4, 0.25
RANDOM_SEED = 2013  # its own draws: the rest of the demo stays as it was


def build_journeys(*, practice_id: int, patients: list[Patient]) -> list[object]:
    rng = random.Random(RANDOM_SEED)  # noqa: S311 (fiction, not secrets)
    rows: list[object] = [JourneyRule(practice_id=practice_id, review_url=REVIEW_URL)]
    for patient in patients:
        for channel, address, share in (("sms", patient.mobile_phone, TEXT_SHARE),
                                        ("email", patient.email, EMAIL_SHARE)):
            if address and rng.random() < share:
                rows.append(ConsentEntry(
                    practice_id=practice_id, channel=channel, purpose=Purpose.MARKETING,
                    granted=True, contact_index=contact_index(channel, address),
                    source="form", patient_id=patient.id))
    return rows
