"""Record the product class each region row was indexed for.

Indexing now stores only the garments of the product's own class, so the class is part of
what makes a product up to date. Existing rows get an empty class: the next `index` run
re-indexes every classified product once, dropping its garments of other classes.
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('search', '0008_region_product_index_dropped'),
    ]

    operations = [
        migrations.AddField(
            model_name='productregion',
            name='indexed_class',
            field=models.CharField(blank=True, choices=[('top', 'Top'), ('outerwear', 'Outerwear'), ('bottom', 'Bottom'), ('dress', 'Dress'), ('footwear', 'Footwear'), ('bag', 'Bag'), ('accessory', 'Accessory')], default='', editable=False, help_text="The product's garment class when it was indexed: only its garments of that class are stored, so a product relabelled since then is indexed again.", max_length=16),
        ),
    ]
