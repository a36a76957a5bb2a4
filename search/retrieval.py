"""Nearest-product search over region vectors, behind a small interface.

Views and services ask a `VectorIndex` for the products nearest to a vector; the pgvector
implementation below is the only code that knows about HNSW settings, so a partitioned
table, a read replica or another engine can stand in without touching them.
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace

import numpy as np
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL
from pgvector.django import CosineDistance, VectorField

from search.filters import ProductFilters
from search.models import ProductRegion
from search.models.index import class_graph_condition
from search.vectors import VectorBinary, vector_from_db

# The graph walk's candidate list, at least. Per-class graphs are small and a query from
# another class enters them far from its answer: at pgvector's default of 40, class-filtered
# recall@10 on the 20k catalog was 0.925, at 160 it is 0.988, and similar items took no
# measurably longer (docs/benchmarks.md).
MIN_EF_SEARCH = 160
# pgvector 0.8 keeps scanning the graph until a filtered LIMIT is met, up to this many tuples.
MAX_SCAN_TUPLES = 40_000


def hnsw_settings(
    *, ef_search: int = MIN_EF_SEARCH, max_scan_tuples: int = MAX_SCAN_TUPLES
) -> dict[str, str]:
    """Return pgvector's settings for an iterative HNSW scan, by name."""
    return {
        "hnsw.iterative_scan": "relaxed_order",
        "hnsw.max_scan_tuples": str(max_scan_tuples),
        "hnsw.ef_search": str(ef_search),
    }


# Every connection's HNSW scans start with these (`hnsw_session_defaults`), so the common
# searches need no transaction of their own to set them: three round trips fewer each.
HNSW_SESSION_SETTINGS = hnsw_settings()


@dataclass(frozen=True)
class ProductPhoto:
    """A query vector left in the database: the indexed whole photo of a product.

    Similar items search with a product's own photo vector; naming it instead of passing
    the vector lets the search read it in the same query, one round trip fewer.
    """

    product_id: int


QueryVector = np.ndarray | ProductPhoto


@dataclass(frozen=True)
class Match:
    """A product and how far its closest indexed region is from the query (cosine distance)."""

    product_id: int
    distance: float
    region_id: int
    embedding: np.ndarray


class VectorIndex:
    """What a retrieval backend provides."""

    def nearest(
        self,
        vector: QueryVector,
        *,
        k: int,
        model_version: str,
        filters: ProductFilters = ProductFilters(),
        region_class: str | None = None,
        whole_photos_only: bool = False,
        exclude_products: Sequence[int] = (),
    ) -> list[Match]:
        """Return up to k products nearest to `vector`, closest first, one match per product.

        `region_class` restricts the regions compared to whole photos and garments the
        detector labelled with that class, so a dress query never matches the shoes seen
        in a dress photo; `whole_photos_only` compares whole product photos only. A
        `ProductPhoto` whose photo `model_version` has not indexed matches nothing.
        """
        raise NotImplementedError("subclasses of VectorIndex must provide nearest()")

    def nearest_classes(
        self,
        vector: np.ndarray,
        *,
        k: int,
        model_version: str,
        filters: ProductFilters = ProductFilters(),
    ) -> list[tuple[str, float]]:
        """Return the class and cosine similarity of the k product photos nearest to
        `vector` (whole photos only), closest first: what a class vote reads."""
        raise NotImplementedError("subclasses of VectorIndex must provide nearest_classes()")


class PgvectorIndex(VectorIndex):
    """HNSW search in PostgreSQL, exact where the approximate scan comes back short."""

    # Regions fetched per wanted product: a product has a whole-photo row and a row per
    # garment, and several may be near the query (only one when comparing whole photos).
    rows_per_product = 4
    # Past this many tuples scanned, the exact scan below answers instead.
    max_scan_tuples = MAX_SCAN_TUPLES

    columns = ("product_id", "distance", "id", "embedding_binary")
    # What a ProductPhoto's vector is compared as (the partitioned copy may store halfvec).
    photo_cast = "vector"

    def nearest(
        self,
        vector,
        *,
        k,
        model_version,
        filters=ProductFilters(),
        region_class=None,
        whole_photos_only=False,
        exclude_products=(),
    ):
        rows = self.candidate_rows(
            vector,
            model_version=model_version,
            filters=filters,
            region_class=region_class,
            whole_photos_only=whole_photos_only,
            exclude_products=exclude_products,
        )
        # A product has one whole-photo row, so whole-photo searches need no spare rows.
        matches = best_per_product(
            self.approximate(rows, k, rows_per_product=1 if whole_photos_only else None), k
        )
        if len(matches) < k:
            # Few products pass the filters, or the graph walk gave up: answer exactly.
            matches = best_per_product(self.exact(rows, k), k)
        return matches

    def nearest_classes(self, vector, *, k, model_version, filters=ProductFilters()):
        rows = self.candidate_rows(
            vector, model_version=model_version, filters=filters, whole_photos_only=True
        )
        # Classes and distances only: no vectors to send, no products to load.
        with hnsw_iterative_scan(k, max_scan_tuples=self.max_scan_tuples, using=rows.db):
            found = list(rows.order_by("distance").values_list("product_class", "distance")[:k])
        # relaxed_order may return rows slightly out of order.
        return [(garment_class, 1.0 - distance)
                for garment_class, distance in sorted(found, key=lambda row: row[1])]

    def candidate_rows(
        self,
        vector,
        *,
        model_version,
        filters=ProductFilters(),
        region_class=None,
        whole_photos_only=False,
        exclude_products=(),
    ) -> QuerySet:
        """Return the region rows a query may match, annotated with their distance."""
        rows = ProductRegion.objects.filter(model_version=model_version)
        if filters.garment_class:
            rows = rows.filter(**class_graph_condition(filters.garment_class))
            filters = replace(filters, garment_class=None)
        rows = rows.filter(filters.q("product__"))
        rows = regions_narrow(
            rows,
            whole_photos_only=whole_photos_only,
            region_class=region_class,
            exclude_products=exclude_products,
        )
        rows, vector = self.query_vector(rows, vector, model_version=model_version)
        return rows.annotate(
            distance=CosineDistance("embedding", vector), embedding_binary=VectorBinary("embedding")
        )

    def query_vector(
        self, rows: QuerySet, vector: QueryVector, *, model_version: str
    ) -> tuple[QuerySet, np.ndarray | RawSQL]:
        """Return `rows` and what their distance is measured to: the vector itself, or a
        `ProductPhoto` read by the search query.

        The photo is an uncorrelated scalar subquery, which PostgreSQL runs once before the
        scan (an InitPlan): the HNSW index orders by its value as by a constant, where a
        join would make the planner compute and sort the distance of every row instead.
        A NULL query vector would make the graph walk return arbitrary rows, so a product
        without that photo matches nothing (a one-time filter, checked before the scan).
        """
        if not isinstance(vector, ProductPhoto):
            return rows, vector
        # Raw SQL: the ORM took about a millisecond longer to compile the same subquery.
        photo_sql = (
            f"SELECT embedding::{self.photo_cast} FROM {ProductRegion._meta.db_table}"
            " WHERE product_id = %s AND model_version = %s AND position = 0"
        )
        params = (vector.product_id, model_version)
        rows = rows.filter(
            RawSQL(f"({photo_sql}) IS NOT NULL", params, output_field=BooleanField())
        )
        return rows, RawSQL(photo_sql, params, output_field=VectorField())

    def approximate(
        self, rows: QuerySet, k: int, *, rows_per_product: int | None = None
    ) -> list[tuple]:
        """Return the rows nearest to the query for k products by a filtered HNSW walk."""
        limit = k * (rows_per_product or self.rows_per_product)
        with hnsw_iterative_scan(limit, max_scan_tuples=self.max_scan_tuples, using=rows.db):
            return list(rows.order_by("distance").values_list(*self.columns)[:limit])

    def exact(self, rows: QuerySet, k: int) -> list[tuple]:
        """Return the k closest products' closest rows by a scan that never consults the graph."""
        closest_per_product = (
            rows.order_by("product_id", "distance")
            .distinct("product_id")
            .values_list(*self.columns)
        )
        sql, params = closest_per_product.query.sql_with_params()
        # On the database the rows are read from: a read replica under replica_reads().
        with transaction.atomic(using=rows.db), connections[rows.db].cursor() as cursor:
            cursor.execute("SET LOCAL enable_indexscan = off")
            # DISTINCT ON must sort by product first; the outer query keeps the k nearest in
            # the database instead of sending every product of a large class to Python.
            cursor.execute(f"SELECT * FROM ({sql}) AS closest ORDER BY 2 LIMIT %s", [*params, k])
            return cursor.fetchall()


def regions_narrow(
    rows: QuerySet,
    *,
    whole_photos_only: bool,
    region_class: str | None,
    exclude_products: Sequence[int],
    class_field: str = "garment_class",
) -> QuerySet:
    """Keep the regions a query compares: whole photos only, or whole photos and the
    garments of `region_class`; never those of `exclude_products`."""
    if whole_photos_only:
        rows = rows.filter(position=0)
    elif region_class:
        rows = rows.filter(**{f"{class_field}__in": ["", region_class]})
    if exclude_products:
        rows = rows.exclude(product_id__in=exclude_products)
    return rows


def hnsw_session_defaults(sender, connection, **kwargs) -> None:
    """Give a new database connection the HNSW settings searches use (a `connection_created`
    receiver, see search/apps.py).

    The settings are the extension's own; PostgreSQL keeps them for the session even before
    pgvector is loaded in it. Behind a pooler in transaction mode, set them on the database
    instead (ALTER DATABASE ... SET) or they may land on another client's session.
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        _settings_apply(cursor, HNSW_SESSION_SETTINGS, local=False)
    connection.hnsw_session_defaults = True


@contextmanager
def hnsw_iterative_scan(
    limit: int, *, max_scan_tuples: int = MAX_SCAN_TUPLES, using: str = DEFAULT_DB_ALIAS
) -> Iterator[None]:
    """Run the enclosed queries with HNSW scans that continue past filtered rows and keep
    enough candidates for `limit` rows.

    Without it, a filter that rejects most of the ef_search candidates the graph walk
    finds returns fewer rows than the LIMIT asks for. When the connection's session
    defaults already say so, this costs nothing; otherwise the settings are made local to
    a transaction. `using` must be the database the enclosed queries read
    (`queryset.db`), or the settings miss them.
    """
    wanted = hnsw_settings(
        ef_search=max(MIN_EF_SEARCH, min(limit, 1000)), max_scan_tuples=max_scan_tuples
    )
    connection = connections[using]
    if wanted == HNSW_SESSION_SETTINGS and getattr(connection, "hnsw_session_defaults", False):
        yield
        return
    with transaction.atomic(using=using), connection.cursor() as cursor:
        _settings_apply(cursor, wanted, local=True)
        yield


def _settings_apply(cursor, settings_by_name: dict[str, str], *, local: bool) -> None:
    """Set the settings in one round trip: for the transaction if `local`, else the session."""
    cursor.execute(
        "SELECT " + ", ".join(["set_config(%s, %s, %s)"] * len(settings_by_name)),
        [value for name, setting in settings_by_name.items() for value in (name, setting, local)],
    )


def best_per_product(rows: list[tuple], k: int) -> list[Match]:
    """Return the k closest products, each with its closest row."""
    # relaxed_order may return rows slightly out of order: sort on the exact distances.
    best: dict[int, tuple] = {}
    for row in sorted(rows, key=lambda row: row[1]):
        best.setdefault(row[0], row)
        if len(best) == k:
            break
    return [
        Match(product_id, float(distance), region_id, vector_from_db(embedding))
        for product_id, distance, region_id, embedding in best.values()
    ]


def vector_index() -> VectorIndex:
    """Return the configured retrieval backend (settings VECTOR_INDEX and VECTOR_STORAGE)."""
    if settings.VECTOR_INDEX == "partitioned":
        from search.partitioned import PartitionedIndex  # it builds on this module

        return PartitionedIndex(settings.VECTOR_STORAGE)
    return PgvectorIndex()
