"""Bench-only WSGI app, never part of the product: the ceiling for ``bench.slot_file_storm``.

The same gunicorn and Flask stack as the product, answering ``/slots.ndjson`` with a constant
body of ``SLOT_FILE_CEILING_BYTES`` bytes (the size of the product's file in the same run),
``Cache-Control``, an ETag and ``If-None-Match`` → 304, as the product's cached file does — no
request hooks, no cache lookup, nothing else.

    SLOT_FILE_CEILING_BYTES=279085 gunicorn bench.slot_file_ceiling:app
"""

from __future__ import annotations

import hashlib
import os

from flask import Flask, Response, request

app = Flask(__name__)
BODY = b"x" * (int(os.environ.get("SLOT_FILE_CEILING_BYTES", "1")) - 1) + b"\n"
ETAG = hashlib.sha1(BODY, usedforsecurity=False).hexdigest()


@app.get("/slots.ndjson")
def constant_file() -> Response:
    response = Response(BODY, content_type="application/fhir+ndjson")
    response.headers["Cache-Control"] = "public, max-age=60"
    response.set_etag(ETAG)
    return response.make_conditional(request)


@app.get("/healthz")
def healthz() -> str:
    return "ok"
