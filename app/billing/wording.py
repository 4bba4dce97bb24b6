"""Ledger descriptions in the reader's language. Entries store a fixed English description
(no clinical detail); patients' pages and statements show it translated."""

from __future__ import annotations

import re

from flask_babel import gettext as _

_VISIT = re.compile(r"Visit on (\d{4}-\d{2}-\d{2})")


def describe(description: str) -> str:
    visit = _VISIT.fullmatch(description)
    if visit:
        return _("Visit on %(date)s", date=visit.group(1))
    known = {"Card payment": _("Card payment"), "Insurance payment": _("Insurance payment"),
             "Refund": _("Refund"), "Write-off": _("Write-off"), "Discount": _("Discount"),
             "Correction": _("Correction"), "Card payment disputed": _("Card payment disputed"),
             "Dispute won": _("Dispute won")}
    return known.get(description, description)
