"""What browser tests do as staff."""

from __future__ import annotations

from playwright.sync_api import expect

from tests import factories


def sign_in(page, user) -> None:  # noqa: ANN001
    """Sign ``user`` in through the sign-in page and wait for the page they land on."""
    page.goto("/sign-in")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(factories.STAFF_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
