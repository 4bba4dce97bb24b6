"""PHI encryption at rest: AES-256-GCM values bound to their column, and blind indexes."""

import base64
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app import create_app
from app.config import ConfigError
from app.core.crypto import DecryptionError, Keyring, generate_key
from app.security.blind_index import normalize_name

KEY_A = "a1:" + base64.urlsafe_b64encode(b"A" * 32).decode()
KEY_B = "b2:" + base64.urlsafe_b64encode(b"B" * 32).decode()
INDEX_KEY = base64.urlsafe_b64encode(b"I" * 32).decode()


def ring(keys: str = KEY_A, index_key: str = INDEX_KEY) -> Keyring:
    return Keyring.from_settings(keys, index_key)


def test_round_trip_of_unicode_text():
    stored = ring().encrypt("José Núñez-O'Brien ✓", context="patient.family_name")
    assert stored.startswith("fd1:a1:")
    assert "José" not in stored
    assert ring().decrypt(stored, context="patient.family_name") == "José Núñez-O'Brien ✓"


def test_same_value_encrypts_differently_each_time():
    keyring = ring()
    assert (keyring.encrypt("Maria", context="patient.given_name")
            != keyring.encrypt("Maria", context="patient.given_name"))


@pytest.mark.parametrize("position", [0, 5, 20, -1])
def test_flipping_any_byte_is_detected(position):
    keyring = ring()
    stored = keyring.encrypt("Zephyrine", context="patient.given_name")
    prefix, token = stored.rsplit(":", 1)
    blob = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    blob[position] ^= 0x01
    tampered = f"{prefix}:{base64.urlsafe_b64encode(bytes(blob)).decode().rstrip('=')}"
    with pytest.raises(DecryptionError, match="failed authentication"):
        keyring.decrypt(tampered, context="patient.given_name")


def test_value_moved_to_another_column_does_not_decrypt():
    keyring = ring()
    stored = keyring.encrypt("Zephyrine", context="patient.given_name")
    with pytest.raises(DecryptionError, match="failed authentication"):
        keyring.decrypt(stored, context="patient.family_name")


def test_value_under_a_key_that_is_not_configured():
    stored = ring(KEY_B).encrypt("Zephyrine", context="patient.given_name")
    with pytest.raises(DecryptionError, match="no key with id 'b2' is configured"):
        ring(KEY_A).decrypt(stored, context="patient.given_name")


@pytest.mark.parametrize("stored", ["Zephyrine", "fd0:a1:AAAA", "fd1:a1:", "fd1:a1:QUJD",
                                    "fd1:a1:%%%%%", "fd1:a1:A"])
def test_malformed_values_raise_decryption_error_not_a_crash(stored):
    with pytest.raises(DecryptionError):
        ring().decrypt(stored, context="patient.given_name")


def test_newest_key_encrypts_and_every_listed_key_decrypts():
    old_value = ring(KEY_A).encrypt("Quillfeather", context="patient.family_name")
    both = ring(f"{KEY_B},{KEY_A}")
    assert both.current_id == "b2"
    assert both.encrypt("x", context="c").startswith("fd1:b2:")
    assert both.decrypt(old_value, context="patient.family_name") == "Quillfeather"
    assert Keyring.key_id_of(old_value) == "a1"


@pytest.mark.parametrize(("keys", "index_key", "message"), [
    ("a1:A", INDEX_KEY, "PHI_ENCRYPTION_KEY: key 'a1' is not base64"),
    ("a1:" + base64.b64encode(b"short").decode(), INDEX_KEY,
     "PHI_ENCRYPTION_KEY: key 'a1' must be 32 bytes"),
    (base64.b64encode(b"A" * 32).decode(), INDEX_KEY,
     "PHI_ENCRYPTION_KEY: each key is 'id:base64key'"),
    ("a-1:" + base64.b64encode(b"A" * 32).decode(), INDEX_KEY,
     "PHI_ENCRYPTION_KEY: each key is 'id:base64key'"),
    (f"{KEY_A},{KEY_A}", INDEX_KEY, "PHI_ENCRYPTION_KEY: key id 'a1' appears twice"),
    (" , ", INDEX_KEY, "PHI_ENCRYPTION_KEY: no key given"),
    (KEY_A, "A", "PHI_INDEX_KEY: key is not base64"),
    (KEY_A, base64.b64encode(b"B" * 16).decode(), "PHI_INDEX_KEY: key must be 32 bytes"),
])
def test_bad_keys_name_the_setting(keys, index_key, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        ring(keys, index_key)


@pytest.mark.parametrize(("name", "value"), [
    ("PHI_ENCRYPTION_KEY", "a1:c2hvcnQ="),
    ("PHI_INDEX_KEY", "c2hvcnQ="),
])
def test_app_with_a_bad_key_refuses_to_start_naming_it(name, value):
    with pytest.raises(ConfigError, match=f"^{name}: .*must be 32 bytes"):
        create_app({"FRONTDESK_ENV": "test", name: value})


def test_generated_key_is_accepted_and_standard_base64_works_too():
    generated = generate_key()
    assert len(base64.urlsafe_b64decode(generated)) == 32
    standard = base64.b64encode(bytes(range(200, 232))).decode()  # has '+' and '/'
    keyring = ring(f"n1:{generated},o1:{standard}")
    assert keyring.keys["o1"] == bytes(range(200, 232))


def test_blind_index_is_stable_keyed_and_purpose_separated():
    keyring = ring()
    first = keyring.blind_index("phone", "+13125550100")
    assert first == ring().blind_index("phone", "+13125550100")
    assert len(first) == 40
    assert "3125550100" not in first
    assert first != keyring.blind_index("email", "+13125550100")
    assert first != ring(index_key=base64.b64encode(b"J" * 32).decode()).blind_index(
        "phone", "+13125550100")
    assert keyring.derived_key("audit-chain") != keyring.index_key


def test_blind_indexes_match_whatever_the_spelling(app):
    from app.security import blind_index

    born = date(1990, 2, 3)
    assert (blind_index.name_dob_index("José", "O'Neil", born)
            == blind_index.name_dob_index("  jose ", "ONEIL", born))
    assert blind_index.name_dob_index("José", "O'Neil", born) != blind_index.name_dob_index(
        "José", "O'Neil", date(1990, 2, 4))
    assert blind_index.email_index(" Ana@Example.COM ") == blind_index.email_index(
        "ana@example.com")
    assert blind_index.family_name_index("Núñez") == blind_index.family_name_index("nunez")


ACCENTS = {"a": "á", "e": "é", "i": "í", "o": "ó", "u": "ú", "n": "ñ", "c": "ç"}
words = st.lists(st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=12),
                 min_size=1, max_size=4)


@given(words=words, spaces=st.lists(st.sampled_from([" ", "  ", "\t", " \u00a0 "]),
                                    min_size=5, max_size=5),
       upper=st.lists(st.booleans(), min_size=48, max_size=48),
       accent=st.lists(st.booleans(), min_size=48, max_size=48))
def test_normalize_name_ignores_case_spacing_and_accents(words, spaces, upper, accent):
    plain = " ".join(words)
    varied = []
    for word in words:
        chars = list(word)
        for i, char in enumerate(chars):
            char = ACCENTS.get(char, char) if accent[i + 12 * len(varied)] else char
            chars[i] = char.upper() if upper[i + 12 * len(varied)] else char
        varied.append("".join(chars))
    messy = spaces[0] + "".join(word + spaces[1 + i] for i, word in enumerate(varied))
    assert normalize_name(messy) == normalize_name(plain) == plain


@given(st.text(max_size=40))
def test_normalize_name_is_idempotent(name):
    assert normalize_name(normalize_name(name)) == normalize_name(name)
