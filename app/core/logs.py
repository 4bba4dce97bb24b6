"""Structured logs: one JSON object a line (structlog), with the unit of work's id on every
line and no PHI.

Every logger of the app is a standard ``logging`` logger; ``configure`` puts one handler on
the root logger whose formatter runs structlog's processors, so our lines and the libraries'
(werkzeug, gunicorn, APScheduler, SQLAlchemy) come out the same way. The id of the request
(``app.web.headers``) or of the worker's batch / the scheduler's job run is bound with
``bind_unit_of_work`` and appears as ``request_id`` on each line written meanwhile.

No PHI: our log calls name ids, counts and outcomes, never names, phones, emails or message
bodies (a test runs a whole journey and searches every line for them). As a second line of
defence, ``scrub`` replaces anything shaped like a phone number or an email address in a
line's text with ``[redacted]`` before it is written.
"""

from __future__ import annotations

import logging
import re
import sys
import uuid
from typing import Any

import structlog

_HANDLER_NAME = "frontdesk"
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
# +E.164, or 10-11 digits written with the usual separators (not ids, times or durations).
_PHONE = re.compile(r"\+\d{8,15}\b|\(?\b\d{3}\)?[ .-]\d{3}[ .-]\d{4}\b")


def scrub(_logger: Any, _name: str, event: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: no phone number or email address leaves in a log line."""
    for key, value in event.items():
        if isinstance(value, str) and key not in ("timestamp", "request_id"):
            event[key] = _PHONE.sub("[redacted]", _EMAIL.sub("[redacted]", value))
    return event


class _Stderr:
    """Whatever ``sys.stderr`` is when a line is written (test runners swap it)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure(*, level: str, json_lines: bool = True, stream: Any = None) -> logging.Handler:
    """Send every log record through structlog to ``stream`` (stderr), replacing the handler
    an earlier call installed; other handlers (pytest's capture) are left alone."""
    shared = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer = (structlog.processors.JSONRenderer() if json_lines
                else structlog.dev.ConsoleRenderer(colors=False))
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info, scrub, renderer])
    handler = logging.StreamHandler(stream or _Stderr())
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("app").setLevel(level)
    return handler


def bind_unit_of_work(request_id: str | None = None) -> str:
    """Name the work now starting (a request, a worker batch, a job run) on every log line
    written until the next call; returns the id."""
    request_id = request_id or str(uuid.uuid4())
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=request_id)
    return request_id


def end_unit_of_work() -> None:
    structlog.contextvars.clear_contextvars()
