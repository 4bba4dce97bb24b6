"""Bearer tokens for FHIR API clients, and the SMART system scopes they carry.

A token is shown once when created and stored only as its SHA-256 hash, so the lookup is by
hash. Scopes are SMART App Launch system scopes: v1 ``system/Patient.read``,
``system/Patient.write``, ``system/*.read``, ``system/*.*``, and v2 letters
``system/Patient.rs`` / ``system/*.cruds`` (c create, r read, u update, d delete, s search).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam, select, update

from app.core.clock import utcnow
from app.core.tenancy import across_practices
from app.extensions import db
from app.fhir.errors import FhirError
from app.fhir.models import ApiToken

TOKEN_PREFIX = "fdt_"  # noqa: S105 (a prefix that makes leaked tokens easy to spot)
_SCOPE = re.compile(r"^system/(?P<type>\*|[A-Z][A-Za-z]+)\.(?P<access>read|write|\*|c?r?u?d?s?)$")
_V1_ACCESS = {"read": "rs", "write": "cud", "*": "cruds"}
USE_RESOLUTION = timedelta(minutes=1)  # how exactly a token's last use is recorded
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="fhir"'}


class ScopeError(ValueError):
    """A scope string is not a SMART system scope."""


@dataclass(frozen=True)
class ApiClient:
    """The caller of one API request: the audit ``actor`` (id, email, role) and its rights."""

    id: int
    email: str
    role: str
    practice_id: int
    scopes: frozenset[tuple[str, str]]  # (resource type or "*", access letter)

    def may(self, resource_type: str, letter: str) -> bool:
        return (resource_type, letter) in self.scopes or ("*", letter) in self.scopes


def parse_scopes(text: str) -> frozenset[tuple[str, str]]:
    """``"system/Patient.read system/*.s"`` → {("Patient", "r"), ("Patient", "s"), ("*", "s")}.
    Raises ScopeError naming the first scope that is not a system scope."""
    granted: set[tuple[str, str]] = set()
    for scope in text.split():
        found = _SCOPE.match(scope)
        if not found or not found["access"]:
            raise ScopeError(f"{scope!r} is not a SMART system scope "
                             "(e.g. system/Patient.read, system/*.*, system/Patient.rs)")
        letters = _V1_ACCESS.get(found["access"], found["access"])
        granted |= {(found["type"], letter) for letter in letters}
    return frozenset(granted)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# A token's columns by its hash, no ORM object (nothing to flush); built once: every API call
# runs it.
_TOKENS = ApiToken.__table__
_TOKEN_BY_HASH = select(
    _TOKENS.c.id, _TOKENS.c.practice_id, _TOKENS.c.name, _TOKENS.c.token_hash,
    _TOKENS.c.scopes, _TOKENS.c.active, _TOKENS.c.last_used_at,
).where(_TOKENS.c.token_hash == bindparam("digest"))


def authenticate(authorization: str | None) -> ApiClient:
    """The client behind an ``Authorization: Bearer <token>`` header; records the use.

    Raises FhirError 401 (with a Bearer challenge) for a missing, unknown or revoked token."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise FhirError(401, "An 'Authorization: Bearer <token>' header is required.",
                        headers=_CHALLENGE)
    digest = hash_token(token)
    with across_practices():  # the token decides which practice the request acts for
        row = db.session.execute(_TOKEN_BY_HASH, {"digest": digest}).one_or_none()
    if row is None or not row.active or not hmac.compare_digest(row.token_hash, digest):
        raise FhirError(401, "The bearer token is unknown or revoked.",
                        headers={"WWW-Authenticate": 'Bearer realm="fhir", '
                                                     'error="invalid_token"'})
    now = utcnow()
    if row.last_used_at is None or not timedelta(0) <= now - row.last_used_at < USE_RESOLUTION:
        with across_practices():  # at most once a minute: not an UPDATE on every API call
            db.session.execute(update(ApiToken).where(ApiToken.id == row.id)
                               .values(last_used_at=now))
    try:
        scopes = parse_scopes(row.scopes)
    except ScopeError:
        scopes = frozenset()
    return ApiClient(id=row.id, email=f"api-token:{row.name}", role="api",
                     practice_id=row.practice_id, scopes=scopes)


def require_scope(client: ApiClient, resource_type: str, letter: str) -> None:
    if not client.may(resource_type, letter):
        needed = "read" if letter in "rs" else "write"
        raise FhirError(403, f"The token's scopes do not allow this: it needs "
                             f"system/{resource_type}.{needed} (or system/*.{needed}).")


# -- token administration (the `flask api-token` commands) ------------------------------------

@dataclass(frozen=True)
class IssuedToken:
    id: int
    token: str


def create_token(*, name: str, scopes: str, practice_id: int) -> IssuedToken:
    """Issue a token; the plaintext is returned here and never stored. Raises ValueError
    (ScopeError among them) for a bad name or scope."""
    name = " ".join(name.split())
    if not name or len(name) > 100:
        raise ValueError("the name must be 1 to 100 characters")
    parse_scopes(scopes)
    if not scopes.split():
        raise ScopeError("at least one scope is required (e.g. system/*.read)")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(practice_id=practice_id, name=name, token_hash=hash_token(token),
                   scopes=" ".join(scopes.split()), active=True)
    db.session.add(row)
    db.session.commit()
    return IssuedToken(id=row.id, token=token)


def list_tokens(*, practice_id: int) -> list[ApiToken]:
    return list(db.session.execute(
        select(ApiToken).where(ApiToken.practice_id == practice_id).order_by(ApiToken.id)
    ).scalars())


def revoke_token(*, practice_id: int, token_id: int) -> ApiToken:
    """Deactivate one of the practice's tokens at once. Raises LookupError for an id the
    practice does not hold."""
    row = db.session.get(ApiToken, token_id)
    if row is None or row.practice_id != practice_id:
        raise LookupError(f"no API token with id {token_id} in this practice")
    row.active = False
    db.session.commit()
    return row
