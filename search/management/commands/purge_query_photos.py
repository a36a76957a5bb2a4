"""Delete shop-the-look query photos older than QUERY_PHOTO_RETENTION_DAYS (run daily)."""

from django.conf import settings
from django.core.management.base import BaseCommand

from search.query_photos import query_photos_purge


class Command(BaseCommand):
    help = ("Delete stored query photos older than QUERY_PHOTO_RETENTION_DAYS (all of them "
            "when it is 0). Safe to run concurrently and to re-run.")

    def handle(self, *args, **options):
        report = query_photos_purge()
        self.stdout.write(f"deleted {report.photos} query photos older than "
                          f"{settings.QUERY_PHOTO_RETENTION_DAYS} days and "
                          f"{report.stray_files} stray files")
