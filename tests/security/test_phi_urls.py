"""No patient search puts PHI in a URL (security review finding 5): the staff patient search
and the booking and waitlist patient pickers are POSTs, and neither their responses nor the
pages that hold them carry a name, birth date or phone in a URL — not in a Location, not in
htmx's history headers, not in any link, form action or hx-* attribute. A ``q`` in a query
string (an old bookmark) is not searched."""

from __future__ import annotations

import html
import re
from datetime import date
from urllib.parse import quote, quote_plus

import pytest

from tests import factories
from tests.scheduling.test_calendar_views import desk, slot_data  # noqa: F401 (fixture)

SEARCHES = ["Zyskowski", "Octavia Zyskowski", "1961-07-23", "07/23/1961", "(312) 555-0188"]
PHI = ["Zyskowski", "Octavia", "1961-07-23", "07/23/1961", "5550188", "555-0188", "0188"]
URL_ATTRIBUTES = re.compile(
    r'\b(?:href|action|src|formaction|hx-get|hx-post|hx-put|hx-push-url|hx-replace-url'
    r'|hx-vals)="([^"]*)"')
URL_HEADERS = ("Location", "HX-Push-Url", "HX-Replace-Url", "HX-Location", "HX-Redirect",
               "Content-Location")


def phi_in_urls(response) -> list[str]:  # noqa: ANN001
    """Every URL of the response (headers and the page's attributes) that holds PHI."""
    urls = [response.headers[name] for name in URL_HEADERS if name in response.headers]
    page = response.get_data(as_text=True)
    urls += [html.unescape(value) for value in URL_ATTRIBUTES.findall(page)]
    assert "hx-push-url" not in page.replace('hx-push-url="false"', "")
    forms = {f.encode() for f in PHI} | {quote(f).encode() for f in PHI} | {
        quote_plus(f).encode() for f in PHI}
    return [url for url in urls if any(f in url.encode() for f in forms)]


@pytest.fixture
def searcher(login, practice, desk):  # noqa: ANN001, F811
    factories.make_patient(practice, given_name="Octavia", family_name="Zyskowski",
                           date_of_birth=date(1961, 7, 23), mobile_phone="+13125550188")
    return login("front_desk")


def searches(desk) -> list[tuple[str, dict[str, object]]]:  # noqa: ANN001, F811
    return [("/patients/search", {}), ("/schedule/waitlist/patients", {}),
            ("/schedule/book/patients", slot_data(desk, "10:00"))]


@pytest.mark.parametrize("hx", [False, True])
@pytest.mark.parametrize("text", SEARCHES)
def test_no_search_response_carries_phi_in_a_url(searcher, desk, text, hx):  # noqa: F811
    headers = {"HX-Request": "true"} if hx else {}
    for url, extra in searches(desk):
        response = searcher.post(url, data={**extra, "q": text}, headers=headers)
        assert response.status_code == 200, url
        assert "Zyskowski, Octavia" in response.get_data(as_text=True), (url, text)
        assert phi_in_urls(response) == [], url


def test_every_page_with_a_patient_search_posts_it(searcher, desk):  # noqa: F811
    pages = ["/patients", "/schedule/waitlist",
             "/schedule/book?" + "&".join(f"{k}={quote(str(v))}"
                                          for k, v in slot_data(desk, "10:00").items())]
    for url in pages:
        page = searcher.get(url).get_data(as_text=True)
        search_forms = [form for form in re.findall(r"<form[^>]*>", page)
                        if 'role="search"' in form]
        assert search_forms, url
        assert all('method="post"' in form and "hx-get" not in form
                   and "hx-push-url" not in form for form in search_forms), url


def test_a_query_string_search_is_not_run(searcher, desk):  # noqa: F811
    for url in ("/patients?q=Zyskowski", "/schedule/waitlist?q=Zyskowski",
                "/schedule/book?q=Zyskowski&" + "&".join(
                    f"{k}={quote(str(v))}" for k, v in slot_data(desk, "10:00").items())):
        page = searcher.get(url).get_data(as_text=True)
        assert "1 patient found" not in page and 'value="Zyskowski"' not in page, url


def test_a_search_without_the_csrf_token_is_refused_and_one_with_it_runs(make_app, practice):
    app = make_app(WTF_CSRF_ENABLED=True)
    factories.make_patient(practice, given_name="Octavia", family_name="Zyskowski")
    user = factories.make_staff(practice, role="front_desk")
    client = app.test_client()
    sign_in = client.get("/sign-in").get_data(as_text=True)
    token = sign_in.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    client.post("/sign-in", data={"email": user.email, "password": factories.STAFF_PASSWORD,
                                  "csrf_token": token})

    assert client.post("/patients/search", data={"q": "Zyskowski"}).status_code == 400
    page = client.get("/patients").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    found = client.post("/patients/search", data={"q": "Zyskowski", "csrf_token": token})
    assert "Zyskowski, Octavia" in found.get_data(as_text=True)


def test_choosing_a_found_patient_redirects_to_no_url_with_phi(searcher, practice, desk):  # noqa: F811
    patient = factories.make_patient(practice, given_name="Octavia", family_name="Zyskowski",
                                     date_of_birth=date(1961, 7, 22),
                                     mobile_phone="+13125550189")
    booked = searcher.post("/schedule/book", data=slot_data(desk, "10:00",
                                                            patient_id=patient.id))
    waiting = searcher.post("/schedule/waitlist", data={
        "q": "Zyskowski", "patient_id": patient.id, "appointment_type_id": desk.exam.id,
        "location_id": desk.location.id, "weekdays": ["1", "3"], "priority": "0"})

    for response in (booked, waiting):
        assert response.status_code == 302
        assert phi_in_urls(response) == [], response.headers["Location"]
