"""Page numbers and counts that arrive as text (query strings, FHIR search parameters), read
one way everywhere: plain ASCII digits within a bound, so no offset computed from them can
overflow a database integer or make a database scan forever."""

from __future__ import annotations

MAX_PAGE = 10_000  # far past any real list; an offset below it fits every integer column


class NumberOutOfRange(ValueError):
    """``field`` is not a whole number from ``lowest`` to ``highest``."""

    def __init__(self, field: str, lowest: int, highest: int) -> None:
        super().__init__(f"{field}: use a whole number from {lowest} to {highest}")
        self.field, self.lowest, self.highest = field, lowest, highest


def whole_number(raw: str | None, *, field: str, default: int, lowest: int, highest: int,
                 clamp_high: bool = False) -> int:
    """``raw`` as a number from ``lowest`` to ``highest``; ``default`` when absent or empty.
    A larger number is ``highest`` with ``clamp_high`` (e.g. a FHIR ``_count`` a server may
    lower), else refused like anything that is not plain digits: ``NumberOutOfRange``."""
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()):
        raise NumberOutOfRange(field, lowest, highest)
    digits = raw.lstrip("0") or "0"  # a huge number is not converted: it is too big anyway
    value = int(digits) if len(digits) <= len(str(highest)) else highest + 1
    if value > highest and clamp_high:
        return highest
    if not lowest <= value <= highest:
        raise NumberOutOfRange(field, lowest, highest)
    return value


def page_number(raw: str | None, *, field: str = "page") -> int:
    """A 1-based page number, 1 when absent: ``NumberOutOfRange`` past ``MAX_PAGE``."""
    return whole_number(raw, field=field, default=1, lowest=1, highest=MAX_PAGE)
