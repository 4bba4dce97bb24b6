"""The periodic jobs `flask scheduler` runs. A feature adds its job here, and only here.

A job's function runs inside an app context, does its own transaction (commits what it
changed) and returns how many things it handled, for the log line. A job about practice data
runs once per practice, acting for it (``_for_each_practice``); a deployment-wide one (the
sign-in attempts) runs once. It must be safe to run
at any time and more than once: a tick may come late, be coalesced, or (on SQLite, where
there is no lock between processes) be repeated. The function imports its domain's service
when it runs, so loading the registry loads no domain.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

TICK_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Job:
    """``every`` (an interval, first run when the scheduler starts) or ``cron`` (UTC)."""

    name: str
    run: Callable[[], int]
    description: str
    every: timedelta | None = None
    cron: str | None = None

    def __post_init__(self) -> None:
        if (self.every is None) == (self.cron is None):
            raise ValueError(f"job {self.name!r}: give exactly one of every= or cron=")

    def trigger(self) -> BaseTrigger:
        if self.every is not None:  # every scheduler process fires at the same instants
            return IntervalTrigger(seconds=self.every.total_seconds(), start_date=TICK_EPOCH,
                                   timezone=UTC)
        return CronTrigger.from_crontab(self.cron, timezone=UTC)

    def tick_of(self, moment: datetime) -> datetime:
        """The tick ``moment`` belongs to: the interval's start (counted from TICK_EPOCH),
        or the minute for a cron job."""
        if self.every is None:
            return moment.replace(second=0, microsecond=0)
        period = self.every.total_seconds()
        return TICK_EPOCH + timedelta(
            seconds=(moment - TICK_EPOCH).total_seconds() // period * period)

    @property
    def schedule(self) -> str:
        if self.every is None:
            return f"cron {self.cron} (UTC)"
        seconds = int(self.every.total_seconds())
        for unit, size in (("d", 86_400), ("h", 3_600), ("min", 60)):
            if seconds % size == 0:
                return f"every {seconds // size} {unit}"
        return f"every {seconds} s"


def _prune_sign_in_attempts() -> int:
    from app.security.signin import prune_attempts

    return prune_attempts()


def _prune_staff_sessions() -> int:
    from app.security.sessions import prune

    return prune()


def _seal_audit_trail() -> int:
    from app.security.audit import seal

    return seal()


def _for_each_practice(run: Callable[[], int]) -> int:
    """Run a job once per practice, acting for it (``app.core.tenancy``); the total handled."""
    from sqlalchemy import select

    from app.core.tenancy import acting_for
    from app.extensions import db
    from app.practice.models import Practice

    handled = 0
    for practice_id in db.session.execute(select(Practice.id).order_by(Practice.id)).scalars():
        with acting_for(practice_id):
            handled += run()
    return handled


def _expire_waitlist_offers() -> int:
    from app.scheduling.waitlist.offers import expire_offers

    return _for_each_practice(expire_offers)


def _expire_payment_requests() -> int:
    from app.billing.requests import expire_due
    from app.core.tenancy import current_practice_id

    return _for_each_practice(lambda: expire_due(practice_id=current_practice_id()))


def _send_statements() -> int:
    from app.billing.statements import monthly_run
    from app.core.tenancy import current_practice_id

    return _for_each_practice(lambda: monthly_run(practice_id=current_practice_id()))


def _remind_payment_plans() -> int:
    from app.billing.plans import send_due_reminders
    from app.core.tenancy import current_practice_id

    return _for_each_practice(lambda: send_due_reminders(practice_id=current_practice_id()))


def _charge_saved_cards() -> int:
    from app.billing.cards import charge_due
    from app.core.tenancy import current_practice_id

    return _for_each_practice(lambda: charge_due(practice_id=current_practice_id()))


def _push_to_billing() -> int:
    from app.billing.push import send_due
    from app.core.tenancy import current_practice_id

    return _for_each_practice(lambda: send_due(practice_id=current_practice_id()))


def _plan_journeys() -> int:
    from app.journeys.jobs import plan_upcoming

    return _for_each_practice(plan_upcoming)


def _flag_overdue_visits() -> int:
    from app.journeys.jobs import flag_overdue

    return _for_each_practice(flag_overdue)


JOBS: tuple[Job, ...] = (
    Job("sign-in-attempts", _prune_sign_in_attempts, every=timedelta(hours=1),
        description="delete staff sign-in attempts too old for any lockout to count"),
    Job("staff-sessions", _prune_staff_sessions, every=timedelta(hours=1),
        description="delete staff sessions ended or expired more than a day ago"),
    Job("audit-seal", _seal_audit_trail, every=timedelta(minutes=1),
        description="chain the audit events committed since the last run into the audit "
                    "trail's hash chain"),
    Job("waitlist-offers", _expire_waitlist_offers, every=timedelta(minutes=1),
        description="expire unanswered waitlist offers; offer their slots to the next batch"),
    Job("payment-requests", _expire_payment_requests, every=timedelta(minutes=15),
        description="mark payment links past their end, unpaid, expired (staff re-send them)"),
    Job("payment-plans", _remind_payment_plans, every=timedelta(hours=1),
        description="send the payment link of each plan installment due within 3 days"),
    Job("plan-card-charges", _charge_saved_cards, every=timedelta(hours=1),
        description="charge the saved card of each plan installment due today (where the "
                    "patient agreed); a declined card gets a payment link instead"),
    Job("billing-push", _push_to_billing, every=timedelta(minutes=1),
        description="push posted payments and refunds to BILLING_ADAPTER (retried with "
                    "back-off until taken)"),
    Job("statements", _send_statements, cron="0 16 1-3 * *",
        description="send this month's statement link to accounts owing at least "
                    "STATEMENT_MIN_BALANCE (once a month each)"),
    Job("journey-planner", _plan_journeys, every=timedelta(minutes=30),
        description="plan the reminders of the next 4 days' visits again (idempotent)"),
    Job("overdue-visits", _flag_overdue_visits, every=timedelta(minutes=5),
        description="flag visits not arrived some minutes after their start (or mark no-show)"),
)
