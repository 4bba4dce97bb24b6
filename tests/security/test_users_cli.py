"""flask users create / list / set-password / disable / enable."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.core.clock import utcnow
from app.extensions import db
from app.security import sessions
from app.security.models import AuditEvent, StaffSession, StaffUser
from app.security.passwords import verify_password
from tests import factories

PASSWORD = "a long operator password"


def stored(email: str) -> StaffUser | None:
    db.session.expire_all()
    return db.session.execute(select(StaffUser).filter_by(email=email)).scalar_one_or_none()


def test_create_with_all_options(runner, practice):
    result = runner.invoke(args=["users", "create", "--email", "Ada@Clinic.example",
                                 "--role", "admin", "--name", "Ada L", "--password", PASSWORD])
    assert result.exit_code == 0, result.output
    assert ("Created Admin account ada@clinic.example at Lakeside Family Dental (practice "
            f"{practice.id}).") in result.output
    user = stored("ada@clinic.example")
    assert (user.role, user.display_name, user.practice_id) == ("admin", "Ada L", practice.id)
    assert verify_password(user.password_hash, PASSWORD)
    assert db.session.execute(select(AuditEvent.action)).scalars().all() == ["staff.create"]


def test_create_prompts_for_the_password_twice(runner, practice):
    result = runner.invoke(args=["users", "create", "--email", "bo@clinic.example",
                                 "--role", "billing"], input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert "Repeat for confirmation" in result.output
    user = stored("bo@clinic.example")
    assert user.display_name == "bo" and verify_password(user.password_hash, PASSWORD)


def test_create_refusals_say_why(runner, practice):
    factories.make_staff(practice, email="taken@clinic.example")
    cases = [
        (["--email", "taken@clinic.example", "--role", "admin", "--password", PASSWORD],
         "already exists"),
        (["--email", "x@clinic.example", "--role", "admin", "--password", "short"],
         "at least 12 characters"),
        (["--email", "x@clinic.example", "--role", "owner", "--password", PASSWORD],
         "Invalid value for '--role'"),
    ]
    for args, message in cases:
        result = runner.invoke(args=["users", "create", *args])
        assert result.exit_code != 0 and message in result.output, result.output
    assert stored("x@clinic.example") is None


def test_create_refuses_an_address_that_is_not_an_email_before_asking_for_a_password(
        runner, practice):
    result = runner.invoke(args=["users", "create", "--email", "notanemail", "--role", "admin"])
    assert result.exit_code == 1
    assert result.output == "Error: 'notanemail' is not an email address\n"
    assert stored("notanemail") is None


def test_create_without_a_practice_points_to_practice_create(runner):
    result = runner.invoke(args=["users", "create", "--email", "a@clinic.example",
                                 "--role", "admin", "--password", PASSWORD])
    assert result.exit_code != 0 and "flask practice create" in result.output


def test_list_shows_role_and_state(runner, practice):
    assert "No staff accounts." in runner.invoke(args=["users", "list"]).output
    factories.make_staff(practice, role="marketing", email="m@clinic.example")
    off = factories.make_staff(practice, role="billing", email="off@clinic.example")
    off.active = False
    db.session.commit()
    lines = runner.invoke(args=["users", "list"]).output.splitlines()
    assert lines[0].split() == ["m@clinic.example", "Marketing", "active"]
    assert lines[1].split() == ["off@clinic.example", "Billing", "disabled"]


def test_set_password_replaces_it_lifts_a_lock_and_ends_sessions(runner, practice):
    user = factories.make_staff(practice, email="locked@clinic.example")
    user.locked_until = utcnow() + timedelta(minutes=10)
    db.session.commit()
    open_session, _ = sessions.start(user=user, absolute_hours=12, ip=None, user_agent=None)
    result = runner.invoke(args=["users", "set-password", "--email", "LOCKED@clinic.example"],
                           input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    user = stored("locked@clinic.example")
    assert verify_password(user.password_hash, PASSWORD)
    assert user.locked_until is None
    assert db.session.get(StaffSession, open_session.id).ended_reason == "password_set"
    missing = runner.invoke(args=["users", "set-password", "--email", "no@clinic.example",
                                  "--password", PASSWORD])
    assert missing.exit_code != 0 and "no staff account" in missing.output


def test_disable_and_enable(runner, practice):
    factories.make_staff(practice, role="admin", email="boss@clinic.example")
    factories.make_staff(practice, email="desk@clinic.example")
    assert runner.invoke(args=["users", "disable", "--email", "desk@clinic.example"]
                         ).exit_code == 0
    assert not stored("desk@clinic.example").active
    assert runner.invoke(args=["users", "enable", "--email", "desk@clinic.example"]
                         ).exit_code == 0
    assert stored("desk@clinic.example").active
    last_admin = runner.invoke(args=["users", "disable", "--email", "boss@clinic.example"])
    assert last_admin.exit_code != 0 and "at least one active admin" in last_admin.output
    assert stored("boss@clinic.example").active


def test_nothing_is_asked_before_the_practice_and_the_account_are_known(runner, practice):
    missing = runner.invoke(args=["users", "set-password", "--email", "no@clinic.example"])
    assert missing.exit_code != 0 and "Password" not in missing.output
    assert "no staff account with email no@clinic.example" in missing.output
    elsewhere = runner.invoke(args=["users", "create", "--practice", str(practice.id + 1),
                                    "--email", "a@clinic.example", "--role", "admin"])
    assert elsewhere.exit_code != 0 and "Password" not in elsewhere.output
    assert "no such practice" in elsewhere.output
