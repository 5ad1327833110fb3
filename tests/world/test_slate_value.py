"""The true value of a Plackett-Luce slate policy under the world's click model.

Checks, each against a computation written in the test: the standard targets' logits describe
the policies of ``standard_targets`` (their marginals, the greedy order); under the position-based
model without fatigue the value is ``true_value`` of the marginals, exactly; the per-slate click
probabilities are the truth's for the same items; on a few requests the Monte Carlo value lies
within four of its standard errors of the value enumerated over all 30,240 ordered slates of 5 of
10 candidates (cascade with fatigue); a deterministic policy's value is its one slate's, with
standard error 0; and the logging policy's value under the cascade is the click rate of a cascade
log it drew.
"""

from __future__ import annotations

from itertools import permutations

import numpy as np
import pytest

from hermes_core.world import World
from hermes_core.world.plackett_luce import (
    logit_position_marginals,
    position_marginals,
    prefix_probabilities,
    softmax_weights,
)
from hermes_core.world.policies import (
    CandidateClickModel,
    greedy_policy,
    request_slate_values,
    resimulate,
    slate_policy_value,
    standard_target_logits,
    standard_targets,
    true_relevance_scores,
    true_value,
)
from hermes_core.world.simulate import Logs
from hermes_core.world.truth import slate_click_probabilities

TEMPERATURES = (0.5, 2.0)


@pytest.fixture(scope="module")
def calm_world(tiny_world: World) -> World:
    return tiny_world.with_similarity_fatigue(0.0)


@pytest.fixture(scope="module")
def cascade_world(tiny_world: World) -> World:
    """Cascade clicks with the tiny world's own similarity fatigue (0.5)."""
    return tiny_world.with_click_model("cascade", 0.7)


@pytest.fixture(scope="module")
def fresh_logs(tiny_world: World) -> Logs:
    return resimulate(tiny_world, 8, 600)


def shown(logs: Logs, slates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Items and contextual affinities of slates of candidate slots: two (n, K) arrays."""
    return np.take_along_axis(logs.candidates, slates, 1), np.take_along_axis(logs.candidate_affinity, slates, 1)


# ---------------------------------------------------------------------- the targets' logits
def test_target_logits_describe_the_standard_targets(tiny_world: World, fresh_logs: Logs) -> None:
    k = fresh_logs.slate.shape[1]
    logits = standard_target_logits(fresh_logs, TEMPERATURES)
    targets = standard_targets(tiny_world, fresh_logs, TEMPERATURES)
    assert list(logits) == list(targets)
    for name in ("uniform", "logging", *(f"softmax-true@{t:g}" for t in TEMPERATURES)):
        assert logits[name].shape == fresh_logs.candidates.shape
        marginals = position_marginals(softmax_weights(logits[name], 1.0), k)
        np.testing.assert_allclose(marginals, targets[name], rtol=0, atol=1e-12, err_msg=name)
    # greedy: the argsort order of the true scores, with probability 1 exactly
    greedy = logits["greedy-true"]
    order = np.argsort(-true_relevance_scores(fresh_logs), axis=1, kind="stable")[:, :k]
    np.testing.assert_array_equal(np.argsort(-greedy, axis=1, kind="stable")[:, :k], order)
    assert np.all(prefix_probabilities(greedy, order) == 1.0)
    np.testing.assert_array_equal(logit_position_marginals(greedy, k), targets["greedy-true"])
    np.testing.assert_array_equal(targets["greedy-true"], greedy_policy(true_relevance_scores(fresh_logs), k))


# ---------------------------------------------------------------------- exact cases
def test_position_based_without_fatigue_is_true_value_exactly(calm_world: World, fresh_logs: Logs) -> None:
    logits = standard_target_logits(fresh_logs, TEMPERATURES)
    targets = standard_targets(calm_world, fresh_logs, TEMPERATURES)
    for name in logits:
        value, standard_error = slate_policy_value(calm_world, fresh_logs, logits[name], n_samples=8, seed=0)
        assert value == pytest.approx(true_value(calm_world, fresh_logs, targets[name]), abs=1e-12), name
        assert standard_error == 0.0


def test_candidate_clicks_are_the_truths_clicks(tiny_world: World, cascade_world: World, fresh_logs: Logs) -> None:
    rng = np.random.default_rng(4)
    random_slates = np.argsort(rng.random(fresh_logs.candidates.shape), axis=1)[:, :5]
    for world in (tiny_world, cascade_world, cascade_world.with_similarity_fatigue(0.0)):
        clicks = CandidateClickModel.of(world, fresh_logs)
        for slates in (fresh_logs.slate, random_slates):
            items, affinity = shown(fresh_logs, slates)
            np.testing.assert_allclose(clicks.click_probabilities(slates),
                                       slate_click_probabilities(world.model, affinity, items), rtol=0, atol=1e-12)
        # leading sample axes: each sample's slates on their own
        stacked = np.stack([fresh_logs.slate, random_slates])
        np.testing.assert_array_equal(clicks.expected_clicks(stacked)[1], clicks.expected_clicks(random_slates))


def test_a_deterministic_policy_is_its_one_slate(cascade_world: World, fresh_logs: Logs) -> None:
    logits = standard_target_logits(fresh_logs)["greedy-true"]
    order = np.argsort(-logits, axis=1)[:, :5]
    items, affinity = shown(fresh_logs, order)
    expected = slate_click_probabilities(cascade_world.model, affinity, items).mean()
    value, standard_error = slate_policy_value(cascade_world, fresh_logs, logits, n_samples=16, seed=3)
    assert value == pytest.approx(expected, abs=1e-12) and standard_error == 0.0


# ---------------------------------------------------------------------- Monte Carlo against enumeration
def enumerated_request_value(world: World, logs: Logs, logits: np.ndarray, row: int) -> float:
    """``(1/K) sum_s pi(s) sum_k P(C_k = 1 | s)`` over every ordered slate of K of the C candidates."""
    k = logs.slate.shape[1]
    slates = np.array(list(permutations(range(logs.candidates.shape[1]), k)))  # (C!/(C-K)!, K)
    weights = softmax_weights(logits[row:row + 1], 1.0)[0]
    picked = weights[slates]
    left = 1.0 - np.concatenate([np.zeros((len(slates), 1)), np.cumsum(picked, axis=1)[:, :-1]], axis=1)
    probability = np.prod(picked / left, axis=1)
    items = logs.candidates[row][slates]
    clicks = slate_click_probabilities(world.model, logs.candidate_affinity[row][slates], items).sum(axis=1)
    assert probability.sum() == pytest.approx(1.0, abs=1e-12)
    return float(probability @ clicks) / k


def test_monte_carlo_value_agrees_with_enumeration(cascade_world: World, fresh_logs: Logs) -> None:
    logits = standard_target_logits(fresh_logs, (1.0,))
    rows = [0, 1, 2]
    for name in ("uniform", "logging", "softmax-true@1"):
        values, errors = request_slate_values(cascade_world, fresh_logs, logits[name], n_samples=400, seed=11)
        assert np.all(errors > 0), name  # the cascade and fatigue are left to sampling
        for row in rows:
            exact = enumerated_request_value(cascade_world, fresh_logs, logits[name], row)
            assert abs(values[row] - exact) < 4 * errors[row] + 1e-12, (name, row, values[row], exact, errors[row])


def test_the_value_is_the_mean_of_the_requests_values(cascade_world: World, fresh_logs: Logs) -> None:
    logits = standard_target_logits(fresh_logs)["logging"]
    values, errors = request_slate_values(cascade_world, fresh_logs, logits, n_samples=50, seed=2)
    value, standard_error = slate_policy_value(cascade_world, fresh_logs, logits, n_samples=50, seed=2)
    assert value == pytest.approx(values.mean(), abs=1e-15)
    assert standard_error == pytest.approx(np.sqrt(np.sum(errors**2)) / len(values), rel=1e-12)
    again = slate_policy_value(cascade_world, fresh_logs, logits, n_samples=50, seed=2)
    assert again == (value, standard_error)  # the seed decides every draw


def test_fatigue_and_stopping_cost_clicks(tiny_world: World, calm_world: World, cascade_world: World,
                                          fresh_logs: Logs) -> None:
    # each mechanism only lowers a slate's click probabilities, so each value is below the last
    logits = standard_target_logits(fresh_logs)["uniform"]
    calm = slate_policy_value(calm_world, fresh_logs, logits, n_samples=100, seed=5)[0]
    tired, tired_se = slate_policy_value(tiny_world, fresh_logs, logits, n_samples=100, seed=5)
    stopping, stopping_se = slate_policy_value(cascade_world, fresh_logs, logits, n_samples=100, seed=5)
    assert calm > tired + 4 * tired_se and tired > stopping + 4 * stopping_se


def test_logging_value_under_the_cascade_is_the_click_rate_of_its_log(cascade_world: World) -> None:
    # a fresh cascade log whose slates the logging policy drew: its click rate estimates the logging
    # policy's value on its requests; a slate's clicks are dependent, so the log's standard error is
    # that of the requests' mean clicks per impression
    logs = resimulate(cascade_world, 12, 3000)
    logits = standard_target_logits(logs)["logging"]
    value, standard_error = slate_policy_value(cascade_world, logs, logits, n_samples=100, seed=7)
    per_request = logs.clicks.mean(axis=1)
    sampling_error = per_request.std(ddof=1) / np.sqrt(len(per_request))
    assert abs(per_request.mean() - value) < 4 * np.hypot(sampling_error, standard_error)


def test_bad_inputs_are_refused_by_name(cascade_world: World, fresh_logs: Logs) -> None:
    logits = standard_target_logits(fresh_logs)["uniform"]
    with pytest.raises(ValueError, match="logits has shape"):
        slate_policy_value(cascade_world, fresh_logs, logits[:10], n_samples=10, seed=0)
    with pytest.raises(ValueError, match="n_samples must be an integer of at least 2"):
        slate_policy_value(cascade_world, fresh_logs, logits, n_samples=1, seed=0)
    with pytest.raises(ValueError, match="temperatures must be positive"):
        standard_target_logits(fresh_logs, (0.0,))
