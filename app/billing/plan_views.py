"""Billing staff's payment-plan actions (``BALANCE_ADJUST``): cancel a plan with a reason
(its own screen, showing what stops and what stays), and withdraw the patient's saved-card
agreement on their word. Routes of the ``billing`` blueprint."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.billing import accounts, cards, plans, queries
from app.billing.forms import CancelPlanForm
from app.billing.money import dollars
from app.billing.views import _refused, bp
from app.core.errors import FieldErrors
from app.security.permissions import Permission, requires


def _plan_or_404(plan_id: int):  # noqa: ANN202
    try:
        return plans.get_plan(practice_id=current_user.practice_id, plan_id=plan_id)
    except accounts.AccountNotFound:
        abort(404)


@bp.get("/plans/<id:plan_id>/cancel")
@requires(Permission.BALANCE_ADJUST)
def cancel_plan_page(plan_id: int) -> Any:
    try:
        shown = queries.plan_view(practice_id=current_user.practice_id, plan_id=plan_id)
    except accounts.AccountNotFound:
        abort(404)
    return render_template("billing/plan_cancel.html", shown=shown, form=CancelPlanForm(),
                           dollars=dollars)


@bp.post("/plans/<id:plan_id>/cancel")
@requires(Permission.BALANCE_ADJUST)
def cancel_plan(plan_id: int) -> Any:
    plan = _plan_or_404(plan_id)
    try:
        told = plans.cancel(practice_id=current_user.practice_id, plan_id=plan.id,
                            reason=CancelPlanForm().reason.data or "", staff_id=current_user.id)
    except FieldErrors as error:
        _refused(error)
        return redirect(url_for("billing.cancel_plan_page", plan_id=plan.id))
    flash(_("Payment plan cancelled; the patient is told by %(channel)s.", channel=told)
          if told else _("Payment plan cancelled. The patient could not be told: no billing "
                         "consent on any channel; call them."), "success")
    return redirect(url_for("billing.patient", patient_id=plan.patient_id))


@bp.post("/plans/<id:plan_id>/card/withdraw")
@requires(Permission.BALANCE_ADJUST)
def withdraw_card(plan_id: int) -> Any:
    plan = _plan_or_404(plan_id)
    try:
        cards.withdraw(practice_id=current_user.practice_id, plan_id=plan.id,
                       staff_id=current_user.id)
    except FieldErrors as error:
        _refused(error)
    else:
        flash(_("The saved card will not be charged again; links are sent before each "
                "installment."), "success")
    return redirect(url_for("billing.patient", patient_id=plan.patient_id))
