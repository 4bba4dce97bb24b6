"""Minimum-necessary SMS content: no clinical detail, and the practice is always named."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.messaging.content_check import (
    CLINICAL_TERMS,
    check_sms_template,
    find_clinical_detail,
)


@pytest.mark.parametrize(("text", "expected"), [
    ("Reminder: your root canal is Tue 3pm", ["root canal"]),
    ("Your Root-Canal is tomorrow", ["Root-Canal"]),
    ("Extraction scheduled for Friday", ["Extraction"]),
    ("Your biopsy results are in", ["biopsy"]),
    ("HIV clinic visit", ["HIV"]),
    ("Pregnancy follow-up", ["Pregnancy"]),
    ("Oncology appointment at 9", ["Oncology"]),
    ("Chemotherapy session", ["Chemotherapy"]),
    ("Your test results are ready", ["test results"]),
    ("We have your lab results", ["lab results"]),
    ("Discuss your diagnosis", ["diagnosis"]),
    ("STD screening", ["STD"]),
    ("Mental health check-in", ["Mental health"]),
    ("Psychiatry follow up", ["Psychiatry"]),
    ("Dialysis at 6am", ["Dialysis"]),
    ("Colonoscopy prep reminder", ["Colonoscopy"]),
    ("Time for your mammogram", ["mammogram"]),
    ("Implant surgery on Monday", ["Implant surgery"]),
    ("Your implant consult", ["implant"]),
    ("OB/GYN visit", ["OB/GYN"]),
    ("ob-gyn visit", ["ob-gyn"]),
    ("root  canal and extraction", ["root  canal", "extraction"]),
    ("biopsy, Biopsy, BIOPSY", ["biopsy"]),
    # test results: "positive" / "negative" only in a result context
    ("You tested positive", ["positive"]),
    ("Your results were negative", ["negative"]),
    ("Result is positive, call us", ["positive"]),
    ("Positive for strep", ["Positive"]),
    ("Negative test, no action needed", ["Negative"]),
    ("Your test came back positive", ["positive"]),
    # Spanish
    ("Su endodoncia es mañana", ["endodoncia"]),
    ("Tratamiento de conducto el martes", ["Tratamiento de conducto"]),
    ("Extracción programada", ["Extracción"]),
    ("Extraccion programada", ["Extraccion"]),
    ("Resultados de su biopsia", ["biopsia"]),
    ("Sus resultados de laboratorio están listos", ["resultados de laboratorio"]),
    ("Consulta de oncología", ["oncología"]),
    ("Quimioterapia a las 9", ["Quimioterapia"]),
    ("Control de embarazo", ["embarazo"]),
    ("Cita de salud mental", ["salud mental"]),
    ("Psiquiatría el lunes", ["Psiquiatría"]),
    ("Diálisis a las 6", ["Diálisis"]),
    ("Su mamografía", ["mamografía"]),
    ("Colonoscopia", ["Colonoscopia"]),
    ("Cirugía de implante el lunes", ["Cirugía de implante"]),
    ("Su diagnóstico", ["diagnóstico"]),
    ("Prueba de VIH", ["VIH"]),
    ("Su prueba dio positivo", ["positivo"]),
    ("Los resultados salieron negativos", ["negativos"]),
])
def test_clinical_detail_is_found_as_written(text, expected):
    assert find_clinical_detail(text) == expected


@pytest.mark.parametrize("text", [
    "Smile Dental: reminder of your appointment Tue 3/4 at 2:30pm. Reply C to confirm.",
    "Smile Dental: recordatorio de su cita el martes a las 2:30pm. Responda C para confirmar.",
    "Stay positive! See you soon",
    "We had a positive response to our new hours",
    "Thanks for the positive review",
    "A negative balance means a credit",
    "Your cleaning is due",
    "Hit the road: extractor fan repairs today",
    "Implantation of the new phone system",  # not "implant"
    "Canal Street office",
    "We are testing our new system",
    "HIVE coworking building, suite 3",
    "Surgeon General's warning",   # not "surgery"
    "Pay your balance",
    "",
])
def test_ordinary_texts_are_clean(text):
    assert find_clinical_detail(text) == []


def test_every_listed_term_is_found_on_its_own():
    for term in CLINICAL_TERMS:
        found = find_clinical_detail(f"About your {term} tomorrow")
        assert [word.casefold() for word in found] == [term.casefold()], term


@given(st.sampled_from(CLINICAL_TERMS), st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1,
                                                max_size=3))
def test_terms_only_match_as_whole_words(term, suffix):
    found = find_clinical_detail(f"{term}{suffix}")
    assert term.casefold() not in [word.casefold() for word in found]


def test_a_clean_text_naming_the_practice_passes():
    text = "Smile Dental: your appointment is Tue 3/4 at 2:30pm. Call 555-0100. Reply STOP to end."
    assert check_sms_template(text, "Smile Dental") == []


@pytest.mark.parametrize("text", [
    "SMILE DENTAL: see you Tue",
    "Hi from smile   dental!",
    "Hi from Smile\nDental",
])
def test_practice_name_matches_regardless_of_case_and_spacing(text):
    assert check_sms_template(text, "Smile Dental") == []


def test_curly_apostrophe_in_text_still_names_the_practice():
    assert check_sms_template("Dr. O’Neil’s Dental: see you Tue", "Dr. O'Neil's Dental") == []


def test_problems_are_listed_for_clinical_detail_and_a_missing_name():
    problems = check_sms_template("Your root canal and biopsy are tomorrow", "Smile Dental")
    assert problems == [
        "Mentions clinical detail: root canal",
        "Mentions clinical detail: biopsy",
        "Does not name the practice (Smile Dental).",
    ]


def test_blank_practice_name_is_an_error():
    with pytest.raises(ValueError, match="practice_name is blank"):
        check_sms_template("Anything", "  ")
