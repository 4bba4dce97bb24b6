"""Dates and times in the page's language (app/web/ui.py) are formatted once per day and per
clock time and kept: the words must be Babel's own, in English and Spanish, in any zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_skeleton, format_time
from flask import g

from app.web.ui import local_time, local_when

ZONES = ("UTC", "America/Chicago", "America/Denver", "Pacific/Kiritimati", "Australia/Lord_Howe")


@pytest.mark.parametrize("locale", ["en", "es"])
def test_the_kept_words_are_what_babel_says(app, locale):
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with app.test_request_context():
        g.locale = locale
        for minutes in range(0, 60 * 24 * 800, 997):  # every weekday, month and hour
            for zone in ZONES:
                value = (start + timedelta(minutes=minutes)).astimezone(ZoneInfo(zone))
                day = format_skeleton("yMMMEd", value, locale=locale)
                clock = format_time(value, "short", tzinfo=value.tzinfo, locale=locale)
                assert local_when(value) == f"{day} · {clock} {value.strftime('%Z')}"
                assert local_time(value) == clock
