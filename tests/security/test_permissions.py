"""THE role × route test, and the rules of the permission matrix.

Walks the app's URL map, so every route a later change adds is covered without editing this
file: each route must declare who may use it, and every role gets exactly the answer the
matrix gives. Routes whose URL arguments have a builder below are requested with real ids;
for others the declaration is checked and the refusal of roles without the permission.
FHIR routes declare their interactions, and each is tried with a token lacking its scope;
every route marked as a signed webhook is sent an unsigned request it must refuse.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Blueprint, Flask, Response, request
from flask.testing import FlaskClient
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Rule

from app.fhir import auth
from app.fhir.registry import handlers
from app.fhir.toolkit import INTERACTION_SCOPES
from app.practice.models import Practice
from app.security.permissions import (
    ROLE_PERMISSIONS,
    Permission,
    Role,
    public,
    requires,
    role_can,
    signed_webhook,
)
from tests import factories
from tests.messaging.signed_webhooks import WEBHOOK_SETTINGS

DECLARATIONS = ("required_permission", "is_public", "any_staff")


def _appointment(practice: Practice) -> int:
    patient = factories.make_patient(practice)
    location = factories.make_location(practice)
    provider = factories.make_provider(practice, locations=[location])
    return factories.make_appointment(patient, provider, location).id


# URL argument name → makes an object in the practice and returns its id.
ARGUMENT_BUILDERS: dict[str, Callable[[Practice], Any]] = {
    "user_id": lambda practice: factories.make_staff(practice).id,
    "staff_id": lambda practice: factories.make_staff(practice).id,
    "patient_id": lambda practice: factories.make_patient(practice).id,
    "location_id": lambda practice: factories.make_location(practice).id,
    "provider_id": lambda practice: factories.make_provider(practice).id,
    "appointment_type_id": lambda practice: factories.make_appointment_type(practice).id,
    "appointment_id": _appointment,
}


@dataclass(frozen=True)
class Route:
    rule: Rule
    view: Callable[..., Any]

    @property
    def method(self) -> str:
        return "GET" if "GET" in (self.rule.methods or ()) else "POST"

    @property
    def permission(self) -> Permission | None:
        return getattr(self.view, "required_permission", None)


def routes(app: Flask) -> Iterator[Route]:
    for rule in app.url_map.iter_rules():
        if rule.endpoint != "static":
            yield Route(rule, app.view_functions[rule.endpoint])


def undeclared_endpoints(app: Flask) -> list[str]:
    """Endpoints whose view says neither its permission, nor public, nor any staff."""
    return sorted({route.rule.endpoint for route in routes(app)
                   if not any(getattr(route.view, name, None) for name in DECLARATIONS)})


def _url(app: Flask, route: Route, values: dict[str, Any]) -> str | None:
    adapter = app.url_map.bind("localhost")
    url = adapter.build(route.rule.endpoint, values, method=route.method)
    try:
        endpoint, _ = adapter.match(url.split("?")[0], method=route.method)
    except HTTPException:
        return None
    return url if endpoint == route.rule.endpoint else None


def access_mismatches(app: Flask, client: FlaskClient, role: str,
                      practice: Practice) -> list[str]:
    """Request every route as ``role`` and list each answer the matrix does not allow.

    Allowed: 200, or a redirect that is not to the sign-in page. Not allowed: 403. A route is
    requested when it is a GET with buildable arguments, and, for roles the matrix refuses,
    also when it is a POST or its arguments are placeholders (the refusal comes first)."""
    problems = []
    for route in routes(app):
        allowed = route.permission is None or role_can(role, route.permission)
        arguments = route.rule.arguments
        if arguments <= ARGUMENT_BUILDERS.keys() and (route.method == "GET" or not allowed):
            url = _url(app, route, {name: ARGUMENT_BUILDERS[name](practice)
                                    for name in arguments})
        elif not allowed:
            url = _url(app, route, dict.fromkeys(arguments, "1"))
        else:
            continue
        if url is None:
            continue
        response = client.open(url, method=route.method)
        status = response.status_code
        to_sign_in = status == 302 and "/sign-in" in response.headers.get("Location", "")
        ok = status in (200, 302) and not to_sign_in if allowed else status == 403
        if not ok:
            expected = "200/302" if allowed else "403"
            problems.append(f"{role} {route.method} {url} ({route.rule.endpoint}): "
                            f"got {status}, expected {expected}")
    return problems


# -- every route, every role -------------------------------------------------------------------

def test_every_route_declares_who_may_use_it(app):
    assert undeclared_endpoints(app) == []


def test_each_role_gets_what_the_matrix_allows_on_every_route(app, login, practice, any_role):
    client = login(any_role)
    assert access_mismatches(app, client, any_role, practice) == []


def test_anonymous_visitors_are_sent_to_sign_in_from_every_staff_page(app, client, practice):
    problems = []
    for route in routes(app):
        if getattr(route.view, "is_public", False) or route.method != "GET":
            continue
        url = _url(app, route, dict.fromkeys(route.rule.arguments, "1"))
        if url is None:
            continue
        response = client.get(url)
        if response.status_code != 302 or "/sign-in" not in response.headers["Location"]:
            problems.append(f"{url}: {response.status_code}")
    assert problems == []


def test_the_walk_reaches_the_staff_admin_screens(app):
    walked = {route.rule.endpoint: route for route in routes(app)}
    for endpoint in ("users.index", "users.create", "users.edit"):
        assert walked[endpoint].permission is Permission.USERS_MANAGE
        assert walked[endpoint].rule.arguments <= ARGUMENT_BUILDERS.keys()


# -- the checkers catch what they are meant to catch -------------------------------------------

@pytest.mark.own_app
def test_a_route_without_a_declaration_is_reported(app):
    throwaway = Blueprint("throwaway", __name__)

    @throwaway.get("/throwaway/open")
    def forgot_to_declare() -> str:
        return "patient list"

    @throwaway.get("/throwaway/declared")
    @public
    def declared() -> str:
        return "ok"

    app.register_blueprint(throwaway)
    assert undeclared_endpoints(app) == ["throwaway.forgot_to_declare"]


@pytest.mark.own_app
def test_a_declared_but_unenforced_permission_is_reported(app, login, practice):
    def claims_but_does_not_check() -> str:
        return "balances"

    claims_but_does_not_check.required_permission = Permission.BALANCE_ADJUST
    app.add_url_rule("/throwaway/balances", view_func=claims_but_does_not_check)

    @app.get("/throwaway/<int:patient_id>/adjust")
    @requires(Permission.BALANCE_ADJUST)
    def enforced(patient_id: int) -> str:
        return "adjusted"

    client = login("marketing")
    problems = access_mismatches(app, client, "marketing", practice)
    assert problems == ["marketing GET /throwaway/balances (claims_but_does_not_check): "
                        "got 200, expected 403"]


def test_signed_webhook_routes_are_public_and_skip_csrf_but_others_do_not(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    hooks = Blueprint("throwaway_hooks", __name__)

    @hooks.post("/throwaway/webhooks/provider")
    @signed_webhook(_test_signature_refusal)
    def provider_hook() -> str:
        return "received"

    @hooks.post("/throwaway/public-form")
    @public
    def public_form() -> str:
        return "accepted"

    app.register_blueprint(hooks)
    assert undeclared_endpoints(app) == []
    client = app.test_client()
    assert client.post("/throwaway/webhooks/provider", data={"Body": "C"},
                       headers={"X-Test-Signature": "good"}).status_code == 200
    assert client.post("/throwaway/public-form", data={"x": "1"}).status_code == 400


def _test_signature_refusal() -> Response | None:
    if request.headers.get("X-Test-Signature") == "good":
        return None
    return Response("invalid signature", status=403, mimetype="text/plain")


# -- signed webhooks verify, FHIR routes enforce their scopes ----------------------------------

def unverified_signed_routes(app: Flask, client: FlaskClient) -> list[str]:
    """Routes marked as signed webhooks that do not refuse an unsigned request with 403 (400
    for Stripe's, whose contract is a 400 for a payload it cannot verify)."""
    problems = []
    for route in routes(app):
        if not getattr(route.view, "signed_webhook", False):
            continue
        url = _url(app, route, dict.fromkeys(route.rule.arguments, "1"))
        response = client.open(url, method=route.method, data={"Body": "unsigned"})
        expected = 400 if route.rule.endpoint == "billing_webhooks.stripe_events" else 403
        if response.status_code != expected:
            problems.append(f"{route.method} {url} ({route.rule.endpoint}): got "
                            f"{response.status_code} without a signature, expected {expected}")
    return problems


@pytest.mark.app_settings(**WEBHOOK_SETTINGS)
def test_every_signed_webhook_refuses_an_unsigned_request(app, client, practice):
    signed = [route for route in routes(app) if getattr(route.view, "signed_webhook", False)]
    assert {route.rule.endpoint for route in signed} >= {
        "webhooks.twilio_sms", "webhooks.twilio_status", "webhooks.sendgrid_events"}
    assert unverified_signed_routes(app, client) == []


@pytest.mark.app_settings(**WEBHOOK_SETTINGS)
@pytest.mark.own_app
def test_a_route_marked_signed_but_not_verifying_is_reported(app, client):
    def trusts_anyone() -> str:
        return "received"

    trusts_anyone.is_public = True
    trusts_anyone.signed_webhook = True
    app.add_url_rule("/throwaway/hooks/trusting", view_func=trusts_anyone, methods=["POST"])

    @app.post("/throwaway/hooks/accepts-all")
    @signed_webhook(lambda: None)
    def verifier_accepts_all() -> str:
        return "received"

    @app.post("/throwaway/hooks/checked")
    @signed_webhook(_test_signature_refusal)
    def checked() -> str:
        return "received"

    assert unverified_signed_routes(app, client) == [
        "POST /throwaway/hooks/trusting (trusts_anyone): got 200 without a signature, "
        "expected 403",
        "POST /throwaway/hooks/accepts-all (verifier_accepts_all): got 200 without a "
        "signature, expected 403"]


def undeclared_fhir_endpoints(app: Flask) -> list[str]:
    """Routes under /fhir that do not declare their interactions (and so their scopes)."""
    return sorted(route.rule.endpoint for route in routes(app)
                  if route.rule.rule.startswith("/fhir")
                  and not hasattr(route.view, "fhir_interactions"))


def fhir_scope_mismatches(app: Flask, client: FlaskClient, practice: Practice) -> list[str]:
    """Try every declared interaction on every resource type offering it: a token lacking the
    interaction's scope must get 403, a token holding every scope anything else."""
    def bearer(scopes: str) -> dict[str, str]:
        issued = auth.create_token(name=f"walk {scopes}", scopes=scopes,
                                   practice_id=practice.id)
        return {"Authorization": f"Bearer {issued.token}",
                "Content-Type": "application/fhir+json"}

    everything = bearer("system/*.*")
    lacking = {letter: bearer("system/*." + "cruds".replace(letter, ""))
               for letter in INTERACTION_SCOPES.values()}
    adapter = app.url_map.bind("localhost")
    problems = []
    for route in routes(app):
        for method, interaction in getattr(route.view, "fhir_interactions", {}).items():
            letter = INTERACTION_SCOPES[interaction]
            for resource_type, handler in handlers().items():
                if interaction not in handler.interactions:
                    continue
                values = {"resource_type": resource_type, "resource_id": "1"}
                url = adapter.build(route.rule.endpoint, {name: values[name] for name in
                                                          route.rule.arguments}, method=method)
                body = "{}" if method in ("POST", "PUT") else None
                without = client.open(url, method=method, data=body, headers=lacking[letter])
                with_all = client.open(url, method=method, data=body, headers=everything)
                if without.status_code != 403 or with_all.status_code == 403:
                    problems.append(f"{method} {url} ({route.rule.endpoint}) {interaction}: "
                                    f"{without.status_code} without system/*.{letter}, "
                                    f"{with_all.status_code} with every scope")
    return problems


def test_every_fhir_route_declares_its_interactions(app):
    assert undeclared_fhir_endpoints(app) == []
    declared = {interaction for route in routes(app)
                for interaction in getattr(route.view, "fhir_interactions", {}).values()}
    offered = {interaction for handler in handlers().values()
               for interaction in handler.interactions}
    assert offered <= declared


def test_a_token_without_the_scope_is_refused_every_fhir_interaction(app, client, practice):
    assert fhir_scope_mismatches(app, client, practice) == []


@pytest.mark.own_app
def test_a_fhir_route_undeclared_or_not_enforcing_its_scope_is_reported(app, client, practice):
    def undeclared() -> str:
        return "patients"

    undeclared.is_public = True
    app.add_url_rule("/fhir/$throwaway", view_func=undeclared)

    def declares_but_does_not_check(resource_type: str) -> str:
        return f"every {resource_type}"

    declares_but_does_not_check.is_public = True
    declares_but_does_not_check.fhir_interactions = {"GET": "read"}
    app.add_url_rule("/throwaway-fhir/<resource_type>", view_func=declares_but_does_not_check)

    assert undeclared_fhir_endpoints(app) == ["undeclared"]
    assert fhir_scope_mismatches(app, client, practice) == [
        f"GET /throwaway-fhir/{resource_type} (declares_but_does_not_check) read: "
        f"200 without system/*.r, 200 with every scope" for resource_type in handlers()]


# -- the matrix --------------------------------------------------------------------------------

def perms(role: Role) -> frozenset[Permission]:
    return ROLE_PERMISSIONS[role]


def test_every_role_has_an_entry_and_admins_have_everything():
    assert set(ROLE_PERMISSIONS) == set(Role)
    assert perms(Role.ADMIN) == frozenset(Permission)


def test_front_desk_works_the_day_but_not_money_or_people():
    assert {Permission.INBOX_WORK, Permission.SCHEDULE_WORK, Permission.FORMS_WORK,
            Permission.PAYMENT_LINK_SEND, Permission.PATIENT_VIEW} <= perms(Role.FRONT_DESK)
    assert Permission.BALANCE_ADJUST not in perms(Role.FRONT_DESK)
    assert Permission.USERS_MANAGE not in perms(Role.FRONT_DESK)


def test_billing_adjusts_balances_and_works_denials():
    assert {Permission.BALANCE_VIEW, Permission.BALANCE_ADJUST,
            Permission.DENIALS_WORK} <= perms(Role.BILLING)


def test_marketing_sees_campaigns_and_aggregates_only():
    assert perms(Role.MARKETING) == {Permission.CAMPAIGNS_MANAGE, Permission.DASHBOARD_VIEW}


def test_managers_see_reports_and_everything_front_desk_does():
    assert Permission.REPORTS_VIEW in perms(Role.MANAGER)
    assert perms(Role.FRONT_DESK) <= perms(Role.MANAGER)


@pytest.mark.parametrize("permission", [Permission.USERS_MANAGE, Permission.SETTINGS_MANAGE,
                                        Permission.AUDIT_VIEW, Permission.DEV_TOOLS])
def test_only_admins_manage_users_settings_and_audit(permission):
    assert [role for role in Role if role_can(role, permission)] == [Role.ADMIN]


def test_unknown_roles_can_do_nothing():
    assert not any(role_can("owner", permission) for permission in Permission)


def test_billing_gets_minimum_necessary_billing_messages_not_every_conversation():
    assert Permission.PATIENT_VIEW in perms(Role.BILLING)  # contact details, consent
    assert Permission.MESSAGES_ALL not in perms(Role.BILLING)
    assert Permission.INBOX_WORK not in perms(Role.BILLING)
    assert Permission.SCHEDULE_WORK not in perms(Role.BILLING)
    assert {role for role in Role if role_can(role, Permission.MESSAGES_ALL)} == {
        Role.ADMIN, Role.MANAGER, Role.FRONT_DESK}
