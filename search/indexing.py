"""Index product photos: detect garments, embed the photo and each garment, store the vectors.

Incremental in the way Pinterest's fingerprinting is: a product is up to date when its
whole-photo row carries the photo's content hash, the product's class and the current model
version, so a re-run only processes new, changed or relabelled products and a model upgrade
re-indexes everything.
Each batch of products is replaced in one transaction, so an interrupted run leaves no
half-indexed product and the next run resumes where it stopped.
"""

import logging
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, QuerySet
from PIL import Image
from tqdm import tqdm

from detection.api import Region, detect_many, embed_with_local, model_version
from detection.regions import whole_photo
from search.models import PhotoDescriptors, ProductRegion
from search.text_index import products_text_index
from shop.images import ImageRejected, image_decode, image_upright
from shop.models import Product

logger = logging.getLogger(__name__)

# Any constant that is the same for every process of this project: it names the lock.
_INDEX_LOCK_KEY = 0x5EA7C4
# A run that wrote this many region rows vacuums their table when it ends. Every row it
# replaced stays in the HNSW graphs as a dead tuple that searches step over until autovacuum
# catches up: after a full re-index of the bench catalogs, 8,007 dead rows were left and the
# class vote's query took 24-31 ms per photo at the median instead of 18-22 ms
# (docs/benchmarks.md).
VACUUM_MIN_ROWS = 1000


class IndexBusy(Exception):
    """Another index run holds the lock."""


@dataclass
class IndexReport:
    """What an index run did."""

    pending: int = 0
    indexed: int = 0
    regions: int = 0
    texts: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)
    vacuumed: bool = False


Photo = tuple[Product, Image.Image]


@dataclass
class EmbeddedBatch:
    """A batch ready to store: its unsaved rows, its whole photos' descriptors (pointing at
    those rows) and the products whose photo failed (sku, why)."""

    rows: list[ProductRegion]
    descriptors: list[PhotoDescriptors]
    errors: list[tuple[str, str]]


def products_pending(version: str) -> QuerySet[Product]:
    """Return products whose current photo and class have no rows from model `version`."""
    done = ProductRegion.objects.filter(
        product=OuterRef("pk"), model_version=version, position=0,
        image_sha256=OuterRef("image_sha256"), indexed_class=OuterRef("garment_class"),
    )
    return Product.objects.filter(~Exists(done)).order_by("pk")


def products_index(*, batch_size: int = 32, limit: int | None = None,
                   progress: bool = False) -> IndexReport:
    """Index the text and the photo of every product that changed since it was last indexed."""
    version = model_version()
    with _index_lock():
        texts = products_text_index(progress=progress)
        pending = products_pending(version)
        report = IndexReport(pending=pending.count(), texts=texts)
        total = report.pending if limit is None else min(limit, report.pending)
        with tqdm(total=total, unit="product", desc="index", disable=not progress,
                  dynamic_ncols=True) as bar, _Pipeline(version) as pipeline:

            def oldest_store() -> None:
                _rows_store(pipeline.next_result(), report)
                bar.update(report.indexed + len(report.errors) - bar.n)
                bar.set_postfix(regions=report.regions, failed=len(report.errors),
                                refresh=False)

            for batch in _pending_batches(pending, total, batch_size):
                pipeline.submit(batch)
                if pipeline.full():
                    oldest_store()
            while pipeline:
                oldest_store()
            report.vacuumed = regions_vacuum_after(report.regions, bar, "index")
    return report


def regions_vacuum_after(rows_written: int, bar: tqdm, run: str) -> bool:
    """Vacuum the region table if the `run` wrote VACUUM_MIN_ROWS rows or more, saying so on
    its progress bar; return whether it was vacuumed. Smaller runs leave it to autovacuum."""
    if rows_written < VACUUM_MIN_ROWS:
        return False
    bar.set_description(f"{run}: vacuuming the region table")
    return regions_vacuum()


def regions_vacuum() -> bool:
    """VACUUM (ANALYZE) the region table, clearing replaced rows out of its HNSW graphs.

    Returns False, having done nothing, inside a transaction, where PostgreSQL refuses to
    vacuum; autovacuum then does it later.
    """
    if connection.in_atomic_block:
        logger.info("region table not vacuumed: inside a transaction")
        return False
    table = connection.ops.quote_name(ProductRegion._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM (ANALYZE) {table}")
    return True


def _pending_batches(pending: QuerySet[Product], total: int,
                     batch_size: int) -> Iterator[list[Product]]:
    """Yield up to `total` pending products in batches, in primary key order."""
    last_pk, taken = 0, 0
    while taken < total:
        batch = list(pending.filter(pk__gt=last_pk)[:min(batch_size, total - taken)])
        if not batch:
            return
        last_pk, taken = batch[-1].pk, taken + len(batch)
        yield batch


class _Pipeline:
    """Detect batch n + 1 while batch n is embedded and the caller writes batch n - 1.

    Re-indexing 2,000 products of the full 20k catalog ran at 23.5 products/s against 20.2
    one batch at a time, back to back (docs/benchmarks.md): the models' two threads each
    leave a core idle part of the time. Only the caller's thread touches the database; the
    stages read photo files and run models.
    """

    IN_FLIGHT = 3  # batches submitted and not yet written, at most

    def __init__(self, version: str) -> None:
        self.version = version
        self._detect = ThreadPoolExecutor(max_workers=1, thread_name_prefix="index-detect")
        self._embed = ThreadPoolExecutor(max_workers=1, thread_name_prefix="index-embed")
        self._in_flight: deque[Future] = deque()

    def submit(self, batch: list[Product]) -> None:
        detected = self._detect.submit(_batch_detect, batch)
        self._in_flight.append(
            self._embed.submit(lambda: _batch_embed(*detected.result(), self.version)))

    def full(self) -> bool:
        return len(self._in_flight) >= self.IN_FLIGHT

    def __bool__(self) -> bool:
        return bool(self._in_flight)

    def next_result(self) -> EmbeddedBatch:
        """Wait for the oldest batch: its rows, descriptors and failed products."""
        return self._in_flight.popleft().result()

    def __enter__(self) -> "_Pipeline":
        return self

    def __exit__(self, *exc_info) -> None:
        for executor in (self._embed, self._detect):
            executor.shutdown(wait=True, cancel_futures=True)


def products_batch_index(product_ids: Sequence[int]) -> IndexReport:
    """Index those of `product_ids` whose photo is still pending, as one batch.

    The unit of work of distributed indexing: running it twice, or on two workers at once,
    leaves one set of rows per product (the second finds nothing pending, or loses the
    race on the region rows' unique constraint and can simply be run again). Raises
    `IndexBusy` while a local `products_index` run holds the index.
    """
    version = model_version()
    with _index_lock(shared=True):
        batch = list(products_pending(version).filter(pk__in=product_ids))
        report = IndexReport(pending=len(batch))
        if batch:
            _rows_store(_batch_embed(*_batch_detect(batch), version), report)
    return report


def region_crops(image: Image.Image, regions: list[Region]) -> list[Image.Image]:
    """Cut each region's box out of the photo."""
    return [image.crop(tuple(round(value) for value in region.box)) for region in regions]


def searchable_garments(product: Product, garments: list[Region]) -> list[Region]:
    """Return the garments of a product photo worth indexing: those of the product's class.

    A search for a class compares only that class's products and their garments of that
    class, so the shoes in a dress's photo can never be found by a shoe search; and a search
    of all classes must not answer a photo of shoes with the dress. Not embedding them saves
    nearly half the garment vectors of the bench catalogs (docs/benchmarks.md). A product
    without a class keeps every garment.
    """
    if not product.garment_class:
        return garments
    return [garment for garment in garments if garment.garment_class == product.garment_class]


def _batch_detect(products: list[Product]) -> tuple[list[Photo], list[list[Region]], list]:
    """Read and detect a batch's photos; return them, their garments and the products
    whose photo could not be read (sku, why). Touches no database."""
    photos, errors = [], []
    for product in products:
        try:
            with product.image.open("rb") as handle:
                photos.append((product, image_upright(image_decode(handle.read()).image)
                               .convert("RGB")))
        except (OSError, ImageRejected) as exc:
            errors.append((product.sku, f"photo unreadable: {exc}"))
    return photos, detect_many([image for _, image in photos]), errors


def _batch_embed(photos: list[Photo], garments_found: list[list[Region]], errors: list,
                 version: str) -> EmbeddedBatch:
    """Embed each photo and its garments into unsaved rows, and keep each whole photo's
    local descriptors (similar items re-ranks with them). Touches no database."""
    rows, crops = [], []
    for (product, image), garments in zip(photos, garments_found, strict=True):
        regions = [whole_photo(*image.size), *searchable_garments(product, garments)]
        crops += region_crops(image, regions)
        rows += [
            ProductRegion(product=product, model_version=version,
                          image_sha256=product.image_sha256, position=position,
                          garment_class=region.garment_class, box=list(region.box),
                          score=region.score, indexed_class=product.garment_class)
            for position, region in enumerate(regions)
        ]
    whole_photos = [index for index, row in enumerate(rows) if row.position == 0]
    vectors, local = embed_with_local(crops, local_for=whole_photos)
    for row, vector in zip(rows, vectors, strict=True):
        row.embedding = vector
    descriptors = [] if local is None else [
        PhotoDescriptors(region=rows[index], size=local[index].shape[1],
                         data=local[index].tobytes())
        for index in whole_photos
    ]
    return EmbeddedBatch(rows, descriptors, errors)


def _rows_store(batch: EmbeddedBatch, report: IndexReport) -> None:
    """Replace the rows of the batch's products in one transaction; count the batch."""
    report.errors += batch.errors
    rows = batch.rows
    if not rows:
        return
    indexed = {row.product_id for row in rows}
    with transaction.atomic():
        # The database deletes the regions' descriptors with them (migration 0010).
        ProductRegion.objects.filter(product_id__in=indexed).delete()
        ProductRegion.objects.bulk_create(rows)
        PhotoDescriptors.objects.bulk_create(batch.descriptors)
    report.indexed += len(indexed)
    report.regions += len(rows)


@contextmanager
def _index_lock(*, shared: bool = False) -> Iterator[None]:
    """Hold a session-level advisory lock so two index runs never write the same products.

    A local run takes it exclusively; distributed batches share it with each other (they
    are safe together) but never run beside a local run.
    """
    mode = "_shared" if shared else ""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT pg_try_advisory_lock{mode}(%s)", [_INDEX_LOCK_KEY])
        (acquired,) = cursor.fetchone()
    if not acquired:
        raise IndexBusy("another index run is in progress")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT pg_advisory_unlock{mode}(%s)", [_INDEX_LOCK_KEY])
