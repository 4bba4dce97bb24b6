"""FHIR paging numbers are read like every page number (``app/core/paging.py``): out of
range or not a number is a 400 OperationOutcome naming the parameter, never a 500 (security
review finding 9); a ``_count`` above a page's size is lowered, as the spec allows."""

from __future__ import annotations

import pytest

from app.fhir.registry import handlers
from tests.fhir.outcome import expressions


@pytest.mark.parametrize("name,value", [("_offset", "4611686018427387904"), ("_offset", "-1"),
                                        ("_offset", "x"), ("_count", "-5"), ("_count", "ten"),
                                        ("_offset", "9" * 5000)])
def test_fhir_paging_numbers_out_of_range_are_named(fhir, name, value):
    for resource_type in handlers():
        response = fhir.get(f"/fhir/{resource_type}", **{name: value})
        assert response.status_code == 400, (resource_type, response.status_code)
        assert expressions(response) == [name]


def test_a_huge_fhir_count_is_lowered_to_the_most_a_page_holds(fhir):
    bundle = fhir.get("/fhir/Patient", _count="4611686018427387904").get_json()
    assert "_count=100" in bundle["link"][0]["url"]
