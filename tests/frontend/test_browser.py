"""The pages working in a real browser: Debian's Chromium driven by Playwright.

The dashboard screenshot in docs/screenshots/ (shown in the README) comes from here; the
other pages are shot on real sample data by test_sample_catalog.py.
"""

import shutil
import uuid
from pathlib import Path

import numpy as np
import pytest

from search import similar
from search.models import Event
from search.text_index import products_text_index
from tests.search.test_experiments import experiment
from tests.search.vectors import VERSION, indexed_product, near, random_unit

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread; Django refuses
    # database calls there unless told that they are, as here, really synchronous.
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "1")
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    opened = context.new_page()
    yield opened
    context.close()


def screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


@pytest.fixture
def catalog(monkeypatch, media_root):
    """Products with real photos on disk and hand-made vectors in the index."""
    from tests.factories import image_bytes

    monkeypatch.setattr(similar, "model_version", lambda: VERSION)
    rng = np.random.default_rng(4)
    anchor = random_unit(rng)
    colours = [(200, 40, 40), (40, 80, 200), (30, 150, 70), (230, 200, 40), (90, 90, 90),
               (160, 60, 160), (240, 140, 40), (20, 20, 20)]
    for i, colour in enumerate(colours):
        sku = f"TEE-{i}"
        (media_root / "products").mkdir(parents=True, exist_ok=True)
        (media_root / f"products/{sku}.jpg").write_bytes(image_bytes(colour, size=(180, 240)))
        indexed_product(sku, near(anchor, rng, 0.4 + i / 10), title=f"Cotton tee no. {i}",
                        category="Tshirts", colour="Red")
    products_text_index()


def test_catalog_search_finds_a_product(live_server, page, catalog):
    page.goto(f"{live_server.url}/")
    page.get_by_role("searchbox").fill("cotton tee 3")
    page.get_by_role("button", name="Search").click()

    page.wait_for_selector(".grid .card")
    assert "Cotton tee no. 3" in page.locator(".grid").inner_text()


def test_product_carousel_shows_similar_items_and_clicks_are_logged(live_server, page,
                                                                     catalog):
    experiment(key="carousel", weights=(("visual", 1), ("visual_attributes", 1)))
    page.goto(f"{live_server.url}/products/TEE-0/")

    cards = page.locator(".carousel .card")
    cards.nth(3).wait_for()
    assert cards.count() >= 4

    clicked_sku = cards.nth(1).locator("a").get_attribute("data-sku")
    cards.nth(1).locator("a").click()
    page.wait_for_url(f"**/products/{clicked_sku}/")
    page.wait_for_function("() => true")
    event = _wait_for_event()
    assert (event.sku, event.position, event.kind) == (clicked_sku, 1, "click")
    assert event.variant in {"visual", "visual_attributes"}


def _wait_for_event(timeout: float = 10.0) -> Event:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        event = Event.objects.first()
        if event is not None:
            return event
        time.sleep(0.1)
    raise AssertionError("no click event was logged")


def test_dashboard_renders_its_charts(live_server, page, catalog, admin_user):
    from search.simulation import traffic_simulate

    running = experiment(key="carousel", weights=(("visual", 1), ("hybrid", 1)))
    traffic_simulate(experiment=running, visitors=30, lift=0.3, seed=uuid.uuid4().int % 1000)
    page.goto(f"{live_server.url}/admin/login/?next=/dashboard/experiments/carousel/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "password")
    page.click("input[type=submit]")

    page.wait_for_selector("svg.chart")
    assert page.locator("svg.chart").count() == 2
    assert page.locator("svg.chart polyline").count() >= 1
    screenshot(page, "dashboard")


def test_look_page_shows_hotspots_and_results(live_server, page, look_catalog, tmp_path):
    from tests.search.catalog import jpeg, outfit_photo

    photo = tmp_path / "outfit.jpg"
    photo.write_bytes(jpeg(outfit_photo()))
    page.goto(f"{live_server.url}/look/")
    page.set_input_files("#look-file", str(photo))

    page.wait_for_selector(".hotspot")
    page.wait_for_selector(".region .card")
    assert page.locator(".hotspot").count() >= 1
    assert page.locator(".region .card").count() >= 1


def test_look_page_searches_a_heic_photo_chromium_cannot_show(live_server, page, look_catalog,
                                                             tmp_path):
    from tests.search.catalog import heic, outfit_photo

    photo = tmp_path / "IMG_0001.HEIC"
    photo.write_bytes(heic(outfit_photo()))
    page.goto(f"{live_server.url}/look/")
    page.set_input_files("#look-file", str(photo))

    page.wait_for_selector(".region .card")
    assert page.locator(".region .card").count() >= 1
    assert page.locator(".hotspot").count() == 0  # no photo to place them on
    assert page.locator("[data-look-error]").is_hidden()


def test_look_page_explains_a_wrong_file(live_server, page, tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not a photo")
    page.goto(f"{live_server.url}/look/")
    page.set_input_files("#look-file", str(text))

    alert = page.locator("[data-look-error]")
    alert.wait_for()
    assert "choose a photo" in alert.inner_text()


@pytest.fixture
def look_catalog(tmp_path):
    """The generated catalog, indexed by the shipped models."""
    from search.indexing import products_index
    from tests.search.catalog import generated_catalog_import

    generated_catalog_import(tmp_path / "catalog")
    products_index()
    yield
    shutil.rmtree(tmp_path / "catalog", ignore_errors=True)
