"""Filtered nearest-product search on real PostgreSQL + pgvector."""

from decimal import Decimal

import numpy as np
import pytest

from search.filters import ProductFilters
from search.retrieval import PgvectorIndex
from tests.search.vectors import VERSION, indexed_product, near, random_unit

pytestmark = pytest.mark.django_db


@pytest.fixture
def rng():
    return np.random.default_rng(7)


def nearest_skus(vector, **options) -> list[str]:
    from shop.models import Product

    matches = PgvectorIndex().nearest(vector, model_version=VERSION, **options)
    names = dict(Product.objects.values_list("pk", "sku"))
    return [names[match.product_id] for match in matches]


def test_results_are_exact_nearest_first(rng):
    query = random_unit(rng)
    vectors = {f"P-{i:03d}": near(query, rng, noise=0.5 + i / 20) for i in range(60)}
    for sku, vector in vectors.items():
        indexed_product(sku, vector)

    found = nearest_skus(query, k=10)

    expected = sorted(vectors, key=lambda sku: -float(vectors[sku] @ query))[:10]
    assert found == expected


def test_rare_class_always_gets_its_k_results(rng):
    query = random_unit(rng)
    for i in range(400):  # the common class crowds the neighbourhood of the query
        indexed_product(f"TOP-{i:03d}", near(query, rng, noise=0.3))
    for i in range(3):
        indexed_product(f"BAG-{i}", random_unit(rng), garment_class="bag")

    assert sorted(nearest_skus(query, k=3, filters=ProductFilters(garment_class="bag"))) == [
        "BAG-0", "BAG-1", "BAG-2"]
    assert len(nearest_skus(query, k=10, filters=ProductFilters(garment_class="bag"))) == 3


def test_rare_class_through_the_hnsw_index(rng):
    """Even when the planner walks the graph, the iterative scan fills k from a rare class."""
    from django.db import connection

    query = random_unit(rng)
    for i in range(300):
        indexed_product(f"TOP-{i:03d}", near(query, rng, noise=0.3))
    for i in range(5):
        indexed_product(f"SHOE-{i}", random_unit(rng), garment_class="footwear")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE search_productregion")
        cursor.execute("SET enable_seqscan = off")  # force the index, as on a big catalog
    try:
        index = PgvectorIndex()
        candidates = index.candidate_rows(query, model_version=VERSION,
                                          filters=ProductFilters(garment_class="footwear"))
        rows = index.approximate(candidates, k=5)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET enable_seqscan")
    assert len({row[0] for row in rows}) == 5


def test_one_result_per_product_from_its_closest_region(rng):
    query = random_unit(rng)
    indexed_product("OUTFIT", random_unit(rng), garment_class="dress",
                    regions=(("dress", near(query, rng, 0.1)), ("footwear", query)))
    indexed_product("OTHER", near(query, rng, 0.6), garment_class="dress")

    matches = PgvectorIndex().nearest(query, k=5, model_version=VERSION, region_class="dress")

    assert len(matches) == 2
    # The shoes seen in the dress photo are not compared when looking for dresses.
    assert matches[0].distance > 0.001


def test_filters_on_category_colour_price_and_stock(rng):
    query = random_unit(rng)
    indexed_product("RED-CHEAP", near(query, rng, 0.1), colour="Red", price=Decimal("10"),
                    stock=3)
    indexed_product("RED-DEAR", near(query, rng, 0.2), colour="Red", price=Decimal("90"),
                    stock=0)
    indexed_product("BLUE", near(query, rng, 0.1), colour="Blue", price=Decimal("20"))

    assert nearest_skus(query, k=5, filters=ProductFilters(colour="red")) == [
        "RED-CHEAP", "RED-DEAR"]
    assert sorted(nearest_skus(query, k=5, filters=ProductFilters(price_max=Decimal("50")))) == [
        "BLUE", "RED-CHEAP"]
    assert sorted(nearest_skus(query, k=5, filters=ProductFilters(in_stock=True))) == [
        "BLUE", "RED-CHEAP"]


def test_other_model_versions_are_never_mixed_in(rng):
    query = random_unit(rng)
    indexed_product("CURRENT", near(query, rng, 0.3))

    assert nearest_skus(query, k=5) == ["CURRENT"]
    assert PgvectorIndex().nearest(query, k=5, model_version="older-model") == []


def test_matches_carry_the_stored_vectors_exactly(rng):
    from search.models import ProductRegion

    query = random_unit(rng)
    for i in range(5):
        indexed_product(f"V-{i}", near(query, rng, noise=0.3))

    matches = PgvectorIndex().nearest(query, k=5, model_version=VERSION)

    stored = dict(ProductRegion.objects.values_list("product_id", "embedding"))
    assert len(matches) == 5
    for match in matches:
        assert match.embedding.dtype == np.float32
        assert np.array_equal(match.embedding, np.asarray(stored[match.product_id], np.float32))
        assert match.distance == pytest.approx(1 - float(match.embedding @ query), abs=1e-5)


def test_numpy_runs_its_small_matrix_products_on_one_thread():
    from threadpoolctl import threadpool_info

    # numpy's own OpenBLAS; torch, once imported, brings other libraries of its own.
    blas = [pool for pool in threadpool_info()
            if pool["user_api"] == "blas" and "numpy" in pool["filepath"]]
    assert blas
    assert all(pool["num_threads"] == 1 for pool in blas)


def test_the_exact_scan_returns_only_the_k_closest_products(rng):
    query = random_unit(rng)
    vectors = {f"E-{i}": near(query, rng, noise=0.2 + i / 10) for i in range(12)}
    for sku, vector in vectors.items():
        indexed_product(sku, vector)
    index = PgvectorIndex()

    rows = index.exact(index.candidate_rows(query, model_version=VERSION), 3)

    from shop.models import Product

    names = dict(Product.objects.values_list("pk", "sku"))
    expected = sorted(vectors, key=lambda sku: -float(vectors[sku] @ query))[:3]
    assert [names[row[0]] for row in rows] == expected


def test_region_vectors_are_stored_in_their_rows(rng):
    """A search computes distances from the rows it returns: out-of-line (TOAST) vectors
    cost each row an extra index lookup and chunk reads (migration 0005)."""
    from django.db import connection

    for i in range(20):
        indexed_product(f"P-{i:03d}", random_unit(rng))
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_relation_size(reltoastrelid) FROM pg_class "
                       "WHERE relname = 'search_productregion'")
        assert cursor.fetchone() == (0,)
        cursor.execute("SELECT attstorage FROM pg_attribute WHERE attname = 'embedding' "
                       "AND attrelid = 'search_productregion'::regclass")
        assert cursor.fetchone() == ("p",)


def plan_of(rows) -> str:
    from django.db import connection

    sql, params = rows.order_by("distance").values_list("product_id")[:10].query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE search_productregion")
        # As on a catalog too big to scan and sort: only an index can give the order.
        cursor.execute("SET enable_seqscan = off; SET enable_bitmapscan = off; "
                       "SET enable_sort = off")
        try:
            cursor.execute("EXPLAIN " + sql, params)
            return "\n".join(line for (line,) in cursor.fetchall())
        finally:
            cursor.execute("RESET enable_seqscan; RESET enable_bitmapscan; RESET enable_sort")


def test_a_class_filter_walks_that_class_s_own_graph(rng):
    query = random_unit(rng)
    for i in range(50):
        indexed_product(f"TOP-{i:03d}", near(query, rng, noise=0.3))
        indexed_product(f"SHOE-{i:03d}", random_unit(rng), garment_class="footwear")
    index = PgvectorIndex()

    shoes = index.candidate_rows(query, model_version=VERSION, region_class="footwear",
                                 filters=ProductFilters(garment_class="footwear"))
    similar_shoes = index.candidate_rows(query, model_version=VERSION, whole_photos_only=True,
                                         filters=ProductFilters(garment_class="footwear"))
    anything = index.candidate_rows(query, model_version=VERSION)

    assert "region_hnsw_footwear" in plan_of(shoes)
    assert "region_hnsw_footwear" in plan_of(similar_shoes)
    assert "region_embedding_hnsw" in plan_of(anything)


def test_regions_follow_their_product_s_class(rng):
    """Triggers copy the product's class into its region rows (for the per-class graphs),
    when the rows are written and when the product is relabelled."""
    from search.models import ProductRegion

    product = indexed_product("DRESS-1", random_unit(rng), garment_class="dress",
                              regions=(("footwear", random_unit(rng)),))
    assert set(ProductRegion.objects.filter(product=product)
               .values_list("product_class", flat=True)) == {"dress"}

    product.garment_class = "top"
    product.save()

    assert set(ProductRegion.objects.filter(product=product)
               .values_list("product_class", flat=True)) == {"top"}
    assert nearest_skus(random_unit(rng), k=5, filters=ProductFilters(garment_class="top")) == [
        "DRESS-1"]


@pytest.mark.django_db(transaction=True)
def test_every_new_connection_starts_with_the_search_settings():
    from django.db import connection

    from search.retrieval import HNSW_SESSION_SETTINGS

    connection.close()
    with connection.cursor() as cursor:  # a new session
        for name, value in HNSW_SESSION_SETTINGS.items():
            cursor.execute("SELECT current_setting(%s)", [name])
            assert cursor.fetchone() == (value,)


@pytest.mark.django_db(transaction=True)  # SET LOCAL ends with a transaction, not a savepoint
def test_a_larger_limit_gets_its_own_settings_for_one_transaction():
    from django.db import connection

    from search.retrieval import hnsw_iterative_scan

    def ef_search() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('hnsw.ef_search')")
            return cursor.fetchone()[0]

    with hnsw_iterative_scan(10):
        assert ef_search() == "160"
    with hnsw_iterative_scan(400):
        assert ef_search() == "400"
    assert ef_search() == "160"
