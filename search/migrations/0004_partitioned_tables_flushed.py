"""The partitioned vector tables become managed models: no SQL, only Django's view of them.

Django's flush (run after every transactional test) truncates managed tables only, and
PostgreSQL refuses to truncate search_productregion while an unlisted table references it.
"""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('search', '0003_region_vector_partitions'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='regionhalfvector',
            options={},
        ),
        migrations.AlterModelOptions(
            name='regionvector',
            options={},
        ),
    ]
