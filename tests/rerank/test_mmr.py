"""MMR (``hermes_core.rerank.mmr``): the relevance order at lambda = 1, a hand-worked diversity case,
ties, and the batched version against the per-list one."""

from __future__ import annotations

import numpy as np
import pytest

from hermes_core.rerank.exposure import normalise_rows
from hermes_core.rerank.mmr import mmr_rerank, mmr_rerank_batch

PAIRED_RELEVANCE = np.array([0.9, 0.85, 0.6, 0.55])
# items (0, 1) and (2, 3) are near-duplicates, every other pair is dissimilar
PAIRED_SIMILARITY = np.array(
    [
        [1.0, 0.95, 0.1, 0.1],
        [0.95, 1.0, 0.1, 0.1],
        [0.1, 0.1, 1.0, 0.95],
        [0.1, 0.1, 0.95, 1.0],
    ]
)


def test_lambda_one_returns_the_stable_relevance_order() -> None:
    relevance = np.array([0.3, 0.9, 0.3, 0.5, 0.9, -0.2])
    embeddings = np.random.default_rng(0).normal(size=(6, 4))
    # descending relevance, equal relevances (items 1 and 4, items 0 and 2) in index order
    expected = [1, 4, 3, 0, 2, 5]
    assert np.argsort(-relevance, kind="stable").tolist() == expected
    assert mmr_rerank(relevance, 6, 1.0, embeddings=embeddings).tolist() == expected
    assert mmr_rerank(relevance, 3, 1.0, embeddings=embeddings).tolist() == expected[:3]


def test_near_duplicates_are_skipped_at_lambda_one_half() -> None:
    # pick 1: the most relevant, item 0. Pick 2, 0.5 * rel - 0.5 * sim(i, 0):
    #   item 1: 0.425 - 0.475 = -0.05; item 2: 0.30 - 0.05 = 0.25; item 3: 0.275 - 0.05 = 0.225 -> item 2.
    # Pick 3, max similarity to {0, 2} is 0.95 for both 1 and 3: 0.425 - 0.475 = -0.05 > 0.275 - 0.475 -> item 1.
    picks = mmr_rerank(PAIRED_RELEVANCE, 4, 0.5, similarity=PAIRED_SIMILARITY)
    assert picks[:2].tolist() == [0, 2]
    assert picks.tolist() == [0, 2, 1, 3]
    assert mmr_rerank(PAIRED_RELEVANCE, 4, 1.0, similarity=PAIRED_SIMILARITY).tolist() == [0, 1, 2, 3]


def test_embeddings_give_the_order_of_their_cosine_matrix() -> None:
    rng = np.random.default_rng(1)
    embeddings = rng.normal(size=(12, 5)) * rng.uniform(0.1, 10, size=(12, 1))  # norms must not matter
    relevance = rng.random(12)
    unit = normalise_rows(embeddings)
    from_matrix = mmr_rerank(relevance, 8, 0.6, similarity=unit @ unit.T)
    assert mmr_rerank(relevance, 8, 0.6, embeddings=embeddings).tolist() == from_matrix.tolist()


def test_ties_in_the_objective_go_to_the_lowest_index() -> None:
    # lambda = 0 after the first pick: every other item has similarity 0.2 to it, so all tie
    similarity = np.full((5, 5), 0.2)
    picks = mmr_rerank(np.array([0.1, 0.4, 0.4, 0.3, 0.2]), 5, 0.0, similarity=similarity)
    assert picks.tolist() == [1, 0, 2, 3, 4]


def padded_batch(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Six lists of 2..9 real candidates padded to 9, padding holding a relevance that would win."""
    rng = np.random.default_rng(seed)
    lengths = np.array([9, 2, 5, 7, 3, 9])
    mask = np.arange(9)[None, :] < lengths[:, None]
    relevance = np.where(mask, rng.integers(0, 4, size=mask.shape) / 4, 100.0)  # coarse: many ties
    embeddings = rng.normal(size=(6, 9, 3))
    unit = normalise_rows(embeddings)
    return relevance, embeddings, unit @ unit.transpose(0, 2, 1), mask


@pytest.mark.parametrize("lam", [0.0, 0.3, 0.7, 1.0])
def test_batched_equals_per_list(lam: float) -> None:
    relevance, embeddings, similarity, mask = padded_batch(seed=2)
    k = 6
    from_embeddings = mmr_rerank_batch(relevance, k, lam, embeddings=embeddings, mask=mask)
    from_similarity = mmr_rerank_batch(relevance, k, lam, similarity=similarity, mask=mask)
    for row in range(relevance.shape[0]):
        n_real = int(mask[row].sum())
        expected = mmr_rerank(
            relevance[row, :n_real], min(k, n_real), lam, embeddings=embeddings[row, :n_real]
        ).tolist()
        expected += [-1] * (k - len(expected))
        assert from_embeddings[row].tolist() == expected
        assert from_similarity[row].tolist() == expected


def test_inputs_are_checked() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        mmr_rerank(PAIRED_RELEVANCE, 2, 0.5)
    with pytest.raises(ValueError, match="lam"):
        mmr_rerank(PAIRED_RELEVANCE, 2, 1.5, similarity=PAIRED_SIMILARITY)
    with pytest.raises(ValueError, match="k must lie"):
        mmr_rerank(PAIRED_RELEVANCE, 5, 0.5, similarity=PAIRED_SIMILARITY)
    with pytest.raises(ValueError, match="similarity must have shape"):
        mmr_rerank(PAIRED_RELEVANCE, 2, 0.5, similarity=PAIRED_SIMILARITY[:3])
