"""The category -> garment class mapping: defaults, guesses and staff edits."""

import csv

import pytest

from shop.garment_classes import DEFAULT_CATEGORY_CLASSES, GarmentClass, garment_class_default
from shop.models import CategoryMapping, Product
from shop.services import category_mapping_save


@pytest.mark.parametrize(
    ("category", "group", "expected"),
    [
        ("Tshirts", "Apparel / Topwear", "top"),
        ("Jumpsuit/Playsuit", "Garment Full body", "dress"),
        ("Leggings/Tights", "Garment Lower body", "bottom"),
        ("Heeled sandals", "Shoes", "footwear"),
        ("Cross-body bag", "Bags", "bag"),
        ("Hat/beanie", "Accessories", "accessory"),
        ("Blazer", "Garment Upper body", "outerwear"),
        ("Bra", "Underwear", ""),
        ("tshirts", "", "top"),  # shops differ in case
    ],
)
def test_default_table(category, group, expected):
    assert garment_class_default(category, group) == expected


@pytest.mark.parametrize(
    ("category", "group", "expected"),
    [
        ("Ankle Boots", "", "footwear"),
        ("Laptop Bag Pro", "", "bag"),  # "top" inside "laptop" is not a top
        ("Bracelet Set", "", "accessory"),  # "bra" inside "bracelet" is not underwear
        ("Sports Bra Top", "", ""),
        ("Puffer Jacket", "", "outerwear"),
        ("Maxi Gown", "", "dress"),
        ("Cargo Pants", "", "bottom"),
        ("Graphic Tee", "", "top"),
        ("Novelty", "Footwear / Shoes", "footwear"),  # the group decides when the name can't
        ("Gift card", "Other", ""),
    ],
)
def test_unseen_categories_are_guessed_from_keywords(category, group, expected):
    assert garment_class_default(category, group) == expected


def test_every_default_class_is_a_detector_class():
    assert set(DEFAULT_CATEGORY_CLASSES.values()) == set(GarmentClass.values) | {""}


@pytest.mark.parametrize("catalog", ["myntra", "hm"])
def test_every_sample_catalog_category_has_an_explicit_default(fashion_data, catalog):
    with open(fashion_data / catalog / "catalog.csv", encoding="utf-8") as handle:
        categories = {row["category"] for row in csv.DictReader(handle)}

    assert sorted(c for c in categories if c.casefold() not in DEFAULT_CATEGORY_CLASSES) == []


@pytest.mark.django_db
def test_editing_a_mapping_relabels_its_products():
    mapping = CategoryMapping.objects.create(category="Kurtas", garment_class="top")
    for sku in ("K-1", "K-2"):
        Product.objects.create(sku=sku, title="Kurta", category="Kurtas", garment_class="top",
                               image="products/x.jpg", image_sha256="0" * 64)
    Product.objects.create(sku="S-1", title="Shirt", category="Shirts", garment_class="top",
                           image="products/y.jpg", image_sha256="1" * 64)

    mapping.garment_class = "dress"
    relabelled = category_mapping_save(mapping=mapping)

    assert relabelled == 2
    assert dict(Product.objects.values_list("sku", "garment_class")) == {
        "K-1": "dress", "K-2": "dress", "S-1": "top"}
