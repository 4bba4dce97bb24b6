"""Search parameters shared by every resource, and the searchset Bundle with paging links.

A search may be a GET with the parameters in the query string, or (FHIR R4 search, 3.1.1.3)
a POST to ``[type]/_search`` with them form-encoded in the body: patient-identifying
searches (name, birth date, phone) should use the POST, which keeps them out of URLs and
access logs; its Bundle's links carry the parameters encrypted (``_sealed``).
Parsing is strict: an unknown parameter or modifier is a 400 naming it, because ignoring it
would quietly return more records than the client asked for. Paging is by offset
(``_count``, ``_offset``); the ``next`` link carries both, so a client just follows it.
A date parameter given a date without a time means that day in the practice's time zone
(``Practice.timezone``), the day its staff and patients mean.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, func, select
from werkzeug.datastructures import MultiDict

from app.core.crypto import DecryptionError
from app.core.ids import row_id, split_reference
from app.core.paging import MAX_PAGE, NumberOutOfRange, whole_number
from app.core.types import keyring
from app.extensions import db
from app.fhir.errors import FhirError
from app.practice.practices import practice_zone  # noqa: F401 (the handlers' toolkit)

DEFAULT_COUNT = 20
MAX_COUNT = 100
MAX_OFFSET = MAX_PAGE * MAX_COUNT
_PAGING = ("_count", "_offset")
_SEALED = "_sealed"  # a posted search's parameters, encrypted, in its Bundle's links
_SEAL_CONTEXT = "fhir.search"
# Parameters that change how results are presented, never which records match: output is
# always JSON and always carries an exact total (_totalMethod is how fhirpy asks for one).
_IGNORED = ("_format", "_pretty", "_total", "_totalMethod")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_PREFIX = re.compile(r"^(eq|ne|gt|lt|ge|le|sa|eb|ap)(?=\d)")


@dataclass(frozen=True)
class SearchParam:
    """One search parameter a resource supports, as the CapabilityStatement lists it."""

    name: str
    type: str  # FHIR search parameter type: token, string, date, ...
    documentation: str


@dataclass(frozen=True)
class SearchRequest:
    params: dict[str, list[str]]  # parameter name (modifier removed) → each value given
    count: int
    offset: int
    exact: frozenset[str] = frozenset()  # string parameters given with ``:exact``
    sealed: bool = False  # posted to _search: links carry the parameters encrypted

    def one(self, name: str) -> str | None:
        """The single value of ``name``; given twice is a 400 (we do not AND them)."""
        values = self.params.get(name)
        if not values:
            return None
        if len(values) > 1:
            raise FhirError(400, f"Search parameter '{name}' may be given only once.",
                            expression=name)
        return values[0]


def parse_search(args: MultiDict[str, str], supported: Sequence[SearchParam], *,
                 posted: bool = False) -> SearchRequest:
    """The search in ``args``: a query string, or the form and query string of a POST to
    ``[type]/_search`` (``posted``). A ``_sealed`` (a link of a posted search's Bundle) stands
    for the parameters that search was given, sealed so that they are in no URL."""
    known = {param.name: param for param in supported}
    params: dict[str, list[str]] = {}
    exact: set[str] = set()
    sealed = args.get(_SEALED)
    pairs = _unseal(sealed) if sealed is not None else list(args.items(multi=True))
    for raw_name, value in pairs:
        name, _, modifier = raw_name.partition(":")
        if name in _PAGING or name in _IGNORED:
            continue
        param = known.get(name)
        if param is None:
            raise FhirError(400, f"Unknown search parameter '{name}' (supported: "
                                 f"{', '.join(sorted(known)) or 'none'}).", expression=name)
        if modifier and not (modifier == "exact" and param.type == "string"):
            raise FhirError(400, f"Modifier ':{modifier}' is not supported on '{name}'.",
                            expression=raw_name)
        if not value.strip():
            raise FhirError(400, f"Search parameter '{name}' has no value.", expression=name)
        params.setdefault(name, []).append(value.strip())
        if modifier:
            exact.add(name)
    return SearchRequest(
        params=params, exact=frozenset(exact), sealed=posted or sealed is not None,
        count=_number(args, "_count", DEFAULT_COUNT, MAX_COUNT, clamp_high=True),
        offset=_number(args, "_offset", 0, MAX_OFFSET, clamp_high=False))


def _seal(pairs: list[tuple[str, str]]) -> str:
    return keyring().encrypt(json.dumps(pairs), context=_SEAL_CONTEXT)


def _unseal(sealed: str) -> list[tuple[str, str]]:
    try:
        return [(name, value) for name, value in json.loads(
            keyring().decrypt(sealed, context=_SEAL_CONTEXT))]
    except (DecryptionError, ValueError, TypeError):
        raise FhirError(400, f"'{_SEALED}' is not a search this server made; repeat the "
                             "search.", expression=_SEALED) from None


def _number(args: MultiDict[str, str], name: str, default: int, highest: int, *,
            clamp_high: bool) -> int:
    """A paging number (``app/core/paging.py``): a ``_count`` above the most a page holds is
    lowered to it, as the spec lets a server do; an ``_offset`` past every page is a 400."""
    raw = args.get(name)
    try:
        return whole_number(raw, field=name, default=default, lowest=0, highest=highest,
                            clamp_high=clamp_high)
    except NumberOutOfRange:
        raise FhirError(400, f"'{name}' must be a whole number from 0 to {highest}.",
                        expression=name) from None


def string_condition(request: SearchRequest, name: str, column: Any
                     ) -> ColumnElement[bool] | None:
    """FHIR string search on a plain column: case-insensitive "starts with", or equality
    with ``:exact``. None when the parameter is not given."""
    value = request.one(name)
    if value is None:
        return None
    if name in request.exact:
        return column == value
    return column.istartswith(value, autoescape=True)


def parse_token(value: str) -> tuple[str | None, str]:
    """``system|code`` → (system, code); ``|code`` → ("", code); ``code`` → (None, code)."""
    if "|" in value:
        system, _, code = value.partition("|")
        return system, code
    return None, value


def parse_reference(name: str, value: str, resource_type: str) -> int | None:
    """``patient=Patient/12``, ``patient=12`` or a full URL ending in ``Patient/12`` → 12.
    A reference to another resource type is a 400 naming the parameter; an id that cannot be
    ours → None (it matches nothing)."""
    kind, ref_id = split_reference(value)
    if kind and kind != resource_type:
        raise FhirError(400, f"'{name}' must reference a {resource_type}, not {value!r}.",
                        expression=name)
    return row_id(ref_id)


def parse_ids(value: str) -> list[int]:
    """``_id=1,2`` → [1, 2]; ids that cannot be ours are left out (they match nothing)."""
    return [found for part in value.split(",") if (found := row_id(part)) is not None]


def parse_plain_date(name: str, value: str, why_no_prefix: str) -> date:
    """An exact day (``1974-12-25`` or ``eq1974-12-25``); other prefixes are a 400 saying
    ``why_no_prefix``."""
    found = _PREFIX.match(value)
    if found and found.group(1) != "eq":
        raise FhirError(400, f"'{name}' supports only exact dates: {why_no_prefix}",
                        expression=name)
    text = value[found.end():] if found else value
    try:
        if not _DATE.match(text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise FhirError(400, f"'{name}' must be a full date YYYY-MM-DD, not {value!r}.",
                        expression=name) from None


def instant_conditions(name: str, values: Sequence[str], column: Any, *, zone: ZoneInfo
                       ) -> list[ColumnElement[bool]]:
    """``_lastUpdated=ge2024-01-01&_lastUpdated=lt2024-02-01T12:00:00Z`` → SQL conditions.

    Each value is a day (in ``zone``: the practice's) or a dateTime with a zone, i.e. a range
    [start, end); the prefix (eq by default; gt, ge, lt, le) compares the column with that
    range."""
    conditions = []
    for value in values:
        found = _PREFIX.match(value)
        prefix = found.group(1) if found else "eq"
        start, end = _instant_range(name, value[found.end():] if found else value, zone)
        if prefix == "eq":
            conditions += [column >= start, column < end]
        elif prefix == "ge":
            conditions.append(column >= start)
        elif prefix == "gt":
            conditions.append(column >= end)
        elif prefix == "le":
            conditions.append(column < end)
        elif prefix == "lt":
            conditions.append(column < start)
        else:
            raise FhirError(400, f"Prefix '{prefix}' is not supported on '{name}' "
                                 "(use eq, gt, ge, lt or le).", expression=name)
    return conditions


def _instant_range(name: str, text: str, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) in UTC: a day in ``zone``, or one instant."""
    try:
        if _DATE.match(text):
            day = date.fromisoformat(text)
            return (datetime.combine(day, time(), zone).astimezone(UTC),
                    datetime.combine(day + timedelta(days=1), time(), zone).astimezone(UTC))
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            raise ValueError("a dateTime needs its time zone")
        moment = moment.astimezone(UTC)
        return moment, moment + timedelta(microseconds=1)
    except OverflowError:  # within a day of the first or the last representable instant
        raise FhirError(400, f"'{name}' must lie within the years 1 to 9999 in UTC, not "
                             f"{text!r}.", expression=name) from None
    except ValueError:
        raise FhirError(400, f"'{name}' must be a date (YYYY-MM-DD) or a dateTime with a time "
                             f"zone, not {text!r}.", expression=name) from None


@dataclass(frozen=True)
class Page:
    rows: list[Any]
    total: int


def run_page(stmt: Select[Any], request: SearchRequest) -> Page:
    """One page of ``stmt`` (already ordered) and the total number of matches."""
    total = db.session.execute(
        select(func.count()).select_from(stmt.order_by(None).subquery())).scalar_one()
    rows = list(db.session.execute(stmt.offset(request.offset).limit(request.count)).scalars()
                ) if request.count else []
    return Page(rows=rows, total=total)


def slice_page(rows: Sequence[Any], request: SearchRequest) -> Page:
    """A page of matches filtered in Python (after decrypting a bounded candidate set)."""
    return Page(rows=list(rows[request.offset:request.offset + request.count]),
                total=len(rows))


def searchset(*, base_url: str, resource_type: str, request: SearchRequest,
              resources: Sequence[Any], total: int) -> dict[str, Any]:
    """A searchset Bundle with ``self`` and (when more matches follow) ``next`` links, as
    JSON in the element order fhir.resources writes. ``resources`` are models or their JSON
    (``exclude_none``); the Bundle around them is built, not validated again: its shape is
    fixed here (tests/fhir/test_slot.py validates pages of it through fhir.resources)."""

    def link(offset: int) -> str:
        query = [(f"{name}:exact" if name in request.exact else name, value)
                 for name, values in request.params.items() for value in values]
        if request.sealed:
            query = [(_SEALED, _seal(query))]
        query += [("_count", str(request.count)), ("_offset", str(offset))]
        return f"{base_url}/{resource_type}?{urlencode(query)}"

    links = [{"relation": "self", "url": link(request.offset)}]
    if request.count and request.offset + request.count < total:
        links.append({"relation": "next", "url": link(request.offset + request.count)})
    entries = [resource if isinstance(resource, dict)
               else resource.model_dump(mode="json", exclude_none=True)
               for resource in resources]
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset", "total": total,
                              "link": links}
    if entries:
        bundle["entry"] = [{"fullUrl": f"{base_url}/{resource_type}/{entry['id']}",
                            "resource": entry, "search": {"mode": "match"}}
                           for entry in entries]
    return bundle


def instant_bounds(name: str, values: Sequence[str], *, zone: ZoneInfo
                   ) -> tuple[datetime | None, datetime | None]:
    """The window [lower, upper) that date values (prefixes eq, gt, ge, lt, le; a plain date
    is a day in ``zone``) allow, for searches filtered in Python; None where a side is
    open."""
    lower: datetime | None = None
    upper: datetime | None = None
    for value in values:
        found = _PREFIX.match(value)
        prefix = found.group(1) if found else "eq"
        start, end = _instant_range(name, value[found.end():] if found else value, zone)
        if prefix not in ("eq", "ge", "gt", "le", "lt"):
            raise FhirError(400, f"Prefix '{prefix}' is not supported on '{name}' "
                                 "(use eq, gt, ge, lt or le).", expression=name)
        low, high = {"eq": (start, end), "ge": (start, None), "gt": (end, None),
                     "le": (None, end), "lt": (None, start)}[prefix]
        if low is not None:
            lower = low if lower is None else max(lower, low)
        if high is not None:
            upper = high if upper is None else min(upper, high)
    return lower, upper
