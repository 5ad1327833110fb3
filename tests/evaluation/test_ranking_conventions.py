"""How queries without a relevant item are scored by NDCG and MRR (``no_relevant``), on hand-worked fixtures."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hermes_core.evaluation.ranking import mrr, ndcg_at_k

# Three queries over four items; the scores rank the items 0, 1, 2, 3 for every query.
SCORES = np.tile([0.9, 0.8, 0.3, 0.1], (3, 1))
RELEVANCE = np.array(
    [
        [0, 1, 0, 0],  # the relevant item is ranked 2nd
        [0, 0, 0, 0],  # no relevant item: the case the conventions disagree on
        [1, 0, 0, 0],  # the relevant item is ranked 1st
    ]
)
# NDCG@4 of query 0: DCG = (2^1 - 1) / log2(2 + 1), IDCG = 1 / log2(2) = 1.
NDCG_QUERY_0 = 1.0 / math.log2(3)  # 0.6309...


@pytest.mark.parametrize(
    ("no_relevant", "per_query_1", "mean", "n_scored"),
    [
        ("skip", math.nan, (NDCG_QUERY_0 + 1.0) / 2, 2),  # trec_eval: left out of the mean
        ("one", 1.0, (NDCG_QUERY_0 + 1.0 + 1.0) / 3, 3),  # allRank: filler_value = 1
        ("zero", 0.0, (NDCG_QUERY_0 + 1.0 + 0.0) / 3, 3),  # TF-Ranking: divide_no_nan -> 0
    ],
)
def test_ndcg_no_relevant_conventions(no_relevant: str, per_query_1: float, mean: float, n_scored: int) -> None:
    result = ndcg_at_k(SCORES, RELEVANCE, k=4, no_relevant=no_relevant)  # type: ignore[arg-type]
    np.testing.assert_allclose(result.per_query, [NDCG_QUERY_0, per_query_1, 1.0], equal_nan=True)
    assert result.mean == pytest.approx(mean)
    assert result.n_scored == n_scored


def test_ndcg_default_is_skip_and_unchanged() -> None:
    default = ndcg_at_k(SCORES, RELEVANCE, k=4)
    skip = ndcg_at_k(SCORES, RELEVANCE, k=4, no_relevant="skip")
    np.testing.assert_array_equal(default.per_query, skip.per_query)
    assert (default.mean, default.n_scored) == (skip.mean, skip.n_scored)
    assert math.isnan(default.per_query[1])


def test_conventions_agree_when_every_query_has_a_relevant_item() -> None:
    with_relevant = RELEVANCE[[0, 2]]
    means = {
        convention: ndcg_at_k(SCORES[:2], with_relevant, k=4, no_relevant=convention).mean  # type: ignore[arg-type]
        for convention in ("skip", "one", "zero")
    }
    assert means["skip"] == means["one"] == means["zero"] == pytest.approx((NDCG_QUERY_0 + 1.0) / 2)


def test_all_queries_without_relevant_item() -> None:
    nothing = np.zeros((2, 4), dtype=int)
    skip = ndcg_at_k(SCORES[:2], nothing, k=2)
    assert math.isnan(skip.mean) and skip.n_scored == 0
    assert ndcg_at_k(SCORES[:2], nothing, k=2, no_relevant="one").mean == 1.0
    assert mrr(SCORES[:2], nothing, no_relevant="zero").mean == 0.0
    assert math.isnan(mrr(SCORES[:2], nothing).mean)


@pytest.mark.parametrize(
    ("no_relevant", "per_query_1", "mean", "n_scored"),
    [
        ("skip", math.nan, (0.5 + 1.0) / 2, 2),
        ("one", 1.0, (0.5 + 1.0 + 1.0) / 3, 3),
        ("zero", 0.0, (0.5 + 1.0 + 0.0) / 3, 3),  # TF-Ranking's MRRMetric
    ],
)
def test_mrr_no_relevant_conventions(no_relevant: str, per_query_1: float, mean: float, n_scored: int) -> None:
    # Reciprocal ranks: query 0 finds its relevant item at rank 2 (1/2), query 2 at rank 1 (1/1).
    result = mrr(SCORES, RELEVANCE, no_relevant=no_relevant)  # type: ignore[arg-type]
    np.testing.assert_allclose(result.per_query, [0.5, per_query_1, 1.0], equal_nan=True)
    assert result.mean == pytest.approx(mean)
    assert result.n_scored == n_scored


def test_mrr_at_k_scores_a_miss_zero_under_every_convention() -> None:
    # k = 1: query 0's relevant item (rank 2) is cut off, so it scores 0 and still counts.
    for convention in ("skip", "one", "zero"):
        result = mrr(SCORES, RELEVANCE, k=1, no_relevant=convention)  # type: ignore[arg-type]
        assert result.per_query[0] == 0.0 and result.per_query[2] == 1.0
    assert mrr(SCORES, RELEVANCE, k=1).mean == pytest.approx(0.5)
    assert mrr(SCORES, RELEVANCE, k=10).mean == pytest.approx(0.75)  # k above n_items is clipped


def test_mrr_uses_the_first_relevant_item_with_grades_and_ties() -> None:
    grades = np.array([[0, 2, 3, 0]])
    # The grade-3 item is ranked 3rd, but the first relevant (grade > 0) item is ranked 2nd.
    assert mrr(SCORES[:1], grades).per_query[0] == pytest.approx(1 / 2)
    tied = np.zeros((1, 4))
    # All scores tied: items rank by index, so item 2 is ranked 3rd.
    assert mrr(tied, np.array([[False, False, True, True]])).per_query[0] == pytest.approx(1 / 3)
    # An item taken out with -inf ranks last.
    assert mrr(np.array([[-np.inf, 0.2, 0.1]]), np.array([[1, 0, 0]])).per_query[0] == pytest.approx(1 / 3)


def test_mrr_is_at_most_one_and_equals_hit_at_one_when_one_item_is_relevant() -> None:
    rng = np.random.default_rng(13)
    scores = rng.normal(size=(50, 8))
    relevant = np.zeros((50, 8), dtype=bool)
    relevant[np.arange(50), rng.integers(0, 8, size=50)] = True
    result = mrr(scores, relevant)
    assert (result.per_query <= 1.0).all() and (result.per_query > 0.0).all()
    # With one relevant item, RR = 1 exactly when that item is the top score.
    top_is_relevant = relevant[np.arange(50), scores.argmax(axis=1)]
    np.testing.assert_array_equal(result.per_query == 1.0, top_is_relevant)


def test_bad_arguments_are_rejected() -> None:
    with pytest.raises(ValueError, match="no_relevant"):
        ndcg_at_k(SCORES, RELEVANCE, k=2, no_relevant="nan")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no_relevant"):
        mrr(SCORES, RELEVANCE, no_relevant="half")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=">= 0"):
        mrr(SCORES, -RELEVANCE - 1)
    with pytest.raises(ValueError, match="k must be at least 1"):
        mrr(SCORES, RELEVANCE, k=0)
