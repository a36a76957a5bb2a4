"""Region rows carry their product's garment class, for the per-class graphs (0007).

Triggers keep it right however rows and products are written, so no code path (bulk
inserts, the admin, a catalog re-import) can leave it stale.
"""

from django.db import migrations, models

TRIGGERS = """
-- A new or rewritten region takes its product's class.
CREATE FUNCTION search_region_product_class() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT garment_class INTO NEW.product_class FROM shop_product WHERE id = NEW.product_id;
    RETURN NEW;
END $$;
CREATE TRIGGER region_product_class BEFORE INSERT OR UPDATE ON search_productregion
    FOR EACH ROW EXECUTE FUNCTION search_region_product_class();

-- A relabelled product moves its regions to the graph of its new class.
CREATE FUNCTION search_product_class_to_regions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE search_productregion SET product_class = NEW.garment_class
    WHERE product_id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER product_class_to_regions AFTER UPDATE OF garment_class ON shop_product
    FOR EACH ROW WHEN (OLD.garment_class IS DISTINCT FROM NEW.garment_class)
    EXECUTE FUNCTION search_product_class_to_regions();
"""

TRIGGERS_DROP = """
DROP TRIGGER IF EXISTS product_class_to_regions ON shop_product;
DROP TRIGGER IF EXISTS region_product_class ON search_productregion;
DROP FUNCTION IF EXISTS search_product_class_to_regions();
DROP FUNCTION IF EXISTS search_region_product_class();
"""


class Migration(migrations.Migration):

    dependencies = [
        ('search', '0004_partitioned_tables_flushed'),
        ('shop', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='productregion',
            name='product_class',
            field=models.CharField(blank=True, choices=[('top', 'Top'), ('outerwear', 'Outerwear'), ('bottom', 'Bottom'), ('dress', 'Dress'), ('footwear', 'Footwear'), ('bag', 'Bag'), ('accessory', 'Accessory')], default='', editable=False, help_text="The product's garment class, kept equal to it by database triggers (migration 0005) for the per-class HNSW indexes.", max_length=16),
        ),
        migrations.RunSQL(TRIGGERS, reverse_sql=TRIGGERS_DROP),
        migrations.RunSQL(
            "UPDATE search_productregion r SET product_class = p.garment_class "
            "FROM shop_product p WHERE p.id = r.product_id AND r.product_class <> p.garment_class",
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
