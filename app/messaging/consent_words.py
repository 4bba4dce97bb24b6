"""Consent rules and reasons in the staff member's language.

The ledger (``consent.state``) and the send-time rules word their reasons in English, and
those words are stored (a suppressed message's ``status_reason``, a system-written consent
entry's ``reason``). Staff pages show them through the ``consent_words`` filter, which
recognises each wording the code writes and says it in the page's language; anything else
(a staff member's own reason, typed in their words) is shown as it was written.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.messaging.labels import CHANNEL, PURPOSE, SOURCE

_PURPOSE_WORDS = {**PURPOSE, "transactional": _l("Appointments and replies")}


def _channel(code: str) -> str:
    return str(CHANNEL.get(code, code)).lower()


def _purpose(code: str) -> str:
    return str(_PURPOSE_WORDS.get(code, code)).lower()


def _source(code: str) -> str:
    return str(SOURCE.get(code, code)).lower()


_RULES: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (re.compile(r"opted out of all (\w+) \((\w+)\)"),
     lambda m: _("opted out of every %(channel)s (%(source)s)", channel=_channel(m[1]),
                 source=_source(m[2]))),
    (re.compile(r"no (\w+) consent for (\w+)"),
     lambda m: _("no consent to %(purpose)s by %(channel)s", purpose=_purpose(m[1]),
                 channel=_channel(m[2]))),
    (re.compile(r"(\w+) consent given \((\w+)\)"),
     lambda m: _("consent to %(purpose)s given (%(source)s)", purpose=_purpose(m[1]),
                 source=_source(m[2]))),
    (re.compile(r"opted out of (\w+) (\w+) \((\w+)\)"),
     lambda m: _("opted out of %(purpose)s by %(channel)s (%(source)s)",
                 purpose=_purpose(m[1]), channel=_channel(m[2]), source=_source(m[3]))),
    (re.compile(r"transactional message to the patient's own contact"),
     lambda m: _("appointment and reply messages to the patient's own contact")),
    (re.compile(r"carrier reported the number unsubscribed \(21610\)"),
     lambda m: _("the carrier reported the number unsubscribed (21610)")),
    (re.compile(r"honoured free-text request: message #(\d+)"),
     lambda m: _("honoured a request to stop written in a text: message #%(id)s", id=m[1])),
]


def consent_words(text: str | None) -> str:
    """``text`` (one rule, or several joined by "; ") in the page's language."""
    if not text:
        return ""
    return "; ".join(_one(part) for part in text.split("; "))


def _one(part: str) -> str:
    for pattern, words in _RULES:
        found = pattern.fullmatch(part)
        if found:
            return words(found)
    return part
