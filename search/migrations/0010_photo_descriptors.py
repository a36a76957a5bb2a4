"""Local descriptors of indexed whole photos, for re-ranking similar items.

The table is created in SQL so that its foreign key cascades in the database, as the
partitioned copies' do (0003): the indexer's delete of a product's regions then takes the
descriptors with it in the same statement, with no extra query from Django.
"""

import django.db.models.deletion
from django.db import migrations, models

CREATE = """
CREATE TABLE search_photodescriptors (
    region_id bigint NOT NULL PRIMARY KEY
        REFERENCES search_productregion (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    size smallint NOT NULL CHECK (size >= 0),
    data bytea NOT NULL
);
-- A photo's descriptors (3-5 kB) stay in its row instead of TOAST's chunks, which took
-- a lookup each to read back; they are moved out of line only if a row outgrows a page.
ALTER TABLE search_photodescriptors ALTER COLUMN data SET STORAGE MAIN;
ALTER TABLE search_photodescriptors SET (toast_tuple_target = 8160);
"""


class Migration(migrations.Migration):

    dependencies = [
        ("search", "0009_region_indexed_class"),
    ]

    operations = [
        migrations.RunSQL(
            CREATE,
            "DROP TABLE IF EXISTS search_photodescriptors;",
            state_operations=[
                migrations.CreateModel(
                    name="PhotoDescriptors",
                    fields=[
                        ("region", models.OneToOneField(
                            on_delete=django.db.models.deletion.DO_NOTHING, primary_key=True,
                            related_name="descriptors", serialize=False,
                            to="search.productregion")),
                        ("size", models.PositiveSmallIntegerField(
                            help_text="length of each descriptor")),
                        ("data", models.BinaryField(
                            help_text="int8, one descriptor after another "
                                      "(detection.local_matching.quantised)")),
                    ],
                ),
            ],
        ),
    ]
