"""Views that take files may receive more than the app's ``MAX_CONTENT_LENGTH`` (5 MB): a
view says how much with ``@accepts_files(max_bytes)``, for its own requests only.

The limit must be set before anything reads the body, and CSRF protection reads the form in
a ``before_request`` hook; Flask runs URL value preprocessors before those hooks, so one sets
it there. A request over the limit is a 413 (the error page says the files are too large).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, request

F = TypeVar("F", bound=Callable[..., Any])


def accepts_files(max_bytes: int) -> Callable[[F], F]:
    def mark(view: F) -> F:
        view.max_request_bytes = max_bytes  # type: ignore[attr-defined]
        return view

    return mark


def init_app(app: Flask) -> None:
    @app.url_value_preprocessor
    def _request_limit(endpoint: str | None, values: dict[str, Any] | None) -> None:
        view = app.view_functions.get(endpoint or "")
        limit = getattr(view, "max_request_bytes", None)
        if limit:
            request.max_content_length = limit
