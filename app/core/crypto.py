"""PHI encryption at rest and blind indexes.

Ciphertext format: ``fd1:<key id>:<base64url(nonce || AES-256-GCM ciphertext+tag)>``. The key id
in every value lets keys rotate: the newest key encrypts, any listed key decrypts, and
``flask keys rotate`` re-encrypts old values. The column name is bound as associated data, so a
ciphertext copied into another column does not decrypt.

Blind indexes are HMAC-SHA256 over a normalized value with a key that never rotates; they let
exact-match lookups (phone, email, name + date of birth) run as indexed equality queries without
decrypting a table.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.config import ConfigError

PREFIX = "fd1"
_NONCE_BYTES = 12
_TAG_BYTES = 16


class DecryptionError(Exception):
    """A stored value could not be decrypted (unknown key id or tampered ciphertext)."""


def _decode_key(setting: str, text: str, label: str = "key") -> bytes:
    text = text.strip()
    try:
        key = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise ConfigError(f"{setting}: {label} is not base64") from None
    if len(key) != 32:
        raise ConfigError(
            f"{setting}: {label} must be 32 bytes (base64 of 32 random bytes; "
            "'flask keys generate' makes one)")
    return key


def _unb64(token: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise DecryptionError("value is not in the encrypted format") from None


@dataclass(frozen=True)
class Keyring:
    """Encryption keys by id (the first is current) and the blind-index key."""

    keys: dict[str, bytes]
    current_id: str
    index_key: bytes

    @classmethod
    def from_settings(cls, encryption_keys: str, index_key: str) -> Keyring:
        keys: dict[str, bytes] = {}
        current_id = ""
        for entry in (part.strip() for part in encryption_keys.split(",")):
            if not entry:
                continue
            key_id, sep, material = entry.partition(":")
            if not sep or not key_id.isalnum():
                raise ConfigError(
                    "PHI_ENCRYPTION_KEY: each key is 'id:base64key' with a letters-and-digits id"
                )
            if key_id in keys:
                raise ConfigError(f"PHI_ENCRYPTION_KEY: key id {key_id!r} appears twice")
            keys[key_id] = _decode_key("PHI_ENCRYPTION_KEY", material, f"key {key_id!r}")
            current_id = current_id or key_id
        if not keys:
            raise ConfigError("PHI_ENCRYPTION_KEY: no key given")
        return cls(keys=keys, current_id=current_id,
                   index_key=_decode_key("PHI_INDEX_KEY", index_key))

    def encrypt(self, plaintext: str, *, context: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = AESGCM(self.keys[self.current_id]).encrypt(
            nonce, plaintext.encode("utf-8"), context.encode("utf-8"))
        token = base64.urlsafe_b64encode(nonce + sealed).decode("ascii").rstrip("=")
        return f"{PREFIX}:{self.current_id}:{token}"

    def decrypt(self, stored: str, *, context: str) -> str:
        try:
            prefix, key_id, token = stored.split(":", 2)
        except ValueError:
            raise DecryptionError("value is not in the encrypted format") from None
        if prefix != PREFIX:
            raise DecryptionError("value is not in the encrypted format")
        key = self.keys.get(key_id)
        if key is None:
            raise DecryptionError(f"no key with id {key_id!r} is configured")
        blob = _unb64(token)
        if len(blob) < _NONCE_BYTES + _TAG_BYTES:
            raise DecryptionError("ciphertext is truncated")
        try:
            plain = AESGCM(key).decrypt(blob[:_NONCE_BYTES], blob[_NONCE_BYTES:],
                                        context.encode("utf-8"))
        except InvalidTag:
            raise DecryptionError("ciphertext failed authentication") from None
        return plain.decode("utf-8")

    @staticmethod
    def key_id_of(stored: str) -> str | None:
        parts = stored.split(":", 2)
        return parts[1] if len(parts) == 3 and parts[0] == PREFIX else None

    def blind_index(self, purpose: str, normalized: str) -> str:
        """Keyed hash of an already-normalized value; purpose keeps indexes apart."""
        mac = hmac.new(self.index_key, f"{purpose}\x00{normalized}".encode(), hashlib.sha256)
        return mac.hexdigest()[:40]

    def derived_key(self, purpose: str) -> bytes:
        """A key for another purpose (the audit chain) derived from the index key."""
        return hmac.new(self.index_key, f"derive\x00{purpose}".encode(), hashlib.sha256).digest()


def generate_key() -> str:
    """A new random key in the format the settings expect."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode("ascii")
