"""Inbound keywords (CTIA, Twilio defaults, FCC 24-24) and free-text revocations."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.messaging.keywords import (
    HELP_WORDS,
    OPT_IN_WHEN_OPTED_OUT,
    OPT_IN_WORDS,
    OPT_OUT_WORDS,
    Keyword,
    classify_inbound,
    looks_like_revocation,
    normalize_reply,
)

TWILIO_OPT_OUT = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
TWILIO_OPT_IN = {"START", "UNSTOP", "YES"}


def test_word_lists_stay_on_the_safe_side_of_the_carrier():
    # Every word the carrier blocks on opts out here too (never "on" while Twilio blocks) ...
    assert TWILIO_OPT_OUT <= OPT_OUT_WORDS
    # ... and nothing opts in here that the carrier would not also unblock.
    assert OPT_IN_WORDS | OPT_IN_WHEN_OPTED_OUT <= TWILIO_OPT_IN


OPT_OUT_VARIANTS = [
    "STOP", "stop", "Stop", "sToP", "Stop.", " STOP!! ", "stop\n", "\tSTOP\r\n", "STOP 🛑",
    "🛑stop", "¡stop!", "«STOP»", "...stop...", "STOPALL", "stopall", "Stop all", "STOP ALL",
    "UNSUBSCRIBE", "unsubscribe.", "CANCEL", "cancel", "Cancel!", "END", "end", "End.", "QUIT",
    "quit!", "REVOKE", "revoke", "OPTOUT", "optout", "opt out", "Opt-Out", "OPT-OUT!", "opt_out",
    "opt  out", "PARAR", "parar", "ALTO", "Alto.", "¡Alto!", "ＳＴＯＰ",
]


@pytest.mark.parametrize("body", OPT_OUT_VARIANTS)
@pytest.mark.parametrize("opted_out", [False, True])
def test_opt_out_keywords_in_any_case_and_punctuation(body, opted_out):
    assert classify_inbound(body, opted_out=opted_out) is Keyword.OPT_OUT


@pytest.mark.parametrize("body", ["START", "start", "Start!", " start ", "UNSTOP", "unstop."])
@pytest.mark.parametrize("opted_out", [False, True])
def test_start_and_unstop_always_opt_in(body, opted_out):
    assert classify_inbound(body, opted_out=opted_out) is Keyword.OPT_IN


@pytest.mark.parametrize("body", ["YES", "yes", "Yes!", " yes "])
def test_yes_opts_in_only_when_opted_out(body):
    assert classify_inbound(body, opted_out=True) is Keyword.OPT_IN
    # Otherwise YES belongs to the intent handlers (waitlist offer, confirmation).
    assert classify_inbound(body, opted_out=False) is Keyword.NONE


@pytest.mark.parametrize("body", ["HELP", "help", "Help?", "INFO", "info.", "AYUDA", "¿Ayuda?"])
@pytest.mark.parametrize("opted_out", [False, True])
def test_help_keywords(body, opted_out):
    assert classify_inbound(body, opted_out=opted_out) is Keyword.HELP


@pytest.mark.parametrize("body", [
    "cancel my appointment tomorrow",
    "cancel appointment",
    "I need to cancel",
    "CANCELAR",  # Spanish patients mean the appointment; Twilio does not block on it
    "cancelar cita",
    "stop by tomorrow",
    "please stop texting me",  # a revocation, but free text: flagged, not a keyword
    "STOP PLEASE",
    "yes please",
    "yes I can come",
    "help me reschedule",
    "S T O P",
    "STOPP",
    "stopped",
    "ending",
    "N",
    "C",
    "2",
    "",
    "   ",
    "🛑",
    "SI",  # Twilio does not opt in on SI: we must not claim consent the carrier still blocks
    "OK",
])
@pytest.mark.parametrize("opted_out", [False, True])
def test_not_a_keyword(body, opted_out):
    assert classify_inbound(body, opted_out=opted_out) is Keyword.NONE


@pytest.mark.parametrize(("body", "expected"), [
    (" c. ", "C"),
    ("Yes!!", "YES"),
    ("opt-out", "OPT OUT"),
    ("1)", "1"),
    ("👍 ok 👍", "OK"),
    ("sí", "SÍ"),
    ("", ""),
])
def test_normalize_reply_is_shared_with_intent_handlers(body, expected):
    assert normalize_reply(body) == expected


_SURROUNDINGS = st.text(alphabet=st.sampled_from(" \t\n.,!?¡¿-_*\"'()🛑👍😀✋…"), max_size=6)


@given(word=st.sampled_from(sorted(OPT_OUT_WORDS)), before=_SURROUNDINGS, after=_SURROUNDINGS,
       case=st.lists(st.booleans(), min_size=12, max_size=12), opted_out=st.booleans())
def test_any_opt_out_word_in_any_wrapping_opts_out(word, before, after, case, opted_out):
    cased = "".join(ch.lower() if lower else ch for ch, lower in zip(word, case, strict=False))
    assert classify_inbound(before + cased + after, opted_out=opted_out) is Keyword.OPT_OUT


@given(word=st.sampled_from(sorted(OPT_OUT_WORDS | HELP_WORDS | {"START", "UNSTOP", "YES"})),
       extra=st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8))
def test_a_keyword_followed_by_another_word_is_not_a_keyword(word, extra):
    body = f"{word} {extra}"
    if body.upper() in {"STOP ALL", "OPT OUT"}:
        return
    assert classify_inbound(body, opted_out=True) is Keyword.NONE


@given(st.text())
def test_classify_and_revocation_accept_any_text(body):
    assert classify_inbound(body, opted_out=False) in set(Keyword)
    assert looks_like_revocation(body) in {True, False}


REVOCATIONS = [
    "please stop texting me",
    "Please stop texting me.",
    "stop texting me",
    "STOP SENDING ME MESSAGES",
    "Stop messaging me!!",
    "can you stop the texts",
    "stop these reminders please",
    "no more messages",
    "No more texts, thanks",
    "don't text me",
    "Don’t text me again",
    "do not contact me",
    "never text me again",
    "I don't want any more texts",
    "I don't want these messages",
    "remove me from your list",
    "Please remove me from the list",
    "take me off your list",
    "remove my number",
    "unsubscribe me",
    "How do I unsubscribe?",
    "I want to opt out",
    "opt-out please",
    "cancel my subscription",
    "leave me alone",
    "wrong number",
    "You have the wrong number, stop",
    "please stop",
    "Stop please!",
    "stop it",
    "stop stop stop",
    "STOP",
    "quit",
    # Spanish
    "no me envíen más mensajes",
    "No me envien mas mensajes por favor",
    "no me manden mensajes",
    "no me escriban",
    "no me escriban más",
    "ya no quiero mensajes",
    "Ya no quiero recibir más mensajes",
    "no quiero mensajes",
    "no más mensajes",
    "basta",
    "¡Basta ya!",
    "basta de mensajes",
    "alto",
    "Alto por favor",
    "parar",
    "dejen de escribirme",
    "Dejen de enviarme mensajes",
    "quiero dejar de recibir mensajes",
    "paren de escribirme",
    "quiero darme de baja",
    "denme de baja",
    "sáquenme de su lista",
    "borren mi número",
    "cancelar suscripción",
    "número equivocado",
]


@pytest.mark.parametrize("body", REVOCATIONS)
def test_free_text_revocations_are_flagged(body):
    assert looks_like_revocation(body)


@pytest.mark.parametrize("body", [
    "can I stop by at 3?",
    "stop by tomorrow",
    "I'll stop by the office",
    "I need to cancel",
    "cancel my appointment",
    "Please cancel my appointment for Tuesday",
    "no, thanks",
    "No",
    "yes",
    "I'm at the bus stop, running late",
    "I'll stop texting you now, see you tomorrow",
    "Don't forget to text me the address",
    "Please text me when the doctor is ready",
    "Can you send me the form again?",
    "Remove me from the waitlist for Friday",
    "the pain will not stop",
    "no more pain since the visit!",
    "Thanks, I got the message",
    "How do I end my session early?",
    "CANCELAR",
    "necesito cancelar mi cita",
    "no puedo ir, gracias",
    "no me manden el recibo por correo",
    "no quiero nada más, gracias",
    "quítenme de la lista de espera",
    "la presión alta",
    "Mi hijo es muy alto",
    "basta con llamar",
    "",
])
def test_ordinary_messages_are_not_flagged(body):
    assert not looks_like_revocation(body)
