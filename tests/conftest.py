"""Test fixtures: a fresh, migrated database per test on SQLite or PostgreSQL.

The schema is always built by the Alembic migrations, never by ``create_all``. Tests commit
for real (so concurrency and worker tests see each other's writes):

* SQLite: the migrated database file is built once, and each test gets a fresh copy of it
  (always at the same path, so one app serves every test).
* PostgreSQL (``TEST_DATABASE_URL``): migrated once per run; after each test the tables it
  wrote to are emptied (see ``_empty_tables``).

Building an app costs more than most tests (its URL map and templates are compiled anew), so
the ``app`` fixture hands every test the one app built for its settings, with its config put
back and its session removed afterwards. A test that adds routes to its app gets its own
(``@pytest.mark.own_app``); ``make_app`` always builds a new one.

Every test runs at one chosen moment, never at the wall clock's: ``app.core.clock.utcnow``
starts at ``FRONTDESK_TEST_NOW`` (an ISO instant; by default a Wednesday late morning in the
practices' zones) and ticks from there. ``scripts/test-moments.sh`` runs the suite's
time-sensitive tests again at night, on DST change days, on a leap day and at a New Year that
has come in UTC but not locally.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest
from flask import Flask, has_app_context
from flask.testing import FlaskClient
from hypothesis import HealthCheck, settings
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url

from app import create_app
from app.core import clock
from app.extensions import db as _db
from app.security.permissions import Role
from tests import factories

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "").strip()
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")  # "gw0", ... under pytest -n
SHARED_TESTDATA = Path(__file__).resolve().parents[2] / "shared" / "testdata"

DEFAULT_TEST_NOW = "2026-06-10T19:00:00+00:00"  # a Wednesday: 14:00 in Chicago, 13:00 in Denver
TEST_NOW = datetime.fromisoformat(os.environ.get("FRONTDESK_TEST_NOW") or DEFAULT_TEST_NOW)

# Property tests check what they generate, not how fast: on a busy machine (two passes side by
# side, other jobs beside them) a slow draw or example must not fail the run.
settings.register_profile("suite", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("suite")

BASE_CONFIG = {
    "FRONTDESK_ENV": "test",
    "TESTING": True,
    "WTF_CSRF_ENABLED": False,
    "SECRET_KEY": "test-secret-key",
    "PUBLIC_BASE_URL": "http://localhost",
    "SMS_PROVIDER": "console",
    "EMAIL_PROVIDER": "console",
    # The deployment's own number, which routes inbound texts while one practice exists.
    "TWILIO_FROM_NUMBER": factories.DEPLOYMENT_NUMBER,
}


@pytest.fixture(autouse=True)
def frozen_clock(request: pytest.FixtureRequest) -> Iterator[datetime]:
    """Each test starts at ``TEST_NOW`` (see the module docstring), or at the moment its
    ``clock`` mark names when its premise needs a time of day (a text sent at once needs
    daytime)."""
    marker = request.node.get_closest_marker("clock")
    at = datetime.fromisoformat(marker.args[0]) if marker else TEST_NOW
    with clock.frozen_at(at):
        yield at


def on_postgres() -> bool:
    return bool(TEST_DATABASE_URL)


def _postgres_url() -> str:
    """The run's PostgreSQL database; under pytest-xdist each worker gets its own beside it
    (``<name>_gw0``, ...), created here and dropped by ``scripts/test.sh``."""
    url = make_url(TEST_DATABASE_URL).set(drivername="postgresql+psycopg")
    if XDIST_WORKER:
        url = url.set(database=f"{url.database}_{XDIST_WORKER}")
        admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{url.database}"'))
        admin.dispose()
    return url.render_as_string(hide_password=False)


def _migrate(url: str) -> None:
    from flask_migrate import upgrade

    app = create_app({**BASE_CONFIG, "DATABASE_URL": url})
    with app.app_context():
        upgrade()
        _db.engine.dispose()


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory: pytest.TempPathFactory) -> str:
    """URL of a database built by the migrations (a template file on SQLite)."""
    if on_postgres():
        url = _postgres_url()
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
            # A throwaway database: commits need not wait for the disk.
            conn.execute(text(f'ALTER DATABASE "{make_url(url).database}" '
                              "SET synchronous_commit = off"))
        engine.dispose()
        _migrate(url)
        _stop_autovacuum(url)
        return url
    template = tmp_path_factory.mktemp("db") / "template.db"
    _migrate(f"sqlite:///{template}")
    return str(template)


@pytest.fixture(scope="session")
def sqlite_test_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where each SQLite test finds its copy of the template."""
    return tmp_path_factory.mktemp("tests") / "test.db"


@pytest.fixture
def database_url(migrated_database: str, request: pytest.FixtureRequest) -> Iterator[str]:
    if on_postgres():
        yield migrated_database
        _empty_tables(migrated_database)
        return
    path: Path = request.getfixturevalue("sqlite_test_file")
    # A fresh inode (copy, then rename over): a connection left open on the last test's file
    # can never write into this one, nor a stale journal roll back into it.
    for leftover in path.parent.glob(path.name + "-*"):
        leftover.unlink()
    fresh = path.with_suffix(".new")
    shutil.copyfile(migrated_database, fresh)
    os.replace(fresh, path)
    yield f"sqlite:///{path}"


@pytest.fixture(scope="module")
def module_database_url(migrated_database: str, tmp_path_factory: pytest.TempPathFactory
                        ) -> Iterator[str]:
    """One database for a whole module, emptied after its last test: a module whose tests
    all read one costly world (the demo practice) builds it once by overriding
    ``database_url`` at module scope with this (its tests then get apps of their own on
    SQLite)."""
    if on_postgres():
        yield migrated_database
        _empty_tables(migrated_database)
        return
    copy = tmp_path_factory.mktemp("module") / "module.db"
    shutil.copyfile(migrated_database, copy)
    yield f"sqlite:///{copy}"


@dataclass
class _Cleanup:
    """What emptying one PostgreSQL test database needs, found once per run."""

    engine: Engine
    tables: list[str]  # children before parents
    sequences: dict[str, list[str]]
    emptied_since_vacuum: set[str] = field(default_factory=set)
    runs: int = 0


_cleanups: dict[str, _Cleanup] = {}
VACUUM_EVERY = 10  # cleanups


def _stop_autovacuum(url: str) -> None:
    """No autovacuum on the test tables: see ``_empty_tables``."""
    engine = create_engine(url)
    with engine.begin() as conn:
        for (name,) in conn.execute(text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")):
            conn.execute(text(f'ALTER TABLE "{name}" SET (autovacuum_enabled = false)'))
    engine.dispose()


def _cleanup_of(url: str) -> _Cleanup:
    if url not in _cleanups:
        engine = create_engine(url)
        with engine.connect() as conn:
            present = {name for (name,) in conn.execute(text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'alembic_version'"))}
            sequences: dict[str, list[str]] = {}
            for table, sequence in conn.execute(text(
                    "SELECT t.relname, s.relname FROM pg_class s "
                    "JOIN pg_depend d ON d.objid = s.oid AND d.refobjsubid > 0 "
                    "JOIN pg_class t ON t.oid = d.refobjid "
                    "JOIN pg_namespace n ON n.oid = s.relnamespace "
                    "WHERE s.relkind = 'S' AND n.nspname = 'public'")):
                sequences.setdefault(table, []).append(sequence)
        ordered = [t.name for t in reversed(_db.metadata.sorted_tables) if t.name in present]
        ordered += sorted(present - set(ordered))
        _cleanups[url] = _Cleanup(engine, ordered, sequences)
    return _cleanups[url]


def _empty_tables(url: str) -> None:
    """Empty every table a test wrote to and restart its ids, as a fresh database has them.

    One transaction finds the tables holding rows (one query), DELETEs them (foreign-key
    triggers off: everything goes) and restarts their sequences. The next test's rows must be
    stored, and read back unordered, in insertion order as in a fresh table: with autovacuum
    off on the test tables (``_stop_autovacuum``) nothing records the dead rows' space as free,
    so new rows go after them; every ``VACUUM_EVERY`` cleanups a VACUUM of the emptied tables
    removes the dead rows and truncates the tables to nothing (a TRUNCATE costs tens of
    milliseconds a table, new files for each; a VACUUM per test cost 20-30 ms)."""
    cleanup = _cleanup_of(url)
    with cleanup.engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        holding = {name for (name,) in conn.execute(text(" UNION ALL ".join(
            f"SELECT '{name}' WHERE EXISTS (SELECT 1 FROM \"{name}\")"
            for name in cleanup.tables)))}
        if holding:
            conn.execute(text("; ".join(f'DELETE FROM "{name}"'  # noqa: S608
                                        for name in cleanup.tables if name in holding)))
        restart = [s for t in holding for s in cleanup.sequences.get(t, [])]
        if restart:
            conn.execute(text("SELECT " + ", ".join(f"setval('\"{s}\"', 1, false)"
                                                    for s in restart)))
    cleanup.emptied_since_vacuum |= holding
    cleanup.runs += 1
    if cleanup.runs % VACUUM_EVERY == 0 and cleanup.emptied_since_vacuum:
        with cleanup.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM " + ", ".join(
                f'"{name}"' for name in sorted(cleanup.emptied_since_vacuum))))
        cleanup.emptied_since_vacuum.clear()


class IsolatedClient(FlaskClient):
    """Each request runs in its own app context, as in production.

    Tests hold an app context open (for factories and assertions); without this, requests
    would share that context's ``g`` — Flask-Login's user, the CSRF token, the locale — and
    its database session. Afterwards the test's session is expired so it sees what the
    request wrote."""

    def open(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        if has_app_context():
            _db.session.expire_all()
        return response


def _build_app(database_url: str, settings: dict[str, object]) -> Flask:
    app = create_app({**BASE_CONFIG, "DATABASE_URL": database_url, **settings})
    app.test_client_class = IsolatedClient
    if database_url.startswith("sqlite"):
        with app.app_context():
            # A throwaway file, as on PostgreSQL: commits need not wait for the disk.
            event.listen(_db.engine, "connect",
                         lambda connection, _: connection.execute("PRAGMA synchronous = OFF"))
    return app


def _release(app: Flask) -> None:
    """The test's session removed and, on SQLite, every connection closed (the next test's
    file replaces this one)."""
    with app.app_context():
        _db.session.remove()
        if not on_postgres():
            _db.engine.dispose()


@pytest.fixture
def make_app(database_url: str) -> Iterator[Callable[..., Flask]]:
    """Build a new app on this test's database with extra settings."""
    built: list[Flask] = []

    def build(**overrides: object) -> Flask:
        app = _build_app(database_url, overrides)
        built.append(app)
        return app

    yield build
    for app in built:
        with app.app_context():
            _db.session.remove()
            _db.engine.dispose()


class SharedApp:
    """One app per settings for every test of the run on the shared test database: its
    config is put back after each test, and a test that changes its routes is told to take
    an app of its own."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.config = dict(app.config)
        self.routes = self._routes()

    def _routes(self) -> tuple[int, tuple[str, ...]]:
        return len(self.app.url_map._rules), tuple(self.app.blueprints)  # noqa: SLF001

    def reset(self) -> None:
        _release(self.app)
        self.app.config.clear()
        self.app.config.update(self.config)
        # Per-process caches hold the last test's rows (ids restart with each test's data).
        self.app.extensions["frontdesk.slot_files"].clear()
        if self._routes() != self.routes:
            raise AssertionError("this test added routes to the shared app: mark it "
                                 "@pytest.mark.own_app (or build one with make_app)")


_shared_apps: dict[tuple[str, str], SharedApp] = {}


@pytest.fixture
def app(database_url: str, make_app: Callable[..., Flask],
        request: pytest.FixtureRequest) -> Iterator[Flask]:
    """The app on this test's database, with the settings of the closest ``app_settings``
    mark (``pytestmark = pytest.mark.app_settings(**WEBHOOK_SETTINGS)`` for a module).
    Shared between tests with the same settings (see the module docstring), unless the test
    is marked ``own_app``."""
    marker = request.node.get_closest_marker("app_settings")
    settings = dict(marker.kwargs if marker else {})
    shared_database = on_postgres() or database_url.endswith(
        str(request.getfixturevalue("sqlite_test_file")))
    if request.node.get_closest_marker("own_app") or not shared_database:
        own = make_app(**settings)
        with own.app_context():
            yield own
        return
    key = (database_url, repr(sorted(settings.items())))
    if key not in _shared_apps:
        _shared_apps[key] = SharedApp(_build_app(database_url, settings))
    shared = _shared_apps[key]
    try:
        with shared.app.app_context():
            yield shared.app
    finally:
        try:
            shared.reset()
        except AssertionError:
            del _shared_apps[key]
            raise


@pytest.fixture
def db(app: Flask):  # noqa: ANN201
    return _db


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):  # noqa: ANN201
    return app.test_cli_runner()


@pytest.fixture
def practice(app: Flask):  # noqa: ANN201
    return factories.make_practice()


@pytest.fixture
def login(app: Flask, practice) -> Callable[[str], FlaskClient]:  # noqa: ANN001
    """``login("front_desk")`` → a test client signed in as a new user with that role."""

    def sign_in(role: str) -> FlaskClient:
        user = factories.make_staff(practice, role=role)
        client = app.test_client()
        response = client.post("/sign-in", data={"email": user.email,
                                                 "password": factories.STAFF_PASSWORD})
        assert response.status_code == 302, f"sign-in as {role} failed"
        return client

    return sign_in


@pytest.fixture(params=[r.value for r in Role])
def any_role(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def shared_testdata() -> Path:
    if not SHARED_TESTDATA.is_dir():
        pytest.skip("skipped: shared test data not present (../shared/testdata)")
    return SHARED_TESTDATA


@pytest.fixture
def postgres_only() -> None:
    if not on_postgres():
        pytest.skip("needs PostgreSQL: runs in the PostgreSQL pass (TEST_DATABASE_URL)")


def pytest_report_header() -> str:
    return f"frozen clock: every test starts at {TEST_NOW.isoformat()} (FRONTDESK_TEST_NOW)"
