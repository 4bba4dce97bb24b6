"""Staff invitations: an admin invites by email and role; the link works once, until it
expires, and only while it is the invitation's newest."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from app.core import clock
from app.extensions import db
from app.security.models import AuditEvent, StaffInvitation, StaffUser
from tests import factories

PASSWORD = "a long enough new password"  # noqa: S105


def invite(admin, email="nia@lakeside.example", role="front_desk"):  # noqa: ANN001, ANN201
    response = admin.post("/admin/invitations", data={"email": email, "role": role})
    html = response.get_data(as_text=True)
    match = re.search(r'value="http://localhost(/invite/[^"]+)"', html)
    return response, match.group(1) if match else None


def accept(client, path, name="Nia Okafor", password=PASSWORD, again=PASSWORD):  # noqa: ANN001, ANN201
    return client.post(path, data={"display_name": name, "password": password,
                                   "confirm_password": again})


def test_an_invitee_sets_their_password_and_signs_in(app, login, client):
    admin = login("admin")
    response, path = invite(admin)
    assert response.status_code == 200 and path
    assert "nia@lakeside.example" in admin.get("/admin/invitations").get_data(as_text=True)
    page = client.get(path).get_data(as_text=True)
    assert "nia@lakeside.example" in page and "Front desk" in page
    response = accept(client, path)
    assert response.status_code == 302 and response.headers["Location"] == "/sign-in"
    user = db.session.execute(select(StaffUser).filter_by(email="nia@lakeside.example")
                              ).scalar_one()
    assert (user.role, user.display_name) == ("front_desk", "Nia Okafor")
    signed_in = app.test_client().post("/sign-in", data={"email": user.email,
                                                         "password": PASSWORD})
    assert signed_in.status_code == 302 and signed_in.headers["Location"] == "/"
    assert "nia@lakeside.example" not in admin.get("/admin/invitations").get_data(as_text=True)
    actions = set(db.session.execute(select(AuditEvent.action)).scalars())
    assert {"staff.invite", "staff.invite_accepted", "staff.create"} <= actions


def test_the_link_works_once(app, login, client):
    _, path = invite(login("admin"))
    assert accept(client, path).status_code == 302
    second = accept(app.test_client(), path, name="Someone Else")
    assert second.status_code == 410
    assert "already used" in second.get_data(as_text=True)
    assert db.session.query(StaffUser).filter_by(display_name="Someone Else").count() == 0


def test_an_expired_link_is_refused(login, client, monkeypatch):
    _, path = invite(login("admin"))
    later = clock.utcnow() + timedelta(days=8)
    monkeypatch.setattr(clock, "utcnow", lambda: later)
    response = client.get(path)
    assert response.status_code == 410 and "It has expired." in response.get_data(as_text=True)


def test_a_new_link_replaces_the_old_and_revoking_ends_both(login, client):
    admin = login("admin")
    _, old_path = invite(admin)
    invitation = db.session.execute(select(StaffInvitation)).scalar_one()
    renewed = admin.post(f"/admin/invitations/{invitation.id}/renew")
    new_path = re.search(r'value="http://localhost(/invite/[^"]+)"',
                         renewed.get_data(as_text=True)).group(1)
    assert new_path != old_path
    assert client.get(old_path).status_code == 410
    assert client.get(new_path).status_code == 200
    assert admin.post(f"/admin/invitations/{invitation.id}/revoke").status_code == 302
    assert client.get(new_path).status_code == 410


def test_a_tampered_link_is_404(client, practice):
    assert client.get("/invite/not-a-token").status_code == 404


def test_invitation_errors_name_the_field(login, practice):
    admin = login("admin")
    existing = factories.make_staff(practice)
    response, path = invite(admin, email=existing.email)
    assert response.status_code == 400 and path is None
    assert "already exists" in response.get_data(as_text=True)
    invite(admin)
    response, _ = invite(admin)
    assert response.status_code == 400 and "already invited" in response.get_data(as_text=True)
    response, _ = invite(admin, email="not an email")
    assert response.status_code == 400
    assert db.session.query(StaffInvitation).count() == 1


def test_the_invitee_password_rules_are_shown_beside_the_fields(login, client):
    _, path = invite(login("admin"))
    response = accept(client, path, password="short", again="other")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Use at least" in html and "The two passwords differ." in html
    assert db.session.query(StaffUser).filter_by(email="nia@lakeside.example").count() == 0


def test_only_admins_invite_and_another_practices_invitation_is_404(login, practice):
    admin = login("admin")
    invite(admin)
    invitation = db.session.execute(select(StaffInvitation)).scalar_one()
    manager = login("manager")
    assert manager.get("/admin/invitations").status_code == 403
    assert manager.post(f"/admin/invitations/{invitation.id}/revoke").status_code == 403
    other_admin = factories.make_staff(factories.make_practice(name="Elsewhere"), role="admin")
    from flask import current_app

    elsewhere = current_app.test_client()
    elsewhere.post("/sign-in", data={"email": other_admin.email,
                                     "password": factories.STAFF_PASSWORD})
    assert elsewhere.post(f"/admin/invitations/{invitation.id}/revoke").status_code == 404
    assert elsewhere.post(f"/admin/invitations/{invitation.id}/renew").status_code == 404
    assert "nia@lakeside.example" not in elsewhere.get("/admin/invitations").get_data(
        as_text=True)
    db.session.refresh(invitation)
    assert invitation.revoked_at is None


def test_the_invitee_sees_the_practice_that_invites_them(app, practice, client):
    second = factories.make_practice(name="Harbor Dental")
    admin = factories.make_staff(second, role="admin")
    signed_in = app.test_client()
    signed_in.post("/sign-in", data={"email": admin.email, "password": factories.STAFF_PASSWORD})
    _, path = invite(signed_in)
    html = client.get(path).get_data(as_text=True)
    assert "Harbor Dental invites you" in html and "Lakeside Family Dental" not in html
