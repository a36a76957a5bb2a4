"""The class-partitioned region vectors on real PostgreSQL + pgvector."""

import numpy as np
import pytest
from django.db import connection

from search.filters import ProductFilters
from search.models import ProductRegion, RegionHalfVector, RegionVector
from search.partitioned import (
    PartitionedIndex,
    StorageUnknown,
    region_vectors_disable,
    region_vectors_enable,
    region_vectors_enabled,
)
from search.retrieval import PgvectorIndex, hnsw_iterative_scan, vector_index
from tests.search.vectors import VERSION, indexed_product, near, random_unit

pytestmark = pytest.mark.django_db

CLASSES = ("top", "dress", "footwear", "bag")


@pytest.fixture
def rng():
    return np.random.default_rng(11)


@pytest.fixture
def catalog(rng):
    """Return a query and 120 products of four classes, each with a photo and a garment row."""
    query = random_unit(rng)
    for i in range(120):
        garment_class = CLASSES[i % len(CLASSES)]
        indexed_product(f"P-{i:03d}", near(query, rng, noise=0.4 + i / 40),
                        garment_class=garment_class,
                        regions=((garment_class, near(query, rng, noise=0.5 + i / 30)),))
    return query


def exact_skus(query, *, garment_class=None, k=10) -> list[str]:
    """Return the k products closest to `query`, computed in numpy from ProductRegion."""
    rows = ProductRegion.objects.filter(model_version=VERSION)
    if garment_class:
        rows = rows.filter(product__garment_class=garment_class,
                           garment_class__in=["", garment_class])
    best: dict[str, float] = {}
    for sku, embedding in rows.values_list("product__sku", "embedding"):
        distance = 1 - float(np.asarray(embedding) @ query)
        best[sku] = min(distance, best.get(sku, 2.0))
    return sorted(best, key=best.get)[:k]


def skus(matches) -> list[str]:
    from shop.models import Product

    names = dict(Product.objects.values_list("pk", "sku"))
    return [names[match.product_id] for match in matches]


@pytest.mark.parametrize("storage", ["vector", "halfvec"])
def test_same_top_results_as_exact_search(catalog, storage):
    region_vectors_enable(storage)
    index = PartitionedIndex(storage)
    for garment_class in (None, *CLASSES):
        found = index.nearest(catalog, k=10, model_version=VERSION,
                              filters=ProductFilters(garment_class=garment_class),
                              region_class=garment_class)
        assert skus(found) == exact_skus(catalog, garment_class=garment_class)
    assert all(isinstance(match.embedding, np.ndarray) and match.embedding.shape == (512,)
               for match in found)


def test_answers_like_the_single_table(catalog, rng):
    region_vectors_enable("vector")
    single, partitioned = PgvectorIndex(), PartitionedIndex("vector")
    photo = near(catalog, rng, noise=0.3)
    for options in ({"whole_photos_only": True, "filters": ProductFilters(garment_class="bag")},
                    {"whole_photos_only": True},
                    {"region_class": "dress", "filters": ProductFilters(garment_class="dress"),
                     "exclude_products": [1, 2, 3]}):
        expected = single.nearest(photo, k=8, model_version=VERSION, **options)
        found = partitioned.nearest(photo, k=8, model_version=VERSION, **options)
        assert [(m.product_id, m.region_id) for m in found] == [
            (m.product_id, m.region_id) for m in expected]


@pytest.mark.parametrize("storage", [None, "vector", "halfvec"])
def test_class_votes_read_the_nearest_whole_photos(catalog, rng, storage):
    if storage:
        region_vectors_enable(storage)
    index = PartitionedIndex(storage) if storage else PgvectorIndex()
    photo = near(catalog, rng, noise=0.3)
    whole = ProductRegion.objects.filter(model_version=VERSION, position=0)
    exact = sorted(((float(np.asarray(embedding) @ photo), garment_class)
                    for embedding, garment_class in whole.values_list("embedding",
                                                                      "product_class")),
                   reverse=True)[:12]

    found = index.nearest_classes(photo, k=12, model_version=VERSION,
                                  filters=ProductFilters(price_max=None))

    assert [garment_class for garment_class, _ in found] == [c for _, c in exact]
    tolerance = 1e-3 if storage == "halfvec" else 1e-5
    assert [similarity for _, similarity in found] == pytest.approx(
        [similarity for similarity, _ in exact], abs=tolerance)


def plan(index: PartitionedIndex, query, garment_class: str | None) -> str:
    rows = index.candidate_rows(query, model_version=VERSION,
                                filters=ProductFilters(garment_class=garment_class),
                                region_class=garment_class)
    with hnsw_iterative_scan(40), connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {index.model._meta.db_table}")
        # On 120 products a sort beats any index; on a big catalog the graph wins.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        return rows.order_by("distance").values_list(*index.columns)[:40].explain()


@pytest.mark.parametrize("storage", ["vector", "halfvec"])
def test_class_filter_walks_only_that_partitions_graph(catalog, storage):
    region_vectors_enable(storage)
    table = PartitionedIndex(storage).model._meta.db_table

    explained = plan(PartitionedIndex(storage), catalog, "footwear")

    assert f"Index Scan using {table}_footwear_embedding_idx on {table}_footwear" in explained
    for other in ("top", "dress", "bag", "outerwear", "bottom", "accessory", "other"):
        assert f"{table}_{other}" not in explained
    unfiltered = plan(PartitionedIndex(storage), catalog, None)
    assert f"on {table}_top" in unfiltered
    assert f"on {table}_footwear" in unfiltered


def test_copy_follows_inserts_relabels_and_deletes(catalog, rng):
    region_vectors_enable("vector")
    product = indexed_product("NEW", catalog, garment_class="bag",
                              regions=(("bag", near(catalog, rng, 0.1)),))
    assert set(RegionVector.objects.filter(product=product)
               .values_list("product_class", flat=True)) == {"bag"}
    index = PartitionedIndex("vector")
    first = index.nearest(catalog, k=1, model_version=VERSION,
                          filters=ProductFilters(garment_class="bag"))
    assert skus(first) == ["NEW"]

    product.garment_class = "dress"
    product.save()
    with connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT tableoid::regclass::text FROM search_regionvector "
                       "WHERE product_id = %s", [product.pk])
        assert cursor.fetchall() == [("search_regionvector_dress",)]
    assert skus(index.nearest(catalog, k=1, model_version=VERSION,
                              filters=ProductFilters(garment_class="dress"))) == ["NEW"]

    ProductRegion.objects.filter(product=product, position=1).update(garment_class="footwear")
    assert RegionVector.objects.get(product=product, position=1).region_class == "footwear"

    product.delete()
    assert not RegionVector.objects.filter(product_id=product.pk).exists()
    assert RegionVector.objects.count() == ProductRegion.objects.count()


def test_disable_stops_the_copy(catalog, rng):
    region_vectors_enable("halfvec")
    assert region_vectors_enabled("halfvec")
    assert not region_vectors_enabled("vector")
    assert RegionHalfVector.objects.count() == ProductRegion.objects.count() == 240

    region_vectors_disable("halfvec")
    indexed_product("LATE", catalog)

    assert not region_vectors_enabled("halfvec")
    assert not RegionHalfVector.objects.exists()


def test_setting_chooses_the_backend(settings):
    settings.VECTOR_INDEX, settings.VECTOR_STORAGE = "partitioned", "halfvec"
    index = vector_index()
    assert isinstance(index, PartitionedIndex)
    assert index.model is RegionHalfVector
    settings.VECTOR_INDEX = "single"
    assert type(vector_index()) is PgvectorIndex


def test_unknown_storage_is_refused():
    with pytest.raises(StorageUnknown, match="choose one of vector, halfvec"):
        PartitionedIndex("float8")
