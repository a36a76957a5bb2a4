"""The shop end to end on real sample data, in a real browser.

Real myntra product photos, imported and indexed by the shipped models; a real street
photo uploaded to shop the look. The screenshots in docs/screenshots/sample-*.jpg (shown in
the README) come from this test; JPEG, because real photos make PNGs of a megabyte.
"""

import csv
from collections import defaultdict
from pathlib import Path

import pytest

from search.indexing import products_index
from shop.catalog_import import catalog_import
from shop.garment_classes import garment_class_default
from shop.models import Product
from tests.frontend.test_browser import CHROMIUM, SCREENSHOTS, _wait_for_event, browser

__all__ = ["browser"]  # the fixture, shared with the other browser tests

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed"),
]

# Products taken per garment class, in file order: a small shop with every class in it.
PER_CLASS = 7
# A CCP street photo in which the shipped detector finds several garments.
STREET_PHOTO = "ccp/photos/0001.jpg"


def sample_rows(catalog: Path) -> list[dict]:
    """Return the first PER_CLASS rows of each garment class, with absolute image paths."""
    picked: dict[str, list[dict]] = defaultdict(list)
    catalog = catalog.resolve()  # FASHION_DATA may be relative (CI: ../shared/datasets)
    with open(catalog, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            garment_class = garment_class_default(row["category"], row["group"])
            if garment_class and len(picked[garment_class]) < PER_CLASS:
                picked[garment_class].append(row | {"image": str(catalog.parent / row["image"])})
    return [row for rows in picked.values() for row in rows]


def screenshot(page, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.jpg"), full_page=True, type="jpeg",
                    quality=80)


@pytest.fixture
def sample_shop(fashion_data, tmp_path, media_root) -> list[dict]:
    rows = sample_rows(fashion_data / "myntra" / "catalog.csv")
    path = tmp_path / "catalog.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    assert catalog_import(path=path).failed == 0
    assert products_index().indexed == len(rows)
    return rows


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                  has_touch=True, device_scale_factor=2)
    yield context.new_page()
    context.close()


def test_the_shop_works_end_to_end_on_the_sample_catalog(live_server, browser, phone,
                                                        sample_shop, fashion_data):
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    assert len({garment_class_default(r["category"], r["group"]) for r in sample_shop}) == 7

    # Text search finds a product by words of its title.
    wanted = next(row for row in sample_shop if row["category"] == "Tshirts")
    page.goto(f"{live_server.url}/")
    page.get_by_role("searchbox").fill(wanted["title"])
    page.get_by_role("button", name="Search").click()
    page.wait_for_selector(".grid .card")
    assert wanted["title"] in page.locator(".grid").inner_text()
    screenshot(page, "sample-catalog")

    # A product page fills its similar-items carousel from the real index.
    page.goto(f"{live_server.url}/products/{wanted['sku']}/")
    cards = page.locator(".carousel .card")
    cards.nth(3).wait_for()
    assert cards.count() >= 4
    assert wanted["sku"] not in {cards.nth(i).locator("a").get_attribute("data-sku")
                                 for i in range(cards.count())}
    screenshot(page, "sample-product")

    # A street photo gets hotspots on its garments and products for each.
    page.goto(f"{live_server.url}/look/")
    page.set_input_files("#look-file", str(fashion_data / STREET_PHOTO))
    page.wait_for_selector(".region .card")
    assert page.locator(".hotspot").count() >= 2
    strip = page.locator(".region").first
    assert strip.locator(".card").count() >= 3
    screenshot(page, "sample-look")

    # Clicking a match is logged against the list it was shown in.
    link = strip.locator(".card a").first
    clicked = link.get_attribute("data-sku")
    link.click()
    page.wait_for_url(f"**/products/{clicked}/")
    event = _wait_for_event()
    assert (event.sku, event.position, event.kind) == (clicked, 0, "click")
    assert Product.objects.filter(sku=clicked).exists()

    # The same page on a phone.
    phone.goto(f"{live_server.url}/look/")
    phone.set_input_files("#look-file", str(fashion_data / STREET_PHOTO))
    phone.wait_for_selector(".region .card")
    screenshot(phone, "sample-look-phone")
