"""Re-rank near neighbours by matching local descriptors: the "verification" step of search.

A global vector answers "which photos look roughly alike" fast, over the whole index; the
few candidates it returns are then compared part by part. Each photo has a set of local
descriptors (one per cell of a mid-level map of the backbone, ``Embedder.embed_with_local``)
and two photos match as well as each one's cells find a like cell in the other, wherever it
is (symmetric Chamfer similarity). It rewards the same cut, seams and print seen anywhere in
the frame, which tells a product's colour variants from look-alikes better than the global
vector alone: on hm, re-ranking the vector's 30 nearest articles raised family Recall@1 from
0.36 to 0.42 (detection/weights/EMBEDDER.md, "Local re-ranking").

Requiring matches at the same place in both photos (a geometric check) measured no better,
so none is made. Pure numpy: no model is loaded here.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

# Share of the re-ranking score from local matching; the rest is the vectors' cosine
# similarity. Chosen on the hm queries of the families `is_held_out_family` keeps for
# fitting; the other half is where it was checked (EMBEDDER.md).
LOCAL_WEIGHT = float(os.environ.get("LOCAL_MATCH_WEIGHT", "0.75"))
# How many of the vector's nearest neighbours `evaluate_embedder --rerank` re-ranks: what
# similar items fetches for 10 results (search.similar.CANDIDATES_PER_RESULT).
RERANK_CANDIDATES = 30


# Descriptors are stored as int8: each component of a unit-length row times this. It halves
# float16's size, which keeps a photo's descriptors inside its table row, at no measured cost
# (hm family Recall@1 after re-ranking 0.423 with float16, 0.424 with int8).
QUANTISATION_SCALE = 127


def quantised(descriptors: np.ndarray) -> np.ndarray:
    """Return unit-length descriptor rows as int8 (components times QUANTISATION_SCALE)."""
    scaled = np.rint(np.asarray(descriptors, dtype=np.float32) * QUANTISATION_SCALE)
    return np.clip(scaled, -QUANTISATION_SCALE, QUANTISATION_SCALE).astype(np.int8)


def dequantised(descriptors: np.ndarray) -> np.ndarray:
    """Return int8 descriptors (see ``quantised``) as float32 rows of about unit length."""
    return descriptors.astype(np.float32) / QUANTISATION_SCALE


def chamfer_similarities(query: np.ndarray, candidates: Sequence[np.ndarray]) -> np.ndarray:
    """Return the symmetric Chamfer similarity of the query's descriptors to each candidate's
    (all int8, see ``quantised``; every candidate with at least one descriptor).

    Each descriptor's best cosine similarity in the other set, averaged over both sets; 1
    for identical sets. One matrix product for all candidates.
    """
    sizes = np.array([len(candidate) for candidate in candidates])
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    similarity = dequantised(query) @ dequantised(np.concatenate(candidates)).T
    best_for_query = np.maximum.reduceat(similarity, starts, axis=1).mean(axis=0)
    best_for_candidate = np.add.reduceat(similarity.max(axis=0), starts) / sizes
    return 0.5 * (best_for_query + best_for_candidate)


def chamfer_similarity(query: np.ndarray, candidate: np.ndarray) -> float:
    """Return the symmetric Chamfer similarity of two sets of int8 descriptors."""
    return float(chamfer_similarities(query, [candidate])[0])


def verified_similarity(
    vector_similarity: np.ndarray | float,
    local_similarity: np.ndarray | float,
    local_weight: float = LOCAL_WEIGHT,
) -> np.ndarray | float:
    """Blend the vectors' cosine similarity with the local match; identical photos score 1."""
    return (1.0 - local_weight) * vector_similarity + local_weight * local_similarity


def verified_scores(
    query: np.ndarray,
    candidates: Sequence[np.ndarray | None],
    vector_similarities: Sequence[float],
    local_weight: float = LOCAL_WEIGHT,
) -> list[float]:
    """Return the re-ranking score of each candidate.

    A candidate without local descriptors (a photo indexed before they were kept) is given
    the local similarity its vector similarity suggests: that plus the mean gap between the
    two over the candidates that have both. Its plain vector similarity would be on another
    scale (on hm, local similarities run 0.17 above the vectors' on average), and it would
    sink below every candidate that was matched.
    """
    vector = np.asarray(vector_similarities, dtype=np.float64)
    present = [index for index, found in enumerate(candidates)
               if found is not None and len(found)]
    if not present or not len(query):
        return vector.tolist()
    local = chamfer_similarities(query, [candidates[index] for index in present])
    estimated = vector + float(np.mean(local - vector[present]))
    estimated[present] = local
    return verified_similarity(vector, estimated, local_weight).tolist()


def reranked_neighbours(
    vectors: np.ndarray,
    local: Sequence[np.ndarray],
    neighbours: np.ndarray,
    k: int,
    local_weight: float = LOCAL_WEIGHT,
) -> np.ndarray:
    """Re-rank each row of ``neighbours`` (indices into ``vectors``, nearest first) by the
    verified score against that row's query (leave-one-out over ``vectors``); keep k."""
    reranked = np.empty((len(neighbours), k), dtype=neighbours.dtype)
    for query, row in enumerate(neighbours):
        similarities = vectors[row] @ vectors[query]
        scores = verified_scores(local[query], [local[i] for i in row], similarities,
                                 local_weight)
        reranked[query] = row[np.argsort(-np.asarray(scores), kind="stable")[:k]]
    return reranked
