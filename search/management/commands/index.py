"""Detect and embed product photos that are new or changed since the last run."""

from django.core.management.base import BaseCommand, CommandError

from search.indexing import IndexBusy, products_index


class Command(BaseCommand):
    help = ("Index products: their text, and one vector per photo and per detected garment. "
            "Only new or changed products (or all, after a model change) are processed; an "
            "interrupted run resumes. Exit status 1 if some photos could not be indexed.")

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=32,
                            help="products embedded and written together")
        parser.add_argument("--limit", type=int, help="index at most N products")

    def handle(self, *args, batch_size, limit, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        try:
            report = products_index(batch_size=batch_size, limit=limit,
                                    progress=options["verbosity"] > 0)
        except IndexBusy as exc:
            raise CommandError(str(exc), returncode=2) from None
        for sku, message in report.errors:
            self.stderr.write(f"{sku}: {message}")
        self.stdout.write(f"{report.texts} product texts and {report.indexed} photos indexed "
                          f"({report.regions} vectors), {len(report.errors)} failed, "
                          f"{report.pending} photos were pending")
        if report.errors:
            raise CommandError(f"{len(report.errors)} products could not be indexed")
