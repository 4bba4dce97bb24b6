"""Every kind of response carries the security headers; HSTS only over https."""

from __future__ import annotations

import pytest

from tests import factories


def responses(app):
    """One response of each kind: an HTML page, JSON, a 404, a redirect, a 403 page."""
    with app.app_context():
        practice = factories.make_practice()
        factories.make_staff(practice, role="marketing", email="marketing@clinic.example")
    anonymous = app.test_client()
    staff = app.test_client()
    staff.post("/sign-in", data={"email": "marketing@clinic.example",
                                 "password": factories.STAFF_PASSWORD})
    return {
        "html": anonymous.get("/sign-in"),
        "json": anonymous.get("/healthz"),
        "not found": anonymous.get("/no-such-page"),
        "redirect": anonymous.get("/"),
        "forbidden": staff.get("/admin/users"),
    }


@pytest.fixture
def plain_http(make_app):
    return responses(make_app(PUBLIC_BASE_URL="http://localhost"))


@pytest.fixture
def https(make_app):
    return responses(make_app(PUBLIC_BASE_URL="https://frontdesk.example"))


def test_the_sample_covers_each_kind_of_response(plain_http):
    assert plain_http["html"].status_code == 200 and plain_http["html"].mimetype == "text/html"
    assert plain_http["json"].mimetype == "application/json"
    assert plain_http["not found"].status_code == 404
    assert plain_http["redirect"].status_code == 302
    assert plain_http["forbidden"].status_code == 403


@pytest.mark.parametrize("kind", ["html", "json", "not found", "redirect", "forbidden"])
def test_every_response_carries_the_security_headers(plain_http, kind):
    headers = plain_http[kind].headers
    directives = dict(
        (part.strip().split(" ", 1) + [""])[:2]
        for part in headers["Content-Security-Policy"].split(";"))
    assert directives["script-src"] == "'self'"
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert "unsafe-eval" not in headers["Content-Security-Policy"]
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Request-ID"]
    assert "Strict-Transport-Security" not in headers


@pytest.mark.parametrize("kind", ["html", "json", "not found", "redirect", "forbidden"])
def test_https_deployments_add_hsts(https, kind):
    assert https[kind].headers["Strict-Transport-Security"].startswith("max-age=63072000")


def test_pages_are_never_cached(plain_http):
    assert plain_http["html"].headers["Cache-Control"] == "no-store"
    assert plain_http["not found"].headers["Cache-Control"] == "no-store"


def test_every_response_carries_a_request_id_of_our_own(client):
    given = client.get("/healthz", headers={"X-Request-ID": "abc12345-req"})
    again = client.get("/healthz", headers={"X-Request-ID": "abc12345-req"})
    assert given.headers["X-Request-ID"] not in ("abc12345-req", again.headers["X-Request-ID"])
