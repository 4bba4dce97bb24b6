"""Billing's staff screens: balances with aging filters, a patient's account and ledger,
payment requests and their states, sending a link, adjustments and refunds, the fee
schedule, and the copay asked at check-in.

Front desk (``PAYMENT_LINK_SEND``, ``BALANCE_VIEW``) sends links and sees balances; billing,
managers and admins (``BALANCE_ADJUST``) also post adjustments and refunds. Other screens
link here by endpoint name: ``billing.patient`` (a patient's account) and
``billing.send_link`` (POST ``kind`` = balance | amount, ``amount``, optional ``next``: a path
on this site to return to, e.g. the inbox's patient panel). The inbox's panel shows
``billing.inbox_panel`` (templates/billing/_inbox_panel.html loads it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from app.billing import accounts, fees, plans, queries, refunds, requests, statements
from app.billing.forms import (
    AdjustmentForm,
    FeeForm,
    PlanForm,
    RefundForm,
    SendLinkForm,
)
from app.billing.ledger import BUCKETS
from app.billing.models import RequestStatus
from app.billing.money import AmountInvalid, dollars, parse_cents
from app.core.errors import FieldErrors
from app.security.permissions import Permission, requires, role_can
from app.web.next_url import safe_next
from app.web.paging import page_arg

bp = Blueprint("billing", __name__, url_prefix="/billing")


def _refused(error: FieldErrors) -> None:
    flash("; ".join(str(reason) for reason in error.errors.values()), "error")


def _cents(text: str | None) -> int:
    try:
        return parse_cents(text)
    except AmountInvalid as invalid:
        raise accounts.LedgerInputError({"amount": str(invalid)}) from None


@bp.get("/")
@requires(Permission.BALANCE_VIEW)
def index() -> Any:
    bucket = request.args.get("aging") if request.args.get("aging") in BUCKETS else None
    found = queries.balances(practice_id=current_user.practice_id, bucket=bucket,
                             page=page_arg())
    return render_template("billing/index.html", found=found, rows=found.rows, bucket=bucket,
                           buckets=BUCKETS, dollars=dollars)


@bp.get("/patients/<id:patient_id>")
@requires(Permission.BALANCE_VIEW)
def patient(patient_id: int) -> Any:
    found = _billing_or_404(patient_id)
    return render_template(
        "billing/patient.html", found=found, dollars=dollars, link_form=SendLinkForm(),
        adjust_form=AdjustmentForm(), refund_form=RefundForm(), plan_form=PlanForm(),
        can_adjust=role_can(current_user.role, Permission.BALANCE_ADJUST),
        can_send=role_can(current_user.role, Permission.PAYMENT_LINK_SEND))


@bp.get("/patients/<id:patient_id>/balance")
@requires(Permission.BALANCE_VIEW)
def balance(patient_id: int) -> Any:
    """The live balance (htmx polls it on the account page)."""
    found = _billing_or_404(patient_id)
    return render_template("billing/_balance.html", found=found, dollars=dollars)


@bp.get("/patients/<id:patient_id>/inbox-panel")
@requires(Permission.BALANCE_VIEW)
def inbox_panel(patient_id: int) -> Any:
    """The balance in the inbox's patient panel (loaded into it by htmx), with "send payment
    link" for roles that may send one; ``next``: the conversation to come back to."""
    found = _billing_or_404(patient_id)
    return render_template(
        "billing/_inbox_panel_body.html", found=found, dollars=dollars,
        back=safe_next(request.args.get("next")),
        can_send=role_can(current_user.role, Permission.PAYMENT_LINK_SEND))


@bp.post("/patients/<id:patient_id>/links")
@requires(Permission.PAYMENT_LINK_SEND)
def send_link(patient_id: int) -> Any:
    form = SendLinkForm()
    back = safe_next(form.next.data) or url_for("billing.patient", patient_id=patient_id)
    try:
        sent = requests.send_link(practice_id=current_user.practice_id, patient_id=patient_id,
                                  kind=form.kind.data or "", amount=form.amount.data,
                                  staff_id=current_user.id)
    except accounts.AccountNotFound:
        abort(404)
    except FieldErrors as error:
        _refused(error)
        return redirect(back)
    flash(_("Payment link for %(amount)s queued by %(channel)s.",
            amount=dollars(sent.amount_cents), channel=sent.channel), "success")
    return redirect(back)


@bp.get("/patients/<id:patient_id>/statement.pdf")
@requires(Permission.BALANCE_VIEW)
def statement_pdf(patient_id: int) -> Any:
    """The statement as the patient gets it, without a pay link (that is made when sent)."""
    try:
        statement = statements.build(practice_id=current_user.practice_id,
                                     patient_id=patient_id)
    except accounts.AccountNotFound:
        abort(404)
    return Response(statements.pdf(statement), mimetype="application/pdf",
                    headers={"Content-Disposition": 'inline; filename="statement.pdf"'})


@bp.post("/patients/<id:patient_id>/statement")
@requires(Permission.PAYMENT_LINK_SEND)
def send_statement(patient_id: int) -> Any:
    try:
        sent = statements.send(practice_id=current_user.practice_id, patient_id=patient_id,
                               staff_id=current_user.id)
    except accounts.AccountNotFound:
        abort(404)
    except FieldErrors as error:
        _refused(error)
    else:
        flash(_("Statement for %(amount)s queued by %(channel)s.",
                amount=dollars(sent.amount_cents), channel=sent.channel), "success")
    return redirect(url_for("billing.patient", patient_id=patient_id))


def _post_to_account(patient_id: int, post: Callable[[], str]) -> Any:
    """Run a ledger action of the account page: its message, or the refusal naming the
    field, flashed; back to the account either way."""
    try:
        flash(post(), "success")
    except accounts.AccountNotFound:
        abort(404)
    except FieldErrors as error:
        _refused(error)
    return redirect(url_for("billing.patient", patient_id=patient_id))


@bp.post("/patients/<id:patient_id>/adjustments")
@requires(Permission.BALANCE_ADJUST)
def adjust(patient_id: int) -> Any:
    form = AdjustmentForm()

    def post() -> str:
        accounts.post_adjustment(
            practice_id=current_user.practice_id, patient_id=patient_id,
            reason=form.reason.data or "", amount_cents=_cents(form.amount.data),
            increases=form.direction.data == "raise", note=form.note.data or "",
            staff_id=current_user.id)
        return _("Adjustment posted.")

    return _post_to_account(patient_id, post)


@bp.post("/patients/<id:patient_id>/refunds")
@requires(Permission.BALANCE_ADJUST)
def refund(patient_id: int) -> Any:
    """A card payment is refunded at its provider (posted when confirmed), any other in
    the ledger only."""
    form = RefundForm()

    def post() -> str:
        done = refunds.refund(
            practice_id=current_user.practice_id, patient_id=patient_id,
            payment_id=form.payment.data or 0, amount_cents=_cents(form.amount.data),
            note=form.note.data or "", staff_id=current_user.id)
        if done.pending:
            return _("Refund of %(amount)s asked of the card provider; it posts when the "
                     "provider confirms it.", amount=dollars(done.amount_cents))
        return _("Refund posted.")

    return _post_to_account(patient_id, post)


@bp.post("/patients/<id:patient_id>/plans")
@requires(Permission.BALANCE_ADJUST)
def create_plan(patient_id: int) -> Any:
    form = PlanForm()
    form.validate()
    try:
        plans.create(practice_id=current_user.practice_id, patient_id=patient_id,
                     installments=form.installments.data, first_due=form.first_due.data,
                     staff_id=current_user.id)
    except accounts.AccountNotFound:
        abort(404)
    except FieldErrors as error:
        _refused(error)
    else:
        flash(_("Payment plan set up."), "success")
    return redirect(url_for("billing.patient", patient_id=patient_id))


@bp.get("/requests")
@requires(Permission.BALANCE_VIEW)
def payment_requests() -> Any:
    status = request.args.get("status") if request.args.get("status") in set(
        RequestStatus) else None
    rows = queries.request_states(practice_id=current_user.practice_id, status=status)
    return render_template("billing/requests.html", rows=rows, status=status,
                           statuses=list(RequestStatus), dollars=dollars)


@bp.post("/requests/<id:request_id>/resend")
@requires(Permission.PAYMENT_LINK_SEND)
def resend(request_id: int) -> Any:
    try:
        new = requests.resend(practice_id=current_user.practice_id, request_id=request_id,
                              staff_id=current_user.id)
    except requests.RequestNotFound:
        abort(404)
    except FieldErrors as error:
        _refused(error)
        return redirect(url_for("billing.payment_requests"))
    flash(_("A new link for %(amount)s is on its way.", amount=dollars(new.amount_cents)),
          "success")
    return redirect(url_for("billing.payment_requests"))


@bp.post("/appointments/<id:appointment_id>/copay")
@requires(Permission.PAYMENT_LINK_SEND)
def collect_copay(appointment_id: int) -> Any:
    try:
        sent = requests.send_copay(practice_id=current_user.practice_id,
                                   appointment_id=appointment_id, staff_id=current_user.id)
    except requests.RequestNotFound:
        abort(404)
    except FieldErrors as error:
        _refused(error)
        return redirect(safe_next(request.form.get("next")) or url_for("billing.index"))
    return redirect(url_for("billing.request_state", request_id=sent.id))


@bp.get("/requests/<id:request_id>")
@requires(Permission.PAYMENT_LINK_SEND)
def request_state(request_id: int) -> Any:
    """One request's state; htmx polls the same URL for the live part until it is paid."""
    try:
        shown = queries.request_view(practice_id=current_user.practice_id,
                                     request_id=request_id)
    except requests.RequestNotFound:
        abort(404)
    template = "billing/_request_state.html" if request.headers.get("HX-Request") else (
        "billing/request.html")
    return render_template(template, shown=shown, dollars=dollars)


@bp.route("/fees", methods=["GET", "POST"])
@requires(Permission.PRACTICE_SETTINGS)
def fee_schedule() -> Any:
    form = FeeForm()
    if form.validate_on_submit():
        try:
            fees.set_fee(practice_id=current_user.practice_id,
                         appointment_type_id=form.appointment_type.data, fee=form.fee.data,
                         copay=form.copay.data, staff_id=current_user.id)
        except FieldErrors as error:
            _refused(error)
        else:
            flash(_("Fee saved."), "success")
        return redirect(url_for("billing.fee_schedule"))
    return render_template("billing/fees.html", form=form, dollars=dollars,
                           rows=fees.fee_rows(practice_id=current_user.practice_id))


def _billing_or_404(patient_id: int) -> Any:
    """The patient's balance, ledger and requests (``queries.patient_billing``), or a 404."""
    try:
        return queries.patient_billing(practice_id=current_user.practice_id,
                                       patient_id=patient_id)
    except accounts.AccountNotFound:
        abort(404)
