"""Measure search speed and quality on the indexed catalog (see docs/benchmarks.md)."""

import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from django.db import connection
from django.test import Client
from PIL import Image

from detection.api import detect, embed, model_version
from detection.benchmark import Timing
from detection.regions import whole_photo
from search.filters import ProductFilters
from search.indexing import region_crops
from search.look import searched_classes
from search.models import ProductRegion
from search.retrieval import PgvectorIndex, best_per_product, vector_index
from shop.garment_classes import GarmentClass
from shop.models import Product


def timed(calls: Sequence[Callable[[], object]], warmup: int = 2) -> Timing:
    """Time each call once, after running the first `warmup` of them untimed."""
    for call in calls[:warmup]:
        call()
    seconds = []
    for call in calls:
        started = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - started)
    return Timing.of(seconds)


def look_search_latency(photos: Sequence[Path]) -> Timing:
    """Time shop the look end to end: multipart upload in, JSON out, through the real view."""
    client = Client()

    def post(path: Path) -> Callable[[], object]:
        def call():
            with open(path, "rb") as handle:
                response = client.post("/api/search/image", {"image": handle})
            assert response.status_code == 200, response.content
        return call

    return timed([post(photo) for photo in photos])


def class_vote_latency(photos: Sequence[Path]) -> Timing:
    """Time shop the look's class vote alone (search.look.searched_classes) per photo, its
    garments detected and embedded beforehand."""
    index, version = vector_index(), model_version()

    def vote(path: Path) -> Callable[[], object]:
        with Image.open(path) as image:
            image = image.convert("RGB")
        regions = detect(image) or [whole_photo(*image.size)]
        vectors = embed(region_crops(image, regions))
        return lambda: searched_classes(regions, vectors, filters=ProductFilters(), index=index,
                                        version=version)

    return timed([vote(photo) for photo in photos])


def similar_latency(skus: Sequence[str]) -> Timing:
    """Time the similar-items endpoint for each sku."""
    client = Client()

    def get(sku: str) -> Callable[[], object]:
        def call():
            response = client.get(f"/api/products/{sku}/similar", {"k": 10})
            assert response.status_code == 200, response.content
        return call

    return timed([get(sku) for sku in skus])


def filtered_recall(queries: int, k: int = 10, seed: int = 0) -> dict[str, float]:
    """Return mean recall@k of the approximate search against an exact scan, per class filter.

    Queries are the vectors of random indexed regions; each is searched once per garment
    class, which makes rare classes (a few hundred products among tens of thousands) the
    hard case for a filtered graph walk. Only the approximate path is measured: the exact
    fallback that `nearest` adds would make it 1.0 by construction.
    """
    version = model_version()
    index = PgvectorIndex()
    ids = list(ProductRegion.objects.filter(model_version=version).values_list("pk", flat=True))
    sample = random.Random(seed).sample(ids, min(queries, len(ids)))
    vectors = ProductRegion.objects.filter(pk__in=sample).values_list("embedding", flat=True)
    recalls: dict[str, list[float]] = {name: [] for name in GarmentClass.values}
    for vector in vectors:
        for garment_class in GarmentClass.values:
            rows = index.candidate_rows(vector, model_version=version,
                                        filters=ProductFilters(garment_class=garment_class))
            exact = {m.product_id for m in best_per_product(index.exact(rows, k), k)}
            found = {m.product_id for m in best_per_product(index.approximate(rows, k), k)}
            if exact:
                recalls[garment_class].append(len(found & exact) / len(exact))
    return {name: float(np.mean(values)) for name, values in recalls.items() if values}


HNSW_INDEXES_SQL = """
SELECT indexrelid::regclass::text FROM pg_index JOIN pg_class ON pg_class.oid = indexrelid
JOIN pg_am ON pg_am.oid = pg_class.relam
WHERE indrelid = 'search_productregion'::regclass AND amname = 'hnsw' ORDER BY 1
"""


def hnsw_indexes() -> list[str]:
    """Return the names of the region table's HNSW indexes (the full graph, one per class)."""
    with connection.cursor() as cursor:
        cursor.execute(HNSW_INDEXES_SQL)
        return [name for (name,) in cursor.fetchall()]


def index_sizes() -> dict[str, int]:
    """Return the on-disk bytes of the region table, its full HNSW graph and the class graphs."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_total_relation_size('search_productregion'), "
                       "pg_relation_size('region_embedding_hnsw')")
        table, hnsw = cursor.fetchone()
        class_graphs = sum(_relation_size(cursor, name) for name in hnsw_indexes()
                           if name != "region_embedding_hnsw")
    return {"table_with_indexes": table, "hnsw": hnsw, "class_graphs": class_graphs}


def _relation_size(cursor, name: str) -> int:
    cursor.execute("SELECT pg_relation_size(%s::regclass)", [name])
    return cursor.fetchone()[0]


def hnsw_build_seconds(maintenance_work_mem: str = "1GB") -> float:
    """Rebuild every HNSW index of the region table and return how long it took."""
    with connection.cursor() as cursor:
        cursor.execute(f"SET maintenance_work_mem = '{maintenance_work_mem}'")
        started = time.perf_counter()
        for name in hnsw_indexes():
            cursor.execute(f'REINDEX INDEX "{name}"')
        return time.perf_counter() - started


def sample_skus(count: int, seed: int = 0) -> list[str]:
    """Return skus of random indexed products."""
    version = model_version()
    skus = list(Product.objects.filter(regions__model_version=version, regions__position=0)
                .values_list("sku", flat=True))
    return random.Random(seed).sample(skus, min(count, len(skus)))
