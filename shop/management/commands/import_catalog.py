"""Import or update products from a catalog CSV."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from shop.catalog_import import CatalogFileError, catalog_import, column_mapping_parse


class Command(BaseCommand):
    help = (
        "Import a catalog CSV (columns sku, title, image; optional description, category, "
        "group, colour, price, stock; others are kept as attributes). Re-running updates "
        "changed rows only. Exit status: 1 if some rows were skipped, 2 if the file could "
        "not be imported at all."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path, help="catalog CSV; image paths are relative to it")
        parser.add_argument("--limit", type=int, help="import only the first N data rows")
        parser.add_argument("--column", action="append", default=[], metavar="FIELD=COLUMN",
                            help="read FIELD from the file's COLUMN, e.g. --column sku=article_id")
        parser.add_argument("--encoding", default="utf-8-sig",
                            help="text encoding of the file (default: UTF-8)")
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, path, limit, column, encoding, batch_size, **options):
        if limit is not None and limit < 0:
            raise CommandError("--limit must be zero or more")
        try:
            columns = column_mapping_parse(column)
            report = catalog_import(path=path, limit=limit, columns=columns, encoding=encoding,
                                    batch_size=batch_size, progress=options["verbosity"] > 0)
        except (CatalogFileError, ValueError, LookupError) as exc:
            raise CommandError(str(exc), returncode=2) from None
        for error in report.errors:
            self.stderr.write(str(error))
        self.stdout.write(
            f"{report.rows} rows: {report.created} created, {report.updated} updated, "
            f"{report.unchanged} unchanged, {report.failed} failed"
        )
        if report.failed:
            raise CommandError(f"{report.failed} of {report.rows} rows were skipped (see above)")
