"""Measure indexing throughput: local, and with 1..n Celery workers on this machine."""

import os
import signal
import sys
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from detection.text_embedder import embed_texts
from frontend.celery import app, models_load
from search.distributed_indexing import batches_wait, products_enqueue
from search.indexing import products_index
from search.models import ProductRegion, ProductText
from search.text_index import products_text_index
from search.worker_processes import (
    database_url,
    redis_start,
    worker_start,
    workers_ready,
    workers_stop,
)
from shop.models import Product


class Command(BaseCommand):
    help = ("Index every product again and again (local, then with each number of workers) "
            "and print products per second. Deletes the whole index first: run it on a "
            "throwaway DATA_DIR with the catalog you want to measure.")

    def add_arguments(self, parser):
        parser.add_argument("--workers", type=int, nargs="+", default=[1, 2],
                            help="worker counts to measure (each worker: one process)")
        parser.add_argument("--batch-size", type=int, default=32)
        parser.add_argument("--threads-per-worker", type=int,
                            help="torch threads of each worker (default: torch's own choice)")
        parser.add_argument("--skip-local", action="store_true")
        parser.add_argument("--wipe-index", action="store_true",
                            help="required: confirms that every index row may be deleted")

    def handle(self, *args, workers, batch_size, threads_per_worker, skip_local, wipe_index,
               **options):
        if not wipe_index:
            raise CommandError("this deletes the whole index; pass --wipe-index to confirm")
        # SIGTERM unwinds like Ctrl-C, so the redis-server and workers started here are stopped.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        products = Product.objects.count()
        if not products:
            raise CommandError("no products: import a catalog first")
        self.stdout.write(f"{products} products, batch size {batch_size}, "
                          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
        ProductText.objects.all().delete()
        embed_texts(["load the text encoder before timing"])
        started = time.perf_counter()
        products_text_index()
        self._row("text index (local)", products, time.perf_counter() - started)
        if not skip_local:
            ProductRegion.objects.all().delete()
            models_load()  # as the workers do before their first batch
            started = time.perf_counter()
            report = products_index(batch_size=batch_size)
            self._row("photos, local index", report.indexed, time.perf_counter() - started)
        redis, broker = redis_start()
        app.conf.update(broker_url=broker, result_backend=broker)
        try:
            for count in workers:
                self._distributed(count, batch_size, broker, threads_per_worker)
        finally:
            redis.terminate()
            redis.wait(10)

    def _distributed(self, count: int, batch_size: int, broker: str,
                     threads: int | None) -> None:
        ProductRegion.objects.all().delete()
        env = {**os.environ, "DATABASE_URL": database_url(connection.settings_dict),
               "MEDIA_ROOT": str(settings.MEDIA_ROOT), "CELERY_BROKER_URL": broker}
        if threads:
            env |= {"DETECTOR_TORCH_THREADS": str(threads), "EMBEDDER_NUM_THREADS": str(threads)}
        names = [f"bench{number}" for number in range(1, count + 1)]
        logs = Path(tempfile.mkdtemp(prefix="benchmark-workers-"))
        processes = [worker_start(name, env, logs / f"{name}.log") for name in names]
        try:
            workers_ready(names, processes, timeout=300)
            started = time.perf_counter()
            report, batches = products_enqueue(batch_size=batch_size)
            batches_wait(report, batches, poll_seconds=0.5)
            elapsed = time.perf_counter() - started
        finally:
            workers_stop(processes)
        if report.failed_batches:
            raise CommandError(f"{len(report.failed_batches)} batches failed; logs in {logs}")
        shares = ", ".join(f"{name.split('@')[0]} {batches}"
                           for name, batches in sorted(report.workers.items()))
        self._row(f"photos, {count} worker{'s' if count > 1 else ''} ({shares} batches)",
                  report.indexed, elapsed)

    def _row(self, what: str, products: int, seconds: float) -> None:
        self.stdout.write(f"| {what} | {products} | {seconds:.1f} | {products / seconds:.2f} |")
