"""SMS segment counting, shown wherever a text is written (a long text costs several messages).

A text goes out in GSM-7 when every character is in the GSM 03.38 default alphabet or its
extension table, else in UCS-2. One segment holds 160 GSM-7 septets or 70 UCS-2 code units; a
longer text is split into parts of 153 or 67, because each part carries a 6-byte concatenation
header. Extension characters (€ [ ] { } ^ ~ | \\ and form feed) take two septets (escape + char);
UCS-2 is counted in UTF-16 code units, so an emoji outside the BMP takes two. Neither an escape
pair nor a surrogate pair is split across parts, so a part may end one unit short.

The character table is Twilio's (its open-source segment calculator). Twilio's optional "smart
encoding" swaps some Unicode look-alikes (curly quotes) for GSM characters; we count the text as
written, the worst case.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Encoding(StrEnum):
    GSM7 = "GSM-7"
    UCS2 = "UCS-2"


GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

_SINGLE = {Encoding.GSM7: 160, Encoding.UCS2: 70}
_PART = {Encoding.GSM7: 153, Encoding.UCS2: 67}


@dataclass(frozen=True)
class SegmentInfo:
    """``characters`` is the length in the encoding's units (septets for GSM-7, UTF-16 code units
    for UCS-2), the unit the 160/70 limits count. ``remaining_in_segment`` is how many more units
    fit before another segment is needed. An empty text is 0 segments."""

    encoding: Encoding
    characters: int
    segments: int
    remaining_in_segment: int


def encoding_for(text: str) -> Encoding:
    if all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text):
        return Encoding.GSM7
    return Encoding.UCS2


def _unit_cost(ch: str, encoding: Encoding) -> int:
    if encoding is Encoding.GSM7:
        return 2 if ch in GSM7_EXTENSION else 1
    return 2 if ord(ch) > 0xFFFF else 1


def count_segments(text: str) -> SegmentInfo:
    """How many segments ``text`` costs and how much room is left in the last one."""
    encoding = encoding_for(text)
    costs = [_unit_cost(ch, encoding) for ch in text]
    total = sum(costs)
    if total <= _SINGLE[encoding]:
        return SegmentInfo(encoding=encoding, characters=total, segments=1 if total else 0,
                           remaining_in_segment=_SINGLE[encoding] - total)
    part_size = _PART[encoding]
    segments, used = 1, 0
    for cost in costs:
        if used + cost > part_size:
            segments, used = segments + 1, 0
        used += cost
    return SegmentInfo(encoding=encoding, characters=total, segments=segments,
                       remaining_in_segment=part_size - used)
