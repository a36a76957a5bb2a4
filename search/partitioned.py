"""Search region vectors partitioned by garment class, each class with its own HNSW graph.

Every class-filtered search (shop the look for a detected dress, similar items of the
same class) filters on the product's garment class, so the partitioned copy is keyed on
that: such a query walks one small graph instead of filtering a walk through all of
them, and the rare classes no longer depend on the iterative scan digging through the
common ones. `halfvec` storage halves the vectors and their graph, at a small loss of
precision in the distances.

`ProductRegion` stays the source of truth. `region_vectors_enable` copies it into the
chosen storage, builds the per-partition HNSW indexes, and installs triggers that keep
the copy in step with every later insert, update and delete of a region and with any
relabelling of a product's class; `region_vectors_disable` removes them again.
"""

import time
from dataclasses import dataclass, replace

from django.db import connection, transaction
from django.db.models import F, QuerySet
from django.db.models.functions import Cast
from pgvector.django import CosineDistance, VectorField

from search.filters import ProductFilters
from search.models import EMBEDDING_DIMENSIONS
from search.models.partitioned import PartitionedRegion, RegionHalfVector, RegionVector
from search.retrieval import PgvectorIndex, regions_narrow
from search.vectors import VectorBinary

STORAGES: dict[str, type[PartitionedRegion]] = {"vector": RegionVector, "halfvec": RegionHalfVector}
OPCLASSES = {"vector": "vector_cosine_ops", "halfvec": "halfvec_cosine_ops"}


class StorageUnknown(ValueError):
    """The storage named is neither vector nor halfvec."""


def storage_model(storage: str) -> type[PartitionedRegion]:
    """Return the model of the partitioned table for `storage` ("vector" or "halfvec")."""
    try:
        return STORAGES[storage]
    except KeyError:
        raise StorageUnknown(
            f"unknown vector storage {storage!r}: choose one of {', '.join(STORAGES)}"
        ) from None


class PartitionedIndex(PgvectorIndex):
    """HNSW search in the class-partitioned copy of the region vectors."""

    def __init__(self, storage: str = "vector") -> None:
        self.storage = storage
        self.model = storage_model(storage)
        self.photo_cast = storage
        self.columns = ("product_id", "distance", "region_id", "vector")

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
        """Return the region rows a query may match, from the class's partition only."""
        rows = self.model.objects.filter(model_version=model_version)
        if filters.garment_class is not None:
            # On the partition key: the planner keeps only that class's partition.
            rows = rows.filter(product_class=filters.garment_class)
        product_filters = replace(filters, garment_class=None).q("product__")
        if product_filters:
            rows = rows.filter(product_filters)
        rows = regions_narrow(
            rows,
            whole_photos_only=whole_photos_only,
            region_class=region_class,
            exclude_products=exclude_products,
            class_field="region_class",
        )
        rows, vector = self.query_vector(rows, vector, model_version=model_version)
        # Results carry single-precision vectors whatever the storage (rankers compare
        # them), read in binary like the single table's.
        full = (
            F("embedding")
            if self.storage == "vector"
            else Cast("embedding", VectorField(dimensions=EMBEDDING_DIMENSIONS))
        )
        return rows.annotate(
            distance=CosineDistance("embedding", vector), vector=VectorBinary(full)
        )


@dataclass(frozen=True)
class EnableReport:
    """What enabling a partitioned storage did and how long it took."""

    storage: str
    rows: int
    copy_seconds: float
    index_seconds: float


def region_vectors_enable(
    storage: str = "vector", *, maintenance_work_mem: str = "1GB"
) -> EnableReport:
    """Fill the partitioned storage from ProductRegion, index it, and keep it in step.

    One transaction: region writes wait while it runs, so the copy misses none, and a
    failure leaves the storage as it was.
    """
    table = storage_model(storage)._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("LOCK TABLE search_productregion IN SHARE ROW EXCLUSIVE MODE")
        cursor.execute("SET LOCAL maintenance_work_mem = %s", [maintenance_work_mem])
        _triggers_drop(cursor, table)
        cursor.execute(f"TRUNCATE {table}")
        # Building the graphs once after the copy is far faster than growing them row by row.
        cursor.execute(f"DROP INDEX IF EXISTS {table}_embedding")
        started = time.perf_counter()
        cursor.execute(f"""
            INSERT INTO {table} (region_id, product_id, product_class, region_class, position,
                                 model_version, embedding)
            SELECT r.id, r.product_id, p.garment_class, r.garment_class, r.position,
                   r.model_version, r.embedding
            FROM search_productregion r JOIN shop_product p ON p.id = r.product_id""")
        rows = cursor.rowcount
        copied = time.perf_counter()
        cursor.execute(
            f"CREATE INDEX {table}_embedding ON {table} USING hnsw "
            f"(embedding {OPCLASSES[storage]}) WITH (m = 16, ef_construction = 64)"
        )
        indexed = time.perf_counter()
        cursor.execute(f"""
            CREATE TRIGGER {table}_insert AFTER INSERT ON search_productregion
                REFERENCING NEW TABLE AS changed
                FOR EACH STATEMENT EXECUTE FUNCTION {table}_copy();
            CREATE TRIGGER {table}_update AFTER UPDATE ON search_productregion
                REFERENCING NEW TABLE AS changed
                FOR EACH STATEMENT EXECUTE FUNCTION {table}_copy();
            CREATE TRIGGER {table}_relabel AFTER UPDATE OF garment_class ON shop_product
                FOR EACH ROW WHEN (OLD.garment_class IS DISTINCT FROM NEW.garment_class)
                EXECUTE FUNCTION {table}_relabel();""")
    return EnableReport(storage, rows, copied - started, indexed - copied)


def region_vectors_disable(storage: str = "vector") -> None:
    """Stop keeping the partitioned storage in step and empty it."""
    table = storage_model(storage)._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        _triggers_drop(cursor, table)
        cursor.execute(f"TRUNCATE {table}")


def region_vectors_enabled(storage: str = "vector") -> bool:
    """Return True when the partitioned storage is filled and kept in step."""
    table = storage_model(storage)._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_trigger WHERE tgname = %s", [f"{table}_insert"])
        return cursor.fetchone()[0] == 1


def _triggers_drop(cursor, table: str) -> None:
    cursor.execute(f"""
        DROP TRIGGER IF EXISTS {table}_insert ON search_productregion;
        DROP TRIGGER IF EXISTS {table}_update ON search_productregion;
        DROP TRIGGER IF EXISTS {table}_relabel ON shop_product;""")
