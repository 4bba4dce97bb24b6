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
