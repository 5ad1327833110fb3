"""Fairness of Exposure (``hermes_core.rerank.fair_exposure_lp``): the linear programme's solution,
its Birkhoff–von Neumann decomposition and rankings sampled from it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hermes_core.rerank.fair_exposure_lp import (
    BirkhoffDecomposition,
    FairExposureInfeasible,
    birkhoff_decomposition,
    fair_exposure_ranking,
    position_weights,
    required_exposure_range,
    sample_rankings,
)

# group 0 is slightly more relevant on average (3.5 vs 3.25), and the relevance order interleaves them
RELEVANCE = np.array([0.9, 0.85, 0.8, 0.75, 0.7, 0.65, 0.6, 0.55, 0.5, 0.45])
GROUP = np.array([0, 1, 0, 1, 0, 1, 0, 1, 0, 1])


def exposure_per_relevance(matrix: np.ndarray, v: np.ndarray, group: int) -> float:
    """sum_{i in G} (P v)_i / sum_{i in G} u_i, the brief's form of the constraint."""
    return float((matrix @ v)[GROUP == group].sum() / RELEVANCE[GROUP == group].sum())


@pytest.mark.parametrize("n_positions", [None, 4])
def test_solution_is_doubly_stochastic_and_meets_the_constraint(n_positions: int | None) -> None:
    solution = fair_exposure_ranking(RELEVANCE, GROUP, n_positions=n_positions)
    matrix, v = solution.ranking_matrix, solution.position_weights
    assert np.abs(matrix.sum(axis=0) - 1).max() <= 1e-8
    assert np.abs(matrix.sum(axis=1) - 1).max() <= 1e-8
    assert matrix.min() >= 0.0
    assert exposure_per_relevance(matrix, v, 0) == pytest.approx(exposure_per_relevance(matrix, v, 1), abs=1e-8)
    assert abs(solution.constraint_residual) <= 1e-8
    assert solution.utility == pytest.approx(float(RELEVANCE @ matrix @ v), abs=1e-12)
    # the constraint binds: the relevance order violates it, so fairness costs some utility
    by_relevance = np.eye(10)  # items are already in relevance order
    assert exposure_per_relevance(by_relevance, v, 0) > exposure_per_relevance(by_relevance, v, 1) + 1e-3
    assert solution.utility < solution.unconstrained_utility
    assert solution.unconstrained_utility == pytest.approx(float(RELEVANCE @ v))
    if n_positions is not None:
        assert v[n_positions:].sum() == 0.0  # the dummy tail is exposed to nobody


def test_infeasible_constraint_is_reported_with_the_reachable_range() -> None:
    # five items of relevance 0.9..0.6 (sum 3.65) against five of 0.5..0.2 (sum 1.65), all ten
    # positions exposed (sum of v = 4.54364): group 0 needs 3.65 / 5.3 * 4.54364 = 3.12906 of the
    # exposure, more than the top five positions hold (1 + 0.63093 + 0.5 + 0.43068 + 0.38685 = 2.94846)
    relevance = np.array([0.9, 0.8, 0.7, 0.65, 0.6, 0.5, 0.4, 0.3, 0.25, 0.2])
    group = np.repeat([0, 1], 5)
    required, lowest, highest = required_exposure_range(relevance, group, position_weights(10))
    assert (required, highest) == pytest.approx((3.12906, 2.94846), abs=1e-5)
    with pytest.raises(FairExposureInfeasible, match="needs exposure"):
        fair_exposure_ranking(relevance, group)
    # showing only the top 3 lets group 1 sit in the zero-exposure tail: feasible again
    assert fair_exposure_ranking(relevance, group, n_positions=3).constraint_residual == pytest.approx(0, abs=1e-8)
    with pytest.raises(FairExposureInfeasible, match="group 1 has total relevance 0"):
        fair_exposure_ranking(relevance, np.zeros(10, dtype=int))


def test_feasibility_is_the_closed_form_range() -> None:
    outcomes = []
    for seed in range(12):
        rng = np.random.default_rng(seed)
        relevance = rng.random(8) ** 2
        group = np.r_[0, 1, (rng.random(6) < 0.4).astype(int)]
        required, lowest, highest = required_exposure_range(relevance, group, position_weights(8))
        feasible = lowest <= required <= highest
        try:
            fair_exposure_ranking(relevance, group)
            solved = True
        except FairExposureInfeasible:
            solved = False
        assert solved == feasible, f"seed {seed}: required {required}, range [{lowest}, {highest}]"
        outcomes.append(solved)
    assert 0 < sum(outcomes) < len(outcomes)  # both outcomes occur (7 feasible of 12), some near the edge


def random_doubly_stochastic(n: int, n_terms: int, seed: int) -> np.ndarray:
    """A convex combination of random permutation matrices: doubly stochastic to rounding."""
    rng = np.random.default_rng(seed)
    weights = rng.dirichlet(np.ones(n_terms))
    matrix = np.zeros((n, n))
    for weight in weights:
        matrix[np.arange(n), rng.permutation(n)] += weight
    return matrix


@pytest.mark.parametrize(
    "matrix",
    [fair_exposure_ranking(RELEVANCE, GROUP).ranking_matrix, random_doubly_stochastic(9, 7, seed=0)],
    ids=["fair-exposure", "mixture-of-7"],
)
def test_birkhoff_decomposition_reconstructs_the_matrix(matrix: np.ndarray) -> None:
    decomposition = birkhoff_decomposition(matrix)
    n = matrix.shape[0]
    assert len(decomposition.weights) <= (n - 1) ** 2 + 1
    assert (decomposition.weights > 0).all()
    assert decomposition.weights.sum() == pytest.approx(1.0, abs=1e-8)
    assert all(sorted(row) == list(range(n)) for row in decomposition.positions.tolist())
    assert np.abs(decomposition.matrix() - matrix).max() <= 1e-8


def test_sampled_rankings_have_the_matrix_exposure() -> None:
    matrix = random_doubly_stochastic(8, 6, seed=1)
    v = position_weights(8)
    decomposition = birkhoff_decomposition(matrix)
    n_samples = 20_000
    rankings = sample_rankings(decomposition, n_samples, np.random.default_rng(7))
    assert rankings.shape == (n_samples, 8)
    exposure = np.zeros(8)
    np.add.at(exposure, rankings, np.broadcast_to(v, rankings.shape))
    mean_exposure = exposure / n_samples
    expected = matrix @ v
    # per item, exposure is a discrete variable with mean (P v)_i and variance
    # sum_m theta_m v[pos_mi]^2 - (P v)_i^2; its sample mean is within 5 standard errors with
    # probability 1 - 6e-7 per item
    second_moment = (decomposition.weights[:, None] * v[decomposition.positions] ** 2).sum(axis=0)
    standard_error = np.sqrt(np.maximum(second_moment - expected**2, 0) / n_samples)
    assert standard_error.max() < 0.005  # the tolerance is tight enough to catch a wrong matrix
    assert np.all(np.abs(mean_exposure - expected) <= 5 * standard_error + 1e-12)


def test_sampling_is_seeded() -> None:
    decomposition = birkhoff_decomposition(random_doubly_stochastic(6, 4, seed=2))
    first = sample_rankings(decomposition, 50, np.random.default_rng(3))
    assert np.array_equal(first, sample_rankings(decomposition, 50, np.random.default_rng(3)))


def test_decomposition_rejects_a_matrix_that_is_not_doubly_stochastic() -> None:
    with pytest.raises(ValueError, match="not doubly stochastic"):
        birkhoff_decomposition(np.array([[0.6, 0.6], [0.4, 0.4]]))
    assert isinstance(birkhoff_decomposition(np.eye(3)), BirkhoffDecomposition)
    assert math.isclose(birkhoff_decomposition(np.eye(3)).weights.sum(), 1.0)
