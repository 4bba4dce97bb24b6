"""The page number of a staff list, from the query string: one reader for every paginated
screen (``app/core/paging.py``), a bad one a 400 that says what to use."""

from __future__ import annotations

from flask import abort, request
from flask_babel import gettext as _

from app.core.paging import MAX_PAGE, NumberOutOfRange, page_number


def page_arg() -> int:
    try:
        return page_number(request.args.get("page"))
    except NumberOutOfRange:
        abort(400, description=_("page: use a whole number from 1 to %(highest)d.",
                                 highest=MAX_PAGE))
