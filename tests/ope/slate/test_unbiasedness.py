"""Exact expectations over every slate and click outcome of the enumerated worlds
(``enumeration.py``), against the true value of the target policy.

Which estimator is unbiased is a theorem about how the reward depends on the slate:

* position-based clicks (the reward at ``k`` depends on the item at ``k`` only, so the slate
  reward is additive): IIPS, RIPS, SIPS, Cascade-DR and PI with the exact PI weight are all
  unbiased;
* cascade clicks (the reward at ``k`` depends on the items above): RIPS, SIPS and Cascade-DR
  (any reward model) stay unbiased; IIPS is biased, and so is PI once the interaction is not
  additive (it is additive in the 3-item, 2-position world, see below).
"""

from __future__ import annotations

import numpy as np
import pytest

from hermes_core.ope.slate import (
    CascadeDoublyRobust,
    IndependentIPS,
    PseudoInverse,
    RewardInteractionIPS,
    StandardIPS,
)
from tests.ope.slate.enumeration import (
    WORLD,
    WORLD_OF_FOUR,
    SlateWorld,
    cascade,
    click_probability,
    exact_pi_weight,
    expectation,
    exhaustive_inputs,
    position_based,
    true_value,
)

POSITION_WEIGHTS = [None, (1.0, 0.4)]  # per impression (1/K each), and a top-heavy discount
EXACT = 1e-12


def reward_models(world: SlateWorld) -> list[np.ndarray]:
    """Reward models (C, K) for Cascade-DR: none, an arbitrary one, and the position-based truth."""
    rng = np.random.default_rng(20240611)
    truth = np.outer(world.attractiveness, world.examination)
    return [np.zeros((world.n_candidates, world.n_positions)), rng.random((world.n_candidates, world.n_positions)), truth]


@pytest.mark.parametrize("world", [WORLD, WORLD_OF_FOUR])
def test_the_enumerated_world_is_a_probability_space(world: SlateWorld) -> None:
    for policy in (world.logging, world.target):
        assert sum(policy.slate_probability(s) for s in world.slates) == pytest.approx(1.0, abs=EXACT)
        np.testing.assert_allclose(policy.position_marginals().sum(axis=0), 1.0, atol=EXACT)
    for slate in world.slates:
        for model in (position_based, cascade):
            assert sum(p for _, p in model(world, slate)) == pytest.approx(1.0, abs=EXACT)
        # the cascade's stated click law: P(C_k) = p_k prod_{j<k} (1 - s p_j)
        p = world.click_chance(slate)
        expected = [p[0], p[1] * (1 - world.stop_after_click * p[0])]
        np.testing.assert_allclose(click_probability(cascade, world, slate), expected, atol=EXACT)


@pytest.mark.parametrize("world", [WORLD, WORLD_OF_FOUR])
@pytest.mark.parametrize("position_weights", POSITION_WEIGHTS)
def test_every_estimator_is_unbiased_under_position_based_clicks(
    world: SlateWorld, position_weights: tuple[float, ...] | None
) -> None:
    truth = true_value(position_based, world, position_weights or (0.5, 0.5))
    for model in reward_models(world):
        inputs, probability = exhaustive_inputs(
            position_based, world, position_weights=position_weights, estimated_rewards=model,
            pseudo_inverse_weight_of=exact_pi_weight(world),
        )  # fmt: skip
        assert expectation(CascadeDoublyRobust(), inputs, probability) == pytest.approx(truth, abs=EXACT)
    for estimator in (IndependentIPS(), RewardInteractionIPS(), StandardIPS(), PseudoInverse(weight="supplied")):
        assert expectation(estimator, inputs, probability) == pytest.approx(truth, abs=EXACT), estimator.name
    # so RIPS and IIPS agree in expectation when rewards do not interact
    assert expectation(RewardInteractionIPS(), inputs, probability) == pytest.approx(
        expectation(IndependentIPS(), inputs, probability), abs=EXACT
    )


@pytest.mark.parametrize("world", [WORLD, WORLD_OF_FOUR])
@pytest.mark.parametrize("position_weights", POSITION_WEIGHTS)
def test_cascade_estimators_are_unbiased_under_cascade_clicks_and_iips_is_not(
    world: SlateWorld, position_weights: tuple[float, ...] | None
) -> None:
    truth = true_value(cascade, world, position_weights or (0.5, 0.5))
    for model in reward_models(world):
        inputs, probability = exhaustive_inputs(
            cascade, world, position_weights=position_weights, estimated_rewards=model
        )
        assert expectation(CascadeDoublyRobust(), inputs, probability) == pytest.approx(truth, abs=EXACT)
    for estimator in (RewardInteractionIPS(), StandardIPS()):
        assert expectation(estimator, inputs, probability) == pytest.approx(truth, abs=EXACT), estimator.name
    bias = expectation(IndependentIPS(), inputs, probability) - truth
    assert abs(bias) > 2e-3, bias  # -0.021 (3 items) and -0.026 (4 items) with gamma = (1/2, 1/2)


@pytest.mark.parametrize("position_weights", POSITION_WEIGHTS)
def test_pi_is_biased_under_cascade_clicks_when_the_interaction_is_not_additive(
    position_weights: tuple[float, ...] | None,
) -> None:
    inputs, probability = exhaustive_inputs(
        cascade, WORLD_OF_FOUR, position_weights=position_weights, pseudo_inverse_weight_of=exact_pi_weight(WORLD_OF_FOUR)
    )
    bias = expectation(PseudoInverse(weight="supplied"), inputs, probability) - true_value(
        cascade, WORLD_OF_FOUR, position_weights or (0.5, 0.5)
    )
    assert abs(bias) > 1e-3, bias  # +0.0064 with gamma = (1/2, 1/2), +0.0051 with (1, 0.4)


def test_with_three_items_and_two_positions_the_cascade_interaction_is_additive_so_pi_stays_unbiased() -> None:
    """The cascade's interaction term -gamma_2 s theta_1 theta_2 alpha_a alpha_b is symmetric in
    the two items shown; with 3 candidates a symmetric function of the pair {a, b} is a function
    of the item *left out*, c, and 1{c left out} = 1 - 1{c at 1} - 1{c at 2} is additive. So
    the expected slate reward is additive and PI (exact weight) is unbiased even under cascade
    clicks, unlike IIPS, whose weights see one position at a time."""
    inputs, probability = exhaustive_inputs(cascade, WORLD, pseudo_inverse_weight_of=exact_pi_weight(WORLD))
    truth = true_value(cascade, WORLD, (0.5, 0.5))
    assert expectation(PseudoInverse(weight="supplied"), inputs, probability) == pytest.approx(truth, abs=EXACT)
    assert abs(expectation(IndependentIPS(), inputs, probability) - truth) > 2e-3


def test_iips_expectation_is_the_target_mix_of_click_rates_seen_under_logging() -> None:
    """E[IIPS] = sum_k gamma_k sum_a pi(a at k) E_mu[C_k | a at k]: under the cascade model the
    click at position 2 depends on the item at position 1, which differs under pi and mu."""
    gamma = np.array([0.5, 0.5])
    inputs, probability = exhaustive_inputs(cascade, WORLD)
    expected = 0.0
    for k in range(WORLD.n_positions):
        for a in range(WORLD.n_candidates):
            shows = [s for s in WORLD.slates if s[k] == a]
            mu_at = sum(WORLD.logging.slate_probability(s) for s in shows)
            clicks = sum(WORLD.logging.slate_probability(s) * click_probability(cascade, WORLD, s)[k] for s in shows)
            expected += gamma[k] * WORLD.target.marginal(a, k) * clicks / mu_at
    assert expectation(IndependentIPS(), inputs, probability) == pytest.approx(expected, abs=EXACT)
    assert abs(expected - true_value(cascade, WORLD, gamma)) > 2e-3


@pytest.mark.parametrize("world", [WORLD, WORLD_OF_FOUR])
def test_the_factored_pi_closed_form_is_biased_under_plackett_luce_logging_even_for_additive_rewards(
    world: SlateWorld,
) -> None:
    """Sum_k w_k - K + 1 is the PI weight only for logging factored across positions; a
    Plackett-Luce ranking draws without replacement, so the closed form misses the truth."""
    inputs, probability = exhaustive_inputs(position_based, world, pseudo_inverse_weight_of=exact_pi_weight(world))
    truth = true_value(position_based, world, (0.5, 0.5))
    assert expectation(PseudoInverse(weight="supplied"), inputs, probability) == pytest.approx(truth, abs=EXACT)
    assert abs(expectation(PseudoInverse(), inputs, probability) - truth) > 1e-3  # +0.037 (3), +0.043 (4)
