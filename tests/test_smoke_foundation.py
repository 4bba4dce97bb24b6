from tests import factories


def test_health_reports_database_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_signed_in_front_desk_sees_practice_home(login, practice):
    client = login("front_desk")
    page = client.get("/")
    assert page.status_code == 200
    assert practice.name in page.get_data(as_text=True)


def test_anonymous_home_redirects_to_sign_in(client, practice):
    response = client.get("/")
    assert response.status_code == 302
    assert "/sign-in" in response.headers["Location"]


def test_patient_round_trips_through_encryption(app, practice):
    patient = factories.make_patient(practice, given_name="Zebulon")
    from app.extensions import db
    db.session.expire_all()
    assert db.session.get(type(patient), patient.id).given_name == "Zebulon"
