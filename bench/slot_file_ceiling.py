"""Bench-only WSGI app, never part of the product: the ceiling for ``bench.slot_file_storm``.

The same gunicorn and Flask stack as the product, answering ``/slots.ndjson`` with a constant
body — the product's file of the same run, read from ``SLOT_FILE_CEILING_PATH`` — the way the
product's cached file is answered: gzip-compressed by the same function (once, at start) for a
client that accepts gzip, ``Vary: Accept-Encoding``, ``Cache-Control``, an ETag per encoding
and ``If-None-Match`` → 304 — no request hooks, no cache lookup, nothing else.

    SLOT_FILE_CEILING_PATH=slots.ndjson gunicorn bench.slot_file_ceiling:app
"""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, Response, request

from app.fhir.slot_file_cache import CachedFile

app = Flask(__name__)
FILE = CachedFile.of(Path(os.environ["SLOT_FILE_CEILING_PATH"]).read_text(encoding="utf-8"))


@app.get("/slots.ndjson")
def constant_file() -> Response:
    body, etag, encoding = FILE.encoded(
        gzip_accepted=request.accept_encodings.quality("gzip") > 0)
    response = Response(body, content_type="application/fhir+ndjson")
    response.headers["Cache-Control"] = "public, max-age=60"
    response.vary.add("Accept-Encoding")
    if encoding is not None:
        response.content_encoding = encoding
    response.set_etag(etag)
    return response.make_conditional(request)


@app.get("/healthz")
def healthz() -> str:
    return "ok"
