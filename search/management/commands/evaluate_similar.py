"""Score similar items under each ranker against the catalog's own labels (offline)."""

from django.core.management.base import BaseCommand, CommandError

from search.rankers import DEFAULT_RANKER, RANKERS
from search.similar_evaluation import similar_evaluate


class Command(BaseCommand):
    help = (
        "Run similar items for a random sample of indexed products under each --ranker and "
        "print family Recall@1/@k (catalogs with a `family` column; queries are then the "
        "products with a sibling), category and category+colour Precision@k and latency."
    )

    def add_arguments(self, parser):
        parser.add_argument("--ranker", action="append", dest="rankers",
                            help=f"ranker to score; repeat for several (default "
                                 f"{DEFAULT_RANKER}); one of {', '.join(sorted(RANKERS))}")
        parser.add_argument("--count", type=int, default=1000, help="products queried")
        parser.add_argument("--sku-prefix", default="",
                            help="query only products whose sku starts with this, e.g. HM-")
        parser.add_argument("--k", type=int, default=10, help="list length")
        parser.add_argument("--seed", type=int, default=0, help="seed of the sample")

    def handle(self, *args, rankers, count, sku_prefix, k, seed, **options):
        rankers = rankers or [DEFAULT_RANKER]
        unknown = sorted(set(rankers) - set(RANKERS))
        if unknown:
            raise CommandError(f"unknown ranker(s): {', '.join(unknown)}")
        if count < 1 or not 1 <= k <= 50:
            raise CommandError("--count must be positive and --k between 1 and 50")
        scores = similar_evaluate(rankers=rankers, count=count, sku_prefix=sku_prefix, k=k,
                                  seed=seed, progress=True)
        if not next(iter(scores.values())).queries:
            raise CommandError("no product indexed by the current models matches; "
                               "run `manage.py index` first")
        self.stdout.write(f"{'ranker':<20} {'queries':>7} {'family R@1':>10} "
                          f"{f'R@{k}':>6} {f'category P@{k}':>14} {f'+colour P@{k}':>13} "
                          f"{'p50 ms':>7} {'p95 ms':>7}")
        for name, score in scores.items():
            recalls = [f"{value:.3f}" if value is not None else "-"
                       for value in (score.family_recall_at_1, score.family_recall_at_k)]
            self.stdout.write(
                f"{name:<20} {score.queries:>7} {recalls[0]:>10} {recalls[1]:>6} "
                f"{score.category_precision:>14.3f} {score.category_colour_precision:>13.3f} "
                f"{score.latency_p50_ms:>7.1f} {score.latency_p95_ms:>7.1f}")
