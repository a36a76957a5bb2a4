"""Distributed indexing with real Celery workers and a real Redis broker.

Two worker processes (one task at a time each) index a generated catalog in the test
database; Debian's redis-server is started on a free port. CI installs it (make redis).
"""

import os
import time
from io import StringIO
from pathlib import Path

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from detection.api import model_version
from frontend.celery import app
from search import indexing
from search.distributed_indexing import batches_wait, products_enqueue
from search.models import PhotoDescriptors, ProductRegion
from search.tasks import index_products
from search.worker_processes import (
    WorkersNotReady,
    database_url,
    redis_start,
    worker_start,
    workers_ready,
    workers_stop,
)
from shop.catalog_import import catalog_import
from shop.models import Product
from tests.factories import catalog_row, catalog_write
from tests.search.catalog import PRODUCTS, jpeg, product_photo

pytestmark = pytest.mark.django_db(transaction=True)

WORKERS = ("alpha", "beta")
CATALOG_SIZE = 10


def until(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


@pytest.fixture(scope="module")
def redis_url():
    try:
        process, url = redis_start()
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    yield url
    process.terminate()
    process.wait(10)


@pytest.fixture(scope="module")
def worker_media(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("worker-media")


@pytest.fixture(autouse=True)
def media_root(settings, worker_media) -> Path:
    """The workers are other processes: they store and read photos in one fixed folder."""
    settings.MEDIA_ROOT = worker_media
    return worker_media


@pytest.fixture(scope="module")
def broker(redis_url):
    """Point this process's Celery app at the test broker and result backend."""
    previous = {key: app.conf[key] for key in ("broker_url", "result_backend")}
    app.conf.update(broker_url=redis_url, result_backend=redis_url)
    yield redis_url
    app.conf.update(previous)
    app.pool.force_close_all()


@pytest.fixture(scope="module")
def workers(broker, worker_media, django_db_setup, tmp_path_factory):
    """Start two Celery workers on the test database; stop them after the module."""
    url = database_url(connection.settings_dict)
    logs = tmp_path_factory.mktemp("worker-logs")
    env = {**os.environ, "DATABASE_URL": url, "MEDIA_ROOT": str(worker_media),
           "CELERY_BROKER_URL": broker, "DETECTOR_TORCH_THREADS": "1",
           "EMBEDDER_NUM_THREADS": "1"}
    processes = [worker_start(name, env, logs / f"{name}.log") for name in WORKERS]
    try:
        yield workers_ready(list(WORKERS), processes)
    except WorkersNotReady as exc:
        pytest.fail(f"{exc}; logs in {logs}")
    finally:
        workers_stop(processes)


@pytest.fixture
def catalog(worker_media, tmp_path):
    rows = []
    (tmp_path / "images").mkdir()
    for index in range(CATALOG_SIZE):
        category, colour, rgb, shape = PRODUCTS[index % len(PRODUCTS)]
        shade = tuple(min(255, value + 9 * index) for value in rgb)
        (tmp_path / f"images/{index}.jpg").write_bytes(jpeg(product_photo(shade, shape)))
        rows.append(catalog_row(index, title=f"{colour} {category} {index}", category=category,
                                colour=colour))
    catalog_import(path=catalog_write(tmp_path, rows))
    return Product.objects.order_by("pk")


def region_rows() -> list[tuple]:
    return sorted(ProductRegion.objects.values_list("pk", "product_id", "model_version",
                                                    "position", "image_sha256"))


def test_two_workers_index_every_product_once(workers, catalog, monkeypatch):
    monkeypatch.setattr(indexing, "VACUUM_MIN_ROWS", CATALOG_SIZE)
    report, batches = products_enqueue(batch_size=1)
    batches_wait(report, batches, poll_seconds=0.2)

    assert report.vacuumed  # one row a product at least: the waiting side vacuumed

    assert (report.pending, report.batches) == (CATALOG_SIZE, CATALOG_SIZE)
    assert (report.indexed, report.errors, report.failed_batches) == (CATALOG_SIZE, [], [])
    assert sorted(report.workers) == sorted(workers), "both workers should have taken batches"
    photos = ProductRegion.objects.filter(position=0, model_version=model_version())
    assert sorted(photos.values_list("product_id", flat=True)) == [p.pk for p in catalog]
    keys = [(product, version, position) for _, product, version, position, _ in region_rows()]
    assert len(keys) == len(set(keys))
    # The workers keep each photo's local descriptors too, for similar items' re-ranking.
    assert sorted(PhotoDescriptors.objects.values_list("region__product_id", flat=True)) == [
        p.pk for p in catalog]

    rows = region_rows()
    again = index_products.delay([product.pk for product in catalog]).get(timeout=30)
    assert (again["pending"], again["indexed"]) == (0, 0)
    assert region_rows() == rows

    out = StringIO()
    call_command("index", "--distributed", stdout=out)
    assert "0 photos enqueued in 0 batches" in out.getvalue()
    assert region_rows() == rows


def test_batch_waiting_for_a_local_run_is_retried_then_succeeds(workers, catalog):
    database = connection.settings_dict
    local_run = psycopg.connect(dbname=database["NAME"], user=database["USER"],
                                host=database["HOST"], port=database["PORT"] or None,
                                autocommit=True)
    try:
        local_run.execute("SELECT pg_advisory_lock(%s)", [indexing._INDEX_LOCK_KEY])
        result = index_products.delay([product.pk for product in catalog[:3]])
        until(lambda: result.state == "RETRY", 30, "the batch to be retried")
        assert not ProductRegion.objects.exists()
        local_run.execute("SELECT pg_advisory_unlock(%s)", [indexing._INDEX_LOCK_KEY])
    finally:
        local_run.close()

    outcome = result.get(timeout=30)

    assert (outcome["indexed"], outcome["errors"]) == (3, [])
    assert ProductRegion.objects.filter(position=0).count() == 3


def test_a_poison_batch_fails_alone(workers, catalog):
    poison = catalog[0]
    Product.objects.filter(pk=poison.pk).update(image="")

    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError):
        call_command("index", "--distributed", "--batch-size", "1", stdout=out, stderr=err)

    assert f"batch of products {poison.pk}..{poison.pk} failed" in err.getvalue()
    indexed = set(ProductRegion.objects.filter(position=0).values_list("product_id", flat=True))
    assert indexed == {product.pk for product in catalog[1:]}


def test_an_unreachable_broker_is_a_clear_error_before_any_work():
    previous = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    try:
        with pytest.raises(CommandError, match="cannot reach the Celery broker") as raised:
            call_command("index", "--distributed")
    finally:
        app.conf.broker_url = previous
    assert raised.value.returncode == 2
