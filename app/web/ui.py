"""What every page template may use: the practice shown in the header, localized dates and
phone numbers, and the patient pages' language switch (the staff sections: ``app.home.nav``)."""

from __future__ import annotations

from datetime import date, datetime, time
from functools import lru_cache
from urllib.parse import urlencode

from babel.dates import (
    format_date,
    format_skeleton,
    format_time,
    get_timezone,
    get_timezone_name,
)
from flask import Flask, g, request
from flask_babel import get_locale
from sqlalchemy import select

from app.config import SUPPORTED_LOCALES
from app.core import phones, tenancy
from app.extensions import db
from app.practice.models import Practice

LANGUAGE_NAMES = {"en": "English", "es": "Español"}  # each in its own language, never translated


def init_app(app: Flask) -> None:
    app.before_request(_language_from_query)
    app.jinja_env.globals.update(
        current_practice=current_practice, no_practice_yet=no_practice_yet,
        lang_url=lang_url, language_names=LANGUAGE_NAMES, zone_name=zone_name)
    app.jinja_env.filters.update(phone=phones.display, local_date=local_date,
                                 local_when=local_when, local_time=local_time)


def _language_from_query() -> None:
    """``?lang=es`` chooses the page language (patients open links on their own phones)."""
    chosen = request.args.get("lang")
    if chosen in SUPPORTED_LOCALES:
        g.locale = chosen


def in_english() -> None:
    """A request hook for machine-facing endpoints (the FHIR API): answer in English."""
    g.locale = "en"


def lang_url(code: str) -> str:
    """This page's URL in another language (the other query parameters kept)."""
    args = [(key, value) for key, value in request.args.items(multi=True) if key != "lang"]
    return f"{request.path}?{urlencode([*args, ('lang', code)])}"


def current_practice() -> Practice | None:
    """The practice a page is for: the one the request acts for (the signed-in staff member's,
    the public booking pages', an invitation's); on a page of no practice, such as the sign-in
    page, the deployment's only practice. None when there are several (one name would be
    wrong for the other practices' staff) or none. Layouts call it once a page."""
    practice_id = tenancy.current_practice_id()
    if practice_id is None:
        first_two = db.session.execute(
            select(Practice.id).order_by(Practice.id).limit(2)).scalars().all()
        practice_id = first_two[0] if len(first_two) == 1 else None
    return None if practice_id is None else db.session.get(Practice, practice_id)


def no_practice_yet() -> bool:
    """True before ``flask practice create`` has made the first practice."""
    return db.session.execute(select(Practice.id).limit(1)).first() is None


def local_date(value: date | None) -> str:
    """A date in the page's language: "Jan 5, 2027" / "5 ene 2027"."""
    if value is None:
        return ""
    return format_date(value, "medium", locale=str(get_locale() or "en"))


def local_when(value: datetime | None) -> str:
    """An aware datetime in its own zone: "Tue, Jan 5, 2027 · 9:00 AM CST"."""
    if value is None:
        return ""
    locale = str(get_locale() or "en")
    return (f"{_day(value.date(), locale)} · {_clock(value.hour, value.minute, locale)} "
            f"{value.strftime('%Z')}")


def local_time(value: datetime) -> str:
    """A clock time in the value's own zone and the page's language: "9:00 AM"."""
    return _clock(value.hour, value.minute, str(get_locale() or "en"))


# Babel finds the pattern and formats each field anew for every call (~40 µs: a list of 30
# rows paid more than a millisecond); the words depend only on the day, or on the hour and
# minute (the short time pattern of every page language shows nothing else), so each is
# formatted once per process and language.
@lru_cache(maxsize=4096)
def _day(day: date, locale: str) -> str:
    return format_skeleton("yMMMEd", datetime.combine(day, time()), locale=locale)


@lru_cache(maxsize=4096)
def _clock(hour: int, minute: int, locale: str) -> str:
    return format_time(time(hour, minute), "short", locale=locale)


def zone_name(zone: str) -> str:
    """An IANA zone as people say it, in the page's language: "Mountain Time" / "hora de las
    Montañas Rocosas" (never "America/Denver")."""
    return get_timezone_name(get_timezone(zone), locale=str(get_locale() or "en"))
