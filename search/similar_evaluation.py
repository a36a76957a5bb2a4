"""Similar items as shoppers see them, scored offline against the catalog's own labels.

`similar_products` runs, under each ranker asked for, for a sample of the indexed products,
exactly as the product page calls it (its own class first, re-ranked, diversified). Each
list is scored against the catalog's labels:

- family Recall@1 and @k: whether a sibling (an article of the same `family` attribute,
  H&M's product code: the colour variants of one product) comes first, or in the list.
  When some of the products asked for have an indexed sibling, only those are queries;
- category and category+colour Precision@k: the share of the list with the query's
  category (and colour), the whole list of k counting, so a short list scores lower;
- the service call's latency (in-process, not through the view: see `benchmark_search`).

It compares rankers before an experiment, on the catalog the shop really serves; the
experiment on clicks then decides (README, "Experiments").
"""

import random
import statistics
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from tqdm import tqdm

from detection.api import model_version
from search.models import ProductRegion
from search.similar import similar_products
from shop.models import Product


@dataclass(frozen=True)
class SimilarScores:
    """How one ranker's similar-item lists scored (recalls are None without families)."""

    queries: int
    family_recall_at_1: float | None
    family_recall_at_k: float | None
    category_precision: float
    category_colour_precision: float
    latency_p50_ms: float
    latency_p95_ms: float


def similar_evaluate(*, rankers: Sequence[str], count: int = 1000, sku_prefix: str = "",
                     k: int = 10, seed: int = 0,
                     progress: bool = False) -> dict[str, SimilarScores]:
    """Score similar items under each ranker for the same `count` random indexed products
    (those whose sku starts with `sku_prefix`)."""
    indexed = ProductRegion.objects.filter(model_version=model_version(), position=0)
    products = list(Product.objects.filter(pk__in=indexed.values("product_id"))
                    .only("pk", "sku", "category", "colour", "garment_class", "attributes")
                    .order_by("pk"))
    family = {product.pk: (product.attributes or {}).get("family") or "" for product in products}
    siblings = Counter(name for name in family.values() if name)
    queries = [product for product in products if product.sku.startswith(sku_prefix)]
    with_sibling = [product for product in queries if siblings[family[product.pk]] >= 2]
    queries = with_sibling or queries
    queries = random.Random(seed).sample(queries, min(count, len(queries)))
    labels = {product.sku: product for product in products}
    return {
        name: _ranker_scores(name, queries, labels, family, k, progress)
        for name in rankers
    }


def _ranker_scores(ranker: str, queries: list[Product], labels: dict[str, Product],
                   family: dict[int, str], k: int, progress: bool) -> SimilarScores:
    """Run and score similar items under one ranker."""
    first = listed = same_category = same_category_colour = 0
    times = []
    for query in tqdm(queries, desc=ranker, unit="query", disable=not progress):
        start = time.perf_counter()
        hits = similar_products(product=query, k=k, rankers=(ranker,)).hits
        times.append((time.perf_counter() - start) * 1000)
        shown = [labels[hit.sku] for hit in hits if hit.sku in labels]
        siblings = [bool(family[query.pk]) and family[product.pk] == family[query.pk]
                    for product in shown]
        first += bool(siblings) and siblings[0]
        listed += any(siblings)
        same = [product.category == query.category for product in shown]
        same_category += sum(same)
        same_category_colour += sum(
            same_kind and product.colour == query.colour
            for same_kind, product in zip(same, shown, strict=True))
    total = max(len(queries), 1)
    has_families = any(family[query.pk] for query in queries)
    return SimilarScores(
        queries=len(queries),
        family_recall_at_1=first / total if has_families else None,
        family_recall_at_k=listed / total if has_families else None,
        category_precision=same_category / (total * k),
        category_colour_precision=same_category_colour / (total * k),
        latency_p50_ms=statistics.median(times) if times else 0.0,
        latency_p95_ms=statistics.quantiles(times, n=20)[-1] if len(times) > 1 else 0.0,
    )
