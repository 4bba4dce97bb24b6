"""A Spanish-speaking patient gets the journey in Spanish: texts, replies and the visit page."""

from __future__ import annotations

import re
from datetime import timedelta

from app.core import clock
from tests import factories
from tests.journeys.kit import book, local_day, make_clinic, run_worker_until, text_in


def test_the_journey_speaks_spanish(practice, client):
    clinic = make_clinic(practice)
    patient = factories.make_patient(practice, preferred_language="es")
    visit = book(clinic, patient, local_day(5), "10:00")
    run_worker_until(clinic, clock.utcnow() + timedelta(hours=14))
    confirmation = clinic.texts_to(patient)[0]
    assert "Su cita está reservada" in confirmation and "Responda C para confirmar" in confirmation
    url = re.search(r"http://localhost(/c/\S+)", confirmation).group(1)
    assert "Confirmar mi cita" in client.get(url).get_data(as_text=True)

    at = visit.start_at - timedelta(days=3, minutes=-20)
    run_worker_until(clinic, visit.start_at - timedelta(days=3))
    text_in(patient, "no voy a poder ir", at=at)
    run_worker_until(clinic, at + timedelta(minutes=5))
    assert "Responda N otra vez para cancelar su cita" in clinic.texts_to(patient)[-1]
