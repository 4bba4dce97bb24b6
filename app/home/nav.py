"""The staff navigation: one section per domain's screens, shown to the roles that may open
them. It names every domain's endpoints, so it lives above the domains."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.security.permissions import Permission, role_can


@dataclass(frozen=True)
class Section:
    endpoint: str
    label: str
    permission: Permission
    blueprints: tuple[str, ...]  # the section is current on these blueprints' pages


# The staff navigation, in order. A section shows once its blueprint is registered and the
# signed-in role has its permission, so a domain's screens appear as the domain lands.
SECTIONS = (
    Section("home.index", _l("Home"), Permission.DASHBOARD_VIEW, ("home",)),
    Section("patients.search", _l("Patients"), Permission.PATIENT_VIEW, ("patients", "record")),
    Section("inbox.index", _l("Inbox"), Permission.INBOX_WORK, ("inbox",)),
    Section("scheduling.index", _l("Schedule"), Permission.SCHEDULE_WORK, ("scheduling",)),
    # the reminders' settings (journeys) are reached from the calendar settings
    Section("calendar_settings.index", _l("Calendars"), Permission.CALENDARS_MANAGE,
            ("calendar_settings", "journeys_settings")),
    Section("campaigns.index", _l("Campaigns"), Permission.CAMPAIGNS_MANAGE, ("campaigns",)),
    Section("billing.index", _l("Billing"), Permission.BALANCE_VIEW, ("billing",)),
    Section("reports.index", _l("Reports"), Permission.REPORTS_VIEW, ("reports",)),
    Section("setup.index", _l("Set-up"), Permission.PRACTICE_SETTINGS, ("setup",)),
    Section("users.index", _l("Admin"), Permission.USERS_MANAGE, ("users",)),
    Section("audit.index", _l("Audit"), Permission.AUDIT_VIEW, ("audit",)),
    # registered only while a console provider is configured (development)
    Section("dev.outbox", _l("Dev outbox"), Permission.DEV_TOOLS, ("dev",)),
)


def staff_sections() -> list[tuple[Section, str, bool]]:
    """(section, url, is_current) for each section the signed-in role may open."""
    if not current_user.is_authenticated:
        return []
    return [
        (section, url_for(section.endpoint), request.blueprint in section.blueprints)
        for section in SECTIONS
        if section.endpoint in current_app.view_functions
        and role_can(current_user.role, section.permission)
    ]
