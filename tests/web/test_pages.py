"""The layouts and the language choice, as a user sees them (the home page: tests/home)."""

import re

from tests import factories

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
INLINE_STYLE = re.compile(r"<style\b|\sstyle=|\son[a-z]+=", re.I)


def test_sign_in_page_speaks_spanish_to_a_spanish_browser(client, practice):
    page = client.get("/sign-in", headers={"Accept-Language": "es-MX,es;q=0.9,en;q=0.5"})
    html = page.get_data(as_text=True)
    assert '<html lang="es" ' in html
    assert "Iniciar sesión" in html and "Contraseña" in html
    assert "Sign in" not in html


def test_sign_in_page_defaults_to_english(client, practice):
    html = client.get("/sign-in").get_data(as_text=True)
    assert '<html lang="en" ' in html and "Sign in" in html


def test_fresh_install_explains_how_to_set_up(client):
    assert client.get("/").headers["Location"].startswith("/sign-in")
    html = client.get("/sign-in").get_data(as_text=True)
    assert "Frontdesk is not set up yet" in html
    assert "flask practice create" in html and "flask users create" in html
    assert "flask demo seed" in html


def test_set_up_install_shows_no_setup_notice(client, practice):
    html = client.get("/sign-in").get_data(as_text=True)
    assert "not set up yet" not in html
    assert practice.name in html


# One request per test below: the test app context (and so the chosen locale and the signed-in
# user Flask-Login caches on g) lives for the whole test.

def test_patient_layout_offers_spanish_and_shows_the_practice_phone(client, practice):
    english = client.get("/no-such-page?ref=sms").get_data(as_text=True)
    assert '<html lang="en" ' in english and "We could not find that page" in english
    assert practice.name in english
    assert 'href="tel:+13125550100"' in english and "(312) 555-0100" in english
    assert 'href="/no-such-page?ref=sms&amp;lang=es"' in english


def test_lang_query_parameter_switches_patient_pages_to_spanish(client, practice):
    spanish = client.get("/no-such-page?lang=es").get_data(as_text=True)
    assert '<html lang="es" ' in spanish and "No encontramos esa página" in spanish
    assert "¿Preguntas? Llámenos:" in spanish
    assert 'href="/no-such-page?lang=en"' in spanish


def test_unknown_language_is_ignored(client, practice):
    html = client.get("/no-such-page?lang=xx", headers={"Accept-Language": "es"}).get_data(
        as_text=True)
    assert '<html lang="es" ' in html


def test_forbidden_page_is_friendly(login):
    response = login("marketing").get("/patients")
    assert response.status_code == 403
    assert "You do not have access to this page" in response.get_data(as_text=True)


def _assert_csp_clean(pages: list[str]) -> None:
    for html in pages:
        assert INLINE_SCRIPT.findall(html) == []
        assert INLINE_STYLE.findall(html) == []
        assert '<meta name="csrf-token" content="' in html
        assert '"includeIndicatorStyles": false' in html


def test_staff_pages_have_no_inline_scripts_or_styles(login, practice):
    patient = factories.make_patient(practice)
    client = login("front_desk")
    _assert_csp_clean([client.get(path).get_data(as_text=True)
                       for path in ("/", "/patients", f"/patients/{patient.id}",
                                    "/no-such-page")]
                      + [client.post("/patients/search", data={"q": "x1"}).get_data(as_text=True)])


def test_public_pages_have_no_inline_scripts_or_styles(client, practice):
    _assert_csp_clean([client.get(path).get_data(as_text=True)
                       for path in ("/sign-in", "/no-such-page")])


def test_vendored_assets_are_served_from_our_origin(client):
    htmx = client.get("/static/vendor/htmx/htmx.min.js")
    pico = client.get("/static/vendor/pico/pico.min.css")
    script = client.get("/static/js/frontdesk.js")
    assert htmx.status_code == pico.status_code == script.status_code == 200
    assert b'version:"2.0.10"' in htmx.data
    assert b"Pico CSS" in pico.data and b"v2.1.1" in pico.data
    assert b"X-CSRFToken" in script.data
    for response in (htmx, pico, script):
        response.close()
