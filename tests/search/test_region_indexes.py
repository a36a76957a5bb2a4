"""The region table keeps only the indexes its queries use (migration 0008)."""

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db


def region_btree_indexes() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes "
                       "WHERE tablename = 'search_productregion' AND indexdef LIKE '%%btree%%'")
        return dict(cursor.fetchall())


def test_no_index_on_product_alone_since_the_unique_constraint_starts_with_it():
    definitions = region_btree_indexes()

    assert not [name for name, sql in definitions.items() if sql.endswith("(product_id)")]
    assert definitions["one_row_per_product_region_model"].endswith(
        "(product_id, model_version, \"position\")")


def test_a_product_lookup_still_uses_an_index():
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN SELECT id FROM search_productregion WHERE product_id = 1")
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "one_row_per_product_region_model" in plan
