"""Photo indexing with the shipped models: incremental, resumable, never half-written."""

import numpy as np
import psycopg
import pytest
from django.core.files.base import ContentFile
from django.db import connection, transaction

from detection.api import model_version
from detection.local_matching import dequantised
from detection.regions import Region
from search import indexing
from search.indexing import IndexBusy, products_index, products_pending
from search.models import PhotoDescriptors, ProductRegion, ProductText
from shop.models import Product
from tests.search.catalog import PRODUCTS, generated_catalog_import, jpeg, product_photo

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def catalog(tmp_path):
    generated_catalog_import(tmp_path / "catalog")
    return tmp_path / "catalog"


def rows_per_product() -> dict[str, int]:
    counts: dict[str, int] = {}
    for sku in ProductRegion.objects.values_list("product__sku", flat=True):
        counts[sku] = counts.get(sku, 0) + 1
    return counts


def test_every_product_gets_a_photo_row_and_its_text(catalog):
    report = products_index(batch_size=4)

    assert (report.indexed, report.errors, report.texts) == (len(PRODUCTS), [], len(PRODUCTS))
    photos = ProductRegion.objects.filter(position=0)
    assert photos.count() == len(PRODUCTS)
    assert set(photos.values_list("model_version", flat=True)) == {model_version()}
    for row in ProductRegion.objects.all():
        x1, y1, x2, y2 = row.box
        assert 0 <= x1 < x2 <= 200
        assert 0 <= y1 < y2 <= 260
        assert abs(sum(v * v for v in row.embedding) - 1) < 1e-3
    assert ProductText.objects.count() == len(PRODUCTS)


def test_each_whole_photo_keeps_its_local_descriptors(catalog):
    """Similar items re-ranks with them: one set per whole photo, of unit-length rows, and
    re-indexing a photo replaces its set (the database deletes the old one with its row)."""
    products_index(batch_size=4)

    stored = PhotoDescriptors.objects.select_related("region")
    assert sorted(d.region.product_id for d in stored) == sorted(
        Product.objects.values_list("pk", flat=True))
    assert {d.region.position for d in stored} == {0}
    for found in stored:
        rows = dequantised(np.frombuffer(bytes(found.data), dtype=np.int8).reshape(-1, found.size))
        assert found.size == 64
        assert len(rows) >= 4
        assert np.allclose(np.linalg.norm(rows, axis=1), 1, atol=2e-2)

    changed = Product.objects.get(sku="SKU-00001")
    changed.image_sha256 = "f" * 64
    changed.save()
    products_index()

    assert PhotoDescriptors.objects.count() == len(PRODUCTS)
    assert PhotoDescriptors.objects.get(region__product=changed).region.image_sha256 == "f" * 64


def test_rerun_processes_only_changed_photos(catalog):
    products_index()
    before = rows_per_product()

    assert products_index().indexed == 0

    changed = Product.objects.get(sku="SKU-00001")
    changed.image.save("new.jpg", ContentFile(jpeg(product_photo((250, 200, 0), "tee"))),
                       save=False)
    changed.image_sha256 = "f" * 64
    changed.save()
    report = products_index()

    assert report.indexed == 1
    after = rows_per_product()
    assert set(after) == set(before)
    assert ProductRegion.objects.filter(product=changed, image_sha256="f" * 64).count() == \
        after["SKU-00001"]


def test_interrupted_run_resumes_without_duplicates(catalog, monkeypatch):
    real_embed = indexing.embed_with_local
    calls = {"count": 0}

    def embed_then_crash(crops, **options):
        calls["count"] += 1
        if calls["count"] == 3:
            raise KeyboardInterrupt  # the operator pressed Ctrl-C mid-run
        return real_embed(crops, **options)

    monkeypatch.setattr(indexing, "embed_with_local", embed_then_crash)
    with pytest.raises(KeyboardInterrupt):
        products_index(batch_size=2)
    assert ProductRegion.objects.filter(position=0).count() == 4  # two whole batches

    monkeypatch.setattr(indexing, "embed_with_local", real_embed)
    report = products_index(batch_size=2)

    assert report.indexed == len(PRODUCTS) - 4
    assert ProductRegion.objects.filter(position=0).count() == len(PRODUCTS)
    assert not products_pending(model_version()).exists()
    positions = list(ProductRegion.objects.values_list("product_id", "model_version", "position"))
    assert len(positions) == len(set(positions))
    assert PhotoDescriptors.objects.count() == len(PRODUCTS)


def test_unreadable_photo_is_reported_and_the_rest_indexed(catalog):
    broken = Product.objects.get(sku="SKU-00002")
    with open(broken.image.path, "wb") as handle:
        handle.write(b"not a jpeg any more")

    report = products_index()

    assert [sku for sku, _ in report.errors] == ["SKU-00002"]
    assert report.indexed == len(PRODUCTS) - 1


def test_a_second_run_waits_its_turn(catalog):
    settings = connection.settings_dict
    other = psycopg.connect(dbname=settings["NAME"], user=settings["USER"],
                            host=settings["HOST"], port=settings["PORT"] or None)
    try:
        other.execute("SELECT pg_advisory_lock(%s)", [indexing._INDEX_LOCK_KEY])
        with pytest.raises(IndexBusy):
            products_index()
        other.execute("SELECT pg_advisory_unlock(%s)", [indexing._INDEX_LOCK_KEY])
    finally:
        other.close()
    assert products_index().indexed == len(PRODUCTS)


def test_only_garments_of_the_product_class_are_indexed(catalog, monkeypatch):
    monkeypatch.setattr(indexing, "detect_many", detect_every_class)
    unclassified = Product.objects.get(sku="SKU-00002")
    unclassified.garment_class = ""
    unclassified.save()

    products_index()

    for product in Product.objects.all():
        expected = [product.garment_class] if product.garment_class in DETECTED else []
        assert garment_rows(product) == (expected if product.garment_class else DETECTED)
        assert set(product.regions.values_list("indexed_class", flat=True)) == {
            product.garment_class}


def test_a_relabelled_product_is_indexed_again_with_its_new_class(catalog, monkeypatch):
    monkeypatch.setattr(indexing, "detect_many", detect_every_class)
    products_index()
    relabelled = Product.objects.exclude(garment_class="dress").first()
    relabelled.garment_class = "dress"
    relabelled.save()

    assert list(products_pending(model_version())) == [relabelled]
    assert products_index().indexed == 1
    assert garment_rows(relabelled) == ["dress"]
    assert not products_pending(model_version()).exists()


DETECTED = ["top", "footwear", "dress"]


def detect_every_class(images):
    """Stand in for the detector: the same three garments in every photo."""
    return [[Region(name, (10.0, 10.0, 100.0, 100.0), 0.9) for name in DETECTED]
            for _ in images]


def garment_rows(product: Product) -> list[str]:
    return list(product.regions.filter(position__gt=0).order_by("position")
                .values_list("garment_class", flat=True))


def last_region_vacuum():
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT last_vacuum FROM pg_stat_user_tables WHERE relname = %s",
                       [ProductRegion._meta.db_table])
        return cursor.fetchone()[0]


def test_a_run_that_rewrote_many_rows_vacuums_them_out_of_the_graphs(catalog, monkeypatch):
    before = last_region_vacuum()
    first = products_index()
    assert not first.vacuumed  # a few rows: autovacuum's business
    assert last_region_vacuum() == before

    # A model upgrade rewrites every row; past the threshold the run vacuums at its end.
    monkeypatch.setattr(indexing, "model_version", lambda: "upgraded")
    monkeypatch.setattr(indexing, "VACUUM_MIN_ROWS", first.regions)
    second = products_index()

    assert second.indexed == len(PRODUCTS)
    assert second.vacuumed
    assert last_region_vacuum() not in (None, before)


def test_inside_a_transaction_the_table_is_left_to_autovacuum():
    with transaction.atomic():
        assert indexing.regions_vacuum() is False
