"""A real practice starts without the demo, and every command can be driven by a program.

On a migrated database holding nothing but what ``flask practice create`` made, every one of
our commands runs under Flask's test runner (``app.test_cli_runner()``, no application context
pushed by the test), each one refuses bad input with one ``Error:`` line, and the installed
``flask`` executable does the same set-up from a shell.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.config import DEV_PHI_ENCRYPTION_KEY
from app.extensions import db
from app.fhir.models import ApiToken
from app.patients.models import Patient
from app.practice.models import Practice
from app.security.models import StaffUser
from tests.cli_driver import STAFF_PASSWORD, Driver, our_commands, refused_in_one_line

REPO = Path(__file__).resolve().parents[1]
CSV = ("external_id,first_name,last_name,date_of_birth,mobile_phone\n"
       "R-1,Rosa,Diaz,1975-05-06,(312) 555-0161\n"
       "R-2,Tom,Ortiz,1988-09-10,312-555-0162\n")

# A key of the operator's own first, as 'flask keys generate' tells (rotate refuses the
# built-in development key).
OWN_KEY = "k2026:b3duLWtleS0zMi1ieXRlcy1mb3ItY2xpLXRlc3RzISE="


@pytest.fixture
def cli(make_app) -> Driver:
    return Driver(make_app(PHI_ENCRYPTION_KEY=f"{OWN_KEY},{DEV_PHI_ENCRYPTION_KEY}"))


def count(app, model) -> int:  # noqa: ANN001
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def test_every_command_runs_on_a_practice_made_by_practice_create(cli, tmp_path):
    app = cli.app
    assert count(app, Practice) == 0  # no demo, nothing seeded

    created = cli.ok("practice", "create", "--name", "Oak Street Dental", "--phone",
                     "+13125550100", "--timezone", "America/Chicago", "--email",
                     "hello@oak.example", "--website", "https://oak.example")
    practice_id = created.splitlines()[0]
    assert practice_id.isdigit()
    assert f'Created practice {practice_id} "Oak Street Dental"' in created
    assert cli.ok("practice", "list").splitlines() == [
        f"{practice_id}\tOak Street Dental\t+13125550100\tAmerica/Chicago"]

    cli.ok("users", "create", "--email", "owner@oak.example", "--role", "admin",
           "--name", "Olga Owner", "--password", STAFF_PASSWORD)
    cli.ok("users", "create", "--practice", practice_id, "--email", "desk@oak.example",
           "--role", "front_desk", input=f"{STAFF_PASSWORD}\n{STAFF_PASSWORD}\n")
    assert [line.split()[0] for line in cli.ok("users", "list").splitlines()] == [
        "desk@oak.example", "owner@oak.example"]
    cli.ok("users", "set-password", "--email", "desk@oak.example",
           "--password", "another long password")
    assert "desk@oak.example is disabled." in cli.ok("users", "disable", "--email",
                                                     "desk@oak.example")
    assert "desk@oak.example is enabled." in cli.ok("users", "enable", "--email",
                                                    "desk@oak.example")

    path = tmp_path / "patients.csv"
    path.write_text(CSV, encoding="utf-8")
    assert "imported:  2 would be new" in cli.ok("import", "patients", str(path), "--dry-run")
    assert "imported:  2 new" in cli.ok("import", "patients", str(path))
    assert "Reindexed 2 patients" in cli.ok("patients", "reindex")
    report = cli.ok("journeys", "report", "--weeks", "2").splitlines()
    assert report[0].startswith("week of") and len(report) == 3  # a row per week, no visits

    issued = cli.ok("api-token", "create", "--name", "EHR sync", "--scopes", "system/*.read")
    token_id = issued.split()[2]
    assert cli.ok("api-token", "list").startswith(f"{token_id}\tactive\tEHR sync")
    cli.ok("api-token", "revoke", token_id)
    assert cli.ok("api-token", "list").startswith(f"{token_id}\trevoked\tEHR sync")

    assert "Audit trail intact" in cli.ok("audit", "verify")
    assert cli.ok("audit", "seal") == "0 audit events sealed.\n"
    cli.ok("keys", "generate")
    cli.ok("keys", "rotate")
    assert "Every value is under the current key." in cli.ok("keys", "status")
    assert cli.ok("worker", "--once").startswith("sent 0, deferred 0")
    assert cli.ok("inbound", "status") == "waiting 0 (oldest 0 s), refused 0\n"
    assert cli.ok("inbound", "route", "--retry-refused").splitlines() == [
        "0 refused texts queued again",
        "routed 0, repeated 0, refused 0, waiting to try again 0"]
    assert "sign-in-attempts" in cli.ok("scheduler", "--list")
    cli.ok("scheduler", "--once")
    assert "not seeded" in cli.ok("demo", "logins")
    assert "the demo seed is not needed" in cli.ok("demo", "seed", "--if-empty")

    assert cli.ran == cli.paths, f"not run here: {sorted(cli.paths - cli.ran)}"
    assert (count(app, Practice), count(app, StaffUser), count(app, Patient),
            count(app, ApiToken)) == (1, 2, 2, 1)
    with app.app_context():
        assert {u.practice_id for u in db.session.execute(select(StaffUser)).scalars()} == {
            int(practice_id)}


def _bad_inputs(tmp_path: Path) -> dict[str, list[str]]:
    """One bad invocation per command, on a database with one practice."""
    not_utf8 = tmp_path / "latin1.csv"
    not_utf8.write_bytes("first_name,last_name,date_of_birth\nJos\xe9,P,1970-01-01\n"
                         .encode("latin-1"))
    return {
        "practice create": ["--name", "Oak", "--phone", "+13125550100", "--timezone", "Oak"],
        "practice list": ["--bogus"],
        "users create": ["--email", "x@oak.example", "--role", "admin", "--password", "short"],
        "users list": ["--practice", "99"],
        "users set-password": ["--email", "nobody@oak.example", "--password", STAFF_PASSWORD],
        "users disable": ["--email", "nobody@oak.example"],
        "users enable": ["--email", "nobody@oak.example"],
        "import patients": [str(not_utf8)],
        "patients reindex": ["--batch-size", "0"],
        "journeys report": ["--weeks", "0"],
        "api-token create": ["--name", "x", "--scopes", "user/*.*"],
        "api-token list": ["--practice", "two"],
        "api-token revoke": ["99"],
        "audit verify": ["--expect-last", "yesterday"],
        "audit seal": ["--all"],
        "keys generate": ["now"],
        "keys rotate": ["--batch-size", "0"],
        "keys status": ["--all"],
        "worker": ["--batch-size", "0"],
        "inbound status": ["--all"],
        "inbound route": ["now"],
        "scheduler": ["--every", "5"],
        "demo seed": ["--force"],
        "demo logins": ["admin"],
    }


def test_every_command_refuses_bad_input_in_one_line(cli, tmp_path):
    cli.ok("practice", "create", "--name", "Oak", "--phone", "+13125550100",
           "--timezone", "America/Chicago")
    cases = _bad_inputs(tmp_path)
    assert set(cases) == cli.paths
    lines = {path: refused_in_one_line(cli(*path.split(), *args)) for path, args in cases.items()}
    assert lines["practice create"] == (
        "Error: --timezone: 'Oak' is not an IANA time zone (e.g. America/Chicago)")
    assert lines["users list"] == (
        "Error: --practice 99: no such practice (see 'flask practice list')")
    assert lines["users disable"] == (
        "Error: no staff account with email nobody@oak.example in this practice")
    assert lines["import patients"].startswith("Error: latin1.csv: not UTF-8 text")
    assert lines["api-token revoke"] == "Error: no API token with id 99 in this practice"
    assert "'--batch-size': 0 is not in the range" in lines["worker"]
    assert (count(cli.app, Practice), count(cli.app, StaffUser), count(cli.app, Patient)) == (
        1, 0, 0)


def test_practice_commands_say_how_to_choose_a_practice(cli):
    practice_commands = sorted(path for path, command in our_commands(cli.app).items()
                               if any(p.name == "practice_id" for p in command.params))
    assert practice_commands == [
        "api-token create", "api-token list", "api-token revoke", "import patients",
        "journeys report",
        "users create", "users disable", "users enable", "users list", "users set-password"]
    args = {"api-token create": ["--name", "x", "--scopes", "system/*.read"],
            "api-token revoke": ["1"], "import patients": [__file__],
            "users create": ["--email", "x@oak.example", "--role", "admin", "--password",
                             STAFF_PASSWORD],
            "users disable": ["--email", "x@oak.example"],
            "users enable": ["--email", "x@oak.example"],
            "users set-password": ["--email", "x@oak.example", "--password", STAFF_PASSWORD]}

    def refusals() -> set[str]:
        return {refused_in_one_line(cli(*path.split(), *args.get(path, [])))
                for path in practice_commands}

    assert refusals() == {"Error: no practice exists yet: create one with 'flask practice "
                          "create --name NAME --phone E164 --timezone IANA [--email EMAIL] "
                          "[--website URL]'"}
    for name in ("Oak Dental", "Elm Dental"):
        cli.ok("practice", "create", "--name", name, "--phone", "+13125550100",
               "--timezone", "America/Chicago")
    assert refusals() == {"Error: 2 practices exist: choose one with --practice ID "
                          "(see 'flask practice list')"}
    assert count(cli.app, StaffUser) == count(cli.app, ApiToken) == 0


def _flask(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    executable = Path(sys.executable).with_name("flask")
    command = str(executable) if executable.exists() else shutil.which("flask")
    assert command, "the flask executable is not installed"
    return subprocess.run([command, *args], cwd=REPO, env=env, capture_output=True,  # noqa: S603
                          text=True, timeout=180, check=False)


def test_the_installed_flask_command_starts_a_practice_from_an_empty_database(tmp_path):
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("FLASK_", "TWILIO_", "SENDGRID_", "SMS_", "EMAIL_"))}
    env.update(PYTHONPATH=str(REPO), FLASK_APP="wsgi", FRONTDESK_ENV="development",
               DATABASE_URL=f"sqlite:///{tmp_path / 'fresh.db'}", LOG_LEVEL="WARNING")

    upgraded = _flask("db", "upgrade", env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    created = _flask("practice", "create", "--name", "Birch Family Dental", "--phone",
                     "(312) 555-0177", "--timezone", "America/Chicago", env=env)
    assert created.returncode == 0, created.stderr
    practice_id = created.stdout.splitlines()[0]
    assert practice_id == "1"
    admin = _flask("users", "create", "--practice", practice_id, "--email", "boss@birch.example",
                   "--role", "admin", "--password", STAFF_PASSWORD, env=env)
    assert admin.returncode == 0, admin.stderr
    assert admin.stdout.strip() == (
        "Created Admin account boss@birch.example at Birch Family Dental (practice 1).")
    refused = _flask("users", "list", "--practice", "2", env=env)
    assert refused.returncode == 1
    assert refused.stderr == "Error: --practice 2: no such practice (see 'flask practice list')\n"
