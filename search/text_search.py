"""Text search: PostgreSQL full-text search fused with sentence-embedding search.

Full-text search is exact about words ("linen", a sku's brand); embeddings know that a
"tee" is a "t-shirt" and a "sneaker" a "sports shoe". Reciprocal rank fusion combines the
two lists without having to calibrate their scores against each other.
"""

import random

import numpy as np
from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db.models import F
from pgvector.django import CosineDistance

from detection.text_embedder import embed_texts
from search.filters import ProductFilters
from search.models import ProductText
from search.rankers import DEFAULT_RANKER, RankingContext
from search.ranking import candidates_build, ranked_list
from search.results import SurfaceResult, hits_from_scores, products_listed
from search.retrieval import hnsw_iterative_scan

# The constant of reciprocal rank fusion (Cormack et al.): damps the weight of top ranks.
RRF_K = 60
# Below this cosine similarity a sentence-embedding neighbour is noise, not a match.
MIN_TEXT_SIMILARITY = 0.25
CANDIDATES = 200


def text_search(*, query: str, filters: ProductFilters = ProductFilters(),
                limit: int = CANDIDATES) -> list[tuple[int, float]]:
    """Return (product id, fused score) pairs for a text query, best first."""
    return _fused(query, filters, limit)[0]


def text_search_ranked(*, query: str, filters: ProductFilters = ProductFilters(),
                       rankers: tuple[str, ...] = (DEFAULT_RANKER,),
                       rng: random.Random | None = None,
                       limit: int = CANDIDATES) -> SurfaceResult:
    """Return text search results ordered by the visitor's ranker(s); score = fused score."""
    fused, vector = _fused(query, filters, limit)
    if not fused:
        return SurfaceResult(hits=[], teams=[])
    top = fused[0][1]
    products = products_listed([pk for pk, _ in fused])
    candidates = candidates_build([(pk, score / top, None) for pk, score in fused], products,
                                  rankers=rankers)
    ranked = ranked_list(candidates, rankers=rankers, k=limit,
                         context=RankingContext(text_embedding=vector), rng=rng)
    scores = dict(fused)
    hits = hits_from_scores([(pk, scores[pk]) for pk in ranked.product_ids], products)
    return SurfaceResult(hits=hits, teams=ranked.teams)


def _fused(query: str, filters: ProductFilters, limit: int) -> tuple[list, np.ndarray]:
    rows = ProductText.objects.filter(filters.q("product__"))
    keywords = SearchQuery(query, config="english", search_type="websearch")
    by_words = list(
        rows.filter(document=keywords)
        .annotate(rank=SearchRank(F("document"), keywords))
        .order_by("-rank", "product_id")
        .values_list("product_id", flat=True)[:limit]
    )
    vector = embed_texts([query])[0]
    with hnsw_iterative_scan(limit, using=rows.db):
        nearest = list(
            rows.annotate(distance=CosineDistance("embedding", vector))
            .order_by("distance")
            .values_list("product_id", "distance")[:limit]
        )
    # Thresholded here, not in SQL: a distance filter would make the scan walk the whole
    # graph looking for matches that a nonsense query never has.
    by_meaning = [pk for pk, distance in nearest if distance <= 1 - MIN_TEXT_SIMILARITY]
    return reciprocal_rank_fusion([by_words, by_meaning])[:limit], vector


def reciprocal_rank_fusion(rankings: list[list[int]], k: int = RRF_K) -> list[tuple[int, float]]:
    """Fuse ranked id lists: each id scores the sum of 1 / (k + rank) over the lists."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))
