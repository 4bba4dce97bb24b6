"""The journeys tests' clinic: one provider and location with hours and types (kit.make_clinic)."""

import pytest

from tests.journeys.kit import make_clinic


@pytest.fixture
def clinic(practice):  # noqa: ANN001, ANN201
    return make_clinic(practice)
