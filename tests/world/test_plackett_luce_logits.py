"""Plackett-Luce from logits: prefix and conditional probabilities, marginals and sampling in log space.

The reference is brute force over every ordered slate of ``K`` of ``C = 4`` candidates: a slate's
probability is ``prod_k w_{a_k} / sum_{b not in a_{<k}} w_b`` with ``w = softmax(logits)``
(Plackett 1975); a prefix's probability is the sum over the full slates that begin with it, and a
conditional is the ratio of two such sums. Huge logit gaps (a greedy policy at temperature 1e-9)
must give probabilities 0 and 1 exactly, where ``exp(logits)`` underflows.
"""

from __future__ import annotations

from itertools import permutations

import numpy as np
import pytest

from hermes_core.world.plackett_luce import (
    conditional_probabilities,
    logit_position_marginals,
    position_marginals,
    prefix_probabilities,
    sample_logit_slates,
    softmax_weights,
)


def slate_probability(weights: np.ndarray, slate: tuple[int, ...]) -> float:
    probability, left = 1.0, list(range(len(weights)))
    for candidate in slate:
        # the weights left summed directly: 1 - (weights taken) rounds to 0 for a peaked row
        probability *= weights[candidate] / sum(weights[b] for b in left)
        left.remove(candidate)
    return probability


def enumerated(weights: np.ndarray, slate_size: int) -> dict[tuple[int, ...], float]:
    """Every ordered slate of ``slate_size`` distinct candidates and its probability."""
    return {s: slate_probability(weights, s) for s in permutations(range(len(weights)), slate_size)}


def prefix_mass(table: dict[tuple[int, ...], float], prefix: tuple[int, ...]) -> float:
    return sum(p for s, p in table.items() if s[:len(prefix)] == prefix)


def random_logits(n_rows: int, n_candidates: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=1.5, size=(n_rows, n_candidates))
    logits[0] = 0.0  # uniform
    logits[1] += 50.0 * np.arange(n_candidates)  # nearly deterministic, reversed order
    return logits


@pytest.mark.parametrize("slate_size", [2, 3])
def test_prefix_and_conditional_probabilities_equal_enumeration(slate_size: int) -> None:
    logits = random_logits(6, 4, seed=slate_size)
    for row in range(len(logits)):
        weights = softmax_weights(logits[row:row + 1], 1.0)[0]
        table = enumerated(weights, slate_size)
        slates = np.array(list(table))  # (n_slates, K)
        rows = np.repeat(logits[row:row + 1], len(slates), axis=0)
        prefix = prefix_probabilities(rows, slates)  # (n_slates, K)
        conditional = conditional_probabilities(rows, slates)  # (n_slates, K, C)
        for index, slate in enumerate(table):
            for k in range(slate_size):
                # relative: the peaked row's unlikely slates have probabilities near 1e-66
                assert prefix[index, k] == pytest.approx(prefix_mass(table, slate[:k + 1]), rel=1e-11, abs=1e-300)
                before = prefix_mass(table, slate[:k])
                expected = [prefix_mass(table, slate[:k] + (a,)) / before if a not in slate[:k] else 0.0
                            for a in range(4)]
                np.testing.assert_allclose(conditional[index, k], expected, rtol=1e-11, atol=1e-300)
        assert prefix[:, -1].sum() == pytest.approx(1.0, abs=1e-14)  # the full slates' probabilities


def test_conditional_probabilities_are_zero_on_placed_candidates_and_sum_to_one() -> None:
    logits = random_logits(30, 7, seed=4)
    slates = np.argsort(np.random.default_rng(5).random((30, 7)), axis=1)[:, :4]
    conditional = conditional_probabilities(logits, slates)  # (30, 4, 7)
    np.testing.assert_allclose(conditional.sum(axis=2), 1.0, rtol=0, atol=1e-13)
    for k in range(1, 4):
        placed = np.take_along_axis(conditional[:, k], slates[:, :k], axis=1)
        assert np.all(placed == 0.0)
    # the prefix probability is the product of the conditionals of the slate's own picks
    picks = np.take_along_axis(conditional, slates[:, :, None], axis=2)[:, :, 0]
    np.testing.assert_allclose(prefix_probabilities(logits, slates), np.cumprod(picks, axis=1), rtol=1e-12, atol=0)


def test_huge_logit_gaps_give_zero_and_one_exactly() -> None:
    # a greedy policy on scores (0.3, 2.0, 1.0, 2.0 - 1e-3) at T = 1e-9: exp(logits) underflows, yet
    # its order 1, 3, 2, 0 has probability 1 and the first step's conditional is one-hot
    scores = np.array([[0.3, 2.0, 1.0, 2.0 - 1e-3]])
    logits = scores / 1e-9
    order = np.array([[1, 3, 2]])
    np.testing.assert_array_equal(prefix_probabilities(logits, order), [[1.0, 1.0, 1.0]])
    np.testing.assert_array_equal(conditional_probabilities(logits, order)[0],
                                  [[0, 1, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]])
    assert np.all(prefix_probabilities(logits, np.array([[3, 1, 2]])) == 0.0)
    np.testing.assert_array_equal(logit_position_marginals(logits, 3)[0], [[0, 0, 0], [1, 0, 0], [0, 0, 1], [0, 1, 0]])
    # the weights alone lose the second and third choices (all but one weight is 0)
    assert position_marginals(softmax_weights(logits, 1.0), 3)[0, :, 1:].sum() == 0.0


def test_exp_logits_normalised_reproduce_position_marginals() -> None:
    # the marginals summed from the enumerated prefix probabilities, position_marginals of the
    # softmax weights and the log-space marginals all agree
    logits = random_logits(5, 4, seed=8)
    for slate_size in (2, 3):
        weights = softmax_weights(logits, 1.0)
        reference = position_marginals(weights, slate_size)
        np.testing.assert_allclose(logit_position_marginals(logits, slate_size), reference, rtol=0, atol=1e-13)
        slates = np.array(list(permutations(range(4), slate_size)))
        for row in range(len(logits)):
            full = prefix_probabilities(np.repeat(logits[row:row + 1], len(slates), axis=0), slates)[:, -1]
            summed = np.zeros((4, slate_size))
            for slate, probability in zip(slates, full):
                summed[slate, np.arange(slate_size)] += probability
            np.testing.assert_allclose(summed, reference[row], rtol=0, atol=1e-13)


def test_logit_marginals_on_the_worlds_sizes_and_in_chunks() -> None:
    logits = random_logits(40, 10, seed=12)
    reference = position_marginals(softmax_weights(logits, 1.0), 5)
    np.testing.assert_allclose(logit_position_marginals(logits, 5), reference, rtol=0, atol=1e-12)
    # rows taken a few at a time give the same numbers
    np.testing.assert_array_equal(logit_position_marginals(logits, 5, max_block=3000),
                                  logit_position_marginals(logits, 5))


def test_minus_infinity_logits_are_never_shown() -> None:
    logits = np.array([[0.0, -np.inf, 1.0, 0.5, -np.inf]])
    marginals = logit_position_marginals(logits, 3)[0]
    np.testing.assert_array_equal(marginals[[1, 4]], 0.0)
    np.testing.assert_allclose(marginals, position_marginals(softmax_weights(logits, 1.0), 3)[0], atol=1e-14)
    assert prefix_probabilities(logits, np.array([[2, 1, 0]]))[0, 1] == 0.0
    slates = sample_logit_slates(np.repeat(logits, 1000, axis=0), 3, np.random.default_rng(0))
    assert not np.isin(slates, [1, 4]).any()


def test_sampled_slates_follow_the_logits() -> None:
    # 100,000 draws: a frequency's standard error is at most 0.0016, so 0.01 is 6 of them
    logits = random_logits(3, 5, seed=6)[2]
    n_draws = 100_000
    slates = sample_logit_slates(np.tile(logits, (n_draws, 1)), 3, np.random.default_rng(2025))
    frequencies = np.stack([np.bincount(slates[:, k], minlength=5) for k in range(3)], axis=1) / n_draws
    assert np.max(np.abs(frequencies - position_marginals(softmax_weights(logits[None], 1.0), 3)[0])) < 0.01
    # leading axes are rows too; a greedy policy's draws are its order, every time
    greedy = np.array([[0.3, 2.0, 1.0, 2.0 - 1e-3]]) / 1e-9
    draws = sample_logit_slates(np.broadcast_to(greedy, (500, 1, 4)), 3, np.random.default_rng(3))
    assert draws.shape == (500, 1, 3) and np.all(draws == [1, 3, 2])


def test_bad_logits_and_slates_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match="logits row 1 holds NaN"):
        prefix_probabilities(np.array([[0.0, 1.0], [np.nan, 0.0]]), np.array([[0], [1]]))
    with pytest.raises(ValueError, match="logits row 0 has fewer than 2 finite"):
        logit_position_marginals(np.array([[0.0, -np.inf, -np.inf]]), 2)
    with pytest.raises(ValueError, match="slate 0 repeats a candidate"):
        conditional_probabilities(np.zeros((1, 4)), np.array([[2, 2]]))
    with pytest.raises(ValueError, match="outside 0..3"):
        prefix_probabilities(np.zeros((1, 4)), np.array([[0, 4]]))
    with pytest.raises(ValueError, match="slate_size 5 must lie in 1..4"):
        logit_position_marginals(np.zeros((2, 4)), 5)
