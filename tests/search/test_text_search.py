"""Text search: full-text and sentence-embedding results fused by reciprocal rank."""

import pytest

from search.filters import ProductFilters
from search.models import ProductText
from search.text_index import products_text_index
from search.text_search import reciprocal_rank_fusion, text_search
from shop.models import Product

pytestmark = pytest.mark.django_db

CATALOG = [
    ("SHIRT-LINEN", "Linen shirt", "Shirts", "White", "top", "Breathable linen for summer."),
    ("TEE-RED", "Crew neck tee", "Tshirts", "Red", "top", "Soft cotton jersey t-shirt."),
    ("BOOT-SUEDE", "Chelsea boots", "Boots", "Brown", "footwear", "Suede ankle boots."),
    ("SNEAKER", "Running trainers", "Sports Shoes", "Black", "footwear", "Mesh running shoes."),
    ("DRESS-MAXI", "Floral maxi dress", "Dresses", "Blue", "dress", "Long summer dress."),
]


@pytest.fixture
def catalog():
    for sku, title, category, colour, garment_class, description in CATALOG:
        Product.objects.create(sku=sku, title=title, category=category, colour=colour,
                               garment_class=garment_class, description=description,
                               image=f"products/{sku}.jpg", image_sha256=sku.ljust(64, "0"))
    products_text_index()


def skus(ranked) -> list[str]:
    names = dict(Product.objects.values_list("pk", "sku"))
    return [names[pk] for pk, _ in ranked]


def test_words_match_exactly(catalog):
    assert skus(text_search(query="linen"))[0] == "SHIRT-LINEN"


def test_meaning_matches_without_shared_words(catalog):
    # No product says "sneakers" or "footwear for jogging"; the embedding still knows.
    assert skus(text_search(query="jogging sneakers"))[0] == "SNEAKER"


def test_filters_apply_to_both_lists(catalog):
    found = skus(text_search(query="summer", filters=ProductFilters(garment_class="dress")))
    assert found == ["DRESS-MAXI"]


def test_nonsense_finds_nothing(catalog):
    assert text_search(query="qwxzv plork") == []


def test_text_index_is_incremental(catalog):
    assert products_text_index() == 0
    Product.objects.filter(sku="TEE-RED").update(title="Crew neck tee in organic cotton")
    assert products_text_index() == 1
    assert ProductText.objects.count() == len(CATALOG)
    assert skus(text_search(query="organic"))[0] == "TEE-RED"


def test_reciprocal_rank_fusion_rewards_agreement():
    fused = reciprocal_rank_fusion([[1, 2, 3], [2, 4, 5]])
    assert [item for item, _ in fused] == [2, 1, 4, 3, 5]
    assert fused[0][1] == pytest.approx(1 / 62 + 1 / 61)
