"""Creating a practice: the details as stored, and every bad field named at once."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.core.errors import FieldErrors
from app.extensions import db
from app.practice.models import Practice
from app.practice.practices import PracticeInputError, create_practice, list_practices


def test_a_practice_is_saved_with_its_phone_in_e164_and_tidy_text(app):
    practice = create_practice(name="  Oak   Street Dental ", phone="(312) 555-0100",
                               timezone="America/Chicago", email="Hello@Oak.Example",
                               website="https://oak.example/dental")
    db.session.expire_all()
    stored = db.session.get(Practice, practice.id)
    assert (stored.name, stored.phone, stored.timezone, stored.email, stored.website) == (
        "Oak Street Dental", "+13125550100", "America/Chicago", "hello@oak.example",
        "https://oak.example/dental")
    assert list_practices() == [stored]


def test_email_and_website_are_optional(app):
    practice = create_practice(name="Elm Dental", phone="+442071838750",
                               timezone="Europe/London", email="  ", website="")
    assert (practice.phone, practice.email, practice.website) == ("+442071838750", None, None)


def test_every_bad_field_is_named_and_nothing_is_saved(app):
    with pytest.raises(PracticeInputError) as raised:
        create_practice(name=" ", phone="555-01", timezone="Mars/Olympus_Mons",
                        email="front desk@", website="ftp://oak.example")
    assert isinstance(raised.value, FieldErrors)
    assert set(raised.value.errors) == {"name", "phone", "timezone", "email", "website"}
    assert raised.value.errors["timezone"] == (
        "'Mars/Olympus_Mons' is not an IANA time zone (e.g. America/Chicago)")
    assert db.session.execute(select(func.count(Practice.id))).scalar_one() == 0


@pytest.mark.parametrize(("field", "value"), [
    ("name", "x" * 201), ("name", "Oak\x07Dental"),
    ("phone", "not a number"), ("phone", "+1 999 555 0100"),
    ("timezone", "america/chicago"), ("timezone", "../../etc/passwd"), ("timezone", "EST+5"),
    ("email", "oak.example"), ("email", "a@" + "b" * 250 + ".example"),
    ("website", "oak.example"), ("website", "javascript:alert(1)"), ("website", "https://"),
    ("website", "https://oak.example/" + "p" * 300), ("website", "http://oak example.com"),
    ("website", "http://[oak.example"), ("website", "https://oak.example:99999/"),
    ("website", "https://localhost/"), ("website", "https://./"),
])
def test_one_bad_value_names_its_field(app, field, value):
    good = {"name": "Oak Dental", "phone": "+13125550100", "timezone": "America/Chicago",
            "email": "hi@oak.example", "website": "https://oak.example"}
    with pytest.raises(PracticeInputError) as raised:
        create_practice(**{**good, field: value})
    assert list(raised.value.errors) == [field]
