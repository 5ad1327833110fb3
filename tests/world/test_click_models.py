"""The world's two click models: position-based and cascade (``world.click_model``).

Checks, each against a computation written in the test: the cascade's click marginals are those of
the sequential process, enumerated over every click and stop vector; ``s = 0`` is the
position-based model; the draws average to the marginals and, with ``s = 1``, never hold two
clicks; the position-based draws use exactly one uniform per slot (so the default logs are the
ones drawn before the cascade existed); ``World.with_click_model`` changes the truth and the fresh
logs but nothing else; the values computed from position marginals refuse a cascade world.
"""

from __future__ import annotations

from itertools import product

import numpy as np
import pytest

from hermes_core.world import World
from hermes_core.world.params import WorldParams
from hermes_core.world.policies import resimulate, true_value, uniform_policy
from hermes_core.world.truth import (
    cascade_click_probabilities,
    click_marginals,
    draw_clicks,
    slate_click_probabilities,
    stop_probability,
)
from tests.world.test_truth import hand_click_probabilities


def enumerated_cascade_marginals(p: np.ndarray, stop: float) -> np.ndarray:
    """``P(C_k = 1)`` of the sequential process by summing over every (click, stop) vector.

    A user active at ``k`` clicks with probability ``p_k``; after a click she stops with
    probability ``stop``; an inactive user neither clicks nor stops.
    """
    k_slate = len(p)
    marginals = np.zeros(k_slate)
    for clicks in product((0, 1), repeat=k_slate):
        for stops in product((0, 1), repeat=k_slate):
            probability, active = 1.0, True
            for k in range(k_slate):
                if not active:
                    probability *= float(clicks[k] == 0 and stops[k] == 0)
                    continue
                probability *= p[k] if clicks[k] else 1.0 - p[k]
                if clicks[k]:
                    probability *= stop if stops[k] else 1.0 - stop
                    active = not stops[k]
                else:
                    probability *= float(stops[k] == 0)
            marginals += probability * np.array(clicks)
    return marginals


@pytest.fixture(scope="module")
def cascade_world(tiny_world: World) -> World:
    return tiny_world.with_click_model("cascade", 0.7)


# ---------------------------------------------------------------------- the marginals
@pytest.mark.parametrize("stop", [0.0, 0.3, 0.7, 1.0])
def test_cascade_marginals_are_the_enumerated_sequential_process(stop: float) -> None:
    rng = np.random.default_rng(17)
    for p in (rng.uniform(0.0, 0.9, size=4), np.array([0.6, 0.6, 0.6, 0.6]), np.array([1.0, 0.5, 0.2, 0.9])):
        np.testing.assert_allclose(cascade_click_probabilities(p, stop), enumerated_cascade_marginals(p, stop),
                                   rtol=0, atol=1e-14)


def test_cascade_marginals_by_hand_and_over_leading_axes() -> None:
    # p = (0.5, 0.4, 0.2), s = 0.5: P(A_1) = 1 - 0.25 = 0.75, P(A_2) = 0.75 (1 - 0.2) = 0.6
    np.testing.assert_allclose(cascade_click_probabilities(np.array([0.5, 0.4, 0.2]), 0.5), [0.5, 0.3, 0.12],
                               atol=1e-15)
    p = np.random.default_rng(3).uniform(0, 1, size=(2, 3, 4))
    got = cascade_click_probabilities(p, 0.6)
    for index in np.ndindex(2, 3):
        np.testing.assert_allclose(got[index], enumerated_cascade_marginals(p[index], 0.6), atol=1e-14)
    np.testing.assert_array_equal(cascade_click_probabilities(p, 0.0), p)  # s = 0: position-based
    with pytest.raises(ValueError, match="stop probability"):
        cascade_click_probabilities(p, 1.5)


def test_click_marginals_follow_the_params(tiny_world_params: WorldParams) -> None:
    p = np.array([[0.3, 0.5, 0.1]])
    assert stop_probability(tiny_world_params) is None
    np.testing.assert_array_equal(click_marginals(tiny_world_params, p), p)
    cascade = tiny_world_params.model_copy(update={"click_model": "cascade", "cascade_stop_probability": 0.4})
    assert stop_probability(cascade) == 0.4
    np.testing.assert_allclose(click_marginals(cascade, p), [[0.3, 0.5 * 0.88, 0.1 * 0.88 * 0.8]], atol=1e-15)


# ---------------------------------------------------------------------- the draws
def test_position_based_draws_one_uniform_per_slot() -> None:
    # the default logs stay the ones drawn before the cascade existed: the same clicks as
    # ``rng.random(shape) < p`` and the generator left in the same state
    p = np.random.default_rng(0).uniform(0, 0.6, size=(40, 5))
    rng, reference = np.random.default_rng(9), np.random.default_rng(9)
    np.testing.assert_array_equal(draw_clicks(p, rng), reference.random(p.shape) < p)
    assert rng.random() == reference.random()


def test_cascade_without_stopping_draws_the_position_based_clicks() -> None:
    p = np.random.default_rng(1).uniform(0, 0.8, size=(100, 5))
    cascade = draw_clicks(p, np.random.default_rng(4), 0.0)
    np.testing.assert_array_equal(cascade, draw_clicks(p, np.random.default_rng(4)))


def test_cascade_draws_average_to_the_marginals() -> None:
    # 200,000 draws of one slate: each position's frequency is within 4 standard errors
    p = np.array([0.55, 0.4, 0.3, 0.5, 0.2])
    n = 200_000
    for stop in (0.5, 1.0):
        clicks = draw_clicks(np.broadcast_to(p, (n, 5)), np.random.default_rng(21), stop)
        expected = enumerated_cascade_marginals(p, stop)
        assert np.all(np.abs(clicks.mean(axis=0) - expected) < 4 * np.sqrt(expected * (1 - expected) / n))
    # s = 1 is Craswell et al.'s cascade: at most one click per slate
    assert clicks.sum(axis=1).max() == 1


# ---------------------------------------------------------------------- the world
def test_with_click_model_changes_the_click_model_only(tiny_world: World, cascade_world: World) -> None:
    assert tiny_world.params.click_model == "position-based"
    assert cascade_world.params.click_model == "cascade" and cascade_world.params.cascade_stop_probability == 0.7
    assert cascade_world.logs is tiny_world.logs and cascade_world.catalogue is tiny_world.catalogue
    assert tiny_world.with_click_model("position-based") is tiny_world
    assert cascade_world.with_click_model("cascade") is cascade_world  # None keeps the world's stop probability
    back = cascade_world.with_click_model("position-based")
    assert back.params == tiny_world.params.model_copy(update={"cascade_stop_probability": 0.7})
    with pytest.raises(ValueError, match="click_model must be one of"):
        tiny_world.with_click_model("dbn")
    with pytest.raises(ValueError, match="stop_probability must lie in"):
        tiny_world.with_click_model("cascade", 1.2)
    with pytest.raises(ValueError, match="cascade_stop_probability"):
        WorldParams(cascade_stop_probability=-0.1)
    with pytest.raises(ValueError, match="click_model"):
        WorldParams(click_model="dbn")


def test_ranking_truth_follows_the_cascade(tiny_world: World, cascade_world: World) -> None:
    user, ranking, history = 8, [12, 99, 3, 45, 70], [30, 31]
    p = hand_click_probabilities(tiny_world, user, ranking, history)  # theta_k attr(g~_k) f_k
    np.testing.assert_allclose(tiny_world.ranking_click_probabilities(user, history, ranking), p, atol=1e-12)
    cascade = enumerated_cascade_marginals(p, 0.7)
    np.testing.assert_allclose(cascade_world.ranking_click_probabilities(user, history, ranking), cascade, atol=1e-12)
    assert cascade_world.expected_clicks(user, history, ranking) == pytest.approx(cascade.sum(), abs=1e-12)
    assert cascade_world.expected_clicks(user, history, ranking) < tiny_world.expected_clicks(user, history, ranking)


def test_simulated_ranking_clicks_follow_the_cascade(tiny_world: World) -> None:
    # a ranking of attractive items, so that stopping matters; s = 1: one click at most
    user = 17
    affinity = tiny_world.contextual_affinity(user, None)
    ranking = np.argsort(-affinity)[:5]
    n = 40_000
    for stop in (0.6, 1.0):
        world = tiny_world.with_click_model("cascade", stop)
        expected = world.ranking_click_probabilities(user, None, ranking)
        clicks = world.simulate_clicks(user, None, ranking, rng=31, n=n)
        assert clicks.shape == (n, 5)
        assert np.all(np.abs(clicks.mean(axis=0) - expected) < 4 * np.sqrt(expected * (1 - expected) / n))
    assert clicks.sum(axis=1).max() == 1


def test_resimulated_cascade_logs(tiny_world: World) -> None:
    # s = 1: no logged slate holds two clicks, where the position-based log of the same world has some
    one_click = resimulate(tiny_world.with_click_model("cascade", 1.0), 5, 600)
    assert one_click.clicks.sum(axis=1).max() == 1
    assert resimulate(tiny_world, 5, 600).clicks.sum(axis=1).max() >= 2
    # s = 0.7: each position's click rate is the mean of its cascade marginals (4 standard errors)
    world = tiny_world.with_click_model("cascade", 0.7)
    logs = resimulate(world, 6, 3000)
    shown_items = np.take_along_axis(logs.candidates, logs.slate, 1)
    shown_affinity = np.take_along_axis(logs.candidate_affinity, logs.slate, 1)
    marginals = slate_click_probabilities(world.model, shown_affinity, shown_items)  # (n, K)
    rate, expected = logs.clicks.mean(axis=0), marginals.mean(axis=0)
    standard_error = np.sqrt((marginals * (1 - marginals)).sum(axis=0)) / len(marginals)
    assert np.all(np.abs(rate - expected) < 4 * standard_error)
    # and below the position-based rate of the same slates
    position_based = slate_click_probabilities(tiny_world.model, shown_affinity, shown_items)
    assert np.all(marginals[:, 1:] <= position_based[:, 1:] + 1e-15)
    assert np.all(expected[1:] < position_based.mean(axis=0)[1:])


def test_values_from_marginals_refuse_a_cascade_world(cascade_world: World) -> None:
    logs = cascade_world.logs
    with pytest.raises(ValueError, match="position-based click model.*'cascade'.*slate_policy_value"):
        cascade_world.policy_value(uniform_policy(logs))
    with pytest.raises(ValueError, match="slate_policy_value"):
        cascade_world.logging_policy_value()
    with pytest.raises(ValueError, match="true_value .*'cascade'"):
        true_value(cascade_world, logs, uniform_policy(logs))
