"""Local matching: the re-ranking score of similar items (detection.local_matching)."""

import numpy as np
import pytest

from detection.local_matching import (
    chamfer_similarities,
    chamfer_similarity,
    dequantised,
    quantised,
    reranked_neighbours,
    verified_scores,
    verified_similarity,
)


def unit_rows(rng: np.random.Generator, count: int, size: int = 16) -> np.ndarray:
    rows = rng.standard_normal((count, size))
    return quantised(rows / np.linalg.norm(rows, axis=1, keepdims=True))


def test_chamfer_is_one_for_the_same_parts_in_any_order_and_symmetric():
    rng = np.random.default_rng(0)
    parts = unit_rows(rng, 10)
    shuffled = parts[rng.permutation(10)]
    other = unit_rows(rng, 7)

    assert chamfer_similarity(parts, shuffled) == pytest.approx(1.0, abs=1e-3)
    assert chamfer_similarity(parts, other) == pytest.approx(chamfer_similarity(other, parts))
    assert chamfer_similarity(parts, other) < 0.9


def test_a_photo_sharing_half_its_parts_scores_between_a_copy_and_a_stranger():
    rng = np.random.default_rng(1)
    parts, strangers = unit_rows(rng, 12), unit_rows(rng, 12)
    half = np.concatenate([parts[:6], strangers[:6]])

    assert (chamfer_similarity(parts, strangers) < chamfer_similarity(parts, half)
            < chamfer_similarity(parts, parts))


def test_int8_descriptors_keep_their_similarities():
    rng = np.random.default_rng(4)
    rows = rng.standard_normal((20, 64))
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)

    stored = quantised(rows)

    assert stored.dtype == np.int8
    assert np.abs(dequantised(stored) @ dequantised(stored).T - rows @ rows.T).max() < 0.02


def test_one_product_for_many_candidates_gives_each_pair_its_own_score():
    rng = np.random.default_rng(5)
    query = unit_rows(rng, 9)
    candidates = [unit_rows(rng, 4), query, unit_rows(rng, 13)]

    together = chamfer_similarities(query, candidates)

    assert together == pytest.approx([chamfer_similarity(query, c) for c in candidates],
                                     abs=1e-6)
    assert together[1] == pytest.approx(1.0, abs=1e-3)


def test_verified_score_keeps_an_identical_photo_at_one():
    rng = np.random.default_rng(2)
    parts = unit_rows(rng, 8)

    assert verified_similarity(1.0, 1.0, 0.75) == pytest.approx(1.0)
    scores = verified_scores(parts, [parts, unit_rows(rng, 8)], [0.9, 0.8], local_weight=0.5)
    assert scores[0] == pytest.approx(0.5 * 0.9 + 0.5 * 1.0, abs=1e-3)
    assert scores[1] < scores[0]


def test_a_candidate_without_descriptors_is_scored_on_the_same_scale():
    """Its local similarity is estimated as its vector similarity plus the others' mean gap
    (here 1.0 - 0.9), so it keeps the place its vector earns instead of sinking."""
    rng = np.random.default_rng(6)
    parts = unit_rows(rng, 8)

    scores = verified_scores(parts, [parts, None, np.zeros((0, 16), np.int8)],
                             [0.9, 0.8, 0.7], local_weight=0.5)

    gap = 1.0 - 0.9
    assert scores == pytest.approx([0.95, 0.5 * 0.8 + 0.5 * (0.8 + gap),
                                    0.5 * 0.7 + 0.5 * (0.7 + gap)], abs=1e-3)


def test_without_any_descriptors_the_vector_similarities_stay():
    rng = np.random.default_rng(7)

    assert verified_scores(unit_rows(rng, 8), [None, None], [0.9, 0.8]) == pytest.approx(
        [0.9, 0.8])
    assert verified_scores(np.zeros((0, 16), np.int8), [unit_rows(rng, 8)], [0.7]) == (
        pytest.approx([0.7]))


def test_reranking_moves_the_photo_with_matching_parts_first():
    rng = np.random.default_rng(3)
    query_parts = unit_rows(rng, 8)
    vectors = np.eye(3, dtype=np.float32)
    vectors[1] = [0.9, np.sqrt(1 - 0.81), 0]  # nearer by vector, other parts
    vectors[2] = [0.8, 0, 0.6]  # farther by vector, the same parts
    local = [query_parts, unit_rows(rng, 8), query_parts]
    neighbours = np.array([[1, 2], [0, 2], [0, 1]])

    reranked = reranked_neighbours(vectors, local, neighbours, 2, local_weight=0.75)

    assert reranked[0].tolist() == [2, 1]
    assert reranked_neighbours(vectors, local, neighbours, 2, local_weight=0.0)[0].tolist() == [
        1, 2]
