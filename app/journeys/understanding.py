"""What a patient's reply to an appointment message means, in English or Spanish.

The one place replies are understood (``understand``); ``replies`` decides what to do. Rules:

* The single letters the messages ask for come first: ``C`` confirms, ``R`` asks for the
  reschedule link, ``N`` asks to cancel (``replies`` checks once before cancelling).
* Typos are forgiven word by word: every word of five letters or more is compared with the
  words the rules below look for (rapidfuzz's ``ratio``, at least 80 of 100), so "confrim",
  "reschedual" and "cancelr" read as meant. Short words are taken as written ("yes" is never
  "yet").
* Caution before eagerness: a negated or hesitant confirmation ("don't confirm yet", "not
  sure", "todavía no") is not a confirmation, and a reschedule wish wins over a cancel wish
  ("cancel and rebook me"), because a link changes nothing while a cancellation frees the
  time. A bare "yes" is ``YES``: it confirms only while a confirmation is pending.
* The carrier's opt-out words (CANCEL, STOP, ...) mean nothing here: the webhook has already
  honoured them as opt-outs before any reply reaches this module.
* Anything else is ``UNKNOWN`` and goes to staff; a patient is never told "invalid response".
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from functools import cache

from rapidfuzz import fuzz, process

from app.messaging.keywords import Keyword, classify_inbound


class Intent(StrEnum):
    CONFIRM = "confirm"
    YES = "yes"                  # confirms only while a confirmation is pending
    NO = "no"                    # a bare "no": a cancel wish, unless a check is pending
    CANCEL = "cancel"            # cancelled only after one check
    RESCHEDULE = "reschedule"
    RUNNING_LATE = "running_late"
    WRONG_NUMBER = "wrong_number"
    WHO_IS_THIS = "who_is_this"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Understood:
    intent: Intent
    minutes_late: int | None = None


_EMOJI = {
    "👍": " thumbsup ", "👌": " thumbsup ", "✅": " thumbsup ", "✔": " thumbsup ",
    "🆗": " ok ", "👎": " thumbsdown ", "❌": " thumbsdown ",
}
_LETTERS = {"c": Intent.CONFIRM, "r": Intent.RESCHEDULE, "n": Intent.CANCEL}
# Words the rules look for that a patient may misspell (five letters or more).
_VOCABULARY = (
    "confirm", "confirmed", "confirming", "confirmation", "reschedule", "rescheduled",
    "appointment", "cancel", "cancelled", "canceled", "cancelling", "traffic", "minutes",
    "number", "running", "there", "confirmo", "confirmado", "confirmada", "confirmar",
    "cancelar", "cancela", "cancelo", "reprogramar", "reagendar", "equivocado", "equivocada",
    "estare", "estaremos", "asistire", "asistir", "minutos", "cambiar", "perfect", "perfecto",
    "tomorrow", "thanks", "gracias", "another", "different", "instead", "friday", "monday",
    "tuesday", "wednesday", "thursday", "saturday", "sunday", "viernes", "martes",
    "miercoles", "jueves", "sabado", "domingo",
    # real words near the ones above, kept as they are
    "numero", "trafico", "cancer", "cancion", "confort",
)

_DAYS = (r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|lunes|martes|miercoles"
         r"|jueves|viernes|sabado|domingo|tomorrow|manana|next week)")


def _rules(*patterns: str) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(pattern) for pattern in patterns)


_WRONG_NUMBER = _rules(
    r"\bwrong (?:number|person|phone)\b", r"\bnot (?:the right|the correct) (?:number|person)\b",
    r"\bno (?:one|body) (?:here )?(?:by|named|called) that\b", r"\bdont know (?:any|who)\b",
    r"\bnumero equivocad[oa]\b", r"\bpersona equivocad[oa]\b", r"\bse equivoco de numero\b",
    r"\bno (?:conozco|se quien es) a\b", r"\bno soy (?:esa persona|el paciente|la paciente)\b",
    r"\bnot your patient\b", r"\bnever been (?:a patient|there)\b",
)
_WHO = _rules(
    r"^(?:who|whos|who is|who are|who r)(?: this| you| u| is this| this is)?$",
    r"\bwho (?:is|are) (?:this|you|u)\b", r"^whos this\b", r"\bwhat is this (?:about|for)\b",
    r"^quien (?:es|eres|habla|son)\b", r"\bquien (?:es|habla|me escribe)\b",
    r"\bde (?:que|donde) es (?:esto|este mensaje)\b",
)
_LATE = _rules(
    r"\brunning (?:a (?:bit|little) |\d+ ?(?:m|min|mins|minutes) |few minutes )?(?:late|behind)\b",
    r"\b(?:ill|i will|will|gonna|going to|may|might|we will|well) be (?:a (?:bit|little|few "
    r"minutes) |\d+ ?(?:m|min|mins|minutes) )?late\b",
    r"\bbe there in \d+", r"\b(?:stuck|caught) in traffic\b", r"\bon (?:my|our) way\b",
    r"\bomw\b", r"\b\d+ ?(?:m|min|mins|minutes) (?:late|away|behind)\b",
    r"\b(?:voy|vamos|llego|llegamos|llegare|llegaremos|estoy|vengo) (?:un poco |\d+ ?(?:min|"
    r"minutos) )?(?:tarde|retrasad[oa])\b", r"\bvoy a llegar (?:un poco |\d+ ?(?:min|minutos) )?"
    r"tarde\b", r"\bvoy en camino\b", r"\bestoy en (?:el )?trafico\b", r"\bllego en \d+",
    r"\ben camino\b",
)
_HESITANT = _rules(
    r"\b(?:dont|do not|not|cant|cannot|wont|didnt|no) (?:yet |really |to |you |please )?"
    r"confirm\w*\b", r"\bnot (?:yet|sure|certain)\b", r"\bunsure\b", r"\bmaybe\b",
    r"\bperhaps\b", r"\bi dont know\b", r"\bnot confirm", r"\blet me (?:check|see|think)\b",
    r"\b(?:ill|i will|let me) (?:get back|let you know)\b", r"\bno (?:lo )?confirm\w*\b",
    r"\btodavia no\b", r"\baun no\b", r"\bno (?:se|estoy segur[oa])\b", r"\bquizas?\b",
    r"\btal vez\b", r"\bdont cancel\b", r"\bdo not cancel\b", r"\bno (?:la )?cancel\w*\b",
    r"\bte aviso\b", r"\ble aviso\b", r"\bles aviso\b",
)
_RESCHEDULE = _rules(
    r"\breschedul\w*\b", r"\brebook\w*\b", r"\bre book\b", r"\bmove (?:it|my|the|our|this)\b",
    r"\bpush (?:it|my|the) (?:back|out)\b",
    r"\bchange (?:the|my|our) (?:time|appointment|day|date|appt)\b",
    r"\b(?:different|another|other|new|later|earlier) (?:time|day|date|appointment|slot)\b",
    rf"\b(?:can|could) (?:we|i|you) (?:do|make it|come|go) (?:on )?{_DAYS}\b",
    rf"\b{_DAYS} instead\b", r"\binstead\b", r"\bswitch (?:it|my|the)\b",
    r"\breprogram\w*\b", r"\breagend\w*\b", r"\bcambiar (?:la |mi |el |de )?(?:cita|hora|dia"
    r"|fecha|horario)\b", r"\bcambi\w* (?:la|mi) cita\b", r"\botr[oa] (?:dia|hora|fecha|horario"
    r"|cita)\b", r"\bmover (?:la|mi)\b", r"\bpasar (?:la|mi) cita\b", r"\bposponer\b",
)
_CANCEL = _rules(
    r"\bcancel\w*\b", r"\b(?:cant|cannot|can not|wont|will not|couldnt|unable to|not able to)"
    r" (?:make it|come|go|attend|be there|do it|keep)\b", r"\bnot (?:coming|going to make it|"
    r"going to come|gonna make it)\b", r"\bwont be (?:coming|there|able)\b",
    r"\bcant do (?:it|that|tomorrow)\b",
    r"\bno (?:puedo|podre|podemos|podremos|voy a poder|vamos a poder) (?:ir|asistir|llegar|"
    r"venir|acudir)\b", r"\bno (?:voy|vamos|vendre|iremos|ire|asistire)\b", r"\banul\w*\b",
)
_CONFIRM = _rules(
    r"\bconfirm(?:ed|ing|s)?\b", r"\bthumbsup\b",
    r"\b(?:ill|i will|we will|well|will|i shall|ill definitely|i will definitely) be there\b",
    r"\bsee (?:you|u|ya) (?:then|there|tomorrow|soon|on)\b", r"\bi (?:can|will) make it\b",
    r"\bcount (?:me|us) in\b", r"\bconfirm[oa]\b", r"\bconfirmad[oa]\b", r"\bconfirmar\b",
    r"\b(?:ahi|alli|aqui) (?:estare|estaremos|estamos|nos vemos)\b", r"\bnos vemos\b",
    r"\bsi (?:voy|vamos|asistire|ire|llego|puedo)\b", r"\basistire\b", r"\balli voy\b",
    r"\bcuenten conmigo\b",
)
_YES = re.compile(
    r"^(?:yes|y|ya|yep|yeah|yup|yes yes|sure|ok|okay|k|kk|correct|perfect|sounds good|"
    r"of course|absolutely|definitely|si|sii|claro|vale|perfecto|correcto|de acuerdo|"
    r"por supuesto|esta bien|bueno|ok si|si si)(?: (?:thanks|thank you|thx|ty|please|pls|"
    r"gracias|por favor|mil gracias|sir|maam))*$")
_NO = re.compile(r"^(?:no|nope|nah|no thanks|no thank you|no gracias|thumbsdown)$")
_MINUTES = re.compile(r"\b(\d{1,3}) ?(?:m|min|mins|minute|minutes|minuto|minutos)\b")


def understand(body: str) -> Understood:
    """What ``body`` (the text as the patient typed it) asks for."""
    if classify_inbound(body, opted_out=False) is Keyword.OPT_OUT:
        return Understood(Intent.UNKNOWN)
    text = _normalize(body)
    if not text:
        return Understood(Intent.UNKNOWN)
    if text in _LETTERS:
        return Understood(_LETTERS[text])
    for rules, intent in ((_WRONG_NUMBER, Intent.WRONG_NUMBER), (_WHO, Intent.WHO_IS_THIS),
                          (_LATE, Intent.RUNNING_LATE)):
        if _any(rules, text):
            minutes = _MINUTES.search(text) if intent is Intent.RUNNING_LATE else None
            return Understood(intent, int(minutes.group(1)) if minutes else None)
    if _any(_HESITANT, text):
        return Understood(Intent.UNKNOWN)
    for rules, intent in ((_RESCHEDULE, Intent.RESCHEDULE), (_CANCEL, Intent.CANCEL),
                          (_CONFIRM, Intent.CONFIRM)):
        if _any(rules, text):
            return Understood(intent)
    if _YES.match(text):
        return Understood(Intent.YES)
    if _NO.match(text):
        return Understood(Intent.NO)
    return Understood(Intent.UNKNOWN)


def _any(rules: tuple[re.Pattern[str], ...], text: str) -> bool:
    return any(rule.search(text) for rule in rules)


def _normalize(body: str) -> str:
    """Lower case without accents or apostrophes, emoji named, typos corrected, one space
    between words."""
    text = unicodedata.normalize("NFKC", body)
    for emoji, word in _EMOJI.items():
        text = text.replace(emoji, word)
    text = re.sub(r"['’`´]", "", text.casefold())
    text = "".join(ch for ch in unicodedata.normalize("NFKD", text)
                   if not unicodedata.combining(ch))
    return " ".join(_corrected(word) for word in re.findall(r"[a-z0-9]+", text))


@cache
def _corrected(word: str) -> str:
    if len(word) < 5 or word.isdigit() or word in _VOCABULARY:
        return word
    match = process.extractOne(word, _VOCABULARY, scorer=fuzz.ratio, score_cutoff=80)
    return match[0] if match else word
