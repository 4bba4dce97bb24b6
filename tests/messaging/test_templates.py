"""Message templates: every SMS names the practice and carries no clinical detail."""

import pytest

from app.messaging.rendering import TemplateMissing, check_templates, render, template_names

SAMPLE = {"practice": {"name": "Lakeside Family Dental", "phone": "(312) 555-0100"},
          "patient": {"given_name": "Ana"},
          # what slot-offering templates (waitlist) receive
          "when": "Tue Mar 3, 3:00 PM", "provider": "Dr. Ana Rivera", "location": "Chicago",
          # what the self-scheduling one-time code receives
          "code": "123456", "minutes": 10,
          # what billing's payment link and receipt receive
          "amount": "$120.00", "url": "http://localhost/p/token", "paid_on": "2026-06-10",
          # what journey templates receive (app/journeys/render.py)
          "visits": [{"name": "Ana", "when": "Tue, Mar 3, 3:00 PM CST",
                      "provider": "Dr. Ana Rivera", "location": "Chicago",
                      "address": "1 Main St, Chicago, IL 60601"}],
          "ask_confirmation": True, "book_url": "http://localhost/book/",
          "move_url": "http://localhost/m/token",
          "review_url": "https://g.page/r/example"}


def test_every_sms_template_names_the_practice_and_no_clinical_detail(app):
    assert template_names()
    assert check_templates(SAMPLE, "Lakeside Family Dental") == {}


def test_the_check_refuses_a_template_with_clinical_detail(app, tmp_path):
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "bad.sms.txt").write_text(
        "Hi {{ patient.given_name }}, your root canal is tomorrow.")
    problems = check_templates(SAMPLE, "Lakeside Family Dental", directory=tmp_path)
    assert list(problems) == ["en/bad.sms.txt"]
    assert any("root canal" in p for p in problems["en/bad.sms.txt"])
    assert any("Lakeside Family Dental" in p for p in problems["en/bad.sms.txt"])


def test_sms_renders_in_the_patients_language_as_one_paragraph(app):
    english = render("help_reply", channel="sms", language="en", context=SAMPLE)
    spanish = render("help_reply", channel="sms", language="es", context=SAMPLE)
    assert english.text.startswith("Lakeside Family Dental: appointment")
    assert "Responda STOP" in spanish.text
    assert "\n" not in english.text


def test_a_language_without_the_template_falls_back_to_english(app):
    assert render("help_reply", channel="sms", language="fr", context=SAMPLE).text.startswith(
        "Lakeside Family Dental: appointment")


def test_a_missing_template_is_a_clear_error(app):
    with pytest.raises(TemplateMissing, match="no email template named 'help_reply'"):
        render("help_reply", channel="email", language="en", context=SAMPLE)
