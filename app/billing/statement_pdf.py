"""A statement as a one-or-more-page PDF (fpdf2), with the pay link as a QR code (segno).

fpdf2's built-in Helvetica covers Latin-1, which holds English and Spanish; a character
outside it (a name in another script) prints as "?" rather than failing the statement.
Labels come from the catalog in the statement's language (the caller forces the locale).
"""

from __future__ import annotations

import io

import segno
from flask_babel import gettext as _
from fpdf import FPDF

from app.billing.ledger import BUCKETS
from app.billing.money import dollars
from app.billing.statements import Statement
from app.billing.wording import describe

KIND_LABELS = {"charge": "Charge", "insurance_payment": "Insurance payment",
               "adjustment": "Adjustment", "patient_payment": "Patient payment",
               "refund": "Refund", "dispute": "Dispute"}


def _latin1(text: str) -> str:
    return text.encode("latin-1", "replace").decode("latin-1")


def _bucket(name: str) -> str:
    return {"current": _("Current (0-30 days)"), "31_60": _("31-60 days"),
            "61_90": _("61-90 days"), "over_90": _("Over 90 days")}[name]


def render(statement: Statement) -> bytes:
    pdf = FPDF(format="letter")
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 9, _latin1(statement.practice_name), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    pdf.cell(0, 5, _latin1(statement.practice_phone), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Helvetica", "B", 13)
    pdf.cell(0, 7, _latin1(_("Statement of %(date)s", date=statement.on.isoformat())),
             new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    for line in (statement.patient_name, *statement.address):
        pdf.cell(0, 5, _latin1(line), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    _summary(pdf, statement)
    _lines(pdf, statement)
    return bytes(pdf.output())


def _summary(pdf: FPDF, statement: Statement) -> None:
    top = pdf.get_y()
    pdf.set_font("Helvetica", "B", 12)
    pdf.cell(0, 7, _latin1(_("Amount due: %(amount)s", amount=dollars(
        max(statement.balance_cents, 0)))), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    for name, cents in zip(BUCKETS, statement.aging.as_dict().values(), strict=True):
        pdf.cell(45, 5, _latin1(_bucket(name)))
        pdf.cell(30, 5, dollars(cents), align="R", new_x="LMARGIN", new_y="NEXT")
    if statement.pay_url:
        pdf.ln(2)
        invitation = _("Pay online: scan the code or open %(url)s", url=statement.pay_url)
        pdf.multi_cell(110, 5, align="L", text=_latin1(invitation))
        image = io.BytesIO()
        segno.make(statement.pay_url, error="m").save(image, kind="png", scale=4, border=2)
        image.seek(0)
        pdf.image(image, x=pdf.w - pdf.r_margin - 38, y=top, w=38, h=38)
    pdf.set_y(max(pdf.get_y(), top + 40))


def _lines(pdf: FPDF, statement: Statement) -> None:
    pdf.set_font("Helvetica", "B", 10)
    widths = (30, 45, 80, 30)
    for width, title in zip(widths, (_("Date"), _("Entry"), _("Description"), _("Amount")),
                            strict=True):
        pdf.cell(width, 7, _latin1(title), border="B")
    pdf.ln()
    pdf.set_font("Helvetica", "", 10)
    for line in statement.lines:
        pdf.cell(widths[0], 6, line.on.isoformat())
        pdf.cell(widths[1], 6, _latin1(_(KIND_LABELS.get(line.kind, line.kind))))
        pdf.cell(widths[2], 6, _latin1(describe(line.description)))
        pdf.cell(widths[3], 6, dollars(line.amount_cents), align="R", new_x="LMARGIN",
                 new_y="NEXT")
    pdf.set_font("Helvetica", "B", 10)
    pdf.cell(sum(widths[:3]), 7, _latin1(_("Balance")), border="T")
    pdf.cell(widths[3], 7, dollars(statement.balance_cents), border="T", align="R")
