"""Compare one HNSW graph over all regions with class-partitioned graphs (docs/benchmarks.md).

Three layouts answer the same class-filtered top-10 queries: the single table with
pgvector's iterative scan, the partitioned copy in `vector`, and in `halfvec`. For each:
latency of `VectorIndex.nearest` (what a request pays), server execution time, recall@10
of the graph walk against an exact scan of the single table, build time, sizes, and how
much of each sits in shared_buffers after the queries.
"""

import json
import logging
import time
from dataclasses import dataclass, field

import numpy as np
from django.db import connection, transaction
from django.db.models import Count
from tqdm import tqdm

from search.benchmark_vectors import CHUNK, SeedRegions, query_vectors, synthetic_products
from search.filters import ProductFilters
from search.models import ProductRegion
from search.partitioned import (
    STORAGES,
    PartitionedIndex,
    region_vectors_disable,
    region_vectors_enable,
)
from search.retrieval import PgvectorIndex, best_per_product, hnsw_iterative_scan
from shop.garment_classes import GarmentClass
from shop.models import Product

logger = logging.getLogger(__name__)

MODEL_VERSION = "benchmark"
SKU_PREFIX = "BENCH-"
LAYOUTS = ("single", "partitioned vector", "partitioned halfvec")


class NotABenchmarkDatabase(RuntimeError):
    """The database holds a real catalog, which the benchmark must never touch."""


def layout_index(layout: str) -> PgvectorIndex:
    """Return the VectorIndex that searches `layout`."""
    if layout == "single":
        return PgvectorIndex()
    return PartitionedIndex(layout.split()[-1])


def benchmark_catalog_load(seed: SeedRegions, regions: int, *, progress: bool = True) -> int:
    """Create synthetic products until at least `regions` regions exist; return the count.

    Resumes after an interruption: products are written a whole chunk per transaction.
    """
    if Product.objects.exclude(sku__startswith=SKU_PREFIX).exists():
        raise NotABenchmarkDatabase(
            "this database has products of a real catalog: run the benchmark with its own "
            "DATA_DIR (or DATABASE_URL)")
    for storage in STORAGES:
        region_vectors_disable(storage)
    with connection.cursor() as cursor:  # built once at the end (hnsw_build_seconds)
        cursor.execute("DROP INDEX IF EXISTS region_embedding_hnsw")
    count = ProductRegion.objects.count()
    chunk = Product.objects.count() // CHUNK
    with tqdm(total=regions, initial=count, unit="region", desc="load",
              disable=not progress, dynamic_ncols=True) as bar:
        while count < regions:
            made = _chunk_create(seed, chunk)
            count += made
            chunk += 1
            bar.update(made)
    return count


def _chunk_create(seed: SeedRegions, chunk: int) -> int:
    products = list(synthetic_products(seed, chunk=chunk))
    with transaction.atomic():
        rows = Product.objects.bulk_create(
            Product(sku=f"{SKU_PREFIX}{chunk * CHUNK + i:07d}", title=f"benchmark {i}",
                    garment_class=product.garment_class, image="benchmark.jpg",
                    image_sha256=f"{chunk * CHUNK + i:064d}")
            for i, product in enumerate(products))
        regions = [
            ProductRegion(product=row, model_version=MODEL_VERSION,
                          image_sha256=row.image_sha256, position=position,
                          garment_class=region_class, box=[0, 0, 1, 1], score=1.0,
                          embedding=vector)
            for row, product in zip(rows, products, strict=True)
            for position, (region_class, vector) in enumerate(product.regions)
        ]
        ProductRegion.objects.bulk_create(regions, batch_size=500)
    return len(regions)


def single_index_build(maintenance_work_mem: str = "1GB") -> float:
    """(Re)build the single table's HNSW index and return the seconds it took."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL maintenance_work_mem = %s", [maintenance_work_mem])
        # Check the deferred foreign keys of rows just written: an index cannot be built
        # on a table with checks pending.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("DROP INDEX IF EXISTS region_embedding_hnsw")
        started = time.perf_counter()
        cursor.execute("CREATE INDEX region_embedding_hnsw ON search_productregion USING hnsw "
                       "(embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64)")
        return time.perf_counter() - started


def layouts_build(maintenance_work_mem: str = "1GB") -> dict[str, float]:
    """Build the three layouts' indexes; return each one's build seconds."""
    seconds = {"single": single_index_build(maintenance_work_mem)}
    logger.info("single: HNSW built in %.1f s", seconds["single"])
    for storage in STORAGES:
        report = region_vectors_enable(storage, maintenance_work_mem=maintenance_work_mem)
        seconds[f"partitioned {storage}"] = report.index_seconds
        logger.info("partitioned %s: %d rows copied in %.1f s, HNSW built in %.1f s",
                    storage, report.rows, report.copy_seconds, report.index_seconds)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE search_productregion")
        cursor.execute("ANALYZE search_regionvector")
        cursor.execute("ANALYZE search_regionhalfvec")
        cursor.execute("ANALYZE shop_product")
    return seconds


@dataclass
class ClassResult:
    """One layout's numbers for one class filter."""

    latency_ms: tuple[float, float]  # p50, p95 of nearest()
    server_ms: float  # p50 of the graph walk's execution on the server
    count: int
    recall: float
    short: int  # queries whose graph walk returned fewer than k products


@dataclass
class LayoutResult:
    layout: str
    classes: dict[str, ClassResult] = field(default_factory=dict)
    cached: dict[str, dict[str, int]] | None = None  # shared_buffers after its queries


def layouts_measure(seed: SeedRegions, queries: int, *, k: int = 10,
                    progress: bool = True) -> list[LayoutResult]:
    """Run `queries` class-filtered searches per class on every layout and measure them.

    Layouts run one after the other, each followed by a snapshot of shared_buffers, so the
    snapshot shows what that layout's queries keep in memory.
    """
    classes = list(GarmentClass.values)
    vectors = {name: query_vectors(seed, name, queries) for name in classes}
    truths = exact_tops(vectors, k)
    results = []
    for layout in LAYOUTS:
        index = layout_index(layout)
        result = LayoutResult(layout)
        for name in tqdm(classes, desc=layout, disable=not progress):
            result.classes[name] = _class_measure(index, vectors[name], truths[name], name, k)
        cached = buffer_cache()
        result.cached = cached[layout] if cached else None
        results.append(result)
    return results


def exact_tops(queries: dict[str, np.ndarray], k: int) -> dict[str, list[set[int]]]:
    """Return the exact top-k product ids of each query, by brute force in numpy.

    The same answer as the single table's exact scan (best region per product, regions of
    the class and whole photos, products of the class), computed once in memory: the SQL
    exact scan ships every product's closest vector to Python, minutes for a big class.
    """
    product, product_class, region_class, matrix = _all_regions()
    truths = {}
    for name, vectors in queries.items():
        rows = np.flatnonzero((product_class == name) &
                              ((region_class == "") | (region_class == name)))
        distances = 1 - vectors @ matrix[rows].T  # (queries, rows)
        truths[name] = []
        for row_distances in distances:
            best: dict[int, float] = {}
            for i in np.argsort(row_distances):
                best.setdefault(int(product[rows[i]]), float(row_distances[i]))
                if len(best) == k:
                    break
            truths[name].append(set(best))
    return truths


def _all_regions() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return every benchmark region's product, classes and vector, read in binary."""
    from pgvector.psycopg.vector import register_vector_info
    from psycopg import Cursor
    from psycopg.types import TypeInfo

    connection.ensure_connection()
    raw = connection.connection
    # Binary vectors load a hundred times faster than text; only this cursor reads them so.
    with Cursor(raw) as cursor:  # Django's client-side cursors read text only
        register_vector_info(cursor, TypeInfo.fetch(raw, "vector"))
        cursor.execute("""
            SELECT r.product_id, p.garment_class, r.garment_class, r.embedding
            FROM search_productregion r JOIN shop_product p ON p.id = r.product_id
            WHERE r.model_version = %s""", [MODEL_VERSION], binary=True)
        rows = [(*row[:3], row[3].to_numpy()) for row in cursor]
    product, product_class, region_class, embeddings = zip(*rows, strict=True)
    return (np.array(product), np.array(product_class), np.array(region_class),
            np.stack(embeddings).astype(np.float32))


def _options(garment_class: str) -> dict:
    return {"model_version": MODEL_VERSION,
            "filters": ProductFilters(garment_class=garment_class),
            "region_class": garment_class}


def _class_measure(index: PgvectorIndex, vectors, truths, garment_class, k) -> ClassResult:
    for vector in vectors[:2]:  # warm the connection and the caches
        index.nearest(vector, k=k, **_options(garment_class))
    seconds, server, recalls, short = [], [], [], 0
    for vector, truth in zip(vectors, truths, strict=True):
        started = time.perf_counter()
        index.nearest(vector, k=k, **_options(garment_class))
        seconds.append(time.perf_counter() - started)
        rows = index.candidate_rows(vector, **_options(garment_class))
        found = {m.product_id for m in best_per_product(index.approximate(rows, k), k)}
        short += len(found) < k
        if truth:
            recalls.append(len(found & truth) / len(truth))
        server.append(_server_seconds(index, rows, k))
    latency = np.percentile(np.array(seconds) * 1000, [50, 95])
    return ClassResult((float(latency[0]), float(latency[1])),
                       float(np.percentile(server, 50)) * 1000, len(seconds),
                       float(np.mean(recalls)), short)


def _server_seconds(index: PgvectorIndex, rows, k: int) -> float:
    """Return the server's execution time of the graph walk (EXPLAIN ANALYZE)."""
    limit = k * index.rows_per_product
    query = rows.order_by("distance").values_list(*index.columns)[:limit]
    with hnsw_iterative_scan(limit, max_scan_tuples=index.max_scan_tuples):
        plan = json.loads(query.explain(format="json", analyze=True))
    return plan[0]["Execution Time"] / 1000


def layout_relations() -> dict[str, dict[str, list[str]]]:
    """Return each layout's heap relations (with TOAST) and HNSW index relations."""
    with connection.cursor() as cursor:
        found = {"single": {"heap": ["search_productregion"],
                            "hnsw": ["region_embedding_hnsw"]}}
        for storage, model in STORAGES.items():
            table = model._meta.db_table
            cursor.execute("""
                SELECT c.relname, c.relkind FROM pg_partition_tree(%s) t
                JOIN pg_class c ON c.oid = t.relid WHERE t.isleaf""", [table])
            heaps = [name for name, _ in cursor.fetchall()]
            cursor.execute("""
                SELECT c.relname FROM pg_partition_tree(%s) t
                JOIN pg_class c ON c.oid = t.relid WHERE t.isleaf""", [f"{table}_embedding"])
            found[f"partitioned {storage}"] = {"heap": heaps,
                                               "hnsw": [name for (name,) in cursor.fetchall()]}
    return found


def layout_sizes() -> dict[str, dict[str, int]]:
    """Return bytes per layout: table (heap + TOAST), its HNSW indexes, and all with indexes."""
    sizes = {}
    with connection.cursor() as cursor:
        for layout, relations in layout_relations().items():
            cursor.execute("""
                SELECT sum(pg_table_size(name::regclass)),
                       sum(pg_total_relation_size(name::regclass))
                FROM unnest(%s::text[]) name""", [relations["heap"]])
            table, total = cursor.fetchone()
            cursor.execute("SELECT sum(pg_relation_size(name::regclass)) "
                           "FROM unnest(%s::text[]) name", [relations["hnsw"]])
            (hnsw,) = cursor.fetchone()
            sizes[layout] = {"table": int(table), "hnsw": int(hnsw), "total": int(total)}
    return sizes


def buffer_cache() -> dict[str, dict[str, int]] | None:
    """Return the bytes of each layout's heap and HNSW index in shared_buffers now.

    None when the pg_buffercache extension is not available.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_buffercache'")
        if cursor.fetchone() is None:
            return None
        cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_buffercache")
        cached = {}
        for layout, relations in layout_relations().items():
            cached[layout] = {}
            for part, names in relations.items():
                if part == "heap":  # the vectors of a vector(512) row live in its TOAST
                    cursor.execute("""
                        SELECT array_agg(reltoastrelid::regclass::text) FROM pg_class
                        WHERE relname = ANY(%s) AND reltoastrelid <> 0""", [names])
                    names = names + (cursor.fetchone()[0] or [])
                cursor.execute("""
                    SELECT count(*) * current_setting('block_size')::int FROM pg_buffercache b
                    JOIN pg_class c ON b.relfilenode = pg_relation_filenode(c.oid)
                    WHERE b.reldatabase = (SELECT oid FROM pg_database
                                           WHERE datname = current_database())
                      AND c.oid = ANY(%s::regclass[])""", [names])
                cached[layout][part] = int(cursor.fetchone()[0])
        return cached


def shared_buffers_bytes() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT setting::bigint * current_setting('block_size')::bigint "
                       "FROM pg_settings WHERE name = 'shared_buffers'")
        return int(cursor.fetchone()[0])


def class_counts() -> dict[str, int]:
    """Return how many products each garment class has."""
    return dict(Product.objects.values("garment_class").annotate(n=Count("pk"))
                .values_list("garment_class", "n"))
