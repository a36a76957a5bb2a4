"""Drop the region table's index on product_id alone.

The unique constraint (product, model_version, position) starts with product_id and
serves every lookup by product, cascading deletes included; the extra index only cost a
write per indexed region and 680 kB per 45k rows. Django's own AlterField would also drop
and re-validate the foreign key, a full scan under lock, so the index is dropped directly.
"""

import django.db.models.deletion
from django.db import migrations, models

INDEX = "search_productregion_product_id_3c5872ee"  # the name Django gave it in 0001


class Migration(migrations.Migration):

    dependencies = [
        ("search", "0007_region_class_graphs"),
        ("shop", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{INDEX}"',
                    reverse_sql=f'CREATE INDEX IF NOT EXISTS "{INDEX}" '
                    'ON "search_productregion" ("product_id")',
                ),
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="productregion",
                    name="product",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="regions",
                        to="shop.product",
                    ),
                ),
            ],
        ),
    ]
