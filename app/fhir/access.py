"""Who may call a /fhir route, declared on the route and enforced by the declaration.

Every /fhir view carries ``@fhir_interactions(...)``: for each HTTP method, the FHIR
interaction it performs (``read``, ``search-type``, ``create``, ``update``). The decorator
authenticates the bearer token, looks up the resource type and, when that type offers the
interaction, requires the token's SMART scope for it (``INTERACTION_SCOPES``), so a view
cannot forget the check. ``@fhir_interactions()`` with none declares a route that serves
nothing a token guards (the CapabilityStatement, the public Scheduling Links files) and asks
for no token. Every /fhir route is ``sessionless``: a staff member's cookie neither signs an
API call in nor changes the practice it acts for; the token alone says who calls. The
role × route test reads the declaration and tries each interaction without its scope.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Response, request

from app.fhir import auth
from app.fhir.errors import FhirError
from app.fhir.registry import handler_for
from app.fhir.toolkit import INTERACTION_SCOPES
from app.security.permissions import sessionless
from app.web import scope

View = Callable[..., Response]


def authenticated_client() -> auth.ApiClient:
    """The bearer token's client, acting for its practice; 406 for a format other than JSON."""
    if "json" not in request.args.get("_format", "json"):
        raise FhirError(406, "Only JSON is served (_format=json).")
    client = auth.authenticate(request.headers.get("Authorization"))
    scope.act_for(client.practice_id)
    return client


def fhir_interactions(**by_method: str) -> Callable[[View], View]:
    """Declare (and enforce) the interaction each HTTP method performs on the route's
    ``<resource_type>``. The view is called with the authenticated ``client`` and the type's
    ``handler`` first; a method the type does not offer reaches the view unchecked (it answers
    405)."""
    unknown = set(by_method.values()) - INTERACTION_SCOPES.keys()
    if unknown:
        raise ValueError(f"not FHIR interactions: {sorted(unknown)}")

    def decorate(view: View) -> View:
        if not by_method:
            view.fhir_interactions = {}  # type: ignore[attr-defined]
            return sessionless(view)

        @wraps(view)
        def authorized(resource_type: str, **kwargs: Any) -> Response:
            client = authenticated_client()
            handler = handler_for(resource_type)
            interaction = by_method.get(request.method)
            if interaction in handler.interactions:
                auth.require_scope(client, resource_type, INTERACTION_SCOPES[interaction])
            return view(client, handler, resource_type=resource_type, **kwargs)

        authorized.fhir_interactions = dict(by_method)  # type: ignore[attr-defined]
        return sessionless(authorized)

    return decorate
