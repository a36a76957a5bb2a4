"""Benchmark the single region table against class-partitioned vector and halfvec copies."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from search import partition_benchmark as bench
from search.benchmark_vectors import seed_regions_export, seed_regions_load
from shop.models import Product

MIB = 2**20


class Command(BaseCommand):
    help = ("export SEED.npz: write this database's indexed regions (real vectors) to a file. "
            "run --seed SEED.npz: in a database of its own (DATA_DIR), grow them into "
            "--regions synthetic regions, build the three layouts and print Markdown tables.")

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["export", "run"])
        parser.add_argument("--seed", type=Path, required=True, help="the .npz of real regions")
        parser.add_argument("--model-version", help="export: the version to export "
                            "(default: the current models')")
        parser.add_argument("--regions", type=int, default=120_000)
        parser.add_argument("--queries", type=int, default=20, help="queries per class")
        parser.add_argument("--maintenance-work-mem", default="1GB")

    def handle(self, *args, action, seed, model_version, regions, queries,
               maintenance_work_mem, **options):
        if action == "export":
            if model_version is None:
                from detection.api import model_version as current

                model_version = current()
            count = seed_regions_export(seed, model_version)
            if not count:
                raise CommandError(f"no regions of model version {model_version} to export")
            self.stdout.write(f"{count} regions written to {seed}")
            return
        if not seed.is_file():
            raise CommandError(f"{seed} not found: make it with `benchmark_partitions export`")
        real = seed_regions_load(seed)
        try:
            count = bench.benchmark_catalog_load(real, regions)
        except bench.NotABenchmarkDatabase as exc:
            raise CommandError(str(exc)) from exc
        build = bench.layouts_build(maintenance_work_mem)
        results = bench.layouts_measure(real, queries)
        self.report(real, count, build, bench.layout_sizes(), results)

    def report(self, real, count, build, sizes, results):
        write = self.stdout.write
        products = Product.objects.count()
        write(f"{count} regions of {products} products grown from {len(real.vectors)} real "
              f"regions; shared_buffers {bench.shared_buffers_bytes() / MIB:.0f} MiB\n")
        write("| layout | HNSW build | table (heap + TOAST) | HNSW indexes | all, with other "
              "indexes | bytes per region, all | in shared_buffers after its queries "
              "(table / HNSW) |")
        write("|---|---|---|---|---|---|---|")
        for result in results:
            size, cached = sizes[result.layout], result.cached
            memory = (f"{cached['heap'] / MIB:.0f} / {cached['hnsw'] / MIB:.0f} MiB"
                      if cached else "pg_buffercache not available")
            write(f"| {result.layout} | {build[result.layout]:.1f} s | "
                  f"{size['table'] / MIB:.1f} MiB | {size['hnsw'] / MIB:.1f} MiB | "
                  f"{size['total'] / MIB:.1f} MiB | {size['total'] / count:.0f} | {memory} |")
        counts = bench.class_counts()
        write("\nClass-filtered top-10 (shop the look for one garment): latency of "
              "`nearest()` p50 / p95, server execution p50 of the graph walk, recall@10 "
              "of the graph walk against brute force over the same rows\n")
        write("| class (products) | " + " | ".join(r.layout for r in results) + " |")
        write("|---|" + "---|" * len(results))
        for name in results[0].classes:
            cells = []
            for result in results:
                c = result.classes[name]
                short = f", {c.short} short" if c.short else ""
                cells.append(f"{c.latency_ms[0]:.1f} / {c.latency_ms[1]:.1f} ms, srv "
                             f"{c.server_ms:.1f} ms, R {c.recall:.3f}{short}")
            write(f"| {name} ({counts.get(name, 0)}) | " + " | ".join(cells) + " |")
