"""Each slate estimator on a hand-written 2-request dataset, against a direct computation.

Two requests, K = 2 positions, C = 3 candidates, gamma = (1/2, 1/2):

=========  ======  ======  ===========  ===========  ===========  ===========
request    slate   reward  mu marginal  mu prefix    pi marginal  pi prefix
=========  ======  ======  ===========  ===========  ===========  ===========
0          (0, 2)  (1, 0)  (0.5, 0.3)   (0.5, 0.2)   (0.2, 0.4)   (0.2, 0.1)
1          (1, 0)  (0, 1)  (0.3, 0.4)   (0.3, 0.15)  (0.3, 0.3)   (0.3, 0.12)
=========  ======  ======  ===========  ===========  ===========  ===========

By hand (round rewards, then their mean):

* IIPS: 1/2 * 0.2/0.5 * 1 = 0.2 and 1/2 * 0.3/0.4 * 1 = 0.375, mean 0.2875;
* RIPS: 1/2 * 0.2/0.5 * 1 = 0.2 and 1/2 * 0.12/0.15 * 1 = 0.4, mean 0.3;
* SIPS: 0.1/0.2 * 1/2 = 0.25 and 0.12/0.15 * 1/2 = 0.4, mean 0.325;
* PI (factored): (0.4 + 4/3 - 1) * 1/2 = 11/30 and (1 + 0.75 - 1) * 1/2 = 0.375, mean 0.3708333.
"""

from __future__ import annotations

import numpy as np
import pytest

from hermes_core.ope.intervals import bootstrap_interval, normal_interval
from hermes_core.ope.slate import (
    SLATE_ESTIMATORS,
    CascadeDoublyRobust,
    IndependentIPS,
    PseudoInverse,
    RewardInteractionIPS,
    SlateInputs,
    StandardIPS,
)
from tests.ope.slate.enumeration import PlackettLuce
from tests.ope.slate.hand_dataset import (
    LOGGING_MARGINAL,
    LOGGING_PREFIX,
    MODEL,
    REWARD,
    SLATE,
    TARGET_CONDITIONAL,
    TARGET_MARGINAL,
    TARGET_PREFIX,
    hand_inputs,
)


def direct_round_rewards(name: str, gamma: tuple[float, float] = (0.5, 0.5)) -> list[float]:
    """Per-request values written out position by position, with plain Python loops."""
    values = []
    for i in range(2):
        total = 0.0
        slate_reward = sum(gamma[k] * REWARD[i][k] for k in range(2))
        for k in range(2):
            a = SLATE[i][k]
            marginal = TARGET_MARGINAL[i][k] / LOGGING_MARGINAL[i][k]
            prefix = TARGET_PREFIX[i][k] / LOGGING_PREFIX[i][k]
            above = 1.0 if k == 0 else TARGET_PREFIX[i][k - 1] / LOGGING_PREFIX[i][k - 1]
            if name == "iips":
                total += gamma[k] * marginal * REWARD[i][k]
            elif name == "rips":
                total += gamma[k] * prefix * REWARD[i][k]
            elif name == "cascade-dr":
                baseline = sum(TARGET_CONDITIONAL[i][k][b] * MODEL[i][b][k] for b in range(3))
                total += gamma[k] * (prefix * (REWARD[i][k] - MODEL[i][a][k]) + above * baseline)
            elif name == "pi":
                total += marginal * slate_reward
        if name == "sips":
            total = TARGET_PREFIX[i][1] / LOGGING_PREFIX[i][1] * slate_reward
        elif name == "pi":
            total -= (2 - 1) * slate_reward
        values.append(total)
    return values


ESTIMATORS = {
    "iips": IndependentIPS(),
    "rips": RewardInteractionIPS(),
    "sips": StandardIPS(),
    "cascade-dr": CascadeDoublyRobust(),
    "pi": PseudoInverse(),
}
HAND_VALUES = {"iips": 0.2875, "rips": 0.3, "sips": 0.325, "pi": 0.25 * (11 / 15 + 0.75)}


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_each_estimator_matches_the_direct_computation(name: str) -> None:
    estimator = ESTIMATORS[name]
    inputs = hand_inputs()
    np.testing.assert_allclose(estimator.estimate_round_rewards(inputs), direct_round_rewards(name), rtol=1e-12)
    assert estimator.estimate_policy_value(inputs) == pytest.approx(np.mean(direct_round_rewards(name)), rel=1e-12)
    if name in HAND_VALUES:
        assert estimator.estimate_policy_value(inputs) == pytest.approx(HAND_VALUES[name], rel=1e-12)


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_position_weights_enter_every_estimator(name: str) -> None:
    gamma = (1.0, 0.25)
    inputs = hand_inputs(position_weights=gamma)
    np.testing.assert_allclose(ESTIMATORS[name].estimate_round_rewards(inputs), direct_round_rewards(name, gamma), rtol=1e-12)


def test_the_registry_names_every_estimator() -> None:
    assert {name: type(estimator) for name, estimator in ESTIMATORS.items()} == SLATE_ESTIMATORS
    assert all(cls.name == name for name, cls in SLATE_ESTIMATORS.items())


def test_only_cascade_dr_needs_a_reward_model_and_the_conditionals() -> None:
    bare = hand_inputs(target_conditional=None, estimated_rewards=None)
    for name, estimator in ESTIMATORS.items():
        if name == "cascade-dr":
            continue
        assert estimator.estimate_policy_value(bare) == pytest.approx(HAND_VALUES[name])
    assert CascadeDoublyRobust.uses_reward_model
    with pytest.raises(ValueError, match="estimated_rewards: is required by estimator 'cascade-dr'"):
        CascadeDoublyRobust().round_terms(bare)
    with pytest.raises(ValueError, match="target_conditional: is required by estimator 'cascade-dr'"):
        CascadeDoublyRobust().round_terms(hand_inputs(target_conditional=None))


def random_plackett_luce_log(seed: int, n: int = 200, n_candidates: int = 5, n_positions: int = 3) -> SlateInputs:
    """Per-request Plackett-Luce logging and target policies, slates drawn from the logging one."""
    rng = np.random.default_rng(seed)
    rows: dict[str, list] = {key: [] for key in ("slate", "lm", "lp", "tm", "tp", "cond")}
    for _ in range(n):
        logging = PlackettLuce(tuple(rng.dirichlet(np.ones(n_candidates))), n_positions)
        target = PlackettLuce(tuple(rng.dirichlet(np.ones(n_candidates))), n_positions)
        slate = tuple(rng.choice(n_candidates, size=n_positions, replace=False, p=logging.weights))
        rows["slate"].append(slate)
        rows["lm"].append([logging.marginal(a, k) for k, a in enumerate(slate)])
        rows["lp"].append([logging.prefix_probability(slate, k + 1) for k in range(n_positions)])
        rows["tm"].append([target.marginal(a, k) for k, a in enumerate(slate)])
        rows["tp"].append([target.prefix_probability(slate, k + 1) for k in range(n_positions)])
        rows["cond"].append(target.conditional_table(slate))
    return SlateInputs.from_arrays(
        reward=(rng.random((n, n_positions)) < 0.3).astype(float), slate=np.array(rows["slate"]),
        logging_marginal=rows["lm"], logging_prefix=rows["lp"], target_marginal=rows["tm"],
        target_prefix=rows["tp"], target_conditional=np.array(rows["cond"]),
        estimated_rewards=np.zeros((n, n_candidates, n_positions)),
    )  # fmt: skip


def test_cascade_dr_without_a_reward_model_is_rips_request_by_request() -> None:
    for seed in (0, 1):
        inputs = random_plackett_luce_log(seed)
        np.testing.assert_allclose(
            CascadeDoublyRobust().estimate_round_rewards(inputs),
            RewardInteractionIPS().estimate_round_rewards(inputs),
            rtol=0, atol=1e-15,
        )  # fmt: skip


def test_estimators_return_one_row_per_request_so_request_level_intervals_apply() -> None:
    inputs = random_plackett_luce_log(2)
    for estimator in ESTIMATORS.values():
        terms = estimator.round_terms(inputs)
        assert terms.n_rounds == inputs.n_rounds
        interval = bootstrap_interval(terms, n_bootstrap=200, seed=0)
        assert interval.low <= terms.estimate() <= interval.high
        normal = normal_interval(terms)
        assert normal.estimate == pytest.approx(terms.estimate())


def test_every_estimator_gives_zero_when_every_reward_is_zero_except_cascade_dr_with_a_model() -> None:
    """With all rewards 0 the IPS-type estimators are 0; Cascade-DR with q_hat != 0 is not, but its
    residual part exactly cancels its model part in expectation, not per sample."""
    zero = hand_inputs(reward=np.zeros((2, 2)))
    for name, estimator in ESTIMATORS.items():
        if name != "cascade-dr":
            assert estimator.estimate_policy_value(zero) == 0.0
    assert CascadeDoublyRobust().estimate_policy_value(hand_inputs(reward=np.zeros((2, 2)), estimated_rewards=np.zeros((2, 3, 2)))) == 0.0


def test_each_estimator_states_the_behaviour_it_needs_to_be_unbiased() -> None:
    """As the exact expectations of ``test_unbiasedness.py`` show: SIPS needs nothing, RIPS and
    Cascade-DR the cascade assumption, IIPS the item-position model, PI additivity."""
    assert {name: e.reward_assumption for name, e in ESTIMATORS.items()} == {
        "iips": "item-position", "rips": "cascade", "sips": "none", "cascade-dr": "cascade", "pi": "additive",
    }  # fmt: skip
    assert [name for name, e in ESTIMATORS.items() if e.unbiased_by_design] == ["sips"]
