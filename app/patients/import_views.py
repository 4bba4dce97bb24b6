"""Import patients from a CSV file in the browser: the same importer, and the same per-line
report, as ``flask import patients``."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField

from app.patients.importer import COLUMNS, REQUIRED_COLUMNS, ImportFileError, import_patients_upload
from app.security.permissions import Permission, requires

bp = Blueprint("patient_import", __name__, url_prefix="/patients/import")


class ImportForm(FlaskForm):
    csv_file = FileField(_l("CSV file"), validators=[
        FileRequired(message=_l("Choose the CSV file to import."))])
    dry_run = BooleanField(_l("Dry run: check every row and report, write nothing"))


@bp.route("", methods=["GET", "POST"])
@requires(Permission.PRACTICE_SETTINGS)
def upload() -> Any:
    form = ImportForm()
    report = None
    if form.validate_on_submit():
        try:
            report = import_patients_upload(practice_id=current_user.practice_id,
                                            data=form.csv_file.data.read(),
                                            dry_run=form.dry_run.data)
        except ImportFileError as error:
            form.csv_file.errors = [*form.csv_file.errors, str(error)]
    status = 400 if form.errors else 200
    return render_template("patients/import.html", form=form, report=report, columns=COLUMNS,
                           required=REQUIRED_COLUMNS), status
