"""FA*IR (``hermes_core.rerank.fair_topk``): the ranked group fairness table, its failure
probability and multiple-testing adjustment, and the re-ranking."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.stats import binom

from hermes_core.rerank.fair_topk import (
    adjust_significance,
    failure_probability,
    fair_topk_rerank,
    ranked_group_fairness_table,
    satisfies_table,
)

K, P, ALPHA = 20, 0.25, 0.1


def table_by_cdf_loop(k: int, p: float, alpha: float) -> list[int]:
    """m(i) = the least m with binom.cdf(m, i, p) > alpha, by walking m upwards."""
    table = []
    for prefix in range(1, k + 1):
        m = 0
        while binom.cdf(m, prefix, p) <= alpha:
            m += 1
        table.append(m)
    return table


def test_unadjusted_table_is_the_binomial_quantile() -> None:
    table = ranked_group_fairness_table(K, P, ALPHA)
    assert table.tolist() == table_by_cdf_loop(K, P, ALPHA)
    # scipy's ppf (least m with cdf >= alpha) agrees: no cdf value here equals 0.1 exactly
    assert table.tolist() == binom.ppf(ALPHA, np.arange(1, K + 1), P).astype(int).tolist()
    # by hand: 0.75^8 = 0.10011 > 0.1, so 0 protected passes the top 8; 0.75^9 = 0.07508 <= 0.1, so
    # the top 9 needs one
    assert 0.75**8 > ALPHA >= 0.75**9
    assert table[7] == 0 and table[8] == 1
    # the reference implementation's (fairsearchcore) unadjusted table for the same input
    assert table.tolist() == [0] * 8 + [1] * 6 + [2] * 5 + [3]


def failure_by_enumeration(table: np.ndarray, p: float) -> float:
    """Sum of p^c (1 - p)^(k - c) over the 2^k protected/non-protected sequences failing a prefix."""
    failed = 0.0
    for sequence in itertools.product((0, 1), repeat=table.size):
        if (np.cumsum(sequence) < table).any():
            failed += p ** sum(sequence) * (1 - p) ** (table.size - sum(sequence))
    return failed


@pytest.mark.parametrize(("k", "p", "alpha"), [(12, 0.25, 0.1), (10, 0.4, 0.05)])
def test_failure_probability_against_enumeration(k: int, p: float, alpha: float) -> None:
    table = ranked_group_fairness_table(k, p, alpha)
    assert table.sum() > 0
    assert failure_probability(table, p) == pytest.approx(failure_by_enumeration(table, p), abs=1e-12)


def test_the_reference_failure_probability_leaves_out_the_last_prefix() -> None:
    # fairsearchcore's README: 0.11517506930977106 for the unadjusted table above; that is the
    # failure probability of its first 19 prefixes, while the 20th (m = 3) adds failures
    table = ranked_group_fairness_table(K, P, ALPHA)
    assert failure_probability(table[:-1], P) == pytest.approx(0.11517506930977106, abs=1e-12)
    assert failure_probability(table, P) == pytest.approx(0.14689, abs=1e-5)


def test_adjusted_significance() -> None:
    unadjusted_failure = failure_probability(ranked_group_fairness_table(K, P, ALPHA), P)
    assert unadjusted_failure > ALPHA  # 0.14689: testing 20 prefixes at 0.1 rejects fair rankings too often
    adjusted = adjust_significance(K, P, ALPHA)
    assert adjusted.alpha_adjusted <= ALPHA
    assert adjusted.table.tolist() == ranked_group_fairness_table(K, P, adjusted.alpha_adjusted).tolist()
    assert adjusted.failure_probability == pytest.approx(failure_probability(adjusted.table, P), abs=1e-15)
    # the reference implementation (fairsearchcore) on the same input: table, alpha_c 0.078125
    # and failure probability 0.10515
    assert adjusted.table.tolist() == [0] * 8 + [1] * 7 + [2] * 5
    assert adjusted.alpha_adjusted == pytest.approx(0.078125, abs=1e-4)
    assert adjusted.failure_probability == pytest.approx(0.10515247, abs=1e-7)
    # "nearest" keeps the closer of the two adjacent tables around alpha; "at_most" the one below
    below = adjust_significance(K, P, ALPHA, rule="at_most")
    assert below.failure_probability <= ALPHA < adjusted.failure_probability
    assert int(adjusted.table.sum()) - int(below.table.sum()) == 1
    assert abs(adjusted.failure_probability - ALPHA) <= abs(below.failure_probability - ALPHA)
    assert abs(adjusted.failure_probability - ALPHA) < abs(unadjusted_failure - ALPHA)


def test_no_adjustment_when_the_table_already_fails_rarely_enough() -> None:
    # k = 10, p = 0.2, alpha = 0.15: the table fails with probability 0.13422 <= 0.15 (reference value)
    adjusted = adjust_significance(10, 0.2, 0.15)
    assert adjusted.alpha_adjusted == 0.15
    assert adjusted.failure_probability == pytest.approx(0.134217728, abs=1e-9)


def test_rerank_satisfies_the_table_and_keeps_each_group_in_order() -> None:
    # candidate i has score 20 - i; only the five lowest-scored (15..19) are protected
    scores = 20.0 - np.arange(20)
    protected = np.arange(20) >= 15
    table = adjust_significance(K, P, ALPHA).table  # 0 x8, 1 x7 (top 9..15), 2 x5 (top 16..20)
    assert not satisfies_table(protected, table)  # the score order is unfair
    ranking = fair_topk_rerank(scores, protected, table)
    assert satisfies_table(protected[ranking], table)
    # by hand: non-protected 0..7; position 9 needs a protected -> 15; heads 8 (score 12) beats
    # 16 (score 4) up to 13; position 16 needs a second protected -> 16; then 14 (score 6) beats 17,
    # and the non-protected queue is empty
    assert ranking.tolist() == [*range(8), 15, *range(8, 14), 16, 14, 17, 18, 19]
    for group in (protected, ~protected):
        in_group = ranking[group[ranking]]
        assert np.all(np.diff(scores[in_group]) <= 0)


def test_rerank_on_random_lists_and_ties() -> None:
    rng = np.random.default_rng(0)
    table = adjust_significance(15, 0.4, 0.1).table
    for _ in range(20):
        scores = rng.integers(0, 6, size=40).astype(float)  # many ties
        protected = rng.random(40) < 0.3
        ranking = fair_topk_rerank(scores, protected, table)
        assert len(set(ranking.tolist())) == 15
        assert satisfies_table(protected[ranking], table)
        for group in (protected, ~protected):
            in_group = ranking[group[ranking]]
            # score order, equal scores by index: the group's own stable order, a prefix of it
            order = np.flatnonzero(group)[np.argsort(-scores[group], kind="stable")]
            assert in_group.tolist() == order[: in_group.size].tolist()
    # with an all-zero table the result is the stable score order
    scores = np.array([1.0, 3.0, 3.0, 2.0])
    assert fair_topk_rerank(scores, np.array([True, False, True, False]), np.zeros(4, dtype=int)).tolist() == [
        1, 2, 3, 0
    ]


def test_rerank_needs_enough_protected_candidates() -> None:
    table = np.array([0, 1, 1, 2])
    with pytest.raises(ValueError, match="needs 2 protected"):
        fair_topk_rerank(np.arange(6.0), np.array([True, False, False, False, False, False]), table)
    with pytest.raises(ValueError, match="grow by 0 or 1"):
        fair_topk_rerank(np.arange(6.0), np.ones(6, dtype=bool), np.array([0, 2, 2]))
