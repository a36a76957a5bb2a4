"""Region rows keep their vectors (and everything else) inline, never in the TOAST table.

pgvector gives `vector` EXTERNAL storage, so a 512-d vector (2 KB) lives out of line, and
rows over 2 KB also get their longer text columns moved out. Every row a search returns
(its distance and its vector are computed from the row) then costs TOAST index lookups and
chunk reads. On the 37k-region catalog that was most of a class-filtered search: the class
filter sits above the HNSW scan, so rare classes read hundreds of rows per query (footwear
p50 55 -> 19 ms after this change, docs/benchmarks.md).

PLAIN storage pins the vector in the row; `toast_tuple_target` at its maximum stops
PostgreSQL from moving the other columns out to make a 2.2 KB row smaller. Both only affect
rows written later: VACUUM FULL rewrites the existing rows (and rebuilds their indexes)
under an exclusive lock, seconds for a 20k-product catalog. VACUUM cannot run in a
transaction, hence `atomic = False`. halfvec rows (1 KB) are below the threshold anyway.
"""

from django.db import migrations

REGIONS = "search_productregion"
PARTITIONED = "search_regionvector"  # a partitioned table: options go on its partitions
MAX_TOAST_TUPLE_TARGET = 8160


def leaf_tables(cursor) -> list[str]:
    cursor.execute("SELECT relid::regclass::text FROM pg_partition_tree(%s) WHERE isleaf",
                   [PARTITIONED])
    return [REGIONS, *(name for (name,) in cursor.fetchall())]


def rows_inline(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        for table in (REGIONS, PARTITIONED):
            cursor.execute(f"ALTER TABLE {table} ALTER COLUMN embedding SET STORAGE PLAIN")
        for table in leaf_tables(cursor):
            cursor.execute(f"ALTER TABLE {table} SET (toast_tuple_target = "
                           f"{MAX_TOAST_TUPLE_TARGET})")
        cursor.execute("SET maintenance_work_mem = '1GB'")
        for table in (REGIONS, PARTITIONED):
            cursor.execute(f"VACUUM FULL {table}")
        cursor.execute("RESET maintenance_work_mem")


def rows_toasted(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        for table in (REGIONS, PARTITIONED):
            cursor.execute(f"ALTER TABLE {table} ALTER COLUMN embedding SET STORAGE EXTERNAL")
        for table in leaf_tables(cursor):
            cursor.execute(f"ALTER TABLE {table} RESET (toast_tuple_target)")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("search", "0005_region_product_class"),
    ]

    operations = [migrations.RunPython(rows_inline, rows_toasted)]
