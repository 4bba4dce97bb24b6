"""The staff pages in Spanish on a 1366-pixel laptop screen: the header keeps one row, and a
location's errors read in Spanish beside their fields."""

import pytest
from playwright.sync_api import expect

from tests import factories

pytestmark = pytest.mark.browser

LAPTOP = {"width": 1366, "height": 800}


def test_the_spanish_staff_header_fits_one_row_and_location_errors_are_spanish(
        app, browser, live_server, practice, tmp_path):
    admin = factories.make_staff(practice, role="admin")
    context = browser.new_context(base_url=live_server, viewport=LAPTOP, locale="es-ES",
                                  extra_http_headers={"Accept-Language": "es"})
    page = context.new_page()
    try:
        page.goto("/sign-in")
        page.get_by_label("Correo electrónico").fill(admin.email)
        page.get_by_label("Contraseña").fill(factories.STAFF_PASSWORD)
        page.get_by_role("button", name="Iniciar sesión").click()
        page.goto("/settings/locations/new")
        page.screenshot(path=tmp_path / "staff-header-es.png")
        brand = page.locator(".staff-nav .brand").bounding_box()
        menu = page.locator(".staff-nav .account summary")
        box = menu.bounding_box()
        assert abs(brand["y"] + brand["height"] / 2 - (box["y"] + box["height"] / 2)) < 12, (
            brand, box)  # the user menu is on the brand's row
        menu.click()
        expect(page.locator(".staff-nav .account")).to_contain_text("Administrador/a")
        expect(page.get_by_role("button", name="Cerrar sesión")).to_be_visible()
        page.screenshot(path=tmp_path / "staff-menu-es.png")
        menu.click()

        page.get_by_label("Ciudad").fill("Chicago")
        page.get_by_label("Estado", exact=True).fill("ZZ")
        page.get_by_label("Código postal").fill("ABCDE")
        page.get_by_label("Teléfono").fill("5")
        page.get_by_label("Zona horaria").fill("Chicago")
        page.get_by_role("button", name="Guardar").click()
        expect(page.locator("#name + .field-error")).to_have_text("falta: nombre")
        expect(page.locator("#phone + .field-error")).to_have_text(
            "número de teléfono no reconocible: '5'")
        expect(page.locator("#state + .field-error")).to_contain_text(
            "'ZZ' no es un estado ni territorio de EE. UU.")
        expect(page.locator("#postal_code + .field-error")).to_contain_text(
            "'ABCDE' no es un código postal de EE. UU.")
        page.screenshot(path=tmp_path / "location-errors-es.png", full_page=True)
    finally:
        context.close()
