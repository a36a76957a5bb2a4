"""The real sample catalogs import completely, and a re-run changes nothing."""

import pytest
from django.core.management import call_command

from shop.models import Product

pytestmark = pytest.mark.django_db


def test_myntra_imports_every_product_and_reimport_changes_nothing(fashion_data, capsys):
    catalog = fashion_data / "myntra" / "catalog.csv"

    call_command("import_catalog", str(catalog), verbosity=0)
    assert "9572 rows: 9572 created, 0 updated, 0 unchanged, 0 failed" in capsys.readouterr().out
    assert Product.objects.count() == 9572
    assert not Product.objects.filter(image_sha256="").exists()

    call_command("import_catalog", str(catalog), verbosity=0)
    assert "9572 rows: 0 created, 0 updated, 9572 unchanged, 0 failed" in capsys.readouterr().out


def test_hm_imports_with_descriptions_and_families(fashion_data):
    call_command("import_catalog", str(fashion_data / "hm" / "catalog.csv"), limit=1000,
                 verbosity=0)

    assert Product.objects.count() == 1000
    article = Product.objects.exclude(description="").first()
    assert article.sku.startswith("HM-")
    assert {"family", "pattern", "department"} <= set(article.attributes)
