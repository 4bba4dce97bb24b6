"""Absolute URLs of this site, built from PUBLIC_BASE_URL only.

The request's Host header is whatever the client typed (or forged), and a response may be
cached and served to others (the public ``$bulk-publish`` files): an absolute URL we hand out
never takes its host from the request.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, url_for


def public_url(endpoint: str, **values: Any) -> str:
    """``PUBLIC_BASE_URL`` + the path of ``endpoint`` (query arguments as ``url_for`` adds)."""
    return current_app.config["PUBLIC_BASE_URL"] + url_for(endpoint, **values)
