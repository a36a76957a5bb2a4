"""Index product photos: detect garments, embed the photo and each garment, store the vectors.

Incremental in the way Pinterest's fingerprinting is: a product is up to date when its
whole-photo row carries the photo's content hash and the current model version, so a
re-run only processes new or changed photos and a model upgrade re-indexes everything.
Each batch of products is replaced in one transaction, so an interrupted run leaves no
half-indexed product and the next run resumes where it stopped.
"""

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, QuerySet
from PIL import Image
from tqdm import tqdm

from detection.api import Region, detect, detect_many, embed, model_version
from detection.regions import whole_photo
from search.models import ProductRegion
from search.text_index import products_text_index
from shop.images import ImageRejected, image_decode, image_upright
from shop.models import Product

logger = logging.getLogger(__name__)

# Any constant that is the same for every process of this project: it names the lock.
_INDEX_LOCK_KEY = 0x5EA7C4


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


def products_pending(version: str) -> QuerySet[Product]:
    """Return products whose current photo has no rows from model `version`."""
    done = ProductRegion.objects.filter(
        product=OuterRef("pk"), model_version=version, position=0,
        image_sha256=OuterRef("image_sha256"),
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
        last_pk = 0
        with tqdm(total=total, unit="product", desc="index", disable=not progress,
                  dynamic_ncols=True) as bar:
            while report.indexed + len(report.errors) < total:
                size = min(batch_size, total - report.indexed - len(report.errors))
                batch = list(pending.filter(pk__gt=last_pk)[:size])
                if not batch:
                    break
                last_pk = batch[-1].pk
                _batch_index(batch, version, report)
                bar.update(len(batch))
                bar.set_postfix(regions=report.regions, failed=len(report.errors), refresh=False)
    return report


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
            _batch_index(batch, version, report)
    return report


def photo_regions(image: Image.Image, *, detector: Callable = detect) -> list[Region]:
    """Return the whole photo as a region followed by the garments detected in it."""
    return [whole_photo(*image.size), *detector(image)]


def region_crops(image: Image.Image, regions: list[Region]) -> list[Image.Image]:
    """Cut each region's box out of the photo."""
    return [image.crop(tuple(round(value) for value in region.box)) for region in regions]


def _batch_index(products: list[Product], version: str, report: IndexReport) -> None:
    photos = []
    for product in products:
        try:
            with product.image.open("rb") as handle:
                photos.append((product, image_upright(image_decode(handle.read()).image)
                               .convert("RGB")))
        except (OSError, ImageRejected) as exc:
            report.errors.append((product.sku, f"photo unreadable: {exc}"))
    rows, crops = [], []
    garments_found = detect_many([image for _, image in photos])
    for (product, image), garments in zip(photos, garments_found, strict=True):
        regions = [whole_photo(*image.size), *garments]
        crops += region_crops(image, regions)
        rows += [
            ProductRegion(product=product, model_version=version,
                          image_sha256=product.image_sha256, position=position,
                          garment_class=region.garment_class, box=list(region.box),
                          score=region.score)
            for position, region in enumerate(regions)
        ]
    if not rows:
        return
    for row, vector in zip(rows, embed(crops), strict=True):
        row.embedding = vector
    indexed = {row.product_id for row in rows}
    with transaction.atomic():
        ProductRegion.objects.filter(product_id__in=indexed).delete()
        ProductRegion.objects.bulk_create(rows)
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
