"""Plackett-Luce: exact position marginals against enumeration, and the Gumbel sampler.

The reference is brute force: the probability of an ordered slate ``(a_0, ..., a_{K-1})`` is
``prod_k w_{a_k} / (1 - sum_{j<k} w_{a_j})`` (Plackett 1975), and ``P(a at k)`` sums it over
every slate with ``a`` at ``k``. For C = 5, K = 3 that is 5 * 4 * 3 = 60 slates.
"""

from __future__ import annotations

from itertools import permutations

import numpy as np
import pytest

from hermes_core.world.plackett_luce import position_marginals, sample_slates, softmax_weights


def brute_force_marginals(weights: np.ndarray, slate_size: int) -> np.ndarray:
    """``M[a, k]`` by enumerating every ordered slate of ``slate_size`` distinct candidates."""
    n_candidates = len(weights)
    marginals = np.zeros((n_candidates, slate_size))
    for slate in permutations(range(n_candidates), slate_size):
        probability, taken = 1.0, 0.0
        for candidate in slate:
            probability *= weights[candidate] / (1.0 - taken)
            taken += weights[candidate]
        for position, candidate in enumerate(slate):
            marginals[candidate, position] += probability
    return marginals


def random_weight_rows(n_rows: int, n_candidates: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rows = rng.dirichlet(np.full(n_candidates, 0.7), size=n_rows)
    # one nearly uniform row and one dominated by a single candidate, besides the random ones
    rows[0] = softmax_weights(0.01 * rng.standard_normal(n_candidates), 1.0)
    rows[1] = softmax_weights(np.array([8.0] + [0.0] * (n_candidates - 1)), 1.0)
    return rows


def test_marginals_equal_brute_force_enumeration() -> None:
    weights = random_weight_rows(8, 5, seed=7)  # (8, 5)
    marginals = position_marginals(weights, 3)  # (8, 5, 3)
    assert marginals.shape == (8, 5, 3)
    for row in range(len(weights)):
        np.testing.assert_allclose(marginals[row], brute_force_marginals(weights[row], 3), rtol=0, atol=1e-12)


def test_marginals_by_hand_for_three_candidates() -> None:
    # w = (0.5, 0.3, 0.2). Position 0: w itself. Candidate 0 at position 1: someone else first,
    # then 0 among the rest: 0.3 * 0.5 / 0.7 + 0.2 * 0.5 / 0.8 = 0.2142857... + 0.125
    marginals = position_marginals(np.array([[0.5, 0.3, 0.2]]), 2)[0]
    np.testing.assert_allclose(marginals[:, 0], [0.5, 0.3, 0.2], atol=1e-15)
    assert marginals[0, 1] == pytest.approx(0.3 * 0.5 / 0.7 + 0.2 * 0.5 / 0.8, abs=1e-15)
    assert marginals[1, 1] == pytest.approx(0.5 * 0.3 / 0.5 + 0.2 * 0.3 / 0.8, abs=1e-15)
    assert marginals[2, 1] == pytest.approx(0.5 * 0.2 / 0.5 + 0.3 * 0.2 / 0.7, abs=1e-15)


def test_each_position_column_sums_to_one() -> None:
    weights = random_weight_rows(20, 10, seed=11)
    marginals = position_marginals(weights, 5)
    np.testing.assert_allclose(marginals.sum(axis=1), 1.0, rtol=0, atol=1e-12)  # one item per position
    assert np.all(marginals >= 0.0)
    assert np.all(marginals.sum(axis=2) <= 1.0 + 1e-12)  # an item is shown at most once


def test_full_ranking_places_every_candidate_exactly_once() -> None:
    # K = C: each candidate lands at some position with probability 1
    weights = np.random.default_rng(3).dirichlet(np.ones(6), size=6)
    marginals = position_marginals(weights, 6)
    np.testing.assert_allclose(marginals.sum(axis=2), 1.0, rtol=0, atol=1e-12)
    np.testing.assert_allclose(marginals.sum(axis=1), 1.0, rtol=0, atol=1e-12)


def test_uniform_weights_give_uniform_marginals() -> None:
    # by symmetry every candidate is equally likely at every position: 1 / C
    marginals = position_marginals(np.full((1, 7), 1.0 / 7.0), 4)
    np.testing.assert_allclose(marginals, 1.0 / 7.0, rtol=0, atol=1e-14)


def test_zero_weight_candidate_is_never_shown_while_others_remain() -> None:
    weights = softmax_weights(np.array([[0.0, 1.0, -np.inf, 0.5]]), 1.0)
    assert weights[0, 2] == 0.0
    marginals = position_marginals(weights, 3)
    np.testing.assert_allclose(marginals[0, 2], 0.0, atol=0)
    np.testing.assert_allclose(marginals.sum(axis=1), 1.0, atol=1e-12)


def test_marginals_stay_exact_for_a_peaked_policy() -> None:
    # scores (3, 0, 0) at T = 0.05: w = (1 - 2e, e, e) with e = exp(-60) ~ 8.8e-27. Candidate 0 is
    # first with probability 1 - 2e; then candidates 1 and 2 are equally likely second, by
    # symmetry, so each has marginal (1 - 2e) * 1/2 + e * e/(1 - e) = 0.5 at position 1.
    weights = softmax_weights(np.array([[3.0, 0.0, 0.0]]), 0.05)
    marginals = position_marginals(weights, 2)[0]
    np.testing.assert_allclose(marginals, [[1.0, 0.0], [0.0, 0.5], [0.0, 0.5]], rtol=0, atol=1e-12)


def test_sampling_frequencies_match_marginals() -> None:
    # 100,000 draws: the standard error of a frequency is at most 0.5 / sqrt(1e5) = 0.0016,
    # so 0.01 is more than 6 standard errors
    weights = random_weight_rows(3, 5, seed=5)[2]
    n_draws = 100_000
    slates = sample_slates(np.tile(weights, (n_draws, 1)), 3, np.random.default_rng(2024))  # (n_draws, 3)
    assert slates.shape == (n_draws, 3)
    frequencies = np.stack([np.bincount(slates[:, k], minlength=5) for k in range(3)], axis=1) / n_draws
    expected = brute_force_marginals(weights, 3)
    assert np.max(np.abs(frequencies - expected)) < 0.01
    assert np.max(np.abs(frequencies - position_marginals(weights[None, :], 3)[0])) < 0.01


def test_sampled_slates_hold_distinct_candidates() -> None:
    weights = random_weight_rows(500, 8, seed=9)
    slates = sample_slates(weights, 8, np.random.default_rng(1))
    assert np.all(np.sort(slates, axis=1) == np.arange(8))


def test_sampler_is_reproducible_with_its_generator() -> None:
    weights = random_weight_rows(50, 6, seed=1)
    first = sample_slates(weights, 3, np.random.default_rng(42))
    second = sample_slates(weights, 3, np.random.default_rng(42))
    assert np.array_equal(first, second)


def test_softmax_weights_by_hand() -> None:
    # exp(s / T) / sum: scores (0, ln 2, ln 3) at T = 1 give (1, 2, 3) / 6;
    # scores (0, 2 ln 2) at T = 2 give (1, 2) / 3
    np.testing.assert_allclose(softmax_weights(np.log([[1.0, 2.0, 3.0]]), 1.0), [[1 / 6, 2 / 6, 3 / 6]], atol=1e-15)
    np.testing.assert_allclose(softmax_weights(np.array([[0.0, 2 * np.log(2.0)]]), 2.0), [[1 / 3, 2 / 3]], atol=1e-15)
    # shift invariance: large scores do not overflow
    np.testing.assert_allclose(softmax_weights(np.array([[1000.0, 1000.0]]), 1.0), [[0.5, 0.5]])


def test_slate_larger_than_candidate_set_raises() -> None:
    with pytest.raises(ValueError, match="slate_size 4 exceeds the 3 candidates"):
        position_marginals(np.full((2, 3), 1 / 3), 4)


def test_more_than_sixteen_candidates_raises() -> None:
    with pytest.raises(ValueError, match="at most 16 candidates"):
        position_marginals(np.full((1, 17), 1 / 17), 2)


@pytest.mark.parametrize("temperature", [0.0, -1.0])
def test_non_positive_temperature_raises(temperature: float) -> None:
    with pytest.raises(ValueError, match="temperature must be positive"):
        softmax_weights(np.zeros((1, 3)), temperature)
