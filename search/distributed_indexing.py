"""Distributed indexing: enqueue batches of pending products, then watch them get indexed.

The text index is built here, by the process that enqueues: one MiniLM pass over short
product texts is a few percent of the photo work (docs/benchmarks.md) and is already
incremental, so shipping it to workers would add tasks without saving time. Photos,
the expensive part, go to the Celery workers in batches of product ids.
"""

import time
from dataclasses import dataclass, field

from celery.backends.redis import RedisBackend
from celery.result import AsyncResult
from kombu.exceptions import OperationalError as KombuOperationalError
from redis.exceptions import RedisError
from tqdm import tqdm

from detection.api import model_version
from frontend.celery import app
from search.indexing import products_pending, regions_vacuum_after
from search.tasks import index_products
from search.text_index import products_text_index


@dataclass
class Batch:
    """An enqueued batch: its product ids and the handle on its task's result."""

    product_ids: list[int]
    result: AsyncResult


@dataclass
class DistributedReport:
    """What a distributed index run enqueued and, when waited for, what the workers did."""

    texts: int = 0
    pending: int = 0  # enqueued products
    pending_total: int = 0  # every product pending at enqueue time (more with a limit)
    batches: int = 0
    indexed: int = 0
    regions: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)
    failed_batches: list[tuple[list[int], str]] = field(default_factory=list)
    workers: dict[str, int] = field(default_factory=dict)
    vacuumed: bool = False


class BrokerUnavailable(Exception):
    """The Celery broker or result backend cannot be reached."""


def broker_check(*, timeout: float = 5.0) -> None:
    """Fail fast, before any work, when the broker or the result backend is unreachable."""
    try:
        with app.connection_for_write() as broker:
            broker.ensure_connection(max_retries=1, timeout=timeout)
    except KombuOperationalError as exc:
        raise BrokerUnavailable(f"cannot reach the Celery broker: {exc}") from None
    if isinstance(app.backend, RedisBackend):
        try:
            app.backend.client.ping()
        except RedisError as exc:
            raise BrokerUnavailable(f"cannot reach the Celery result backend: {exc}") from None


def products_enqueue(*, batch_size: int = 32, limit: int | None = None,
                     progress: bool = False) -> tuple[DistributedReport, list[Batch]]:
    """Index product texts here, then enqueue one task per batch of pending product photos."""
    broker_check()
    report = DistributedReport(texts=products_text_index(progress=progress))
    pending = products_pending(model_version())
    report.pending_total = pending.count()
    ids = list(pending.values_list("pk", flat=True)[:limit])
    report.pending = len(ids)
    batches = []
    for start in range(0, len(ids), batch_size):
        product_ids = ids[start : start + batch_size]
        batches.append(Batch(product_ids, index_products.delay(product_ids)))
    report.batches = len(batches)
    return report, batches


def batches_wait(report: DistributedReport, batches: list[Batch], *,
                 poll_seconds: float = 1.0, progress: bool = False) -> DistributedReport:
    """Wait until every batch has succeeded or failed, showing indexed products from the database.

    Progress counts products that left the pending set since enqueueing, whichever worker
    (or earlier run) indexed them; the batches' own results say what each worker did.
    """
    version = model_version()
    remaining = list(batches)
    with tqdm(total=report.pending, unit="product", desc="index (workers)",
              disable=not progress, dynamic_ncols=True) as bar:
        while remaining:
            time.sleep(poll_seconds)
            remaining = [batch for batch in remaining if not _collect(batch, report)]
            left = products_pending(version).count()
            done = min(report.pending, max(0, report.pending_total - left))
            bar.update(done - bar.n)
            bar.set_postfix(batches_left=len(remaining), failed=len(report.failed_batches),
                            refresh=False)
        report.vacuumed = regions_vacuum_after(report.regions, bar, "index (workers)")
    return report


def _collect(batch: Batch, report: DistributedReport) -> bool:
    """Add a finished batch to the report; return whether it had finished."""
    result = batch.result
    if not result.ready():
        return False
    if result.successful():
        outcome = result.result
        report.indexed += outcome["indexed"]
        report.regions += outcome["regions"]
        report.errors += [tuple(error) for error in outcome["errors"]]
        report.workers[outcome["worker"]] = report.workers.get(outcome["worker"], 0) + 1
    else:
        report.failed_batches.append((batch.product_ids, repr(result.result)))
    result.forget()
    return True
