from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
import responses
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.adapters.fake_http import FakeHTTPServer


@pytest.fixture
def fake_http() -> Iterator[FakeHTTPServer]:
    server = FakeHTTPServer().start()
    yield server
    server.stop()


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    """Intercepts every ``requests`` call (the twilio SDK's transport); each registered
    response must be used, and any unregistered request fails the test."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        yield rsps


@pytest.fixture(scope="session")
def webhook_public_key() -> str:
    """A SendGrid-style verification key (base64 DER) of a key made for this run."""
    private = ec.generate_private_key(ec.SECP256R1())
    der = private.public_key().public_bytes(serialization.Encoding.DER,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode()
