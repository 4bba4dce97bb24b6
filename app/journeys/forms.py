"""The journey settings forms (managers and admins)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, StringField
from wtforms.validators import Optional

from app.journeys.models import DEFAULT_REMINDERS


class TypeJourneyForm(FlaskForm):
    confirmation = BooleanField(_l("Send a confirmation on booking (not for visits under "
                                   "2 hours away)"), default=True)
    reminders = StringField(_l("Reminders before the visit"), default=DEFAULT_REMINDERS,
                            description=_l("Steps like 3d:sms 1d:sms+email 2h:sms (days or "
                                           "hours before; sms, email or both)."))
    review = BooleanField(_l("Ask for a review after a fulfilled visit"), default=True)
    missed_you = BooleanField(_l("Send “we missed you” after a no-show"), default=True)
    apology = BooleanField(_l("Apologize when the practice cancels"), default=True)


class DefaultJourneyForm(TypeJourneyForm):
    review_url = StringField(_l("Review page (https://…)"), validators=[Optional()])
    review_delay_hours = IntegerField(_l("Hours after the visit to ask for a review"),
                                      default=2)
    review_period_days = IntegerField(_l("Ask a patient at most once every (days)"),
                                      default=180)
    no_show_after_minutes = IntegerField(_l("Flag a visit not arrived after (minutes)"),
                                         default=30)
    auto_no_show = BooleanField(_l("Mark it a no-show automatically instead"))
