"""Detect and embed product photos that are new or changed since the last run."""

from django.core.management.base import BaseCommand, CommandError

from search.indexing import IndexBusy, products_index


class Command(BaseCommand):
    help = ("Index products: their text, and one vector per photo and per detected garment. "
            "Only new or changed products (or all, after a model change) are processed; an "
            "interrupted run resumes. Exit status 1 if some photos could not be indexed.")

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=32,
                            help="products embedded and written together (one task each with "
                                 "--distributed)")
        parser.add_argument("--limit", type=int, help="index at most N products")
        parser.add_argument("--distributed", action="store_true",
                            help="index the text here and enqueue the photos in batches for "
                                 "Celery workers (celery -A frontend.celery worker), then "
                                 "show their progress")
        parser.add_argument("--no-wait", action="store_true",
                            help="with --distributed: enqueue and exit without waiting")

    def handle(self, *args, batch_size, limit, distributed, no_wait, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        if no_wait and not distributed:
            raise CommandError("--no-wait only applies to --distributed")
        progress = options["verbosity"] > 0
        if distributed:
            self._distributed(batch_size=batch_size, limit=limit, wait=not no_wait,
                              progress=progress)
            return
        try:
            report = products_index(batch_size=batch_size, limit=limit, progress=progress)
        except IndexBusy as exc:
            raise CommandError(str(exc), returncode=2) from None
        for sku, message in report.errors:
            self.stderr.write(f"{sku}: {message}")
        self.stdout.write(f"{report.texts} product texts and {report.indexed} photos indexed "
                          f"({report.regions} vectors), {len(report.errors)} failed, "
                          f"{report.pending} photos were pending"
                          + ("; region table vacuumed" if report.vacuumed else ""))
        if report.errors:
            raise CommandError(f"{len(report.errors)} products could not be indexed")

    def _distributed(self, *, batch_size: int, limit: int | None, wait: bool,
                     progress: bool) -> None:
        # Celery is imported only here, so local runs work without a broker.
        from search.distributed_indexing import BrokerUnavailable, batches_wait, products_enqueue

        try:
            report, batches = products_enqueue(batch_size=batch_size, limit=limit,
                                               progress=progress)
        except BrokerUnavailable as exc:
            raise CommandError(str(exc), returncode=2) from None
        self.stdout.write(f"{report.texts} product texts indexed; {report.pending} photos "
                          f"enqueued in {report.batches} batches")
        if not wait or not batches:
            return
        batches_wait(report, batches, progress=progress)
        for sku, message in report.errors:
            self.stderr.write(f"{sku}: {message}")
        for product_ids, message in report.failed_batches:
            self.stderr.write(f"batch of products {product_ids[0]}..{product_ids[-1]} "
                              f"failed: {message}")
        workers = ", ".join(f"{name}: {count}" for name, count in sorted(report.workers.items()))
        self.stdout.write(f"{report.indexed} photos indexed ({report.regions} vectors), "
                          f"{len(report.errors)} failed, {len(report.failed_batches)} batches "
                          f"failed; batches per worker: {workers or 'none'}"
                          + ("; region table vacuumed" if report.vacuumed else ""))
        if report.errors or report.failed_batches:
            raise CommandError("some products could not be indexed; run again to retry them")
