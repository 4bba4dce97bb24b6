"""SMART Scheduling Links publication under /fhir: the ``$bulk-publish`` manifest and its
NDJSON files. Public (no token): it publishes places and open times, never patient data.
GET only; answers may be cached for a minute, the most often clients should poll, by any
cache: they are the same for every caller (a signed-in staff member included: like every
/fhir route they are ``sessionless``, so no cookie is read and no ``Vary: Cookie`` keeps
shared caches from them), and every absolute URL in them comes from PUBLIC_BASE_URL, never
from the request's Host. The slot files carry an ETag: a poller's ``If-None-Match`` is
answered 304 with no body. A poller that sends ``Accept-Encoding: gzip`` gets the file
gzip-compressed from the cache (``Content-Encoding: gzip``, its own ETag); every slot file
answer says ``Vary: Accept-Encoding``."""

from __future__ import annotations

import json
from datetime import datetime

from flask import Blueprint, Response, current_app, request

from app.core.clock import utcnow
from app.fhir import scheduling_links, slot_file_cache
from app.fhir.access import fhir_interactions
from app.fhir.errors import FhirError, register_handlers
from app.fhir.scheduling_links import PublishedFile
from app.fhir.slot_file_cache import CachedFile
from app.security.permissions import public
from app.web.public_url import public_url
from app.web.scope import act_for_public_practice
from app.web.ui import in_english

bp = Blueprint("fhir_publish", __name__, url_prefix="/fhir")
register_handlers(bp)
bp.before_request(in_english)  # whatever Accept-Language says, the services' reasons too

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
NDJSON = "application/fhir+ndjson"
CACHE_CONTROL = "public, max-age=60"


def _check_request() -> None:
    """GET only; ``_since``, when given, must be an instant (see scheduling_links)."""
    if request.method not in ("GET", "HEAD"):
        raise FhirError(405, f"{request.method} is not supported here (allowed: GET).",
                        headers={"Allow": "GET"})
    since = request.args.get("_since")
    if since is None:
        return
    try:
        moment = datetime.fromisoformat(since.replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise FhirError(400, f"_since must be an instant with a time zone, e.g. "
                             f"2026-01-01T00:00:00Z, not {since!r}.", expression="_since")


def _practice_id() -> int:
    practice_id = act_for_public_practice()
    if practice_id is None:
        raise FhirError(404, "No practice publishes slots here.")
    return practice_id


def _cacheable(body: str, content_type: str) -> Response:
    response = Response(body, content_type=content_type)
    response.headers["Cache-Control"] = CACHE_CONTROL
    response.add_etag()
    return response.make_conditional(request)


def _ndjson(lines: list[str]) -> Response:
    return _cacheable("".join(line + "\n" for line in lines), NDJSON)


def _file_url(published: PublishedFile) -> str:
    if published.location_id is not None:
        return public_url("fhir_publish.slots", location_id=published.location_id)
    endpoint = {"Location": "fhir_publish.locations", "Schedule": "fhir_publish.schedules"}
    return public_url(endpoint[published.resource_type])


@bp.route("/$bulk-publish", methods=METHODS)
@public
@fhir_interactions()
def manifest() -> Response:
    _check_request()
    body = scheduling_links.manifest(
        files=scheduling_links.published_files(_practice_id()), url_of=_file_url,
        request_url=public_url("fhir_publish.manifest", **request.args), now=utcnow())
    return _cacheable(json.dumps(body), "application/json")


@bp.route("/$bulk-publish/locations.ndjson", methods=METHODS)
@public
@fhir_interactions()
def locations() -> Response:
    _check_request()
    return _ndjson(scheduling_links.location_lines(
        practice_id=_practice_id(), booking_start_url=public_url("book.start")))


@bp.route("/$bulk-publish/schedules.ndjson", methods=METHODS)
@public
@fhir_interactions()
def schedules() -> Response:
    _check_request()
    return _ndjson(scheduling_links.schedule_lines(practice_id=_practice_id()))


@bp.route("/$bulk-publish/slots-<int:location_id>.ndjson", methods=METHODS)
@public
@fhir_interactions()
def slots(location_id: int) -> Response:
    _check_request()
    now = utcnow()
    try:  # a cached file is served without a database round trip, the practice's included
        cached = slot_file_cache.cache().get(location_id, lambda: "".join(
            line + "\n" for line in scheduling_links.slot_lines(
                practice_id=_practice_id(), location_id=location_id,
                booking_day_url=public_url("book.time"),
                days=current_app.config["SCHEDULING_LINKS_DAYS"], now=now)), now=now)
    except scheduling_links.UnknownLocation:
        raise FhirError(404, f"Location {location_id} is not known here.") from None
    return _cached_response(cached)


def _cached_response(cached: CachedFile) -> Response:
    """The file in the encoding the client accepts, conditional on its ETag."""
    body, etag, encoding = cached.encoded(
        gzip_accepted=request.accept_encodings.quality("gzip") > 0)
    response = Response(body, content_type=NDJSON)
    response.headers["Cache-Control"] = CACHE_CONTROL
    response.vary.add("Accept-Encoding")
    if encoding is not None:
        response.content_encoding = encoding
    response.set_etag(etag)
    return response.make_conditional(request)
