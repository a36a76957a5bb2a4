"""Fill, or empty, the copy of the region vectors partitioned by garment class."""

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from search.partitioned import (
    STORAGES,
    region_vectors_disable,
    region_vectors_enable,
    region_vectors_enabled,
)


class Command(BaseCommand):
    help = ("enable: copy search_productregion into the class-partitioned table of the "
            "storage, build its per-class HNSW indexes and keep it in step from now on; "
            "disable: stop and empty it; status: say which storages are enabled.")

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["enable", "disable", "status"])
        parser.add_argument("--storage", choices=sorted(STORAGES), default="vector")
        parser.add_argument("--maintenance-work-mem", default="1GB",
                            help="memory for the HNSW builds (64MB builds ~5x slower)")

    def handle(self, *args, action, storage, maintenance_work_mem, **options):
        if action == "status":
            for name in STORAGES:
                state = "enabled" if region_vectors_enabled(name) else "disabled"
                self.stdout.write(f"{name}: {state}")
        elif action == "disable":
            region_vectors_disable(storage)
            self.stdout.write(f"{storage}: disabled and emptied")
        else:
            try:
                report = region_vectors_enable(storage,
                                               maintenance_work_mem=maintenance_work_mem)
            except DatabaseError as exc:  # e.g. an invalid memory size: one transaction
                raise CommandError(f"{storage} not enabled, nothing changed: {exc}") from exc
            self.stdout.write(f"{storage}: {report.rows} regions copied in "
                              f"{report.copy_seconds:.1f} s, HNSW built in "
                              f"{report.index_seconds:.1f} s; kept in step from now on")
