"""Finding 8: after sign-in, ``next`` only ever leads to a page of this site.

Browsers drop tabs and newlines from a ``Location`` and read ``\\`` as ``/``, so
``/%09/host/path`` used to send a signed-in user to ``//host/path`` (another site), and a
newline made the redirect a 500 after the session had been created.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest

from app.web.next_url import MAX_LENGTH, safe_next
from tests import factories

NASTY = [
    "//x", "///x", "/\\x", "/\\/x", "\\\\x", "\\/x", "/\t/host/path", "/\n/x", "/\r\n/x",
    "/x\r\nSet-Cookie: a=b", "https:x", "https://evil.example/", "http:/x", "javascript:alert(1)",
    "x/y", "", " /x", "/ x", "/\x00x", "/\x7fx", "/\x0b/x", "/\u2028/x", "/évil",
    "/" + "a" * MAX_LENGTH,
]


@pytest.mark.parametrize("target", NASTY)
def test_a_target_that_is_not_a_plain_path_here_is_refused(target):
    assert safe_next(target) is None


@pytest.mark.parametrize("target", [
    "/", "/patients/12", "/?view=today", "/calendar?day=2026-12-03&location=1",
    "/patients/12/messages#latest", "/a%20b",
])
def test_a_path_on_this_site_is_kept(target):
    assert safe_next(target) == target


@pytest.fixture
def user(practice):
    return factories.make_staff(practice, role="front_desk")


@pytest.mark.parametrize("target", [target for target in NASTY if "\x00" not in target])
def test_sign_in_with_a_nasty_next_lands_on_the_home_page(client, user, target):
    data = {"email": user.email, "password": factories.STAFF_PASSWORD}
    response = client.post(f"/sign-in?next={quote(target, safe='')}", data=data)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_a_next_holding_a_nul_is_refused_with_the_whole_request(client, user):
    """Every field with a NUL character is a 400 before any view (app/web/input_guard.py)."""
    data = {"email": user.email, "password": factories.STAFF_PASSWORD}
    response = client.post(f"/sign-in?next={quote(chr(0) + 'x', safe='')}", data=data)
    assert response.status_code == 400
    assert "next: a NUL character" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302  # not signed in


def test_sign_in_follows_a_next_on_this_site(client, user):
    data = {"email": user.email, "password": factories.STAFF_PASSWORD}
    response = client.post(f"/sign-in?next={quote('/?view=today', safe='')}", data=data)
    assert response.headers["Location"] == "/?view=today"
