from pathlib import Path

from app.extensions import db
from app.patients import lookups
from app.patients.models import Patient
from app.security.models import AuditEvent

HEADER = ("external_id,first_name,last_name,date_of_birth,sex,mobile_phone,home_phone,email,"
          "language,address_line,city,state,postal_code,favorite_color\n")


def _write(tmp_path: Path, *rows: str, header: str = HEADER, bom: bool = False) -> Path:
    path = tmp_path / "patients.csv"
    path.write_text(("\ufeff" if bom else "") + header + "".join(r + "\n" for r in rows),
                    encoding="utf-8")
    return path


GOOD = [
    "A-1,José,Peña,1970-03-04,M,(312) 555-0147,,jose@example.com,es,1 Elm St,Chicago,IL,60601,red",
    "A-2,Ann,Lee,1982-11-30,F,312.555.0148,,ann@example.com,en,2 Oak St,Chicago,IL,60602,blue",
    "A-3,Bo,Kim,1990-01-15,m,+1 312 555 0149,,,en,,,,,green",
    "A-4,Cy,Ng,2001-07-07,,3125550150,(773) 555-0101,,,,,,,",
]


def _patients():
    return db.session.execute(db.select(Patient).order_by(Patient.id)).scalars().all()


def test_import_reads_messy_phones_accents_and_ignores_extra_columns(runner, practice, tmp_path):
    result = runner.invoke(args=["import", "patients", str(_write(tmp_path, *GOOD, bom=True))])
    assert result.exit_code == 0, result.output
    assert "imported:  4 new" in result.output
    assert "rejected:  0" in result.output
    patients = _patients()
    assert [p.mobile_phone for p in patients] == [
        "+13125550147", "+13125550148", "+13125550149", "+13125550150"]
    assert patients[0].given_name == "José" and patients[0].family_name == "Peña"
    assert patients[0].preferred_language == "es"
    assert patients[0].external_id == "A-1"
    assert patients[3].home_phone == "+17735550101"
    assert patients[3].sex == "unknown"
    event = db.session.execute(db.select(AuditEvent)).scalars().one()
    assert event.action == "patient.import"
    assert '"imported":4' in event.detail


def test_second_run_updates_by_external_id_instead_of_duplicating(runner, practice, tmp_path):
    runner.invoke(args=["import", "patients", str(_write(tmp_path, *GOOD))])
    changed = GOOD[1].replace("ann@example.com", "ann.lee@example.com")
    result = runner.invoke(args=["import", "patients",
                                 str(_write(tmp_path, GOOD[0], changed, GOOD[2], GOOD[3]))])
    assert result.exit_code == 0, result.output
    assert "imported:  0 new" in result.output
    assert "updated:   1" in result.output
    assert "unchanged: 3" in result.output
    assert len(_patients()) == 4
    found = lookups.patient_by_external_id(practice_id=practice.id, external_id="A-2")
    assert found.email == "ann.lee@example.com"


def test_rejected_rows_are_reported_with_line_and_reason_and_others_import(
        runner, practice, tmp_path):
    rows = [
        GOOD[0],
        "B-1,Dee,Fox,1980-13-01,F,312-555-0160,,,en,,,,,",       # line 3: bad date
        "B-2,Eve,Gray,1979-05-05,F,555,,,en,,,,,",                # line 4: bad phone
        "B-3,,Hale,1979-05-05,F,312-555-0161,,,en,,,,,",          # line 5: no first name
        "A-1,José,Peña,1970-03-04,M,312 555 0147,,,es,,,,,",       # line 6: duplicate id
        GOOD[1],
    ]
    result = runner.invoke(args=["import", "patients", str(_write(tmp_path, *rows))])
    assert result.exit_code == 0, result.output
    assert "imported:  2 new" in result.output
    assert "rejected:  4" in result.output
    assert "line 3: bad date '1980-13-01'" in result.output
    assert "line 4: unparseable mobile phone '555'" in result.output
    assert "line 5: missing first name" in result.output
    assert "line 6: external_id 'A-1' already appears on line 2" in result.output
    assert len(_patients()) == 2


def test_dry_run_reports_and_writes_nothing(runner, practice, tmp_path):
    result = runner.invoke(args=["import", "patients", "--dry-run",
                                 str(_write(tmp_path, *GOOD))])
    assert result.exit_code == 0, result.output
    assert "Dry run (nothing written)" in result.output
    assert "imported:  4 would be new" in result.output
    assert _patients() == []
    assert db.session.execute(db.select(AuditEvent)).scalars().all() == []


def test_missing_header_column_is_named_and_nothing_is_imported(runner, practice, tmp_path):
    header = HEADER.replace("date_of_birth,", "").replace("first_name,", "")
    result = runner.invoke(args=["import", "patients",
                                 str(_write(tmp_path, "x", header=header))])
    assert result.exit_code == 1
    assert result.output == ("Error: patients.csv: the header row lacks the column(s): first_name, "
                             "date_of_birth\n")
    assert _patients() == []


def test_import_without_a_practice_says_what_to_do(runner, tmp_path):
    result = runner.invoke(args=["import", "patients", str(_write(tmp_path, *GOOD))])
    assert result.exit_code != 0
    assert "no practice exists yet: create one with 'flask practice create" in result.output


def test_a_file_that_is_not_utf8_is_refused_clearly(runner, practice, tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes((HEADER + GOOD[0] + "\n").encode("latin-1"))
    result = runner.invoke(args=["import", "patients", str(path)])
    assert result.exit_code == 1
    assert result.output == ("Error: latin1.csv: not UTF-8 text (save it from the spreadsheet "
                             "as CSV UTF-8)\n")
    assert _patients() == []


def test_rows_without_external_id_update_the_same_person_on_a_second_run(
        runner, practice, tmp_path):
    header = "first_name,last_name,date_of_birth,mobile_phone\n"
    runner.invoke(args=["import", "patients", str(_write(
        tmp_path, "Ann,Lee,1982-11-30,312 555 0148", header=header))])
    result = runner.invoke(args=["import", "patients", str(_write(
        tmp_path, "Ann,Lee,1982-11-30,312 555 0199", header=header))])
    assert "updated:   1" in result.output, result.output
    assert [p.mobile_phone for p in _patients()] == ["+13125550199"]


def test_only_names_and_birth_date_columns_are_required(runner, practice, tmp_path):
    header = "last_name,first_name,date_of_birth\n"
    result = runner.invoke(args=["import", "patients", str(_write(
        tmp_path, "Lee,Ann,1982-11-30", header=header))])
    assert "imported:  1 new" in result.output, result.output
