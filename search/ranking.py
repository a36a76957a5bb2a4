"""Re-ranking of retrieved candidates: near-duplicate collapse and diversification."""

import numpy as np

from search.retrieval import Match

# Cosine distance under which two catalog images count as the same photo (re-uploads,
# the same shot under two skus).
DUPLICATE_DISTANCE = 0.02


def duplicates_collapse(matches: list[Match], *,
                        max_distance: float = DUPLICATE_DISTANCE) -> list[Match]:
    """Drop each match that is a near-copy of a closer one already kept."""
    kept: list[Match] = []
    for match in matches:
        if all(1.0 - float(match.embedding @ other.embedding) > max_distance for other in kept):
            kept.append(match)
    return kept


def diversify(matches: list[Match], k: int, *, relevance_weight: float = 0.75) -> list[Match]:
    """Pick k matches by maximal marginal relevance: close to the query, unlike each other.

    With weight 1 this is plain nearest-first order; lower weights trade a little
    similarity for variety, so ten colour variants of one product don't fill a carousel
    when other close products exist.
    """
    if len(matches) <= 1:
        return matches[:k]
    similarity = np.array([1.0 - match.distance for match in matches])
    vectors = np.stack([match.embedding for match in matches])
    between = vectors @ vectors.T
    chosen = [0]
    redundancy = between[0].copy()
    while len(chosen) < min(k, len(matches)):
        score = relevance_weight * similarity - (1 - relevance_weight) * redundancy
        score[chosen] = -np.inf
        best = int(np.argmax(score))
        chosen.append(best)
        redundancy = np.maximum(redundancy, between[best])
    return [matches[index] for index in chosen]
