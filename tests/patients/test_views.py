import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.core.clock import utcnow
from app.extensions import db
from app.security.models import AuditEvent
from tests import factories


@pytest.fixture
def staff(login):
    return login("front_desk")


@pytest.fixture
def garcia(practice):
    return factories.make_patient(practice, given_name="María", family_name="García",
                                  date_of_birth=date(1984, 3, 9), mobile_phone="+13125550134",
                                  preferred_language="es")


@pytest.fixture
def others(practice):
    return [factories.make_patient(practice, given_name="Luis", family_name="García",
                                   date_of_birth=date(1990, 7, 1)),
            factories.make_patient(practice, given_name="Ann", family_name="Smith",
                                   date_of_birth=date(1984, 3, 9))]


def _names(page: str, *patients) -> list[str]:
    return [p.full_name for p in patients if f"{p.family_name}, {p.given_name}" in page]


def _events(action: str) -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.execute(
        select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)).scalars())


@pytest.mark.parametrize(("query", "expected"), [
    ("garcia", ["Luis García", "María García"]),
    ("María García", ["María García"]),
    ("Garcia, Maria", ["María García"]),
    ("GARCÍA maría", ["María García"]),
    ("Smith, Maria", []),
])
def test_search_by_name_finds_the_patient(staff, garcia, others, query, expected):
    page = staff.post("/patients/search", data={"q": query}).get_data(as_text=True)
    assert sorted(_names(page, garcia, *others)) == expected


@pytest.mark.parametrize("query", ["1984-03-09", "03/09/1984", "3/9/1984"])
def test_search_by_date_of_birth(staff, garcia, others, query):
    page = staff.post("/patients/search", data={"q": query}).get_data(as_text=True)
    assert sorted(_names(page, garcia, *others)) == ["Ann Smith", "María García"]


@pytest.mark.parametrize("query", ["(312) 555-0134", "312.555.0134", "+1 312 555 0134"])
def test_search_by_phone_in_any_format(staff, garcia, others, query):
    page = staff.post("/patients/search", data={"q": query}).get_data(as_text=True)
    assert _names(page, garcia, *others) == ["María García"]
    assert "(312) 555-0134" in page  # the mobile shown in national format


def test_search_by_home_phone(staff, practice, garcia):
    other = factories.make_patient(practice, mobile_phone=None, home_phone="+13125559876")
    page = staff.post("/patients/search", data={"q": "312-555-9876"}).get_data(as_text=True)
    assert _names(page, garcia, other) == [other.full_name]


@pytest.mark.parametrize("query", ["maria garcia 1984-03-09", "García, María 03/09/1984",
                                   "garcia 1984-03-09"])
def test_search_by_name_and_date_of_birth(staff, garcia, others, query):
    page = staff.post("/patients/search", data={"q": query}).get_data(as_text=True)
    assert _names(page, garcia, *others) == ["María García"]


def test_search_only_finds_patients_of_the_staff_members_practice(staff, garcia):
    elsewhere = factories.make_practice(name="Elsewhere Dental")
    stranger = factories.make_patient(elsewhere, family_name="García", given_name="Eva")
    page = staff.post("/patients/search", data={"q": "garcia"}).get_data(as_text=True)
    assert _names(page, garcia, stranger) == ["María García"]


def test_no_query_lists_recently_updated_patients(staff, practice, garcia, others):
    garcia.updated_at = utcnow() + timedelta(minutes=5)
    db.session.commit()
    page = staff.get("/patients").get_data(as_text=True)
    assert "Recently updated" in page
    assert page.index("García, María") < page.index("Smith, Ann")


@pytest.mark.parametrize(("query", "message"), [
    ("13/45/1984", "13/45/1984 is not a real date."),
    ("555-0000-000", "555-0000-000 is not a valid phone number."),
    ("?!", "Search by name, date of birth"),
    ("x" * 101, "Use at most 100 characters."),
])
def test_unreadable_search_says_what_is_wrong(staff, garcia, query, message):
    response = staff.post("/patients/search", data={"q": query})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert message in page and 'aria-invalid="true"' in page
    assert _events("patient.search") == []


def test_search_is_audited_with_kind_and_count_never_the_text(staff, garcia, others):
    staff.post("/patients/search", data={"q": "(312) 555-0134"})
    staff.post("/patients/search", data={"q": "García"})
    events = _events("patient.search")
    assert [json.loads(e.detail) for e in events] == [
        {"kind": "phone", "results": 1, "patient_ids": [garcia.id]},
        {"kind": "name", "results": 2, "patient_ids": [others[0].id, garcia.id]}]  # as shown
    assert all("555" not in e.detail and "arc" not in e.detail for e in events)


def test_htmx_search_returns_only_the_results_fragment(staff, garcia):
    response = staff.post("/patients/search", data={"q": "garcia"},
                         headers={"HX-Request": "true"})
    page = response.get_data(as_text=True)
    assert "García, María" in page
    assert "<html" not in page


@pytest.mark.parametrize(("method", "path"), [("GET", "/patients"), ("POST", "/patients/search"),
                                              ("GET", "/patients/{id}")])
def test_marketing_may_not_see_patients(login, garcia, method, path):
    response = login("marketing").open(path.format(id=garcia.id), method=method,
                                       data={"q": "garcia"} if method == "POST" else None)
    assert response.status_code == 403
    assert "García" not in response.get_data(as_text=True)
    assert _events("patient.view") == [] and _events("patient.search") == []


def test_patient_pages_in_spanish(staff, garcia):
    headers = {"Accept-Language": "es"}
    search = staff.post("/patients/search", data={"q": "garcia"}, headers=headers)
    assert "1 paciente encontrado" in search.get_data(as_text=True)
    record = staff.get(f"/patients/{garcia.id}", headers=headers).get_data(as_text=True)
    assert '<html lang="es" ' in record
    assert "Próximas citas" in record and "9 mar 1984" in record and "Español" in record


@pytest.mark.parametrize(("query", "expected"), [
    ("Gar", ["Luis García", "María García"]),
    ("garc", ["Luis García", "María García"]),
    ("Maria", ["María García"]),
    ("Maria Garcia", ["María García"]),
    ("Mar Gar", ["María García"]),
    ("Ga", []),  # two letters start no name: at least three are needed
    ("Garcia Lopez", []),
])
def test_search_finds_name_starts_first_names_and_first_last(staff, garcia, others, query,
                                                             expected):
    page = staff.post("/patients/search", data={"q": query}).get_data(as_text=True)
    assert sorted(_names(page, garcia, *others)) == expected


def test_search_finds_a_double_family_name_by_either_part(staff, practice):
    maria = factories.make_patient(practice, given_name="Maria", family_name="Garcia Lopez")
    for query in ("Maria Garcia", "Lopez", "maria lop"):
        page = staff.post("/patients/search", data={"q": query}).get_data(as_text=True)
        assert _names(page, maria) == [maria.full_name], query


def test_short_family_names_are_found_whole(staff, practice):
    li = factories.make_patient(practice, given_name="Wen", family_name="Li")
    page = staff.post("/patients/search", data={"q": "Li"}).get_data(as_text=True)
    assert _names(page, li) == ["Wen Li"]
