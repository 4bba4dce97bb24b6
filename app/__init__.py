"""Frontdesk: the application factory."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy.engine import make_url

from app.config import PROJECT_ROOT, SUPPORTED_LOCALES, load_settings
from app.core import logs
from app.core.crypto import Keyring
from app.extensions import babel, csrf, db, login_manager, migrate


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app from the environment, overridden by ``config``.

    No side effects beyond the app object: no migrations, no network, no scheduler. A bad
    setting raises ``app.config.ConfigError`` naming it."""
    settings = load_settings(config)
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        instance_path=str(PROJECT_ROOT / "instance"),
    )
    app.config.update(settings)
    https = settings["PUBLIC_BASE_URL"].startswith("https://")
    app.config.update(
        SQLALCHEMY_DATABASE_URI=settings["DATABASE_URL"],
        SQLALCHEMY_ENGINE_OPTIONS=_engine_options(settings["DATABASE_URL"]),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=https,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SECURE=https,
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=settings["SESSION_IDLE_MINUTES"]),
        BABEL_TRANSLATION_DIRECTORIES=str(PROJECT_ROOT / "app" / "translations"),
        WTF_CSRF_TIME_LIMIT=None,  # the session's own idle timeout bounds a token's life
        MAX_CONTENT_LENGTH=5 * 1024 * 1024,
    )
    for key in ("TESTING", "WTF_CSRF_ENABLED", "SERVER_NAME"):
        if config and key in config:
            app.config[key] = config[key]
    logs.configure(level=settings["LOG_LEVEL"], json_lines=settings["LOG_FORMAT"] == "json")

    app.extensions["frontdesk.keyring"] = Keyring.from_settings(
        settings["PHI_ENCRYPTION_KEY"], settings["PHI_INDEX_KEY"])

    _ensure_sqlite_folder(settings["DATABASE_URL"])
    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"),
                     render_as_batch=True, compare_type=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_select_locale)

    _import_models()
    _init_packages(app)
    from app.cli import register_cli

    register_cli(app)
    return app


def _init_packages(app: Flask) -> None:
    """Each package registers its own screens and hooks, the lower layers first (the order is
    ARCHITECTURE.md's; tests/test_package_layers.py checks the imports keep to it)."""
    from app.auditlog import init_app as init_auditlog
    from app.billing import init_app as init_billing
    from app.fhir import init_app as init_fhir
    from app.home import init_app as init_home
    from app.inbox import init_app as init_inbox
    from app.journeys import init_app as init_journeys
    from app.messaging import init_app as init_messaging
    from app.ops import init_app as init_ops
    from app.patients import init_app as init_patients
    from app.record import init_app as init_record
    from app.scheduling import init_app as init_scheduling
    from app.security import init_app as init_security
    from app.setup import init_app as init_setup
    from app.web import init_app as init_web

    init_web(app)  # first: the request's practice scope wraps every later request hook
    init_security(app)
    init_patients(app)
    init_messaging(app)
    init_scheduling(app)
    init_billing(app)
    init_journeys(app)
    init_inbox(app)
    init_fhir(app)
    init_setup(app)
    init_record(app)
    init_auditlog(app)
    init_home(app)
    init_ops(app)


def _ensure_sqlite_folder(url: str) -> None:
    """A fresh checkout has no instance/ folder; SQLite cannot create its file without it."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def _engine_options(url: str) -> dict[str, Any]:
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 30}}
    # No server-side prepared statements (psycopg prepares a query run 5 times): after a few
    # runs PostgreSQL may keep a generic plan, blind to the values, and for a skewed column
    # (message.status: "scheduled" is rare) that is a sequential scan of every message, run
    # on every staff page by the delay banner. Each statement is planned for its values.
    return {"pool_pre_ping": True, "connect_args": {"prepare_threshold": None}}


def _select_locale() -> str | None:
    from flask import g, has_request_context, request

    if not has_request_context():
        return "en"
    chosen = getattr(g, "locale", None)
    if chosen in SUPPORTED_LOCALES:
        return chosen
    return request.accept_languages.best_match(SUPPORTED_LOCALES) or "en"


def _import_models() -> None:
    """Every model module, so metadata (and Alembic's autogenerate) sees all tables."""
    from app.billing import models as _billing  # noqa: F401
    from app.fhir import models as _fhir  # noqa: F401
    from app.inbox import models as _inbox  # noqa: F401
    from app.intake import models as _intake  # noqa: F401
    from app.jobs import models as _jobs  # noqa: F401
    from app.journeys import models as _journeys  # noqa: F401
    from app.messaging import models as _messaging  # noqa: F401
    from app.patients import models as _patients  # noqa: F401
    from app.practice import models as _practice  # noqa: F401
    from app.scheduling import models as _scheduling  # noqa: F401
    from app.security import models as _security  # noqa: F401
