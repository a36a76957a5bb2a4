"""Partitioned copies of the region vectors: LIST by product garment class, HNSW per partition.

Two tables with the same layout, one storing `vector(512)` and one `halfvec(512)`; both
stay empty (and cost nothing) until `region_vectors_enable` fills one and installs the
triggers that keep it in step with search_productregion (search/partitioned.py).
"""

import django.db.models.deletion
import pgvector.django.halfvec
import pgvector.django.vector
from django.db import migrations, models

# The garment classes as they were when this migration was written; a class added later
# lands in the default partition until a migration gives it its own.
CLASSES = ("top", "outerwear", "bottom", "dress", "footwear", "bag", "accessory")
STORAGES = {"search_regionvector": ("vector(512)", "vector_cosine_ops"),
            "search_regionhalfvec": ("halfvec(512)", "halfvec_cosine_ops")}


def storage_sql(table: str, column_type: str, opclass: str) -> str:
    partitions = "\n".join(
        f"CREATE TABLE {table}_{name} PARTITION OF {table} FOR VALUES IN ('{name}');"
        for name in CLASSES
    )
    return f"""
CREATE TABLE {table} (
    region_id bigint NOT NULL REFERENCES search_productregion (id) ON DELETE CASCADE,
    product_id bigint NOT NULL REFERENCES shop_product (id) ON DELETE CASCADE,
    product_class varchar(16) NOT NULL,
    region_class varchar(16) NOT NULL,
    position smallint NOT NULL CHECK (position >= 0),
    model_version varchar(32) NOT NULL,
    embedding {column_type} NOT NULL,
    PRIMARY KEY (region_id, product_class)
) PARTITION BY LIST (product_class);
{partitions}
-- Products of no class (and of classes newer than this migration).
CREATE TABLE {table}_other PARTITION OF {table} DEFAULT;
CREATE INDEX {table}_product ON {table} (product_id);
CREATE INDEX {table}_embedding ON {table}
    USING hnsw (embedding {opclass}) WITH (m = 16, ef_construction = 64);

-- Statement-level, so that a bulk_create of a thousand regions copies them in one INSERT.
CREATE FUNCTION {table}_copy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        DELETE FROM {table} WHERE region_id IN (SELECT id FROM changed);
    END IF;
    INSERT INTO {table} (region_id, product_id, product_class, region_class, position,
                         model_version, embedding)
    SELECT r.id, r.product_id, p.garment_class, r.garment_class, r.position,
           r.model_version, r.embedding
    FROM changed r JOIN shop_product p ON p.id = r.product_id;
    RETURN NULL;
END $$;

-- A relabelled product moves its regions to the partition of its new class.
CREATE FUNCTION {table}_relabel() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE {table} SET product_class = NEW.garment_class WHERE product_id = NEW.id;
    RETURN NULL;
END $$;
"""


def drop_sql(table: str) -> str:
    return f"""
DROP TRIGGER IF EXISTS {table}_insert ON search_productregion;
DROP TRIGGER IF EXISTS {table}_update ON search_productregion;
DROP TRIGGER IF EXISTS {table}_relabel ON shop_product;
DROP FUNCTION IF EXISTS {table}_copy();
DROP FUNCTION IF EXISTS {table}_relabel();
DROP TABLE IF EXISTS {table};
"""


def state_fields(embedding_field):
    return [
        ("region", models.OneToOneField(
            on_delete=django.db.models.deletion.DO_NOTHING, primary_key=True,
            related_name="+", serialize=False, to="search.productregion")),
        ("product_class", models.CharField(blank=True, max_length=16)),
        ("region_class", models.CharField(blank=True, max_length=16)),
        ("position", models.PositiveSmallIntegerField()),
        ("model_version", models.CharField(max_length=32)),
        ("embedding", embedding_field),
        ("product", models.ForeignKey(
            on_delete=django.db.models.deletion.DO_NOTHING, related_name="+",
            to="shop.product")),
    ]


class Migration(migrations.Migration):

    dependencies = [
        ("search", "0002_query_photo"),
        ("shop", "0001_initial"),
    ]

    operations = [
        *(migrations.RunSQL(storage_sql(table, column_type, opclass), drop_sql(table))
          for table, (column_type, opclass) in STORAGES.items()),
        migrations.CreateModel(
            name="RegionVector",
            fields=state_fields(pgvector.django.vector.VectorField(dimensions=512)),
            options={"db_table": "search_regionvector", "managed": False},
        ),
        migrations.CreateModel(
            name="RegionHalfVector",
            fields=state_fields(pgvector.django.halfvec.HalfVectorField(dimensions=512)),
            options={"db_table": "search_regionhalfvec", "managed": False},
        ),
    ]
