"""Turn retrieved matches into the list a shopper sees.

Candidates get the signals rankers use; the visitor's ranker scores them; similar items
are diversified; under interleaving two rankers' lists are merged by team draft.
"""

import random
from dataclasses import dataclass

import numpy as np

from search.interleaving import team_draft
from search.models import ProductText
from search.rankers import Candidate, RankingContext, rank, reads_text, scores
from search.retrieval import Match
from search.vectors import VectorBinary, vector_from_db
from shop.models import Product

# Cosine distance under which two catalog images count as the same photo (re-uploads,
# the same shot under two skus).
DUPLICATE_DISTANCE = 0.02
# Weight of a ranker's score against redundancy in maximal marginal relevance.
RELEVANCE_WEIGHT = 0.75


@dataclass(frozen=True)
class RankedList:
    """Product ids in display order; `teams` names each position's ranker when interleaved."""

    product_ids: list[int]
    teams: list[str]


def duplicates_collapse(matches: list[Match], *,
                        max_distance: float = DUPLICATE_DISTANCE) -> list[Match]:
    """Drop each match that is a near-copy of a closer one already kept."""
    kept: list[Match] = []
    for match in matches:
        if all(1.0 - float(match.embedding @ other.embedding) > max_distance for other in kept):
            kept.append(match)
    return kept


def candidates_from_matches(matches: list[Match], products: dict[int, Product], *,
                            rankers: tuple[str, ...]) -> list[Candidate]:
    """Return visual matches as candidates, relevance = cosine similarity."""
    return candidates_build([(match.product_id, 1.0 - match.distance, match.embedding)
                             for match in matches], products, rankers=rankers)


def candidates_build(scored: list[tuple[int, float, np.ndarray | None]],
                     products: dict[int, Product], *,
                     rankers: tuple[str, ...]) -> list[Candidate]:
    """Make candidates from (product id, relevance, visual vector) and the loaded products.

    Text embeddings are loaded only when one of the `rankers` reads them.
    """
    texts = text_embeddings([pk for pk, _, _ in scored]) if reads_text(rankers) else {}
    return [
        Candidate(product_id=pk, relevance=relevance, embedding=embedding,
                  category=product.category, colour=product.colour,
                  text_embedding=texts.get(pk))
        for pk, relevance, embedding in scored
        if (product := products.get(pk)) is not None
    ]


def text_embeddings(ids: list[int]) -> dict[int, np.ndarray]:
    """Return the description vectors of the products that have one, by product id."""
    return {pk: vector_from_db(vector) for pk, vector in
            ProductText.objects.filter(product_id__in=ids)
            .values_list("product_id", VectorBinary("embedding"))}


def diversify(candidates: list[Candidate], relevance: list[float], k: int, *,
              relevance_weight: float = RELEVANCE_WEIGHT) -> list[Candidate]:
    """Pick k candidates by maximal marginal relevance: well scored, unlike each other.

    With weight 1 this is plain best-score-first order; lower weights trade a little score
    for variety, so ten colour variants of one product don't fill a carousel when other
    close products exist.
    """
    if len(candidates) <= 1:
        return candidates[:k]
    score = np.asarray(relevance, dtype=np.float64)
    vectors = np.stack([candidate.embedding for candidate in candidates])
    between = vectors @ vectors.T
    chosen = [int(np.argmax(score))]
    redundancy = between[chosen[0]].copy()
    while len(chosen) < min(k, len(candidates)):
        marginal = relevance_weight * score - (1 - relevance_weight) * redundancy
        marginal[chosen] = -np.inf
        best = int(np.argmax(marginal))
        chosen.append(best)
        redundancy = np.maximum(redundancy, between[best])
    return [candidates[index] for index in chosen]


def ranked_list(candidates: list[Candidate] | dict[str, list[Candidate]], *,
                rankers: tuple[str, ...], k: int,
                context: RankingContext = RankingContext(), diversified: bool = False,
                rng: random.Random | None = None) -> RankedList:
    """Order candidates with one ranker, or interleave two rankers' orders by team draft.

    `candidates` is one list for every ranker, or each ranker's own list by name (rankers
    whose retrieval differs, such as shop the look's `visual_detector_class`).
    """
    orders = {}
    for name in rankers:
        pool = candidates[name] if isinstance(candidates, dict) else candidates
        if diversified:
            chosen = diversify(pool, scores(name, pool, context), k)
        else:
            chosen = rank(name, pool, context)[:k]
        orders[name] = [candidate.product_id for candidate in chosen]
    if len(rankers) == 1:
        return RankedList(product_ids=orders[rankers[0]], teams=[])
    merged = team_draft(orders, k, rng or random.Random())
    return RankedList(product_ids=merged.items, teams=merged.teams)
