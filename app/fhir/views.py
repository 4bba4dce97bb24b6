"""The /fhir endpoints: machine-to-machine, authenticated by bearer token (not a staff
session, so they are ``@public`` and exempt from CSRF). Routing is by the handler registry:
one route per interaction shape, so a new resource type needs no new route. Each route
declares its interactions with ``@fhir_interactions``, which checks the token and its scope."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, redirect, request, url_for
from werkzeug.datastructures import MultiDict

from app.core.jsonio import JsonRefused, read_json
from app.fhir import auth
from app.fhir.access import fhir_interactions
from app.fhir.capability import capability_statement
from app.fhir.errors import FhirError, fhir_response, register_handlers
from app.fhir.search import SearchRequest, parse_search, searchset
from app.fhir.toolkit import ResourceHandler
from app.security.permissions import public
from app.web.public_url import public_url
from app.web.ui import in_english

bp = Blueprint("fhir", __name__, url_prefix="/fhir")
register_handlers(bp)
bp.before_request(in_english)  # whatever Accept-Language says, the services' reasons too

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
ACCEPTED_TYPES = ("application/fhir+json", "application/json")


def _base_url() -> str:
    """The API's base for Bundle links, fullUrls and Location headers: from PUBLIC_BASE_URL,
    never from the Host header a client sent."""
    return public_url("fhir.root")


def _refuse_method(allowed: str) -> FhirError:
    return FhirError(405, f"{request.method} is not supported here (allowed: {allowed}).",
                     headers={"Allow": allowed})


def _body() -> Any:
    if request.mimetype not in ACCEPTED_TYPES:
        raise FhirError(415, f"Send the resource as application/fhir+json, not "
                             f"{request.mimetype or 'no content type'}.")
    try:
        return read_json(request.get_data(cache=False))
    except JsonRefused as refused:
        raise FhirError(400, f"The body is {refused}.") from None


def _versioned(resource: Any, status: int, resource_type: str) -> Response:
    headers = {}
    version = resource.meta.versionId if resource.meta else None
    if version:
        headers["ETag"] = f'W/"{version}"'
        if status == 201:
            headers["Location"] = (f"{_base_url()}/{resource_type}/{resource.id}"
                                   f"/_history/{version}")
    return fhir_response(resource, status, headers)


@bp.route("/metadata", methods=METHODS)
@public
@fhir_interactions()
def metadata() -> Response:
    if request.method != "GET":
        raise _refuse_method("GET")
    return fhir_response(capability_statement(_base_url()))


@bp.route("/<resource_type>", methods=METHODS)
@public
@fhir_interactions(GET="search-type", POST="create")
def type_level(client: auth.ApiClient, handler: ResourceHandler, resource_type: str
               ) -> Response:
    if request.method == "GET":
        return _searchset(client, handler, resource_type,
                          parse_search(request.args, handler.search_params))
    if request.method == "POST" and handler.create is not None:
        created = handler.create(client=client, body=_body())
        return _versioned(created, 201, resource_type)
    raise _refuse_method("GET, POST" if handler.create else "GET")


@bp.route("/<resource_type>/_search", methods=METHODS)
@public
@fhir_interactions(POST="search-type")
def search_by_post(client: auth.ApiClient, handler: ResourceHandler, resource_type: str
                   ) -> Response:
    """POST ``[type]/_search`` with ``application/x-www-form-urlencoded`` parameters (they
    may also be in the query string): the search stays out of URLs and access logs."""
    if request.method != "POST":
        raise _refuse_method("POST")
    if request.mimetype != "application/x-www-form-urlencoded":
        raise FhirError(415, "Send the search parameters as "
                             "application/x-www-form-urlencoded.")
    args = MultiDict([*request.args.items(multi=True), *request.form.items(multi=True)])
    return _searchset(client, handler, resource_type,
                      parse_search(args, handler.search_params, posted=True))


def _searchset(client: auth.ApiClient, handler: ResourceHandler, resource_type: str,
               search: SearchRequest) -> Response:
    found = handler.search(client=client, request=search)
    return fhir_response(searchset(base_url=_base_url(), resource_type=resource_type,
                                   request=search, resources=found.resources,
                                   total=found.total))


@bp.route("/<resource_type>/<resource_id>", methods=METHODS)
@public
@fhir_interactions(GET="read", PUT="update")
def instance_level(client: auth.ApiClient, handler: ResourceHandler, resource_type: str,
                   resource_id: str) -> Response:
    if request.method == "GET":
        return _versioned(handler.read(client=client, resource_id=resource_id), 200,
                          resource_type)
    if request.method == "PUT" and handler.update is not None:
        updated = handler.update(client=client, resource_id=resource_id, body=_body(),
                                 if_match=request.headers.get("If-Match"))
        return _versioned(updated, 200, resource_type)
    raise _refuse_method("GET, PUT" if handler.update else "GET")


@bp.route("", methods=METHODS, endpoint="root")
@bp.route("/", methods=METHODS, endpoint="root_slash")
@public
@fhir_interactions()
def root() -> Response:
    """GET on the base shows what the server supports; batch and transaction (POST on the
    base) are not supported."""
    if request.method == "GET":
        return redirect(url_for("fhir.metadata"))
    raise FhirError(404, "Batch and transaction Bundles are not supported "
                         "(see /fhir/metadata).")


@bp.route("/<path:rest>", methods=METHODS)
@public
@fhir_interactions()
def unsupported(rest: str) -> Response:
    raise FhirError(404, f"/fhir/{rest} is not an interaction this server supports "
                         "(see /fhir/metadata).")
