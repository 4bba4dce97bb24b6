"""The replies patients really send, and what each must (and must not) mean."""

from __future__ import annotations

import pytest

from app.journeys.understanding import Intent, understand

C, Y, NO, X, R = Intent.CONFIRM, Intent.YES, Intent.NO, Intent.CANCEL, Intent.RESCHEDULE
LATE, WRONG, WHO, ASK = (Intent.RUNNING_LATE, Intent.WRONG_NUMBER, Intent.WHO_IS_THIS,
                         Intent.UNKNOWN)

PHRASES = [
    # the letters the messages ask for, however typed
    ("C", C), ("c", C), (" c ", C), ("C.", C), ("c!", C), ("'C'", C), ("R", R), ("r.", R),
    ("N", X), ("n", X), (" N!", X),
    # English confirmations
    ("confirm", C), ("Confirm.", C), ("CONFIRMED", C), ("confrim", C), ("cofirm", C),
    ("Confirmed!!", C), ("yes I'll be there", C), ("Yes, I will be there.", C),
    ("ill be there", C), ("We'll be there", C), ("See you then!", C), ("see u tomorrow", C),
    ("I can make it", C), ("yes confirm", C), ("Yes, confirming my appointment", C),
    ("👍", C), ("👍🏽", C), ("✅", C), ("👌 thanks", C), ("count me in", C),
    ("Confirming for tomorrow", C), ("yes i confirm", C), ("I will definitely be there", C),
    # Spanish confirmations
    ("confirmo", C), ("Confirmo!", C), ("confirmado", C), ("Confirmada", C), ("comfirmo", C),
    ("ahí estaré", C), ("Ahi estare", C), ("allí estaremos", C), ("nos vemos", C),
    ("sí voy", C), ("si asistire", C), ("Sí, confirmo la cita", C), ("cuenten conmigo", C),
    ("confirmar", C),
    # a bare yes: confirms only while a confirmation is pending
    ("yes", Y), ("Yes.", Y), ("YES!", Y), ("yep", Y), ("yeah", Y), ("ok", Y), ("Okay", Y),
    ("sure", Y), ("sí", Y), ("si", Y), ("Sí.", Y), ("claro", Y), ("vale", Y),
    ("yes please", Y), ("yes thanks", Y), ("sí gracias", Y), ("ok gracias", Y),
    ("sounds good", Y), ("perfecto", Y), ("de acuerdo", Y), ("y", Y),
    # cancel wishes (acted on only after the check)
    ("no, I can't make it", X), ("I can't make it", X), ("cant make it", X),
    ("I need to cancel", X), ("cancel my appointment", X), ("Cancel appointment please", X),
    ("please cancel", X), ("cancle my appt", X), ("I won't be able to come", X),
    ("we are not coming", X), ("can not come tomorrow", X), ("unable to attend", X),
    ("I wont make it", X), ("cancelar", X), ("Cancelar cita", X), ("cancela mi cita", X),
    ("no puedo ir", X), ("No voy a poder ir", X), ("no podré asistir", X), ("no voy", X),
    ("quiero cancelar", X), ("anular la cita", X), ("Cancelo", X), ("cancelled", X),
    # bare no
    ("no", NO), ("No.", NO), ("nope", NO), ("no gracias", NO), ("👎", NO),
    # reschedule wishes
    ("can we move it to Friday?", R), ("reschedule", R), ("Reschedual please", R),
    ("I need to reschedule", R), ("can I reschedule?", R), ("change my appointment", R),
    ("different time please", R), ("another day?", R), ("can we do monday instead", R),
    ("could I come tuesday", R), ("need to change the time", R), ("rebook me please", R),
    ("cancel and rebook", R), ("can't make it, can we do thursday instead?", R),
    ("push it back an hour?", R), ("reprogramar", R), ("quiero cambiar mi cita", R),
    ("otro día por favor", R), ("se puede cambiar la hora?", R), ("reagendar", R),
    ("¿podemos mover la cita al viernes?", R), ("otra hora", R), ("posponer", R),
    # running late
    ("running late", LATE), ("Running 10 min late", LATE), ("running 15 minutes late", LATE),
    ("I'll be 5 min late", LATE), ("ill be late sorry", LATE), ("stuck in traffic", LATE),
    ("be there in 10", LATE), ("on my way", LATE), ("omw", LATE), ("10 mins late", LATE),
    ("voy tarde", LATE), ("llego tarde", LATE), ("voy a llegar 10 minutos tarde", LATE),
    ("voy en camino", LATE), ("estoy en el tráfico", LATE), ("running a bit behind", LATE),
    # wrong number
    ("wrong number", WRONG), ("Wrong number!", WRONG), ("you have the wrong number", WRONG),
    ("wrong person", WRONG), ("número equivocado", WRONG), ("numero equivocado", WRONG),
    ("no soy esa persona", WRONG), ("I'm not your patient", WRONG),
    # who is this
    ("who is this?", WHO), ("Who's this", WHO), ("who", WHO), ("who are you?", WHO),
    ("¿quién es?", WHO), ("quien habla", WHO), ("what is this about?", WHO),
    # must NOT act: hesitation, negation, questions, chat
    ("don't confirm yet", ASK), ("do not confirm", ASK), ("not confirmed yet", ASK),
    ("I can't confirm yet", ASK), ("not sure yet", ASK), ("maybe", ASK),
    ("let me check my schedule", ASK), ("I'll let you know", ASK), ("todavía no", ASK),
    ("aún no sé", ASK), ("no confirmo todavía", ASK), ("tal vez", ASK), ("quizás", ASK),
    ("te aviso", ASK), ("don't cancel", ASK), ("no cancelen por favor", ASK),
    ("what time is my appointment?", ASK), ("where are you located?", ASK),
    ("thanks", ASK), ("gracias", ASK), ("hello", ASK), ("hola", ASK), ("?", ASK), ("", ASK),
    ("how much will it cost", ASK), ("do I need to bring anything?", ASK),
    ("is there parking", ASK), ("cuánto cuesta", ASK), ("yes but what time?", ASK),
    ("can I bring my son too", ASK), ("yet", ASK), ("cancer treatment question", ASK),
    # the carrier's opt-out words are never an appointment reply
    ("CANCEL", ASK), ("cancel", ASK), (" Cancel.", ASK), ("STOP", ASK), ("stop", ASK),
]


def test_the_table_is_large_enough_and_has_no_repeats():
    texts = [text for text, _ in PHRASES]
    assert len(texts) >= 150
    assert len(set(texts)) == len(texts), "a phrase is listed twice"


@pytest.mark.parametrize(("text", "intent"), PHRASES)
def test_phrase(text: str, intent: Intent):
    assert understand(text).intent is intent


@pytest.mark.parametrize(("text", "minutes"), [
    ("running 10 min late", 10), ("I'll be 5 minutes late", 5), ("llego 20 minutos tarde", 20),
    ("running late", None)])
def test_minutes_late_are_read(text: str, minutes: int | None):
    understood = understand(text)
    assert understood.intent is LATE
    assert understood.minutes_late == minutes
