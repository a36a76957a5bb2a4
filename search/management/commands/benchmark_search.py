"""Measure search latency, filtered ANN recall and index size on the indexed catalog."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from search import benchmark
from search.models import ProductRegion
from shop.models import Product


class Command(BaseCommand):
    help = ("Benchmark shop the look (upload to JSON), similar items, filtered ANN "
            "recall@10 against exact search, and the HNSW index; prints Markdown rows.")

    def add_arguments(self, parser):
        parser.add_argument("--photos", type=Path, required=True,
                            help="folder of outfit photos (JPEG), e.g. $FASHION_DATA/ccp/photos")
        parser.add_argument("--count", type=int, default=50, help="photos and skus timed")
        parser.add_argument("--queries", type=int, default=50, help="recall query vectors")
        parser.add_argument("--rebuild", action="store_true",
                            help="also time a rebuild of the HNSW index")

    def handle(self, *args, photos, count, queries, rebuild, **options):
        paths = sorted(photos.glob("*.jpg"))[:count]
        if not paths:
            raise CommandError(f"no .jpg photos in {photos}")
        if not ProductRegion.objects.exists():
            raise CommandError("nothing is indexed: run `manage.py index` first")
        write = self.stdout.write
        write(f"{Product.objects.count()} products, {ProductRegion.objects.count()} vectors")
        write("| measurement | result |\n|---|---|")
        write(f"| shop the look, upload to JSON | {benchmark.look_search_latency(paths)} |")
        write(f"| of which the class vote, per photo | {benchmark.class_vote_latency(paths)} |")
        skus = benchmark.sample_skus(count)
        write(f"| similar items, k=10 | {benchmark.similar_latency(skus)} |")
        recall = benchmark.filtered_recall(queries)
        per_class = ", ".join(f"{name} {value:.3f}" for name, value in recall.items())
        overall = sum(recall.values()) / len(recall)
        write(f"| ANN recall@10 vs exact, class-filtered | mean {overall:.3f} ({per_class}) |")
        sizes = benchmark.index_sizes()
        write(f"| HNSW indexes | full graph {sizes['hnsw'] / 2**20:.1f} MiB, per-class graphs "
              f"{sizes['class_graphs'] / 2**20:.1f} MiB (table with all indexes "
              f"{sizes['table_with_indexes'] / 2**20:.1f} MiB) |")
        if rebuild:
            write(f"| HNSW rebuild, all graphs | {benchmark.hnsw_build_seconds():.1f} s |")
