"""SMS segment counting: GSM-7 vs UCS-2, 160/153 and 70/67, escapes and surrogate pairs."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.adapters.sms.segments import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    Encoding,
    SegmentInfo,
    count_segments,
)

GSM, UCS = Encoding.GSM7, Encoding.UCS2


@pytest.mark.parametrize(("text", "expected"), [
    ("", SegmentInfo(GSM, 0, 0, 160)),
    ("a", SegmentInfo(GSM, 1, 1, 159)),
    ("a" * 160, SegmentInfo(GSM, 160, 1, 0)),
    ("a" * 161, SegmentInfo(GSM, 161, 2, 145)),
    ("a" * 306, SegmentInfo(GSM, 306, 2, 0)),
    ("a" * 307, SegmentInfo(GSM, 307, 3, 152)),
    ("a" * 459, SegmentInfo(GSM, 459, 3, 0)),
    ("á", SegmentInfo(UCS, 1, 1, 69)),
    ("á" * 70, SegmentInfo(UCS, 70, 1, 0)),
    ("á" * 71, SegmentInfo(UCS, 71, 2, 63)),
    ("á" * 134, SegmentInfo(UCS, 134, 2, 0)),
    ("á" * 135, SegmentInfo(UCS, 135, 3, 66)),
])
def test_boundaries(text, expected):
    assert count_segments(text) == expected


@pytest.mark.parametrize("char", list("€[]{}^~|\\\f"))
def test_extension_characters_count_double(char):
    info = count_segments(char * 80)
    assert info == SegmentInfo(GSM, 160, 1, 0)
    assert count_segments(char * 81).segments == 2


def test_escape_pair_is_not_split_across_parts():
    # 152 plain septets leave one unit in the first part: the € (escape + code) moves whole.
    info = count_segments("a" * 152 + "€" + "a" * 10)
    assert info.characters == 164
    assert info.segments == 2
    assert info.remaining_in_segment == 153 - 12


@pytest.mark.parametrize(("text", "encoding"), [
    ("Cita mañana", GSM),           # ñ is in the GSM-7 basic table
    ("Añadir", GSM),
    ("café", GSM),                  # é
    ("pingüino", GSM),              # ü
    ("¿Confirma? ¡Gracias!", GSM),  # ¿ ¡
    ("Ñandú", UCS),                 # ú is not
    ("Está confirmada", UCS),       # á
    ("Clínica", UCS),               # í
    ("Opción", UCS),                # ó
    ("Sr. Núñez", UCS),
    ("ç", UCS),                     # only capital Ç is in the table
    ("Ç", GSM),
    ("`", UCS),                     # backtick is not GSM-7
    ("Price €20 [x]", GSM),
    ("“quoted”", UCS),              # curly quotes: no smart encoding
    ("See you 👍", UCS),
])
def test_encoding_of_spanish_and_symbols(text, encoding):
    assert count_segments(text).encoding is encoding


def test_one_accent_turns_the_whole_text_into_ucs2():
    text = "Hola " * 30  # 150 GSM-7 characters: one segment
    assert count_segments(text).segments == 1
    assert count_segments(text + "á").segments == 3  # 151 UCS-2 units: 67 + 67 + 17


@pytest.mark.parametrize(("text", "expected"), [
    ("😀" * 35, SegmentInfo(UCS, 70, 1, 0)),
    ("😀" * 36, SegmentInfo(UCS, 72, 2, 61)),
    # 66 units then an emoji: the surrogate pair does not fit the 1 unit left, so it moves whole
    ("á" * 66 + "😀" + "á", SegmentInfo(UCS, 69, 1, 1)),
    ("á" * 66 + "😀" + "áá", SegmentInfo(UCS, 70, 1, 0)),
    ("á" * 66 + "😀" + "ááá", SegmentInfo(UCS, 71, 2, 67 - 5)),
])
def test_emoji_count_two_units_and_are_not_split(text, expected):
    assert count_segments(text) == expected


_GSM_CHARS = st.sampled_from(sorted(GSM7_BASIC | GSM7_EXTENSION))
_ANY_CHARS = st.characters(exclude_categories=("Cs",))


@given(st.text(alphabet=st.sampled_from(sorted(GSM7_BASIC)), max_size=700))
def test_plain_gsm_matches_the_closed_form(text):
    info = count_segments(text)
    assert info.encoding is GSM
    assert info.characters == len(text)
    if not text:
        assert info.segments == 0
    elif len(text) <= 160:
        assert info.segments == 1
    else:
        assert info.segments == math.ceil(len(text) / 153)


@given(st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF), min_size=1,
               max_size=400))
def test_bmp_ucs2_matches_the_closed_form(text):
    info = count_segments(text)
    assert info.encoding is UCS
    assert info.characters == len(text)
    assert info.segments == (1 if len(text) <= 70 else math.ceil(len(text) / 67))


@given(st.text(alphabet=_ANY_CHARS, max_size=400))
def test_invariants_on_any_text(text):
    info = count_segments(text)
    single, part = (160, 153) if info.encoding is GSM else (70, 67)
    assert info.characters >= len(text)
    if info.encoding is UCS:
        assert info.characters == len(text.encode("utf-16-le")) // 2
    if info.segments <= 1:
        assert info.remaining_in_segment == single - info.characters
    else:
        assert 0 <= info.remaining_in_segment < part
        # Parts only lose the odd unit to an unsplittable pair.
        assert info.characters <= info.segments * part
        assert info.characters > (info.segments - 1) * (part - 1)


@given(st.text(alphabet=_ANY_CHARS, max_size=300), _ANY_CHARS)
def test_appending_never_reduces_the_count(text, char):
    before, after = count_segments(text), count_segments(text + char)
    assert after.segments >= before.segments
    if after.encoding is before.encoding:
        assert after.characters > before.characters


@given(st.text(alphabet=_GSM_CHARS, max_size=400))
def test_gsm_text_is_never_ucs2(text):
    assert count_segments(text).encoding is GSM
