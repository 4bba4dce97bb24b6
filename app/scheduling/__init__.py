"""Calendars, appointments, slot engine, booking, waitlist, self-scheduling."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Scheduling's screens (staff calendar, calendar settings, online booking), the
    waitlist's screen, event subscribers and YES-reply intent, and the visit's zone the
    messaging core asks for (messaging sits below scheduling and cannot import it)."""
    from app.messaging.policy import register_visit_zones
    from app.scheduling import move_views, waitlist  # move_views: before book_bp registers
    from app.scheduling import note_views as _note_route  # noqa: F401 (on views.bp)
    from app.scheduling.appointment_types import type_name
    from app.scheduling.public_views import bp as book_bp
    from app.scheduling.queries import visit_zones
    from app.scheduling.settings_views import bp as calendar_settings_bp
    from app.scheduling.views import bp as scheduling_bp

    app.register_blueprint(scheduling_bp)
    app.register_blueprint(calendar_settings_bp)
    app.register_blueprint(book_bp)
    app.register_blueprint(move_views.bp)
    waitlist.init_app(app)
    app.add_template_filter(type_name)  # ``kind | type_name``: in the page's language
    register_visit_zones(visit_zones)
