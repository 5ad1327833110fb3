"""Estimators of hermes_core.ope: hand-computed values, an independent loop implementation, and
the properties that pin each formula (limits, invariances, bounds)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hermes_core.ope import (
    ESTIMATORS,
    ClippedDoublyRobust,
    DirectMethod,
    DoublyRobust,
    DoublyRobustWithShrinkage,
    InverseProbabilityWeighting,
    OpeInputs,
    SelfNormalizedDoublyRobust,
    SelfNormalizedInverseProbabilityWeighting,
    SubGaussianInverseProbabilityWeighting,
    SwitchDoublyRobust,
    cross_fitted_reward_model,
    estimate_all,
    make_estimators,
)
from tests.ope.problems import random_problem


def hand_fixture() -> dict[str, np.ndarray]:
    """4 rounds, 2 actions, 2 slots. Target: slot 0 -> (0.8, 0.2), slot 1 -> (0.4, 0.6).

    Importance weights w = pi_e(a_i|k_i) / pscore_i:
      round 0: a=0,k=0: 0.8/0.5 = 1.6     round 1: a=1,k=0: 0.2/0.5 = 0.4
      round 2: a=1,k=1: 0.6/0.25 = 2.4    round 3: a=0,k=1: 0.4/0.75 = 8/15
    Reward model q(a, k) (same every round): q(0,0)=.5, q(1,0)=.2, q(0,1)=.3, q(1,1)=.6.
    """
    target = np.array([[0.8, 0.4], [0.2, 0.6]])  # (n_actions, len_list)
    model = np.array([[0.5, 0.3], [0.2, 0.6]])
    return {
        "reward": np.array([1.0, 0.0, 1.0, 0.0]),
        "action": np.array([0, 1, 1, 0]),
        "position": np.array([0, 0, 1, 1]),
        "pscore": np.array([0.5, 0.5, 0.25, 0.75]),
        "action_dist": np.tile(target, (4, 1, 1)),
        "estimated_rewards_by_reg_model": np.tile(model, (4, 1, 1)),
    }


# Worked by hand from hand_fixture's docstring:
#   sum w r = 1.6 + 2.4 = 4.0;  sum w = 1.6 + 0.4 + 2.4 + 8/15 = 74/15
#   DM rounds: slot 0: .8*.5 + .2*.2 = .44; slot 1: .4*.3 + .6*.6 = .48 -> DM = .46
#   residuals r - q(a_i,k_i): .5, -.2, .4, -.3; w * residual: .8, -.08, .96, -.16 (sum 1.52)
SUM_W = 74 / 15
HAND_VALUES = {
    "dm": 0.46,
    "ipw": 4.0 / 4,
    "snipw": 4.0 / SUM_W,
    "dr": 0.46 + 1.52 / 4,
    "sndr": 0.46 + 1.52 / SUM_W,
}


@pytest.mark.parametrize("name", sorted(HAND_VALUES))
def test_estimators_match_hand_computation(name: str) -> None:
    value = ESTIMATORS[name]().estimate_policy_value(**hand_fixture())
    assert value == pytest.approx(HAND_VALUES[name], abs=1e-12)


def test_clipped_ipw_switch_and_dros_match_hand_computation() -> None:
    data = hand_fixture()
    # Clipping at 2 turns round 2's weight 2.4 into 2: (1.6 + 2.0) / 4 = 0.9.
    assert InverseProbabilityWeighting(clip_lambda=2.0).estimate_policy_value(**data) == pytest.approx(0.9)
    # Switch at tau=2 drops round 2's correction .96: .46 + (.8 - .08 - .16) / 4 = .60.
    assert SwitchDoublyRobust(tau=2.0).estimate_policy_value(**data) == pytest.approx(0.60)
    # DRos, lambda=1: shrunk weights w / (w^2 + 1) = 1.6/3.56, .4/1.16, 2.4/6.76, (8/15)/(1+64/225).
    shrunk = [1.6 / 3.56, 0.4 / 1.16, 2.4 / 6.76, (8 / 15) / (1 + 64 / 225)]
    correction = shrunk[0] * 0.5 - shrunk[1] * 0.2 + shrunk[2] * 0.4 - shrunk[3] * 0.3
    assert correction == pytest.approx(0.173198, abs=1e-6)
    expected = 0.46 + correction / 4
    got = DoublyRobustWithShrinkage(shrinkage_lambda=1.0).estimate_policy_value(**data)
    assert got == pytest.approx(expected, abs=1e-12)


def test_self_normalised_round_rewards_average_to_the_estimate() -> None:
    data = hand_fixture()
    for estimator in (SelfNormalizedInverseProbabilityWeighting(), SelfNormalizedDoublyRobust()):
        rewards = estimator.estimate_round_rewards(**data)
        assert rewards.shape == (4,)
        assert rewards.mean() == pytest.approx(estimator.estimate_policy_value(**data), abs=1e-15)
    # SNIPW round rewards are w_i r_i / mean(w): round 0 -> 1.6 / (74/60).
    rewards = SelfNormalizedInverseProbabilityWeighting().estimate_round_rewards(**data)
    assert rewards[0] == pytest.approx(1.6 / (SUM_W / 4))


def loop_reference(data: dict[str, np.ndarray], tau: float, lam: float, clip: float = 10.0,
                   sg: float = 0.1) -> dict[str, float]:  # fmt: skip
    """Each formula written out round by round, independently of hermes_core."""
    n = len(data["reward"])
    dm_terms, weights, weighted, residual_terms = [], [], [], []
    switch_terms, dros_terms, clip_terms, sg_terms = [], [], [], []
    for i in range(n):
        a, k, r = data["action"][i], data["position"][i], data["reward"][i]
        pi, q = data["action_dist"][i], data["estimated_rewards_by_reg_model"][i]
        value = sum(pi[b, k] * q[b, k] for b in range(pi.shape[0]))
        w = pi[a, k] / data["pscore"][i]
        dm_terms.append(value)
        weights.append(w)
        weighted.append(w * r)
        residual_terms.append(w * (r - q[a, k]))
        switch_terms.append(w * (r - q[a, k]) if w <= tau else 0.0)
        dros_terms.append(lam * w / (w * w + lam) * (r - q[a, k]))
        clip_terms.append(min(w, clip) * (r - q[a, k]))
        sg_terms.append(w / (1 - sg + sg * w) * r)
    return {
        "dm": sum(dm_terms) / n,
        "ipw": sum(weighted) / n,
        "snipw": sum(weighted) / sum(weights),
        "dr": (sum(dm_terms) + sum(residual_terms)) / n,
        "sndr": sum(dm_terms) / n + sum(residual_terms) / sum(weights),
        "switch-dr": (sum(dm_terms) + sum(switch_terms)) / n,
        "dr-os": (sum(dm_terms) + sum(dros_terms)) / n,
        "dr-clip": (sum(dm_terms) + sum(clip_terms)) / n,
        "ipw-subgauss": sum(sg_terms) / n,
    }


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_all_estimators_match_a_loop_implementation(seed: int) -> None:
    data = random_problem(seed)
    tau, lam, clip, sg = 1.5, 2.0, 1.2, 0.3
    estimators = make_estimators(switch_tau=tau, dros_lambda=lam, dr_clip_lambda=clip, subgauss_lambda=sg)
    values = estimate_all(**data, estimators=estimators)
    reference = loop_reference(data, tau, lam, clip, sg)
    assert set(values) == set(reference)
    for name in reference:
        assert values[name] == pytest.approx(reference[name], rel=1e-10), name


def test_ipw_is_the_mean_reward_when_target_is_the_logging_policy() -> None:
    """w_i = 1 for every round, so IPW = SNIPW = mean reward exactly."""
    data = random_problem(3)
    rng = np.random.default_rng(3)
    n, n_actions, len_list = data["action_dist"].shape
    logging = rng.dirichlet(np.ones(n_actions), size=(n, len_list)).transpose(0, 2, 1)
    data["pscore"] = logging[np.arange(n), data["action"], data["position"]]
    data["action_dist"] = logging
    mean_reward = data["reward"].mean()
    assert InverseProbabilityWeighting().estimate_policy_value(**data) == pytest.approx(mean_reward, abs=1e-12)
    assert SelfNormalizedInverseProbabilityWeighting().estimate_policy_value(**data) == pytest.approx(
        mean_reward, abs=1e-12
    )


def test_every_estimator_is_zero_when_every_reward_is_zero() -> None:
    """A cross-fitted model of all-zero rewards predicts 0, and then every term vanishes."""
    data = random_problem(4)
    data["reward"] = np.zeros_like(data["reward"])
    n, n_actions, len_list = data["action_dist"].shape
    context = np.random.default_rng(4).normal(size=(n, 3))
    data["estimated_rewards_by_reg_model"] = cross_fitted_reward_model(
        context, data["action"], data["position"], data["reward"], n_actions=n_actions, len_list=len_list
    )
    values = estimate_all(**data, estimators=make_estimators(tuning_grid=(1.0, 10.0, math.inf)))
    assert len(values) == 14
    assert all(value == 0.0 for value in values.values()), values


@pytest.mark.parametrize("seed", range(5))
def test_snipw_stays_within_the_observed_reward_range(seed: int) -> None:
    """SNIPW is a weighted average of observed rewards (non-negative weights)."""
    data = random_problem(seed)
    data["reward"] = np.random.default_rng(seed).exponential(size=len(data["reward"]))
    value = SelfNormalizedInverseProbabilityWeighting().estimate_policy_value(**data)
    assert data["reward"].min() <= value <= data["reward"].max()


def test_dr_equals_dm_when_the_model_reproduces_every_observed_reward() -> None:
    """Deterministic rewards r = f(x, a, k) and q = f: every residual is 0, so the DR family
    collapses to DM."""
    data = random_problem(5)
    n, n_actions, len_list = data["action_dist"].shape
    truth = np.random.default_rng(5).random((n, n_actions, len_list))
    data["estimated_rewards_by_reg_model"] = truth
    data["reward"] = truth[np.arange(n), data["action"], data["position"]]
    dm = DirectMethod().estimate_policy_value(**data)
    for estimator in (DoublyRobust(), SelfNormalizedDoublyRobust(), SwitchDoublyRobust(tau=2.0),
                      DoublyRobustWithShrinkage(shrinkage_lambda=3.0),
                      ClippedDoublyRobust(clip_lambda=0.5)):  # fmt: skip
        assert estimator.estimate_policy_value(**data) == pytest.approx(dm, abs=1e-14)


def test_dr_equals_ipw_when_the_model_predicts_zero() -> None:
    data = random_problem(6)
    data["estimated_rewards_by_reg_model"] = np.zeros_like(data["action_dist"])
    ipw = InverseProbabilityWeighting().estimate_policy_value(**data)
    snipw = SelfNormalizedInverseProbabilityWeighting().estimate_policy_value(**data)
    assert DoublyRobust().estimate_policy_value(**data) == pytest.approx(ipw, abs=1e-14)
    assert SelfNormalizedDoublyRobust().estimate_policy_value(**data) == pytest.approx(snipw, abs=1e-14)


def test_switch_and_shrinkage_limits() -> None:
    data = random_problem(7)
    dm = DirectMethod().estimate_policy_value(**data)
    dr = DoublyRobust().estimate_policy_value(**data)
    assert dr != pytest.approx(dm)  # otherwise the limits below prove nothing
    assert SwitchDoublyRobust(tau=math.inf).estimate_policy_value(**data) == dr
    assert SwitchDoublyRobust(tau=1e-12).estimate_policy_value(**data) == pytest.approx(dm, abs=1e-14)
    assert SwitchDoublyRobust(tau=0.0).estimate_policy_value(**data) == pytest.approx(dm, abs=1e-14)
    assert DoublyRobustWithShrinkage(shrinkage_lambda=math.inf).estimate_policy_value(**data) == dr
    assert DoublyRobustWithShrinkage(shrinkage_lambda=1e12).estimate_policy_value(**data) == pytest.approx(
        dr, abs=1e-9
    )
    assert DoublyRobustWithShrinkage(shrinkage_lambda=0.0).estimate_policy_value(**data) == pytest.approx(
        dm, abs=1e-14
    )
    # IPW clipping above the largest weight changes nothing.
    weights = OpeInputs.from_arrays(**data).importance_weight
    assert InverseProbabilityWeighting(clip_lambda=weights.max() + 1).estimate_policy_value(**data) == (
        InverseProbabilityWeighting().estimate_policy_value(**data)
    )


def test_hyperparameters_are_validated() -> None:
    with pytest.raises(ValueError, match="clip_lambda"):
        InverseProbabilityWeighting(clip_lambda=0.0)
    with pytest.raises(ValueError, match="tau"):
        SwitchDoublyRobust(tau=-1.0)
    with pytest.raises(ValueError, match="shrinkage_lambda"):
        DoublyRobustWithShrinkage(shrinkage_lambda=float("nan"))
    with pytest.raises(ValueError, match="clip_lambda"):
        ClippedDoublyRobust(clip_lambda=0.0)
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="shrinkage_lambda"):
            SubGaussianInverseProbabilityWeighting(shrinkage_lambda=bad)


def test_dr_clip_and_subgaussian_ipw_match_hand_computation() -> None:
    """hand_fixture's weights 1.6, .4, 2.4, 8/15 and residuals .5, -.2, .4, -.3.

    DR-clip at 2: round 2's weight 2.4 becomes 2, so its correction .96 becomes .8:
    .46 + (.8 - .08 + .8 - .16) / 4 = .46 + 1.36 / 4 = .80.
    SG-IPW at lambda = .5: w / (.5 + .5 w) = 2w / (1 + w): 3.2/2.6 for round 0 and 4.8/3.4 for
    round 2 (the rounds with a click): (3.2/2.6 + 4.8/3.4) / 4.
    """
    data = hand_fixture()
    assert ClippedDoublyRobust(clip_lambda=2.0).estimate_policy_value(**data) == pytest.approx(0.80, abs=1e-12)
    expected = (3.2 / 2.6 + 4.8 / 3.4) / 4
    got = SubGaussianInverseProbabilityWeighting(shrinkage_lambda=0.5).estimate_policy_value(**data)
    assert got == pytest.approx(expected, abs=1e-12)


def test_dr_clip_and_subgaussian_limits() -> None:
    """DR-clip: lambda = inf is DR exactly, lambda -> 0 is DM; clipping above the largest weight
    is DR. SG-IPW: lambda = 0 is IPW; lambda = 1 gives every positive weight 1, so it is the
    mean of the rewards of the rounds with w > 0 times their share, i.e. sum_{w>0} r / n."""
    data = random_problem(9)
    other = (data["action"][5] + 1) % data["action_dist"].shape[1]
    data["action_dist"][5, :, :] = 0.0  # round 5: the target never plays the logged action, w = 0
    data["action_dist"][5, other, :] = 1.0
    inputs = OpeInputs.from_arrays(**data)
    dm = DirectMethod().estimate_policy_value(**data)
    dr = DoublyRobust().estimate_policy_value(**data)
    assert dr != pytest.approx(dm)
    assert ClippedDoublyRobust(clip_lambda=math.inf).estimate_policy_value(**data) == dr
    assert ClippedDoublyRobust().estimate_policy_value(**data) == dr
    assert ClippedDoublyRobust(clip_lambda=1e-12).estimate_policy_value(**data) == pytest.approx(dm, abs=1e-10)
    above = inputs.importance_weight.max() * 2
    assert ClippedDoublyRobust(clip_lambda=above).estimate_policy_value(**data) == pytest.approx(dr, abs=1e-14)
    ipw = InverseProbabilityWeighting().estimate_policy_value(**data)
    assert SubGaussianInverseProbabilityWeighting(shrinkage_lambda=0.0).estimate_policy_value(**data) == ipw
    assert SubGaussianInverseProbabilityWeighting().estimate_policy_value(**data) == ipw
    positive = inputs.importance_weight > 0
    assert not positive.all()
    one = SubGaussianInverseProbabilityWeighting(shrinkage_lambda=1.0).estimate_policy_value(**data)
    assert one == pytest.approx(data["reward"][positive].sum() / len(positive), abs=1e-14)
    # Shrunk weights never exceed 1 / lambda, so with rewards in [0, 1] neither does the estimate.
    assert SubGaussianInverseProbabilityWeighting(shrinkage_lambda=0.25).estimate_round_rewards(**data).max() <= 4.0
