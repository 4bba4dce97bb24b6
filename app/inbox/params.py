"""Reading the inbox's query strings and forms: the list's filters (no PHI: a search is a
token) and the local date-times staff pick (in the thread's zone, stored in UTC)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import abort, request, url_for
from flask_babel import gettext as _

from app.core.errors import FieldErrors
from app.inbox.queries import STATUSES, TEAMS, VIEWS, ListFilter


class LocalTimeRefused(FieldErrors):
    """A date and time that cannot be read (names the field)."""


def list_filter(args: Any = None) -> ListFilter:
    """The filters in the query string; a 400 naming the parameter for a value not offered."""
    args = request.args if args is None else args
    view, status = args.get("view", "all"), args.get("status", "open")
    team, location = args.get("team") or None, args.get("location") or None
    if view not in VIEWS:
        abort(400, description=_("view: choose one of the options offered."))
    if status not in STATUSES:
        abort(400, description=_("status: choose one of the options offered."))
    if team is not None and team not in TEAMS:
        abort(400, description=_("team: choose one of the options offered."))
    if location is not None and not (location.isdigit() and len(location) < 10):
        abort(400, description=_("location: choose one of the options offered."))
    return ListFilter(view=view, status=status, team=team,
                      location_id=int(location) if location else None,
                      needs_action=args.get("needs") == "1",
                      search_token=(args.get("s") or None),
                      cursor=args.get("after") or None)


def filter_args(chosen: ListFilter) -> dict[str, str]:
    """The query string that gives ``chosen`` back (without the cursor)."""
    values = {"view": chosen.view, "status": chosen.status, "team": chosen.team or "",
              "location": str(chosen.location_id or ""),
              "needs": "1" if chosen.needs_action else "", "s": chosen.search_token or ""}
    return {k: v for k, v in values.items() if v and (k, v) not in (("view", "all"),
                                                                     ("status", "open"))}


def conversation_link(args: dict[str, str]) -> tuple[str, str]:
    """What comes before and after a conversation's id in its link from the list (the list's
    filters kept): the rows put their ids between the two, one ``url_for`` a page instead of
    one a row."""
    path, mark, query = url_for("inbox.conversation", conversation_id=1, **args).partition("?")
    return path.removesuffix("1"), mark + query


def local_moment(raw: str | None, *, zone: str, field: str) -> datetime | None:
    """A ``datetime-local`` value in ``zone`` as an aware datetime; None when blank."""
    if not raw:
        return None
    try:
        naive = datetime.fromisoformat(raw.strip()[:16])
    except ValueError:
        raise LocalTimeRefused({field: _("Use a date and time, e.g. 2027-03-01 09:00.")}
                               ) from None
    if naive.tzinfo is not None:
        raise LocalTimeRefused({field: _("Use a date and time, e.g. 2027-03-01 09:00.")})
    try:
        return naive.replace(tzinfo=ZoneInfo(zone))
    except (ZoneInfoNotFoundError, ValueError):
        raise LocalTimeRefused({field: _("Reload the page and choose the time again.")}
                               ) from None
