"""Shopper pages render from the server with what a shopper needs (the browser tests
in test_browser.py check them running)."""

import numpy as np
import pytest

from search.text_index import products_text_index
from tests.search.vectors import indexed_product, random_unit

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog():
    rng = np.random.default_rng(1)
    indexed_product("TEE-1", random_unit(rng), title="Striped cotton tee", category="Tshirts",
                    colour="Blue")
    indexed_product("BOOT-1", random_unit(rng), title="Suede chelsea boots", category="Boots",
                    colour="Brown", garment_class="footwear")
    products_text_index()


def test_catalog_lists_products_with_lazy_images(client, catalog):
    page = client.get("/").content.decode()
    assert "2 products" in page
    assert 'loading="lazy"' in page
    assert 'alt="Striped cotton tee"' in page
    assert 'href="/products/BOOT-1/"' in page


def test_catalog_search_finds_by_text_and_tracks_clicks(client, catalog):
    page = client.get("/", {"q": "boots"}).content.decode()
    assert "result" in page
    assert "“boots”" in page
    assert "BOOT-1" in page
    assert 'data-request-id="' in page  # results can report clicks


def test_catalog_filters(client, catalog):
    page = client.get("/", {"garment_class": "footwear"}).content.decode()
    assert "BOOT-1" in page
    assert "TEE-1" not in page
    assert client.get("/", {"price_min": "abc"}).status_code == 200


def test_product_page_has_details_and_a_similar_items_section(client, catalog):
    page = client.get("/products/TEE-1/").content.decode()
    assert "<h1>Striped cotton tee</h1>" in page
    assert 'data-similar-for="TEE-1"' in page
    assert client.get("/products/NOPE/").status_code == 404


def test_look_page_offers_upload_camera_and_drop(client):
    page = client.get("/look/").content.decode()
    assert 'type="file"' in page
    assert 'accept="image/*"' in page
    assert 'capture="environment"' in page
    assert "data-dropzone" in page


def test_visitor_cookie_is_set_once(client):
    first = client.get("/look/")
    assert len(first.cookies["visitor"].value) == 32
    assert "visitor" not in client.get("/look/").cookies
