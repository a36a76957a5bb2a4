"""kill -9 of a real `manage.py index` mid-run, then a re-run: every product indexed once."""

import os
import signal
import subprocess
import sys
import time

import pytest

from detection.api import detect, model_version
from search.indexing import searchable_garments
from search.models import ProductRegion
from shop.catalog_import import catalog_import
from shop.images import image_decode, image_upright
from shop.models import Product
from tests.factories import catalog_row, catalog_write
from tests.processes import ROOT, child_env
from tests.search.catalog import PRODUCTS, jpeg, product_photo

pytestmark = [pytest.mark.crash, pytest.mark.django_db(transaction=True)]

CATALOG_SIZE = 12
BATCH_SIZE = 2
KILL_AFTER = 4  # products written when the indexer is killed


@pytest.fixture
def catalog(tmp_path):
    """Import CATALOG_SIZE generated products, each photo a distinct shade of a garment."""
    rows = []
    (tmp_path / "images").mkdir()
    for index in range(CATALOG_SIZE):
        category, colour, (red, green, blue), shape = PRODUCTS[index % len(PRODUCTS)]
        shade = (red, green, (blue + 7 * index) % 256)
        (tmp_path / f"images/{index}.jpg").write_bytes(jpeg(product_photo(shade, shape)))
        rows.append(catalog_row(index, title=f"{colour} {category} {index}",
                                category=category, colour=colour))
    catalog_import(path=catalog_write(tmp_path, rows))
    assert Product.objects.count() == CATALOG_SIZE


def index_command(log) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "manage.py", "index", "--batch-size",
                             str(BATCH_SIZE)], cwd=ROOT, env=child_env(),
                            stdout=log, stderr=subprocess.STDOUT)


def indexed_rows() -> dict[int, list[tuple[int, int, str, str]]]:
    """Each product's rows as (position, row id, model version, photo hash), in order."""
    rows: dict[int, list] = {}
    for product_id, position, pk, version, sha in ProductRegion.objects.order_by(
            "product_id", "position").values_list("product_id", "position", "pk",
                                                  "model_version", "image_sha256"):
        rows.setdefault(product_id, []).append((position, pk, version, sha))
    return rows


def test_kill_9_mid_run_then_rerun_leaves_each_product_indexed_once(catalog, tmp_path):
    log_path = tmp_path / "index.log"
    with open(log_path, "w") as log:
        first = index_command(log)
        try:
            deadline = time.monotonic() + 240
            # Kill as soon as a few batches are written, well before all of them are.
            while ProductRegion.objects.filter(position=0).count() < KILL_AFTER:
                assert first.poll() is None, f"index ended early:\n{log_path.read_text()}"
                assert time.monotonic() < deadline, "index wrote too little within 240 s"
                time.sleep(0.02)
        finally:
            os.kill(first.pid, signal.SIGKILL)
        assert first.wait(30) == -signal.SIGKILL

    at_kill = indexed_rows()
    assert KILL_AFTER <= len(at_kill) < CATALOG_SIZE, "the kill did not land mid-run"
    # No half-written product: each indexed product has its whole photo (position 0) and a
    # row for every garment of its own class the detector finds in its photo, nothing more.
    for product in Product.objects.filter(pk__in=at_kill):
        with product.image.open("rb") as handle:
            image = image_upright(image_decode(handle.read()).image).convert("RGB")
        positions = [row[0] for row in at_kill[product.pk]]
        garments = searchable_garments(product, detect(image))
        assert positions == list(range(1 + len(garments))), product.sku

    with open(log_path, "a") as log:
        second = index_command(log)
        try:
            assert second.wait(600) == 0, log_path.read_text()
        finally:
            second.kill()

    final = indexed_rows()
    version = model_version()
    assert set(final) == set(Product.objects.values_list("pk", flat=True))
    for product in Product.objects.all():
        rows = final[product.pk]
        assert [row[0] for row in rows] == list(range(len(rows))), product.sku
        assert {(row[2], row[3]) for row in rows} == {(version, product.image_sha256)}
    # Products finished before the kill were not redone: the same rows, untouched.
    for product_id, rows in at_kill.items():
        assert final[product_id] == rows
    assert ProductRegion.objects.count() == sum(len(rows) for rows in final.values())
