"""Request ids (ours, and the client's kept apart), the security headers every response
carries, and trust in one proxy."""

from __future__ import annotations

import re

from flask import Flask, Response, g, request
from werkzeug.middleware.proxy_fix import ProxyFix

from app.core import logs

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])

# A client's own X-Request-ID is kept for correlation, never used as ours: bounded to what a
# log line and the audit column can hold safely.
CLIENT_REQUEST_ID_MAX = 64
_CLIENT_REQUEST_ID = re.compile(rf"[A-Za-z0-9._:-]{{1,{CLIENT_REQUEST_ID_MAX}}}")


def client_request_id(value: str | None) -> str | None:
    """The client's request id when it is short and plain (letters, digits, ``._:-``)."""
    return value if value and _CLIENT_REQUEST_ID.fullmatch(value) else None


def init_app(app: Flask) -> None:
    if app.config["TRUST_PROXY"]:
        # Behind one TLS-terminating proxy: the client IP (sign-in lockouts, audit) and the
        # scheme come from its X-Forwarded-* headers. Without a proxy they would be spoofable.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)  # type: ignore[method-assign]
    @app.before_request
    def assign_request_id() -> None:
        # Ours is always generated: a client cannot choose what the audit trail calls its
        # request. What it sent is kept apart (audit_event.client_request_id).
        g.request_id = logs.bind_unit_of_work()
        g.client_request_id = client_request_id(request.headers.get("X-Request-ID"))

    @app.teardown_request
    def end_request_logs(_error: BaseException | None) -> None:
        logs.end_unit_of_work()

    @app.after_request
    def add_security_headers(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        # Patient links carry tokens: never leak them to another site in a Referer.
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        if request.is_secure or app.config["PUBLIC_BASE_URL"].startswith("https://"):
            response.headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
        if "Cache-Control" not in response.headers:
            # Pages, JSON and FHIR answers may hold PHI: no shared or back-button caches,
            # whatever the format. A response meant to be cached says so itself (the public
            # $bulk-publish files, static files).
            response.headers["Cache-Control"] = "no-store"
        if "request_id" in g:
            response.headers["X-Request-ID"] = g.request_id
        return response
