"""A graph per garment class: partial HNSW indexes over each class's regions.

The class-filtered walk of the one HNSW graph over all regions discarded most of what it
visited for rare classes and for queries that look like another class: on the 20k-product
catalog the region query took p50 46 ms (mean 81 ms, up to 380 ms); with per-class
partial indexes it took p50 6.7 ms (mean 7.8 ms).
"""

import pgvector.django.indexes
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('search', '0006_region_rows_inline'),
    ]

    operations = [
        # The default 64 MB made a 100k-vector build several times slower.
        migrations.RunSQL("SET LOCAL maintenance_work_mem = '1GB'", migrations.RunSQL.noop),
        migrations.AddIndex(
            model_name='productregion',
            index=pgvector.django.indexes.HnswIndex(condition=models.Q(('garment_class__in', ['', 'top']), ('product_class', 'top')), ef_construction=64, fields=['embedding'], m=16, name='region_hnsw_top', opclasses=['vector_cosine_ops']),
        ),
        migrations.AddIndex(
            model_name='productregion',
            index=pgvector.django.indexes.HnswIndex(condition=models.Q(('garment_class__in', ['', 'outerwear']), ('product_class', 'outerwear')), ef_construction=64, fields=['embedding'], m=16, name='region_hnsw_outerwear', opclasses=['vector_cosine_ops']),
        ),
        migrations.AddIndex(
            model_name='productregion',
            index=pgvector.django.indexes.HnswIndex(condition=models.Q(('garment_class__in', ['', 'bottom']), ('product_class', 'bottom')), ef_construction=64, fields=['embedding'], m=16, name='region_hnsw_bottom', opclasses=['vector_cosine_ops']),
        ),
        migrations.AddIndex(
            model_name='productregion',
            index=pgvector.django.indexes.HnswIndex(condition=models.Q(('garment_class__in', ['', 'dress']), ('product_class', 'dress')), ef_construction=64, fields=['embedding'], m=16, name='region_hnsw_dress', opclasses=['vector_cosine_ops']),
        ),
        migrations.AddIndex(
            model_name='productregion',
            index=pgvector.django.indexes.HnswIndex(condition=models.Q(('garment_class__in', ['', 'footwear']), ('product_class', 'footwear')), ef_construction=64, fields=['embedding'], m=16, name='region_hnsw_footwear', opclasses=['vector_cosine_ops']),
        ),
        migrations.AddIndex(
            model_name='productregion',
            index=pgvector.django.indexes.HnswIndex(condition=models.Q(('garment_class__in', ['', 'bag']), ('product_class', 'bag')), ef_construction=64, fields=['embedding'], m=16, name='region_hnsw_bag', opclasses=['vector_cosine_ops']),
        ),
        migrations.AddIndex(
            model_name='productregion',
            index=pgvector.django.indexes.HnswIndex(condition=models.Q(('garment_class__in', ['', 'accessory']), ('product_class', 'accessory')), ef_construction=64, fields=['embedding'], m=16, name='region_hnsw_accessory', opclasses=['vector_cosine_ops']),
        ),
    ]
