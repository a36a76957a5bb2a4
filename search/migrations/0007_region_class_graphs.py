"""A graph per garment class: partial HNSW indexes over each class's regions.

The class-filtered walk of the one HNSW graph over all regions discarded most of what it
visited for rare classes and for queries that look like another class: on the 20k-product
catalog the region query took p50 46 ms (mean 81 ms, up to 380 ms); with per-class
partial indexes it took p50 6.7 ms (mean 7.8 ms).
"""

from django.db import migrations, models
from pgvector.django import HnswIndex

# The garment classes when this migration was written (shop.garment_classes.GarmentClass).
CLASSES = ("top", "outerwear", "bottom", "dress", "footwear", "bag", "accessory")


def class_graph(garment_class: str) -> HnswIndex:
    return HnswIndex(
        condition=models.Q(garment_class__in=["", garment_class], product_class=garment_class),
        ef_construction=64, fields=["embedding"], m=16, name=f"region_hnsw_{garment_class}",
        opclasses=["vector_cosine_ops"],
    )


class Migration(migrations.Migration):

    dependencies = [
        ("search", "0006_region_rows_inline"),
    ]

    operations = [
        # The default 64 MB made a 100k-vector build several times slower.
        migrations.RunSQL("SET LOCAL maintenance_work_mem = '1GB'", migrations.RunSQL.noop),
        *(migrations.AddIndex(model_name="productregion", index=class_graph(garment_class))
          for garment_class in CLASSES),
    ]
