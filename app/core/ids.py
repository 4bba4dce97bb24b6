"""Row ids that arrive as text (URLs, forms, FHIR references), read one way everywhere."""

from __future__ import annotations

MAX_ROW_ID = 2**31 - 1  # the largest id an INTEGER column holds on PostgreSQL


def row_id(text: str) -> int | None:
    """The id ``text`` names, or None when it cannot be one of our rows: not plain ASCII
    digits (``"²".isdigit()`` is true, yet ``int`` refuses it), zero, or past the column."""
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(MAX_ROW_ID)):
        return None
    value = int(text)
    return value if 0 < value <= MAX_ROW_ID else None


def split_reference(reference: str) -> tuple[str, str]:
    """``"Patient/12"``, ``"https://host/fhir/Patient/12"`` → ``("Patient", "12")``; a bare
    ``"12"`` → ``("", "12")``. The id part is returned as given (Slot ids are not numbers)."""
    kind, _, local_id = reference.rstrip("/").rpartition("/")
    return kind.rpartition("/")[2], local_id
