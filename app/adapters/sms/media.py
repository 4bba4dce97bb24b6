"""Fetching an inbound MMS picture from the provider: Twilio's ``MediaUrl<N>`` answers with
HTTP basic auth (the account SID and auth token) and redirects to the file. Only https URLs on
the provider's API host are fetched (the URL came in a webhook: never let it point inside our
network), the size is capped, and errors are classified. Knows nothing of models."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

MAX_MEDIA_BYTES = 5 * 1024 * 1024  # Twilio's own limit for an MMS
DEFAULT_API_HOST = "api.twilio.com"


class MediaFetchError(RuntimeError):
    """The picture could not be fetched; ``permanent`` when retrying cannot help."""

    def __init__(self, reason: str, *, permanent: bool) -> None:
        super().__init__(reason)
        self.permanent = permanent


@dataclass(frozen=True)
class FetchedMedia:
    content_type: str
    data: bytes


@dataclass(frozen=True)
class TwilioMediaFetcher:
    account_sid: str
    auth_token: str
    api_host: str = DEFAULT_API_HOST
    timeout: float = 10.0

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> TwilioMediaFetcher:
        base = settings.get("TWILIO_API_BASE_URL") or ""
        return cls(account_sid=settings["TWILIO_ACCOUNT_SID"],
                   auth_token=settings["TWILIO_AUTH_TOKEN"],
                   api_host=urlsplit(base).hostname or DEFAULT_API_HOST,
                   timeout=settings["PROVIDER_TIMEOUT_SECONDS"])

    def __call__(self, url: str) -> FetchedMedia:
        parts = urlsplit(url)
        if parts.scheme != "https" or parts.hostname != self.api_host:
            raise MediaFetchError(f"not a media URL of {self.api_host}", permanent=True)
        if not (self.account_sid and self.auth_token):
            raise MediaFetchError("TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN not set",
                                  permanent=False)
        try:
            with requests.get(url, auth=(self.account_sid, self.auth_token),
                              timeout=self.timeout, stream=True) as response:
                if response.status_code in (401, 403, 404, 410):
                    raise MediaFetchError(f"provider answered {response.status_code}",
                                          permanent=response.status_code in (404, 410))
                response.raise_for_status()
                data = b""
                for chunk in response.iter_content(64 * 1024):
                    data += chunk
                    if len(data) > MAX_MEDIA_BYTES:
                        raise MediaFetchError("larger than 5 MB", permanent=True)
                content_type = response.headers.get("Content-Type", "application/octet-stream")
        except requests.RequestException as exc:
            raise MediaFetchError(f"fetch failed: {type(exc).__name__}", permanent=False
                                  ) from exc
        return FetchedMedia(content_type=content_type.split(";")[0].strip().lower()[:100],
                            data=data)
