"""Similar items: the database round trips of one request, and the plan of its vector query.

Each round trip costs about a millisecond of a 20 ms budget, so their number is pinned:
a change that adds one fails here and has to say why.
"""

import re

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.throttling import ScopedRateThrottle

from frontend.throttling import SharedRateThrottle
from search import similar
from search.filters import ProductFilters
from search.partitioned import PartitionedIndex, region_vectors_enable
from search.retrieval import PgvectorIndex, ProductPhoto, hnsw_iterative_scan
from shop.models import Product
from tests.search.test_experiments import experiment
from tests.search.vectors import VERSION, indexed_product, near, random_unit

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def test_model_version(monkeypatch):
    monkeypatch.setattr(similar, "model_version", lambda: VERSION)


@pytest.fixture
def catalog() -> Product:
    """Return a product with 50 indexed neighbours: enough of its own class (40) for the
    graph walk to find all the candidates a request wants (k=10: 30), and 10 bags."""
    rng = np.random.default_rng(3)
    query = random_unit(rng)
    product = indexed_product("QUERY", query, garment_class="top")
    for i in range(50):
        garment_class = "bag" if i % 5 == 4 else "top"
        indexed_product(
            f"NEAR-{i:02d}", near(query, rng, 0.4 + i / 50), garment_class=garment_class
        )
    return product


@pytest.fixture
def clock(monkeypatch):
    """Hold the rate limiter's clock inside one window, so no request forgets old counters."""
    monkeypatch.setattr(SharedRateThrottle, "timer", staticmethod(lambda: 600.0))
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"search": "1000/min"})


def request_queries(client, sku: str = "QUERY") -> list[str]:
    """Return the SQL of one similar-items request, after a first one warmed it up."""
    assert client.get(f"/api/products/{sku}/similar", {"k": 10}).status_code == 200
    with CaptureQueriesContext(connection) as captured:
        response = client.get(f"/api/products/{sku}/similar", {"k": 10})
    assert response.status_code == 200
    assert len(response.json()) == 10
    return [query["sql"] for query in captured.captured_queries]


def starts(sql: str) -> str:
    return " ".join(sql.split())[:60]


def test_a_request_makes_six_round_trips(client, catalog, clock):
    """The rate limit's count, the product, the vector search (which reads the product's
    photo vector itself), the listed products, the photos' local descriptors (re-ranking,
    search.verification: family Recall@1 on hm 0.36 -> 0.42 for one more round trip), the
    logged impression."""
    sqls = request_queries(client)

    assert len(sqls) == 6, "\n".join(starts(sql) for sql in sqls)
    assert "INSERT INTO frontend_requestcount" in sqls[0]
    assert 'FROM "shop_product" WHERE "shop_product"."sku"' in sqls[1]
    assert "<=> (SELECT embedding" in sqls[2]
    assert 'FROM "shop_product" WHERE "shop_product"."id" IN' in sqls[3]
    assert "FROM search_photodescriptors" in sqls[4]
    assert sqls[5].startswith('INSERT INTO "search_impression"')
    assert not any("search_experiment" in sql for sql in sqls)


def test_a_running_experiment_adds_only_the_exposure(client, catalog, clock):
    experiment(key="carousel", weights=(("visual", 1), ("visual_attributes", 1)))

    sqls = request_queries(client)

    assert len(sqls) == 7, "\n".join(starts(sql) for sql in sqls)
    assert not any("search_experiment" in sql for sql in sqls)  # read by the warm-up request
    assert any(sql.startswith('INSERT INTO "search_exposure"') for sql in sqls)


def test_reading_the_photo_in_the_search_changes_no_result(catalog):
    """The same matches as searching with the vector read beforehand, for both indexes."""
    photo = np.asarray(catalog.regions.get(position=0).embedding, dtype=np.float32)
    region_vectors_enable("halfvec")
    for index in (PgvectorIndex(), PartitionedIndex("halfvec")):
        for garment_class in ("top", None):
            options = {
                "k": 30,
                "model_version": VERSION,
                "filters": ProductFilters(garment_class=garment_class),
                "whole_photos_only": True,
                "exclude_products": [catalog.pk],
            }
            expected = index.nearest(photo, **options)
            found = index.nearest(ProductPhoto(catalog.pk), **options)
            assert [(m.product_id, m.distance) for m in found] == [
                (m.product_id, m.distance) for m in expected
            ]
            assert len(found) == 30


def test_a_product_without_an_indexed_photo_matches_nothing(catalog):
    """A NULL query vector would make the HNSW scan return arbitrary rows."""
    unindexed = Product.objects.create(
        sku="NEW", title="New", image="products/new.jpg", image_sha256="n" * 64
    )

    assert PgvectorIndex().nearest(ProductPhoto(unindexed.pk), k=5, model_version=VERSION) == []
    assert PgvectorIndex().nearest(ProductPhoto(catalog.pk), k=5, model_version="other") == []


def vector_query_plan(index: PgvectorIndex, product: Product, garment_class: str | None) -> str:
    rows = index.candidate_rows(
        ProductPhoto(product.pk),
        model_version=VERSION,
        filters=ProductFilters(garment_class=garment_class),
        whole_photos_only=True,
        exclude_products=[product.pk],
    )
    with hnsw_iterative_scan(30), connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {rows.model._meta.db_table}")
        # On 51 products a sort beats any index; this asks whether the graph *can* order
        # the rows, which it cannot when the query vector comes from a join.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        return rows.order_by("distance").values_list(*index.columns)[:30].explain()


@pytest.mark.parametrize("garment_class", [None, "top"])
def test_the_graph_orders_by_the_photo_read_before_the_scan(catalog, garment_class):
    explained = vector_query_plan(PgvectorIndex(), catalog, garment_class)

    # The full graph or the class's own: which one is the planner's cost estimate.
    graph = r"Index Scan using region_(embedding_hnsw|hnsw_top) on search_productregion"
    assert re.search(graph, explained), explained
    assert re.search(r"Order By: \(embedding <=> \(InitPlan \d\)\.col1\)", explained), explained
    assert "Sort" not in explained, explained


def test_the_partitioned_graph_orders_by_the_photo_too(catalog):
    region_vectors_enable("halfvec")

    explained = vector_query_plan(PartitionedIndex("halfvec"), catalog, "top")

    assert "Index Scan using search_regionhalfvec_top_embedding_idx" in explained, explained
    assert re.search(r"Order By: \(embedding <=> \(InitPlan \d\)\.col1\)", explained), explained
    assert "Sort" not in explained, explained
