"""Refuses a request whose query or form fields hold a NUL character, before any view reads
them: PostgreSQL's text columns cannot store one (nor compare with one), so a search or a save
would otherwise fail as a server error. The answer is a 400 naming the field (an
OperationOutcome under /fhir, by that blueprint's error handler)."""

from __future__ import annotations

from flask import Flask, abort, request

NUL = "\x00"


def _field_with_nul() -> str | None:
    for fields in (request.args, request.form):
        for name, value in fields.items(multi=True):
            if NUL in name or NUL in value:
                return name.replace(NUL, "\\0")
    return None


def init_app(app: Flask) -> None:
    @app.before_request
    def _refuse_nul() -> None:
        field = _field_with_nul()
        if field is not None:
            abort(400, description=f"{field}: a NUL character (\\0) is not accepted")
