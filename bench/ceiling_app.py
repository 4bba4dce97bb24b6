"""Bench-only WSGI app, never part of the product: the ceiling for ``bench.inbound_webhook``.

The same gunicorn and Flask stack as the product, answering the inbound-webhook path with one
bare INSERT and empty TwiML — no signature check, no lookups, no routing.

    DATABASE_URL=postgresql+psycopg://... gunicorn bench.ceiling_app:app
"""

from __future__ import annotations

import os

from flask import Flask, Response, request
from sqlalchemy import create_engine, text

from bench.common import CEILING_TABLE

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'

app = Flask(__name__)
engine = create_engine(os.environ["DATABASE_URL"])  # connects on first use, in each worker


@app.post("/webhooks/twilio/sms")
def bare_insert() -> Response:
    with engine.begin() as conn:
        conn.execute(text(f"INSERT INTO {CEILING_TABLE} (ref) VALUES (:ref)"),
                     {"ref": request.form.get("MessageSid", "")})
    return Response(EMPTY_TWIML, mimetype="text/xml")


@app.get("/healthz")
def healthz() -> str:
    return "ok"
