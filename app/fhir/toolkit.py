"""What every resource handler shares: the ``ResourceHandler`` shape it fills in, loading a
practice's row by id, the audit event per call, validating a posted resource, and versions.

A handler's functions are services: keyword-only arguments, the caller ``client`` as the audit
actor, one transaction each (they commit), no access to the request. This module imports no
handler; ``app.fhir.registry`` imports the handlers and lists them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select

from app.core.ids import row_id
from app.extensions import db
from app.fhir.errors import FhirError, invalid_resource_from_validation
from app.fhir.search import SearchParam
from app.security import audit


@dataclass(frozen=True)
class Found:
    """A search's page of resources and the number of matches in all."""

    resources: list[Any]
    total: int


# The SMART scope letter each interaction needs (c create, r read, u update, s search).
INTERACTION_SCOPES = {"read": "r", "search-type": "s", "create": "c", "update": "u"}


@dataclass(frozen=True)
class ResourceHandler:
    resource_type: str
    documentation: str
    search_params: tuple[SearchParam, ...]
    read: Callable[..., Any]  # (*, client, resource_id: str) -> resource
    search: Callable[..., Found]  # (*, client, request: SearchRequest) -> Found
    create: Callable[..., Any] | None = None  # (*, client, body: dict) -> resource
    update: Callable[..., Any] | None = None  # (*, client, resource_id, body, if_match)

    @property
    def interactions(self) -> list[str]:
        offered = {"read": self.read, "search-type": self.search, "create": self.create,
                   "update": self.update}
        return [name for name, function in offered.items() if function is not None]


def numeric_id(resource_type: str, resource_id: str) -> int:
    """Our ids are positive integers; anything else is an unknown id (404)."""
    found = row_id(resource_id)
    if found is None:
        raise not_found(resource_type, resource_id)
    return found


def load_owned(model: Any, resource_type: str, client: Any, resource_id: str, *,
               for_update: bool = False) -> Any:
    """The row behind ``<resource_type>/<resource_id>`` in the client's practice, or 404."""
    stmt = select(model).where(model.id == numeric_id(resource_type, resource_id),
                               model.practice_id == client.practice_id)
    row = db.session.execute(stmt.with_for_update() if for_update else stmt).scalar_one_or_none()
    if row is None:
        raise not_found(resource_type, resource_id)
    return row


def audit_access(action: audit.Action, client: Any, resource_type: str, *,
                 object_id: int | None = None, patient_id: int | None = None,
                 detail: dict[str, Any] | None = None) -> None:
    """One audit event per API call, with the token as the actor (inserted now: the call
    commits right after)."""
    audit.record_now(action, patient_id=patient_id, object_type=resource_type.lower(),
                     object_id=object_id, actor=client,
                     detail={"resource": resource_type, **(detail or {})})


def not_found(resource_type: str, resource_id: str | int) -> FhirError:
    return FhirError(404, f"{resource_type}/{resource_id} is not known.")


def validated(model: Any, body: Any) -> Any:
    """The posted JSON as a fhir.resources model; every problem a 400 naming its element."""
    name = model.__name__
    if not isinstance(body, dict):
        raise FhirError(400, f"The body must be a JSON object: a {name} resource.")
    if body.get("resourceType") != name:
        raise FhirError(400, f"resourceType must be '{name}', not {body.get('resourceType')!r}.",
                        expression=f"{name}.resourceType")
    try:
        return model.model_validate(body)
    except ValidationError as error:
        raise invalid_resource_from_validation(name, error) from None
    except (TypeError, ValueError, KeyError, AttributeError):
        raise FhirError(400, f"The body is not a valid {name} resource.") from None


def check_body_id(resource: Any, resource_id: str) -> None:
    """An update names its target twice, in the URL and in ``id``: they must agree."""
    name = type(resource).__name__
    if resource.id != resource_id:
        raise FhirError(400, f"{name}.id must be present and equal the id in the URL "
                             f"({resource_id}).", expression=f"{name}.id")


def check_if_match(if_match: str | None, version: str) -> None:
    """``If-Match: W/"<versionId>"`` must name the current version, or the update is
    refused with 412 (someone changed the record since the client read it). ``*`` matches
    any version: the record exists."""
    if if_match is None or if_match.strip() == "*":
        return
    wanted = if_match.strip().removeprefix("W/").strip('"')
    if wanted != version:
        raise FhirError(412, f"Version conflict: the current version is {version}, not "
                             f"{wanted}. Read the resource again and reapply the change.")


def content_version(resource: Any) -> str:
    """A version id for records without an update timestamp: a hash of what we serve."""
    return json_version(resource.model_dump(mode="json", exclude_none=True))


def json_version(data: dict[str, Any]) -> str:
    """``content_version`` of a resource already in its JSON form (``meta`` left out)."""
    digest = hashlib.sha256(json.dumps({key: value for key, value in data.items()
                                        if key != "meta"}, sort_keys=True).encode())
    return digest.hexdigest()[:16]


def with_version(data: dict[str, Any]) -> dict[str, Any]:
    """A resource's JSON with ``meta.versionId`` (its content version) after its id, where
    fhir.resources writes it."""
    head = {key: data[key] for key in ("resourceType", "id") if key in data}
    return {**head, "meta": {"versionId": json_version(data)},
            **{key: value for key, value in data.items() if key not in head}}


@dataclass(frozen=True)
class HashVersioned:
    """Read and update for a record whose versionId is a hash of what we serve (Practitioner,
    Location, Schedule): load the practice's row, audit, commit, serve. Each resource keeps its
    own mapping and validation in ``apply``: ``(row, resource) -> changed field names``, which
    raises FhirError for input it refuses."""

    resource_type: str
    model: Any  # the row's model
    fhir_model: Any  # the fhir.resources class a posted body must be
    served: Callable[[Any], Any]  # row -> resource with meta.versionId
    apply: Callable[[Any, Any], list[str]]
    lock_for_update: bool = False

    def read(self, *, client: Any, resource_id: str) -> Any:
        row = load_owned(self.model, self.resource_type, client, resource_id)
        audit_access(audit.Action.FHIR_READ, client, self.resource_type, object_id=row.id)
        db.session.commit()
        return self.served(row)

    def update(self, *, client: Any, resource_id: str, body: Any, if_match: str | None) -> Any:
        resource = validated(self.fhir_model, body)
        check_body_id(resource, resource_id)
        row = load_owned(self.model, self.resource_type, client, resource_id,
                         for_update=self.lock_for_update)
        check_if_match(if_match, content_version(self.served(row)))
        changes = self.apply(row, resource)
        audit_access(audit.Action.FHIR_UPDATE, client, self.resource_type, object_id=row.id,
                     detail={"fields": changes})
        db.session.commit()
        return self.served(row)
