"""The journey settings screen: managers and admins set the practice's journey and each
type's own; bad input is named beside its field and nothing is lost."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.extensions import db
from app.journeys.models import JourneyRule
from app.journeys.rules import journey_for
from tests import factories

DEFAULT_FORM = {"confirmation": "y", "reminders": "2d:sms 3h:sms+email", "review": "y",
                "missed_you": "y", "apology": "y", "review_url": "https://g.page/r/ours",
                "review_delay_hours": "4", "review_period_days": "365",
                "no_show_after_minutes": "20"}


def test_a_manager_sets_the_practice_journey(practice, login):
    manager = login("manager")
    assert manager.get("/settings/journeys").status_code == 200
    response = manager.post("/settings/journeys", data=DEFAULT_FORM)
    assert response.status_code == 302
    journey = journey_for(practice.id, None)
    assert [step.label for step in journey.steps] == ["2d", "3h"]
    assert journey.steps[1].channels == ("sms", "email")
    assert journey.review_url == "https://g.page/r/ours"
    assert journey.review_delay == timedelta(hours=4)
    assert journey.no_show_after == timedelta(minutes=20)


def test_bad_settings_are_named_and_nothing_is_saved(practice, login):
    manager = login("manager")
    response = manager.post("/settings/journeys", data={
        **DEFAULT_FORM, "reminders": "3 days before", "review_url": "http://example.com",
        "review_period_days": "0"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "write a step as 3d:sms" in html and "https://" in html and "from 1 to 3650" in html
    assert "3 days before" in html  # what was typed stays in the form
    assert db.session.execute(select(JourneyRule)).first() is None


def test_a_type_gets_its_own_journey_and_can_follow_the_practice_again(practice, login):
    kind = factories.make_appointment_type(practice, name="Whitening")
    admin = login("admin")
    form = {"reminders": "1d:email", "review": "y"}
    assert admin.post(f"/settings/journeys/types/{kind.id}", data=form).status_code == 302
    own = journey_for(practice.id, kind.id)
    assert [(s.label, s.channels) for s in own.steps] == [("1d", ("email",))]
    assert not own.confirmation and own.review
    assert journey_for(practice.id, None).confirmation  # the default is untouched
    assert "Its own" in admin.get("/settings/journeys").get_data(as_text=True)
    admin.post(f"/settings/journeys/types/{kind.id}/reset")
    assert journey_for(practice.id, kind.id).confirmation


def test_front_desk_cannot_change_the_journey(practice, login):
    front_desk = login("front_desk")
    assert front_desk.get("/settings/journeys").status_code == 403
    assert front_desk.post("/settings/journeys", data=DEFAULT_FORM).status_code == 403


def test_another_practices_type_is_not_found(practice, login):
    other = factories.make_practice(name="Other Dental", sms_from_number="+13125550199")
    kind = factories.make_appointment_type(other, name="Theirs")
    assert login("manager").get(f"/settings/journeys/types/{kind.id}").status_code == 404
