"""Generated input against the whole FHIR API (our equivalent of a schemathesis run): every
resource type and search parameter the CapabilityStatement lists, random values, random ids,
and resources the API itself served, mutated at random, sent back as creates and updates.
Whatever arrives, the answer is never a 500 and every refusal is an OperationOutcome.

The world is the demo practice (patients, providers, calendars, appointments, messages),
seeded once for the module (its tests share one database), so searches and reads hit real
rows. The resource types are read from /fhir/metadata, so a new resource joins this run
without a change here.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.demo.seed import demo_practice, seed_demo
from app.fhir import auth
from tests.fhir.conftest import FhirClient

RUNS = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

json_leaf = (st.none() | st.booleans() | st.integers(min_value=-2**40, max_value=2**40)
             | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20))
json_values = st.recursive(
    json_leaf, lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=8), children, max_size=3), max_leaves=8)

# The first and last instants with an offset: converting them to UTC leaves datetime's range.
EXTREME_INSTANTS = ["0001-01-01T00:00:00+01:00", "9999-12-31T20:00:00-05:00", "0001-01-01",
                    "9999-12-31"]

# Values a client might plausibly put in a search: prefixed dates, instants, references,
# tokens with systems, numbers, and plain junk.
search_values = st.one_of(
    st.sampled_from(["", " ", "x", "1", "-1", "0", "999999999999", "abc,1,2", "a|b", "|",
                     "Patient/1", "Practitioner/1", "Location/1", "Schedule/1", "Slot/1",
                     "Patient/", "/1", "urn:frontdesk:appointment-type|1", "booked",
                     "cancelled", "free", "busy", "completed", "active", "sms", "email"]),
    st.builds(lambda prefix, day: f"{prefix}{day}",
              st.sampled_from(["", "eq", "ge", "le", "gt", "lt", "ne", "sa", "ap", "xx"]),
              st.dates().map(str) | st.datetimes().map(lambda d: d.isoformat() + "Z")
              | st.sampled_from(EXTREME_INSTANTS) | st.text(max_size=12)),
    st.text(max_size=25),
)
junk_names = st.sampled_from(["_sort", "_include", "_elements", "foo", "name:contains",
                              "_count", "_offset", "date:missing", "patient.name", "_id:not"])
ids = st.one_of(st.integers(min_value=-5, max_value=10**12).map(str),
                st.sampled_from(["1", "2", "abc", "1.1.202001010000", "a1", "x1", "0",
                                 "1.2.209912312359", "a999999999", "example"]),
                st.text(alphabet="abcxyz0123456789.-", min_size=1, max_size=30))


@pytest.fixture(scope="module")
def database_url(module_database_url: str) -> str:
    """One database for the whole module (tests/conftest.py)."""
    return module_database_url


@pytest.fixture
def world(app, client) -> dict[str, Any]:
    """The demo practice (seeded by the module's first test), a token for it, and the served
    resources of each listed type."""
    if demo_practice() is None:
        seed_demo()
    practice = demo_practice()
    assert practice is not None
    fhir = FhirClient(client, auth.create_token(name="generated inputs", scopes="system/*.*",
                                                practice_id=practice.id).token)
    statement = fhir.get("/fhir/metadata").get_json()
    listed = {resource["type"]: [param["name"] for param in resource.get("searchParam", [])]
              for resource in statement["rest"][0]["resource"]}
    served: dict[str, list[dict[str, Any]]] = {}
    for resource_type in listed:
        bundle = fhir.get(f"/fhir/{resource_type}", _count="5").get_json()
        served[resource_type] = [entry["resource"] for entry in bundle.get("entry", [])]
    return {"fhir": fhir, "params": listed, "served": served}


def assert_no_server_error(response: Any) -> None:
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    body = response.get_json(silent=True)
    assert isinstance(body, dict), response.get_data(as_text=True)[:200]
    if response.status_code >= 400:
        assert body["resourceType"] == "OperationOutcome"
        assert body["issue"] and body["issue"][0].get("diagnostics")


def test_the_run_covers_every_listed_resource_with_real_rows(world):
    """Guards the premise: the run would not mean much against empty tables."""
    assert {"Patient", "Practitioner", "Location"} <= set(world["params"])
    assert all(world["served"][name] for name in ("Patient", "Practitioner", "Location"))


@RUNS
@given(data=st.data())
def test_generated_searches_never_fail(world, data):
    resource_type = data.draw(st.sampled_from(sorted(world["params"])), label="type")
    names = st.sampled_from(world["params"][resource_type]) | junk_names
    query = data.draw(st.lists(st.tuples(names, search_values), max_size=4), label="query")
    if data.draw(st.booleans(), label="with _count"):
        query.append(("_count", data.draw(search_values, label="_count")))
    response = world["fhir"].client.get(f"/fhir/{resource_type}", query_string=query,
                                        headers=world["fhir"]._headers(None))
    assert_no_server_error(response)


@RUNS
@given(data=st.data())
def test_generated_reads_never_fail(world, data):
    resource_type = data.draw(st.sampled_from(sorted(world["params"])), label="type")
    served = [r["id"] for r in world["served"][resource_type]]
    resource_id = data.draw(st.sampled_from(served) | ids if served else ids, label="id")
    assert_no_server_error(world["fhir"].get(f"/fhir/{resource_type}/{resource_id}"))


def mutate(resource: Any, data: st.DataObject, depth: int = 0) -> Any:
    """One random change somewhere in the tree: replace, drop or add a value."""
    if isinstance(resource, dict) and resource and depth < 6:
        key = data.draw(st.sampled_from(sorted(resource)), label="key")
        action = data.draw(st.sampled_from(["descend", "replace", "drop", "add"]))
        if key == "resourceType" and action != "replace":
            action = "add"
        changed = dict(resource)
        if action == "descend":
            changed[key] = mutate(resource[key], data, depth + 1)
        elif action == "replace":
            changed[key] = data.draw(json_values, label="value")
        elif action == "drop":
            del changed[key]
        else:
            changed[data.draw(st.text(max_size=10), label="new key")] = data.draw(json_values)
        return changed
    if isinstance(resource, list) and resource and depth < 6:
        index = data.draw(st.integers(0, len(resource) - 1), label="index")
        changed_list = list(resource)
        if data.draw(st.booleans(), label="drop item"):
            del changed_list[index]
        else:
            changed_list[index] = mutate(resource[index], data, depth + 1)
        return changed_list
    return data.draw(json_values, label="leaf")


@RUNS
@given(data=st.data())
def test_mutated_resources_sent_back_never_fail(world, data):
    writable = sorted(name for name, served in world["served"].items() if served)
    resource_type = data.draw(st.sampled_from(writable), label="type")
    original = data.draw(st.sampled_from(world["served"][resource_type]), label="resource")
    body = copy.deepcopy(original)
    for _ in range(data.draw(st.integers(1, 3), label="changes")):
        body = mutate(body, data)
    fhir = world["fhir"]
    if data.draw(st.booleans(), label="update"):
        response = fhir.put(f"/fhir/{resource_type}/{original['id']}", body)
    else:
        body = dict(body) if isinstance(body, dict) else body
        if isinstance(body, dict):
            body.pop("id", None)
        response = fhir.post(f"/fhir/{resource_type}", body)
    assert_no_server_error(response)
