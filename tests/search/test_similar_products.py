"""Similar items: never the product itself, its class first, diversified."""

import numpy as np
import pytest

from search import similar
from search.rankers import Candidate
from search.ranking import diversify, duplicates_collapse
from search.retrieval import Match
from search.similar import ProductNotIndexed, similar_products
from shop.models import Product
from tests.search.vectors import (
    VERSION,
    indexed_product,
    near,
    random_descriptors,
    random_unit,
    unit,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def test_model_version(monkeypatch):
    monkeypatch.setattr(similar, "model_version", lambda: VERSION)


@pytest.fixture
def rng():
    return np.random.default_rng(11)


def skus(result) -> list[str]:
    return [hit.sku for hit in result.hits]


def test_never_the_product_itself_nor_a_copy_of_its_photo(rng):
    query = random_unit(rng)
    product = indexed_product("SELF", query)
    indexed_product("SAME-PHOTO", query)
    for i in range(5):
        indexed_product(f"OTHER-{i}", near(query, rng, 0.8))

    found = skus(similar_products(product=product, k=10))

    assert "SELF" not in found
    assert "SAME-PHOTO" not in found
    assert sorted(found) == [f"OTHER-{i}" for i in range(5)]


def test_same_class_first_then_others_to_fill(rng):
    query = random_unit(rng)
    product = indexed_product("SHOE", query, garment_class="footwear")
    indexed_product("SHOE-FAR", near(query, rng, 1.5), garment_class="footwear")
    for i in range(4):
        indexed_product(f"BAG-NEAR-{i}", near(query, rng, 0.5), garment_class="bag")

    found = skus(similar_products(product=product, k=4))

    assert found[0] == "SHOE-FAR"  # its own class, although farther
    assert len(found) == 4
    assert all(sku.startswith("BAG-NEAR") for sku in found[1:])


def test_colour_variants_do_not_fill_the_carousel(rng):
    query = random_unit(rng)
    product = indexed_product("QUERY", query)
    variant_base = near(query, rng, 0.6)
    for i in range(8):  # eight near-identical variants, slightly closer than the rest
        indexed_product(f"VARIANT-{i}", near(variant_base, rng, 0.1))
    for i in range(8):
        indexed_product(f"DISTINCT-{i}", near(query, rng, 0.75))

    found = skus(similar_products(product=product, k=8))

    assert len(found) == 8
    variants = sum(sku.startswith("VARIANT") for sku in found)
    assert 1 <= variants <= 4, found


def test_unindexed_product_is_reported():
    product = Product.objects.create(
        sku="NEW", title="New", image="products/new.jpg", image_sha256="n" * 64
    )
    with pytest.raises(ProductNotIndexed):
        similar_products(product=product)


def test_api_returns_skus_and_scores(client, rng):
    query = random_unit(rng)
    indexed_product("QUERY", query)
    for i in range(3):
        indexed_product(f"NEAR-{i}", near(query, rng, 0.5 + i / 10))

    response = client.get("/api/products/QUERY/similar", {"k": 2})

    assert response.status_code == 200
    assert len(response["X-Request-ID"]) == 36  # the impression was logged
    body = response.json()
    assert [hit["sku"] for hit in body] == ["NEAR-0", "NEAR-1"]
    assert body[0]["score"] > body[1]["score"]
    assert set(body[0]) == {"sku", "title", "score", "image_url"}


def test_similar_command_prints_json(rng, capsys):
    from django.core.management import call_command

    query = random_unit(rng)
    indexed_product("QUERY", query)
    indexed_product("NEAR", near(query, rng, 0.5))

    call_command("similar", "QUERY", "--k", "5", "--json")

    import json

    (hit,) = json.loads(capsys.readouterr().out)
    assert hit["sku"] == "NEAR"
    assert 0 < hit["score"] < 1


def match(pk: int, vector, distance: float) -> Match:
    return Match(product_id=pk, distance=distance, region_id=pk, embedding=unit(vector))


def test_duplicates_collapse_keeps_the_closest_copy():
    a, b = np.eye(3)[0], np.eye(3)[1]
    kept = duplicates_collapse([match(1, a, 0.1), match(2, a + 0.01 * b, 0.11), match(3, b, 0.2)])
    assert [m.product_id for m in kept] == [1, 3]


def test_diversify_with_full_relevance_weight_keeps_best_score_first_order():
    rng = np.random.default_rng(0)
    candidates = [Candidate(i, 1 - i / 10, unit(rng.standard_normal(8))) for i in range(6)]
    relevance = [candidate.relevance for candidate in candidates]
    assert diversify(candidates, relevance, 4, relevance_weight=1.0) == candidates[:4]


@pytest.mark.parametrize(("rankers", "queries"),
                         [(("visual",), 3), (("visual_unverified",), 2), (("hybrid",), 5)])
def test_database_round_trips_stay_few(rng, django_assert_num_queries, rankers, queries):
    """Each query is a round trip on a latency budget of 20 ms; text vectors are read
    only for rankers that use them. (The graph walk, which reads the query vector itself,
    with the connection's HNSW settings; the products listed; the photos' local descriptors,
    but for the control without re-ranking; hybrid adds two text reads.)
    Enough products that the graph walk finds k * CANDIDATES_PER_RESULT of them."""
    query = random_unit(rng)
    product = indexed_product("QUERY", query)
    for i in range(12):
        indexed_product(f"NEAR-{i}", near(query, rng, 0.5 + i / 10))

    with django_assert_num_queries(queries):
        found = similar_products(product=product, k=3, rankers=rankers)

    assert len(found.hits) == 3


def test_local_descriptors_lift_the_same_cut_over_a_closer_vector(rng):
    """Re-ranking: a photo whose every part matches the query's comes first, although its
    vector is farther; the control ranker keeps the vectors' order."""
    query = random_unit(rng)
    query_parts = random_descriptors(rng)
    product = indexed_product("QUERY", query, descriptors=query_parts)
    lookalike = near(query, rng, 0.6)
    same_cut = near(query, rng, 0.9)
    assert lookalike @ query > same_cut @ query
    indexed_product("LOOKALIKE", lookalike, descriptors=random_descriptors(rng))
    indexed_product("SAME-CUT", same_cut, descriptors=query_parts)

    found = similar_products(product=product, k=2)
    assert skus(found) == ["SAME-CUT", "LOOKALIKE"]
    # Its score is the re-ranked one: the same parts count, so it is shown as more similar.
    assert found.hits[0].score > found.hits[1].score
    assert skus(similar_products(product=product, k=2, rankers=("visual_unverified",))) == [
        "LOOKALIKE", "SAME-CUT"]


def test_photos_without_descriptors_keep_the_vectors_order(rng):
    """Rows indexed by a checkpoint without a local projection: nothing to re-rank with."""
    query = random_unit(rng)
    product = indexed_product("QUERY", query)
    indexed_product("FAR", near(query, rng, 1.2), descriptors=random_descriptors(rng))
    indexed_product("NEAR", near(query, rng, 0.3))

    assert skus(similar_products(product=product, k=2)) == ["NEAR", "FAR"]
