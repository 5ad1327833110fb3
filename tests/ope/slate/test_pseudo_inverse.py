"""PseudoInverse weights: the pinv computation against closed forms and against unbiasedness.

The PI weight :math:`q_\\pi^\\top \\Gamma_\\mu^\\dagger 1_s` is the unique weight, linear in
:math:`1_s`, that is unbiased for every additive slate reward (on the logging support), so a
closed form is right exactly when it agrees with ``numpy.linalg.pinv`` on every slate.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from hermes_core.ope.inputs import OPEInputError
from hermes_core.ope.slate import (
    PseudoInverse,
    SlateInputs,
    factored_pseudo_inverse_weight,
    pseudo_inverse_weight,
    uniform_pseudo_inverse_weight,
)
from tests.ope.slate.enumeration import WORLD, PlackettLuce

EXACT = 1e-10


def marginals_of(slates: np.ndarray, probability: np.ndarray, n_candidates: int) -> np.ndarray:
    """(C, K) position marginals of a distribution over enumerated slates, by direct summation."""
    marginals = np.zeros((n_candidates, slates.shape[1]))
    for slate, p in zip(slates, probability):
        for k, a in enumerate(slate):
            marginals[a, k] += p
    return marginals


def target_distributions(slates: np.ndarray, n_candidates: int) -> list[np.ndarray]:
    """Slate distributions of a target: Plackett-Luce, a random one (seeded) and a deterministic one."""
    rng = np.random.default_rng(7)
    weights = rng.dirichlet(np.ones(n_candidates))
    plackett_luce = PlackettLuce(tuple(weights), slates.shape[1])
    deterministic = np.zeros(len(slates))
    deterministic[len(slates) // 2] = 1.0
    return [
        np.array([plackett_luce.slate_probability(s) for s in slates]),
        rng.dirichlet(np.ones(len(slates)) * 0.5),
        deterministic,
    ]


@pytest.mark.parametrize(("n_candidates", "n_positions"), [(3, 2), (3, 1), (3, 3), (4, 2), (5, 3)])
def test_uniform_closed_form_equals_the_pseudo_inverse_on_uniform_rankings(n_candidates: int, n_positions: int) -> None:
    slates = np.array(list(itertools.permutations(range(n_candidates), n_positions)))
    uniform = np.full(len(slates), 1.0 / len(slates))
    for target in target_distributions(slates, n_candidates):
        marginals = marginals_of(slates, target, n_candidates)
        exact = pseudo_inverse_weight(slates, slates, uniform, marginals)
        np.testing.assert_allclose(uniform_pseudo_inverse_weight(slates, marginals), exact, atol=EXACT)


def test_the_factored_closed_form_is_not_the_pi_weight_for_uniform_rankings() -> None:
    """Uniform without replacement over 3 items and 2 positions: Sum_k w_k - K + 1 differs from
    q^T Gamma^+ 1_s (the brief's 'closed form' holds for factored logging only)."""
    slates = np.array(WORLD.slates)
    uniform = np.full(6, 1.0 / 6)
    marginals = WORLD.target.position_marginals()
    exact = pseudo_inverse_weight(slates, slates, uniform, marginals)
    marginal_weight = marginals[slates, np.arange(2)] / (1.0 / 3)  # mu(a at k) = 1/3
    assert np.abs(factored_pseudo_inverse_weight(marginal_weight) - exact).max() > 0.1


def test_the_factored_closed_form_equals_the_pseudo_inverse_for_factored_logging() -> None:
    """Each position draws from its own pool: position 0 from {0, 1}, position 1 from {2, 3},
    independently; the target is any (here correlated) distribution over the same 4 slates."""
    first, second = np.array([0.7, 0.3]), np.array([0.4, 0.6])
    slates = np.array([(a, b) for a in (0, 1) for b in (2, 3)])
    logging = np.array([first[a] * second[b - 2] for a, b in slates])
    target = np.array([0.5, 0.0, 0.1, 0.4])
    marginals = marginals_of(slates, target, 4)
    exact = pseudo_inverse_weight(slates, slates, logging, marginals)
    logging_marginals = marginals_of(slates, logging, 4)
    marginal_weight = marginals[slates, np.arange(2)] / logging_marginals[slates, np.arange(2)]
    np.testing.assert_allclose(factored_pseudo_inverse_weight(marginal_weight), exact, atol=EXACT)


def test_the_factored_closed_form_equals_the_pseudo_inverse_for_a_cartesian_product_with_repeats() -> None:
    """Swaminathan et al.'s Cartesian case: 3 items per position, drawn independently, repeats allowed."""
    rng = np.random.default_rng(11)
    per_position = rng.dirichlet(np.ones(3), size=2)  # (K, C)
    slates = np.array(list(itertools.product(range(3), repeat=2)))
    logging = per_position[0, slates[:, 0]] * per_position[1, slates[:, 1]]
    target = rng.dirichlet(np.ones(9))
    marginals = marginals_of(slates, target, 3)
    exact = pseudo_inverse_weight(slates, slates, logging, marginals)
    marginal_weight = marginals[slates, np.arange(2)] / per_position.T[slates, np.arange(2)]
    np.testing.assert_allclose(factored_pseudo_inverse_weight(marginal_weight), exact, atol=EXACT)


def test_pi_weight_is_unbiased_for_every_additive_reward_under_any_full_support_logging() -> None:
    """sum_s mu(s) W(s) R(s) = sum_s pi(s) R(s) for R(s) = sum_k phi[k, s_k], phi random."""
    rng = np.random.default_rng(3)
    slates = np.array(list(itertools.permutations(range(4), 2)))
    logging = rng.dirichlet(np.ones(len(slates)))
    target = rng.dirichlet(np.ones(len(slates)))
    weight = pseudo_inverse_weight(slates, slates, logging, marginals_of(slates, target, 4))
    for _ in range(5):
        phi = rng.normal(size=(2, 4))
        reward = phi[0, slates[:, 0]] + phi[1, slates[:, 1]]
        assert logging @ (weight * reward) == pytest.approx(target @ reward, abs=EXACT)


def test_pseudo_inverse_weight_accepts_per_request_distributions() -> None:
    slates = np.array(WORLD.slates)
    rng = np.random.default_rng(5)
    logging = rng.dirichlet(np.ones(6), size=2)  # (n, S)
    marginals = np.stack([marginals_of(slates, rng.dirichlet(np.ones(6)), 3) for _ in range(2)])
    logged = slates[[0, 4]]
    together = pseudo_inverse_weight(logged, slates, logging, marginals)
    one_by_one = [pseudo_inverse_weight(logged[i : i + 1], slates, logging[i], marginals[i])[0] for i in range(2)]
    np.testing.assert_allclose(together, one_by_one, atol=EXACT)


def test_pseudo_inverse_weight_names_the_bad_array_and_row() -> None:
    slates = np.array(WORLD.slates)
    marginals = WORLD.target.position_marginals()
    logging = np.full(6, 1.0 / 6)
    with pytest.raises(OPEInputError, match="slate, row 1: slate \\[0, 0\\] has no logging probability"):
        pseudo_inverse_weight(np.array([[0, 1], [0, 0]]), slates, logging, marginals)
    with pytest.raises(OPEInputError, match="logging_probability, row 0: sums to 0.6"):
        pseudo_inverse_weight(slates[:1], slates, np.full(6, 0.1), marginals)
    with pytest.raises(OPEInputError, match="target_position_marginals"):
        pseudo_inverse_weight(slates[:1], slates, logging, marginals[:, :1])
    skewed = logging.copy()
    skewed[[0, 1]] = [0.0, 2.0 / 6]
    with pytest.raises(OPEInputError, match="slate, row 0"):
        pseudo_inverse_weight(slates[:1], slates, skewed, marginals)


def test_pseudo_inverse_estimator_uses_the_supplied_weight_only_when_asked() -> None:
    arrays = dict(
        reward=[[1.0, 0.0]], slate=[[0, 1]], logging_marginal=[[0.5, 0.5]], logging_prefix=[[0.5, 0.25]],
        target_marginal=[[0.25, 0.5]], target_prefix=[[0.25, 0.125]],
    )  # fmt: skip
    plain = SlateInputs.from_arrays(**arrays)
    supplied = SlateInputs.from_arrays(**arrays, pseudo_inverse_weight=[3.0])
    # R = (1 + 0) / 2; factored W = 0.5 + 1 - 1 = 0.5
    assert PseudoInverse().estimate_policy_value(supplied) == pytest.approx(0.25)
    assert PseudoInverse(weight="supplied").estimate_policy_value(supplied) == pytest.approx(1.5)
    with pytest.raises(OPEInputError, match="pseudo_inverse_weight: is required by estimator 'pi'"):
        PseudoInverse(weight="supplied").estimate_policy_value(plain)
    with pytest.raises(ValueError, match="weight must be"):
        PseudoInverse(weight="uniform")  # type: ignore[arg-type]
