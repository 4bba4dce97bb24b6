"""Inbound SMS keywords and free-text revocations.

The webhook routes a patient's text in a fixed order (opt-out, opt-in, help, intent handlers,
inbox); this module answers the first three questions and, for the inbox, whether free text reads
as a revocation of consent.

Decisions, and the rules behind them:

* A keyword counts only when it is the whole message, ignoring case, whitespace, punctuation and
  emoji ("Stop.", " STOP!! ", "stop\\n", "🛑 stop"). "Stop texting me" is not a keyword; it is a
  revocation in free text (below). This matches how carriers and Twilio match keywords (CTIA).
* Opt-out words are Twilio's defaults (STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE,
  OPTOUT), the two-word "opt out" / "opt-out" and "stop all" forms FCC 24-24 and other carriers
  name, and the Spanish PARAR and ALTO ("stop"), which US programs print in Spanish messages.
  Treating a word as opt-out that Twilio does not is the safe direction: we stop sending while the
  carrier would still deliver.
* CANCEL alone is an opt-out, as carriers treat it: Twilio blocks the number on CANCEL whatever
  we decide, so Frontdesk must record it too. Appointment replies therefore never use a bare
  CANCEL: templates ask for "N" or "2", and longer text such as "cancel appointment" or "I need to
  cancel" is not a keyword and reaches the intent handlers. The Spanish CANCELAR is *not* an
  opt-out word: Twilio does not block on it, and a Spanish speaker who writes it almost always
  means the appointment.
* Opt-in words are only those Twilio itself honours (START, UNSTOP, and YES when the number is
  opted out), so Frontdesk never shows consent as restored while the carrier still blocks the
  number. A stray mismatch (say "Start!" that the carrier ignored) surfaces as Twilio error 21610
  on the next send, which records the opt-out again.
* HELP, INFO and the Spanish AYUDA ask for the CTIA help reply; answering it changes no consent.
* FCC 24-24: consent may be revoked by any reasonable means, so free text
  such as "please stop texting me" or "ya no quiero mensajes" is flagged to staff as a likely
  opt-out (``looks_like_revocation``). It does not revoke on its own: the phrases are heuristics,
  and staff confirm with one click.
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum


class Keyword(StrEnum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"
    NONE = "none"


OPT_OUT_WORDS = frozenset({
    "STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT",
    "PARAR", "ALTO",
})
OPT_IN_WORDS = frozenset({"START", "UNSTOP"})
OPT_IN_WHEN_OPTED_OUT = frozenset({"YES"})
HELP_WORDS = frozenset({"HELP", "INFO", "AYUDA"})

# Two-word forms that mean the same as a single keyword ("opt out", "opt-out", "stop all").
_JOINED_FORMS = {"OPT OUT": "OPTOUT", "STOP ALL": "STOPALL"}


def normalize_reply(body: str) -> str:
    """The reply as a keyword matcher sees it: upper case, with whitespace, punctuation, symbols
    and emoji trimmed from both ends and runs of them inside collapsed to one space.

    Intent handlers ("C" to confirm, "1" for a waitlist offer) use the same normalisation, so a
    reply means the same thing to every step of the router.
    """
    text = unicodedata.normalize("NFKC", body)
    words = re.findall(r"[^\W_]+", text)
    return " ".join(words).upper()


def classify_inbound(body: str, *, opted_out: bool) -> Keyword:
    """Which keyword, if any, the whole message is. ``opted_out`` says whether the sender's
    number is currently opted out: YES only restores consent then, and otherwise is left to the
    intent handlers (a waitlist offer or a confirmation)."""
    reply = normalize_reply(body)
    reply = _JOINED_FORMS.get(reply, reply)
    if reply in OPT_OUT_WORDS:
        return Keyword.OPT_OUT
    if reply in OPT_IN_WORDS or (opted_out and reply in OPT_IN_WHEN_OPTED_OUT):
        return Keyword.OPT_IN
    if reply in HELP_WORDS:
        return Keyword.HELP
    return Keyword.NONE


_MESSAGES = (r"(?:text|texts|txt|txts|message|messages|msg|msgs|sms|reminders?|notifications?"
             r"|alerts?)")
_ES_MESSAGES = r"(?:mensajes?|textos?|msjs?|sms|recordatorios?|notificaciones)"
_LISTS = r"(?:list|texts?|messages|contacts?|mailing\s+list|texting\s+list|text\s+list)"

_REVOCATION_PATTERNS = tuple(re.compile(pattern) for pattern in (
    # English
    r"\b(?:stop|quit|cease)\s+(?:texting|txting|messaging|sending|contacting|emailing|"
    r"bothering|spamming)\b(?!\s+(?:you|u)\b)",
    rf"\b(?:stop|cancel)\s+(?:(?:the|these|those|your|my|all|all\s+the|all\s+these)\s+)?"
    rf"(?:{_MESSAGES}|subscription)\b",
    rf"\bno\s+more\s+{_MESSAGES}\b",
    rf"\b(?:dont|do\s+not|never)\s+(?:want|need)\s+(?:any\s*more\s+|more\s+|any\s+|these\s+|"
    rf"your\s+)?{_MESSAGES}\b",
    r"\b(?:dont|do\s+not|never)\s+(?:text|txt|message|msg|sms|contact|email)\s+(?:me|us)\b",
    rf"\b(?:remove|take)\s+(?:me|us|my\s+number|this\s+number)\s+(?:from|off)\s+"
    rf"(?:of\s+)?(?:your|the|this)\s+{_LISTS}\b",
    r"\b(?:remove|delete)\s+my\s+number\b",
    r"\bunsubscribe\b",
    r"\bopt\s*out\b",
    r"\bleave\s+me\s+alone\b",
    r"\bwrong\s+(?:number|person)\b",
    r"^(?:please\s+|pls\s+|plz\s+)?stop(?:\s+(?:stop|it|now|please|pls|plz|already|thanks|"
    r"thank\s+you))*$",
    # Spanish (accents are stripped before matching)
    rf"\bno\s+me\s+(?:envien|envie|manden|mande|escriban|escriba|contacten|contacte|"
    rf"texteen|textee)(?:\s+(?:mas|ningun|ninguno|ningunos))?"
    rf"(?:\s+(?:{_ES_MESSAGES}|nada)\b|\s*$|\s+por\s+favor)",
    rf"\b(?:ya\s+)?no\s+quiero\s+(?:recibir\s+)?(?:mas\s+)?{_ES_MESSAGES}\b",
    rf"\bno\s+mas\s+{_ES_MESSAGES}\b",
    r"\b(?:dejen|deje|deja|dejar)\s+de\s+(?:escribirme|enviarme|mandarme|contactarme|"
    r"textearme|molestarme|escribir|enviar|mandar|recibir)\b",
    r"\b(?:paren|pare)\s+de\s+(?:escribirme|enviarme|mandarme|escribir|enviar|mandar)\b",
    rf"\bbasta\s+de\s+{_ES_MESSAGES}\b",
    r"^(?:por\s+favor\s+)?(?:basta|alto|parar|paren|pare)(?:\s+(?:ya|por\s+favor|gracias))*$",
    r"\b(?:darme|dar|denme|deme)\s+de\s+baja\b",
    r"\b(?:sacame|saquenme|quitenme|quitame|borrenme|borrame|eliminenme)\s+de\s+"
    r"(?:la|su|sus|esta|esa)\s+lista\b(?!\s+de\s+espera)",
    r"\b(?:eliminen|borren|quiten)\s+mi\s+numero\b",
    r"\bcancelar\s+(?:la\s+|mi\s+)?suscripcion\b",
    r"\bdesuscribir(?:me)?\b",
    r"\bnumero\s+equivocado\b",
    r"\bpersona\s+equivocada\b",
))


def _revocation_text(body: str) -> str:
    """Lower case, accents and apostrophes removed, every other non-letter a single space."""
    text = re.sub(r"['’`´]", "", body.casefold())
    decomposed = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(re.findall(r"[^\W_]+", text))


def looks_like_revocation(body: str) -> bool:
    """Whether free text reads as a request to stop messaging, in English or Spanish.

    FCC 24-24 lets a patient revoke consent by any reasonable means; the inbox flags these as a
    likely opt-out for staff to confirm. An exact opt-out keyword also reads as a revocation.
    Ordinary texts that merely contain "stop" or "cancel" ("can I stop by at 3?", "I need to
    cancel") do not.
    """
    if classify_inbound(body, opted_out=False) is Keyword.OPT_OUT:
        return True
    text = _revocation_text(body)
    return any(pattern.search(text) for pattern in _REVOCATION_PATTERNS)
