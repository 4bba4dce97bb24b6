"""Blind indexes: the only way PHI is looked up by value.

Each function normalizes its input the same way on write and on search, then returns a keyed
hash. Equality on the hash column finds the row; the hash reveals nothing without the key.
"""

from __future__ import annotations

import unicodedata
from datetime import date

from app.core.types import keyring


def normalize_name(name: str) -> str:
    """Case, accents, spacing and punctuation do not matter: "José  O'Neil" == "jose oneil"."""
    decomposed = unicodedata.normalize("NFKD", name)
    letters = "".join(c for c in decomposed if c.isalnum() or c.isspace())
    return " ".join(letters.casefold().split())


def phone_index(e164: str) -> str:
    return keyring().blind_index("phone", e164)


def email_index(email: str) -> str:
    return keyring().blind_index("email", email.strip().casefold())


def family_name_index(family_name: str) -> str:
    return keyring().blind_index("family_name", normalize_name(family_name))


def name_dob_index(given_name: str, family_name: str, date_of_birth: date) -> str:
    key = f"{normalize_name(given_name)}|{normalize_name(family_name)}|{date_of_birth.isoformat()}"
    return keyring().blind_index("name_dob", key)


def dob_index(date_of_birth: date) -> str:
    return keyring().blind_index("dob", date_of_birth.isoformat())


def external_id_index(external_id: str) -> str:
    return keyring().blind_index("external_id", external_id.strip())


NAME_PREFIX_MIN = 3


def name_words(*names: str) -> list[str]:
    """The normalized words of ``names`` ("María  de la Cruz" → maria, de, la, cruz)."""
    return [word for name in names for word in normalize_name(name).split()]


def name_prefix_index(prefix: str) -> str:
    """The index of one typed name word (normalized), as ``name_prefix_indexes`` stores it."""
    return keyring().blind_index("name_prefix", normalize_name(prefix))


def name_prefix_indexes(given_name: str, family_name: str) -> set[str]:
    """Every prefix of at least NAME_PREFIX_MIN letters of every word of the names (and a
    shorter word whole), so "Gar", "Garc" ... "Garcia" each find García."""
    prefixes = {word[:length] for word in name_words(given_name, family_name)
                for length in range(min(NAME_PREFIX_MIN, len(word)), len(word) + 1)}
    return {name_prefix_index(prefix) for prefix in prefixes}
