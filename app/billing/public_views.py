"""The patient's payment pages: the signed link (``/p/<token>``), the checkout it starts,
the page the provider returns to, and the demo provider's checkout (``/pay/demo/<session>``,
registered only while ``PAYMENT_PROVIDER=demo``)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, redirect, render_template, request
from flask_wtf import FlaskForm

from app.billing import checkout, statements
from app.billing.money import dollars
from app.security.links import LinkClaims, LinkPurpose, patient_link, public_link_url
from app.security.permissions import public
from app.web.scope import act_for

bp = Blueprint("pay", __name__)
demo_bp = Blueprint("pay_demo", __name__, url_prefix="/pay/demo")


class PayForm(FlaskForm):
    """Only the CSRF token: the amount is the request's, never the browser's."""


def _scoped(link: LinkClaims) -> int:
    practice_id = checkout.practice_of(link.subject_id)
    if practice_id is None:
        abort(404)
    act_for(practice_id)
    return practice_id


def _own_url() -> str:
    return public_link_url(LinkPurpose.PAYMENT, request.view_args["token"])


@bp.get("/p/<token>")
@patient_link(LinkPurpose.PAYMENT)
def pay_page(link: LinkClaims) -> Any:
    practice_id = _scoped(link)
    page = checkout.open_page(practice_id=practice_id, request_id=int(link.subject_id))
    return render_template("billing/pay.html", page=page, form=PayForm(), dollars=dollars,
                           pay_url=_own_url() + "/checkout",
                           statement_url=_own_url() + "/statement.pdf")


@bp.post("/p/<token>/checkout")
@patient_link(LinkPurpose.PAYMENT)
def pay_start(link: LinkClaims) -> Any:
    practice_id = _scoped(link)
    if not PayForm().validate_on_submit():
        return redirect(_own_url())
    try:
        url = checkout.start(practice_id=practice_id, request_id=int(link.subject_id),
                             return_url=_own_url(),
                             save_card=request.form.get("save_card") == "yes")
    except checkout.CheckoutRefused as refused:
        return render_template("billing/pay_refused.html", reason=refused.reason), 409
    return redirect(url, code=303)


@bp.get("/p/<token>/done")
@patient_link(LinkPurpose.PAYMENT)
def pay_done(link: LinkClaims) -> Any:
    practice_id = _scoped(link)
    page = checkout.open_page(practice_id=practice_id, request_id=int(link.subject_id))
    return render_template("billing/pay_done.html", page=page, dollars=dollars)


@bp.get("/p/<token>/statement.pdf")
@patient_link(LinkPurpose.PAYMENT)
def pay_statement(link: LinkClaims) -> Any:
    practice_id = _scoped(link)
    patient_id = checkout.patient_of(practice_id=practice_id, request_id=int(link.subject_id))
    statement = statements.build(practice_id=practice_id, patient_id=patient_id,
                                 pay_url=_own_url())
    return Response(statements.pdf(statement), mimetype="application/pdf",
                    headers={"Content-Disposition": 'inline; filename="statement.pdf"'})


@demo_bp.route("/<session_id>", methods=["GET", "POST"])
@public
def demo_checkout(session_id: str) -> Any:
    found = checkout.demo_request(session_id[:255])
    if found is None:
        abort(404)
    act_for(found.practice_id)
    form, outcome = PayForm(), None
    if form.validate_on_submit():
        paid = checkout.demo_pay(session_id=session_id, card=request.form.get("card", ""))
        outcome = "paid" if paid else "declined"
    return render_template("billing/demo_checkout.html", amount=dollars(found.amount_cents),
                           form=form, outcome=outcome,
                           saves_card=checkout.demo_saves_card(found))
