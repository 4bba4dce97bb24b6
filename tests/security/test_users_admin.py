"""The admin screens for staff accounts."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.core.clock import utcnow
from app.extensions import db
from app.security import signin, staff
from app.security.models import AuditEvent, StaffUser
from app.security.passwords import verify_password
from tests import factories


@pytest.fixture
def admin_client(login):
    return login("admin")


def admin() -> StaffUser:
    """The signed-in admin: the first made (without an order PostgreSQL may return any)."""
    return db.session.execute(select(StaffUser).filter_by(role="admin")
                              .order_by(StaffUser.id)).scalars().first()


def audited(action: str) -> list[AuditEvent]:
    return list(db.session.execute(select(AuditEvent).filter_by(action=action)).scalars())


def test_admin_lists_the_practice_staff_but_not_other_practices(admin_client, practice):
    colleague = factories.make_staff(practice, role="billing", email="bea@clinic.example")
    colleague.locked_until = utcnow() + timedelta(minutes=5)
    db.session.commit()
    elsewhere = factories.make_staff(factories.make_practice("Other Dental"),
                                     email="stranger@other.example")
    page = admin_client.get("/admin/users").get_data(as_text=True)
    assert "bea@clinic.example" in page and "Billing" in page
    assert "Locked after failed sign-ins" in page
    assert elsewhere.email not in page
    assert admin_client.get(f"/admin/users/{elsewhere.id}").status_code == 404


def test_admin_creates_an_account_that_can_sign_in(admin_client):
    response = admin_client.post("/admin/users/new", data={
        "email": " New.Person@Clinic.example ", "display_name": "New Person",
        "role": "front_desk", "password": "a long first password"})
    assert response.status_code == 302
    user = db.session.execute(
        select(StaffUser).filter_by(email="new.person@clinic.example")).scalar_one()
    assert (user.role, user.display_name, user.active) == ("front_desk", "New Person", True)
    assert verify_password(user.password_hash, "a long first password")
    [event] = audited("staff.create")
    assert event.object_id == str(user.id) and event.actor_id == admin().id
    assert json.loads(event.detail) == {"role": "front_desk"}


@pytest.mark.parametrize(("field", "value", "message"), [
    ("email", "not-an-email", "Invalid email address."),
    ("password", "too short", "Use at least 12 characters."),
    ("role", "owner", "Not a valid choice."),
    ("display_name", "", "This field is required."),
])
def test_create_form_names_the_bad_field(admin_client, field, value, message):
    data = {"email": "ok@clinic.example", "display_name": "Ok", "role": "billing",
            "password": "a long first password", field: value}
    page = admin_client.post("/admin/users/new", data=data)
    assert page.status_code == 200
    assert message in page.get_data(as_text=True)
    assert db.session.execute(select(StaffUser).filter_by(email="ok@clinic.example")
                              ).first() is None


def test_duplicate_email_is_refused_on_the_email_field(admin_client, practice):
    factories.make_staff(practice, email="taken@clinic.example")
    page = admin_client.post("/admin/users/new", data={
        "email": "TAKEN@clinic.example", "display_name": "Twin", "role": "billing",
        "password": "a long first password"})
    assert "A staff account with this email already exists." in page.get_data(as_text=True)


def test_admin_changes_a_role_and_disables_an_account(admin_client, practice):
    user = factories.make_staff(practice, role="front_desk")
    assert admin_client.get(f"/admin/users/{user.id}").status_code == 200
    response = admin_client.post(f"/admin/users/{user.id}", data={
        "display_name": "Renamed", "role": "manager", "active": ""})
    assert response.status_code == 302
    db.session.refresh(user)
    assert (user.display_name, user.role, user.active) == ("Renamed", "manager", False)
    [event] = audited("staff.update")
    assert json.loads(event.detail) == {"changed": ["display_name", "role", "active"],
                                        "role": "manager", "active": False}
    with pytest.raises(signin.InvalidCredentials):
        signin.sign_in(email=user.email, password=factories.STAFF_PASSWORD, ip="192.0.2.1")


def test_the_last_admin_cannot_demote_themselves(admin_client):
    me = admin()
    page = admin_client.post(f"/admin/users/{me.id}", data={
        "display_name": me.display_name, "role": "manager", "active": "y"})
    assert page.status_code == 200
    assert "Keep at least one active admin" in page.get_data(as_text=True)
    db.session.refresh(me)
    assert me.role == "admin"
    assert audited("staff.update") == []


def test_an_admin_cannot_disable_themselves(admin_client, practice):
    factories.make_staff(practice, role="admin")
    me = admin()
    page = admin_client.post(f"/admin/users/{me.id}", data={
        "display_name": me.display_name, "role": "admin", "active": ""})
    assert "You cannot disable your own account." in page.get_data(as_text=True)
    db.session.refresh(me)
    assert me.active


def test_an_admin_may_step_down_when_another_admin_remains(admin_client, practice):
    factories.make_staff(practice, role="admin")
    me = admin()
    response = admin_client.post(f"/admin/users/{me.id}", data={
        "display_name": me.display_name, "role": "manager", "active": "y"})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    db.session.refresh(me)
    assert me.role == "manager"


def test_disabling_the_other_last_admin_is_refused(admin_client, practice):
    other = factories.make_staff(practice, role="admin")
    me = admin()
    admin_client.post(f"/admin/users/{me.id}", data={
        "display_name": me.display_name, "role": "manager", "active": "y"})
    # ``me`` is now a manager: only ``other`` is an admin, and the service guards it too.
    with pytest.raises(staff.LastAdmin):
        staff.update_staff(user_id=other.id, active=False)
    db.session.refresh(other)
    assert other.active
