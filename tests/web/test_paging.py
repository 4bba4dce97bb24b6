"""Every paginated list reads its page number one way (``app/core/paging.py``): a huge,
negative or non-numeric page is a 400 that says what to use, never a 500 (security review
finding 9). FHIR's ``_count`` and ``_offset``: tests/fhir/test_paging_numbers.py."""

from __future__ import annotations

import pytest

from app.core.paging import MAX_PAGE
from tests import factories

BAD_PAGES = ["4611686018427387904", "9" * 5000, "-1", "0", "two", "1.5", "²", " 1",
             str(MAX_PAGE + 1)]


def staff_lists(practice) -> list[str]:  # noqa: ANN001
    patient = factories.make_patient(practice)
    return [f"/patients/{patient.id}/messages", "/admin/audit"]


@pytest.mark.parametrize("page", BAD_PAGES)
def test_a_page_no_list_has_is_a_400_that_says_what_to_use(login, practice, page):
    client = login("admin")
    for url in staff_lists(practice):
        response = client.get(url, query_string={"page": page})
        assert response.status_code == 400, (url, response.status_code)
        assert f"page: use a whole number from 1 to {MAX_PAGE}." in response.get_data(
            as_text=True), url


def test_pages_within_bounds_still_work(login, practice):
    client = login("admin")
    for url in staff_lists(practice):
        for page in ("1", "2", str(MAX_PAGE)):
            assert client.get(url, query_string={"page": page}).status_code == 200, (url, page)
