"""The staff catalog screens render, search and filter."""

import pytest

from shop.models import CategoryMapping, Product

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog():
    Product.objects.create(sku="T-1", title="Striped tee", category="Tshirts", colour="Blue",
                           garment_class="top", image="products/t.jpg", image_sha256="t" * 64,
                           thumbnail="thumbnails/t.jpg")
    Product.objects.create(sku="S-1", title="Suede boots", category="Boots", colour="Brown",
                           garment_class="footwear", image="products/s.jpg", image_sha256="s" * 64)


def test_product_list_shows_thumbnails_and_filters(admin_client, catalog):
    page = admin_client.get("/admin/shop/product/").content.decode()
    assert '<img src="/media/thumbnails/t.jpg"' in page
    assert '<img src="/media/products/s.jpg"' in page
    for filter_title in ("garment class", "category", "colour"):
        assert f"By {filter_title}" in page


def test_product_search_and_class_filter(admin_client, catalog):
    found = admin_client.get("/admin/shop/product/", {"q": "suede"}).content.decode()
    assert "S-1" in found
    assert "T-1" not in found
    tops = admin_client.get("/admin/shop/product/", {"garment_class__exact": "top"})
    assert "T-1" in tops.content.decode()
    assert "S-1" not in tops.content.decode()


def test_product_page_renders(admin_client, catalog):
    product = Product.objects.get(sku="T-1")
    assert admin_client.get(f"/admin/shop/product/{product.pk}/change/").status_code == 200


def test_mapping_edit_in_admin_relabels_products(admin_client, catalog):
    mapping = CategoryMapping.objects.create(category="Boots", garment_class="footwear")
    listing = admin_client.get("/admin/shop/categorymapping/").content.decode()
    assert "Boots" in listing

    response = admin_client.post(f"/admin/shop/categorymapping/{mapping.pk}/change/",
                                 {"category": "Boots", "garment_class": "accessory"})

    assert response.status_code == 302
    assert Product.objects.get(sku="S-1").garment_class == "accessory"
