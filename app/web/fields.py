"""Form fields shared by the staff screens."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import IntegerField

from app.core.ids import MAX_ROW_ID


class IdField(IntegerField):
    """A record id from a form or a query string. A number no id column can hold is this
    field's error and leaves ``data`` None, so it never reaches the database (where it would
    overflow the column)."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata(valuelist)
        if self.data is not None and not 1 <= self.data <= MAX_ROW_ID:
            self.data = None
            raise ValueError(_l("Not a valid choice."))
