"""Every command run as practice B (``--practice B``) shows and changes nothing of practice A,
with look-alike data in both: the same staff names (different emails), the same patients'
external ids, API tokens of the same name."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from app.extensions import db
from app.fhir.models import ApiToken
from app.patients import lookups
from app.patients.models import Patient
from app.security.models import StaffUser
from app.security.passwords import verify_password
from tests.cli_driver import STAFF_PASSWORD, Driver, refused_in_one_line

HEADER = "external_id,first_name,last_name,date_of_birth,mobile_phone\n"
BOTH = "R-1,Rosa,Diaz,1975-05-06,(312) 555-0161\nR-2,Tom,Ortiz,1988-09-10,312-555-0162\n"
ONLY_A = "R-3,Ines,Vega,1969-02-03,312-555-0163\n,Lou,Park,1990-04-05,312-555-0164\n"


def _csv(tmp_path: Path, name: str, rows: str) -> str:
    path = tmp_path / name
    path.write_text(HEADER + rows, encoding="utf-8")
    return str(path)


@pytest.fixture
def two(make_app, tmp_path) -> tuple[Driver, str, str]:
    """Practices A and B made by the CLI, each with look-alike staff, patients and a token."""
    cli = Driver(make_app())
    ids = []
    for letter, phone in (("a", "+13125550100"), ("b", "+13125550101")):
        # Same name; a different phone, or it would be the same practice created twice.
        created = cli.ok("practice", "create", "--name", "Lakeside Dental", "--phone", phone,
                         "--timezone", "America/Chicago")
        practice = created.splitlines()[0]
        ids.append(practice)
        for who, role in (("admin", "admin"), ("dana", "front_desk")):
            cli.ok("users", "create", "--practice", practice, "--email",
                   f"{who}@{letter}.example", "--role", role, "--name", f"{who.title()} Desk",
                   "--password", STAFF_PASSWORD)
        cli.ok("import", "patients", "--practice", practice, _csv(tmp_path, "both.csv", BOTH))
        cli.ok("api-token", "create", "--practice", practice, "--name", "EHR sync",
               "--scopes", "system/*.*")
    cli.ok("import", "patients", "--practice", ids[0], _csv(tmp_path, "a.csv", ONLY_A))
    return cli, ids[0], ids[1]


def _staff(app, email: str) -> StaffUser:  # noqa: ANN001
    with app.app_context():
        user = db.session.execute(select(StaffUser).filter_by(email=email)).scalar_one()
        db.session.expunge(user)
        return user


def _patients_of(app, practice: str) -> list[tuple[str | None, str, str, str]]:  # noqa: ANN001
    with app.app_context():
        rows = db.session.execute(select(Patient).where(Patient.practice_id == int(practice))
                                  .order_by(Patient.id)).scalars()
        return [(p.external_id, p.given_name, p.family_name, p.mobile_phone) for p in rows]


def _tokens(app) -> dict[int, tuple[int, bool]]:  # noqa: ANN001
    with app.app_context():
        return {t.id: (t.practice_id, t.active)
                for t in db.session.execute(select(ApiToken)).scalars()}


def test_staff_commands_as_b_see_and_change_nothing_of_a(two):
    cli, a, b = two
    listed = cli.ok("users", "list", "--practice", b)
    assert [line.split()[0] for line in listed.splitlines()] == [
        "admin@b.example", "dana@b.example"]
    a_password_hash = _staff(cli.app, "dana@a.example").password_hash

    for command in (["disable"], ["enable"], ["set-password", "--password", "new long password"]):
        line = refused_in_one_line(cli("users", *command, "--practice", b,
                                       "--email", "dana@a.example"))
        assert line == "Error: no staff account with email dana@a.example in this practice"
    dana_a = _staff(cli.app, "dana@a.example")
    assert dana_a.active and dana_a.password_hash == a_password_hash
    assert verify_password(dana_a.password_hash, STAFF_PASSWORD)

    assert "dana@b.example is disabled." in cli.ok("users", "disable", "--practice", b,
                                                   "--email", "dana@b.example")
    assert not _staff(cli.app, "dana@b.example").active
    assert _staff(cli.app, "dana@a.example").active
    assert "a.example" not in cli.ok("users", "list", "--practice", b)

    # Emails sign in across the deployment, so B cannot take A's; A's account is untouched.
    taken = refused_in_one_line(cli("users", "create", "--practice", b, "--email",
                                    "dana@a.example", "--role", "admin", "--password",
                                    STAFF_PASSWORD))
    assert taken == "Error: a staff account with email dana@a.example already exists"
    dana_a = _staff(cli.app, "dana@a.example")
    assert (dana_a.practice_id, dana_a.role) == (int(a), "front_desk")
    assert "disabled" not in cli.ok("users", "list", "--practice", a)


def test_import_as_b_matches_only_b_patients(two, tmp_path):
    cli, a, b = two
    a_before = _patients_of(cli.app, a)
    changed = "R-1,Rosa,Diaz-Luna,1975-05-06,312-555-0199\n"
    report = cli.ok("import", "patients", "--practice", b, _csv(tmp_path, "b.csv", changed))
    assert "updated:   1" in report and "imported:  0 new" in report
    # R-3 and the name + birth date of a patient without an id exist in A only: new in B.
    report = cli.ok("import", "patients", "--practice", b, _csv(tmp_path, "a2.csv", ONLY_A))
    assert "imported:  2 new" in report and "updated:   0" in report

    assert _patients_of(cli.app, a) == a_before
    assert _patients_of(cli.app, b) == [
        ("R-1", "Rosa", "Diaz-Luna", "+13125550199"), ("R-2", "Tom", "Ortiz", "+13125550162"),
        ("R-3", "Ines", "Vega", "+13125550163"), (None, "Lou", "Park", "+13125550164")]
    with cli.app.app_context():
        assert lookups.patient_by_external_id(practice_id=int(a), external_id="R-1"
                                               ).family_name == "Diaz"


def test_api_tokens_as_b_are_only_b_tokens(two):
    cli, a, b = two
    tokens = _tokens(cli.app)
    a_token = next(i for i, (practice, _) in tokens.items() if practice == int(a))
    b_token = next(i for i, (practice, _) in tokens.items() if practice == int(b))
    listed = cli.ok("api-token", "list", "--practice", b)
    assert [line.split("\t")[0] for line in listed.splitlines()] == [str(b_token)]

    line = refused_in_one_line(cli("api-token", "revoke", "--practice", b, str(a_token)))
    assert line == f"Error: no API token with id {a_token} in this practice"
    assert _tokens(cli.app)[a_token] == (int(a), True)
    cli.ok("api-token", "revoke", "--practice", b, str(b_token))
    assert _tokens(cli.app) == {a_token: (int(a), True), b_token: (int(b), False)}


def test_commands_without_practice_choose_none_when_two_exist(two):
    cli, _, _ = two
    line = refused_in_one_line(cli("users", "list"))
    assert line == ("Error: 2 practices exist: choose one with --practice ID "
                    "(see 'flask practice list')")
    assert [row.split("\t")[1] for row in cli.ok("practice", "list").splitlines()] == [
        "Lakeside Dental", "Lakeside Dental"]
