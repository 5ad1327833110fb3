"""NDCG@k and recall@k of relevant items (``hermes_core.evaluation.ranking``) on hand-worked fixtures."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hermes_core.evaluation.ranking import ndcg_at_k, recall_at_k

# Three queries over four items. Scores rank the items 0, 1, 2, 3 for every query.
SCORES = np.array(
    [
        [0.9, 0.8, 0.3, 0.1],
        [0.9, 0.8, 0.3, 0.1],
        [0.9, 0.8, 0.3, 0.1],
    ]
)
GRADES = np.array(
    [
        [0, 2, 3, 0],  # relevant items ranked 2nd and 3rd
        [0, 0, 0, 0],  # no relevant item: excluded
        [3, 2, 0, 1],  # ideal order up to rank 3
    ]
)


def test_ndcg_matches_the_hand_computation() -> None:
    # Query 0, k = 3, gains 2^rel - 1 and discount 1 / log2(rank + 1):
    #   DCG  = (2^0-1)/log2(2) + (2^2-1)/log2(3) + (2^3-1)/log2(4) = 0 + 3/1.58496 + 7/2 = 5.39279
    #   IDCG from the true grades sorted (3, 2, 0, 0): 7/1 + 3/1.58496 + 0 = 8.89279
    #   NDCG = 5.39279 / 8.89279 = 0.606423
    # Query 2 ranks grades (3, 2, 0) and the ideal top 3 is (3, 2, 1): DCG = 7 + 3/log2(3) = 8.89279,
    #   IDCG = 7 + 3/log2(3) + 1/2 = 9.39279, NDCG = 0.946768.
    # Query 1 has no relevant item and is excluded, so the mean is over 2 queries.
    expected_q0 = (3 / math.log2(3) + 7 / 2) / (7 + 3 / math.log2(3))
    expected_q2 = (7 + 3 / math.log2(3)) / (7 + 3 / math.log2(3) + 1 / 2)
    assert expected_q0 == pytest.approx(0.606423, abs=1e-6)
    assert expected_q2 == pytest.approx(0.946768, abs=1e-6)
    result = ndcg_at_k(SCORES, GRADES, k=3)
    assert result.n_scored == 2
    assert result.per_query[0] == pytest.approx(expected_q0, abs=1e-12)
    assert math.isnan(result.per_query[1])
    assert result.per_query[2] == pytest.approx(expected_q2, abs=1e-12)
    assert result.mean == pytest.approx((expected_q0 + expected_q2) / 2, abs=1e-12)


def test_ndcg_ideal_uses_all_candidates_not_only_the_top_k() -> None:
    # Only relevant item is ranked 3rd; at k = 2 the DCG is 0 but the IDCG is 1 (grade 1 at rank 1).
    result = ndcg_at_k(np.array([[3.0, 2.0, 1.0]]), np.array([[0, 0, 1]]), k=2)
    assert result.mean == 0.0 and result.n_scored == 1


def test_ndcg_is_one_for_the_ideal_ranking_and_ties_break_by_item_index() -> None:
    grades = np.array([[1, 3, 0, 2]])
    assert ndcg_at_k(grades.astype(float), grades, k=4).mean == pytest.approx(1.0)
    # all scores tied: ranking is items 0, 1, 2, 3 -> gains 1, 7, 0, 3
    tied = ndcg_at_k(np.zeros((1, 4)), grades, k=4)
    dcg = 1 + 7 / math.log2(3) + 0 + 3 / math.log2(5)
    idcg = 7 + 3 / math.log2(3) + 1 / 2 + 0
    assert tied.mean == pytest.approx(dcg / idcg, abs=1e-12)


def test_k_larger_than_the_catalogue_is_clipped() -> None:
    assert ndcg_at_k(SCORES, GRADES, k=50).per_query[0] == pytest.approx(
        ndcg_at_k(SCORES, GRADES, k=4).per_query[0]
    )


def test_recall_matches_the_hand_computation() -> None:
    relevant = GRADES > 0
    # query 0: relevant {1, 2}, top-2 {0, 1} -> 1/2; query 2: relevant {0, 1, 3}, top-2 {0, 1} -> 2/3
    result = recall_at_k(SCORES, relevant, k=2)
    assert result.n_scored == 2
    assert result.per_query[0] == pytest.approx(0.5)
    assert math.isnan(result.per_query[1])
    assert result.per_query[2] == pytest.approx(2 / 3)
    assert result.mean == pytest.approx((0.5 + 2 / 3) / 2)


def test_minus_infinity_removes_an_item_from_the_ranking() -> None:
    scores = np.array([[np.inf, 0.5, -np.inf, 0.1]])
    relevant = np.array([[False, False, True, True]])
    assert recall_at_k(scores, relevant, k=3).mean == pytest.approx(0.5)


def test_inputs_are_validated() -> None:
    with pytest.raises(ValueError, match="NaN"):
        ndcg_at_k(np.array([[np.nan, 1.0]]), np.array([[1, 0]]), k=1)
    with pytest.raises(ValueError, match="shape"):
        recall_at_k(np.zeros((2, 3)), np.zeros((2, 4), bool), k=1)
    with pytest.raises(ValueError, match=">= 0"):
        ndcg_at_k(np.zeros((1, 2)), np.array([[-1, 0]]), k=1)
    assert math.isnan(ndcg_at_k(np.zeros((1, 2)), np.zeros((1, 2)), k=1).mean)
