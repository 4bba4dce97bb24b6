"""Importing patients from a CSV file in the browser: the CLI's importer and its report."""

from __future__ import annotations

import io

from sqlalchemy import select

from app.extensions import db
from app.patients.models import Patient
from app.security.models import AuditEvent

GOOD = ("external_id,first_name,last_name,date_of_birth,mobile_phone\n"
        "A1,Rosa,Delgado,1975-05-17,(312) 555-0177\n"
        "A2,Luis,Ortega,not a date,\n"
        "A3,Mei,Chen,1990-02-03,\n")


def upload(client, content: bytes, *, dry_run: bool = False):  # noqa: ANN001, ANN201
    data = {"csv_file": (io.BytesIO(content), "patients.csv")}
    if dry_run:
        data["dry_run"] = "y"
    return client.post("/patients/import", data=data, content_type="multipart/form-data")


def test_an_upload_imports_and_reports_each_rejected_line(login, practice):
    response = upload(login("manager"), GOOD.encode())
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Import finished: 3 rows" in html and "2 new" in html
    assert "line 3:" in html and "date" in html
    names = set(db.session.execute(select(Patient.family_name)).scalars())
    assert names == {"Delgado", "Chen"}
    assert db.session.execute(select(AuditEvent.action)
                              .where(AuditEvent.action == "patient.import")).scalar()


def test_a_dry_run_reports_and_writes_nothing(login, practice):
    html = upload(login("admin"), GOOD.encode(), dry_run=True).get_data(as_text=True)
    assert "Dry run (nothing written): 3 rows" in html and "2 would be new" in html
    assert db.session.query(Patient).count() == 0


def test_a_file_that_is_not_utf8_is_refused_clearly(login, practice):
    response = upload(login("admin"), GOOD.replace("Chen", "Müller").encode("latin-1"))
    assert response.status_code == 400
    assert "not UTF-8 text" in response.get_data(as_text=True)
    assert db.session.query(Patient).count() == 0


def test_a_file_without_a_header_row_is_refused_clearly(login, practice):
    response = upload(login("admin"), b"Rosa,Delgado,1975-05-17\n")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "the header row lacks the column(s): first_name, last_name, date_of_birth" in html
    assert upload(login("admin"), b"").status_code == 400


def test_no_file_is_a_field_error(login, practice):
    response = login("admin").post("/patients/import", data={},
                                   content_type="multipart/form-data")
    assert response.status_code == 400
    assert "Choose the CSV file to import." in response.get_data(as_text=True)


def test_front_desk_may_not_import(login, practice):
    assert upload(login("front_desk"), GOOD.encode()).status_code == 403
    assert db.session.query(Patient).count() == 0


def test_the_report_of_a_spanish_page_gives_its_reasons_in_spanish(login, practice):
    content = ("first_name,last_name,date_of_birth,sex\n"
               "Rosa,Delgado,1975-05-17,\n"
               "Luis,Ortega,1990-02-30,\n"
               ",Chen,1990-02-03,robot\n")
    response = login("manager").post("/patients/import", headers={"Accept-Language": "es"},
                                     data={"csv_file": (io.BytesIO(content.encode()), "p.csv")},
                                     content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert "línea 3: fecha no válida &#39;1990-02-30&#39; (se espera AAAA-MM-DD)" in html
    assert ("línea 4: falta el nombre; sexo desconocido &#39;robot&#39; (female, male, other o "
            "unknown)") in html
    assert "expected" not in html and "missing" not in html
