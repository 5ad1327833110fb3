"""Marginalised IPS: equal to IPW with singleton categories, unbiased without a direct effect
(exact enumeration), biased by the within-category shift otherwise, and never more variable than
IPW without a direct effect."""

from __future__ import annotations

import numpy as np
import pytest

from hermes_core.ope.importance_weighting import (
    InverseProbabilityWeighting,
    SelfNormalizedInverseProbabilityWeighting,
)
from hermes_core.ope.inputs import OpeInputs, OPEInputError
from hermes_core.ope.intervals import bootstrap_interval
from hermes_core.ope.marginalized import (
    MarginalizedInverseProbabilityWeighting,
    SelfNormalizedMarginalizedInverseProbabilityWeighting,
)

EXACT = 1e-12
CATEGORIES = (0, 0, 1, 1, 1, 2)  # e(a) for 6 actions in 3 categories
N_ACTIONS, N_POSITIONS = 6, 2


def logged_problem(seed: int, n: int = 400) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Per-round Dirichlet logging and target policies; actions drawn from the logging one."""
    rng = np.random.default_rng(seed)
    logging = rng.dirichlet(np.ones(N_ACTIONS), size=(n, N_POSITIONS)).transpose(0, 2, 1)  # (n, A, K)
    target = rng.dirichlet(np.ones(N_ACTIONS) * 0.5, size=(n, N_POSITIONS)).transpose(0, 2, 1)
    position = rng.integers(0, N_POSITIONS, n)
    action = np.array([rng.choice(N_ACTIONS, p=logging[i, :, position[i]]) for i in range(n)])
    arrays = {
        "reward": (rng.random(n) < 0.3).astype(float),
        "action": action,
        "position": position,
        "pscore": logging[np.arange(n), action, position],
        "action_dist": target,
    }
    return arrays, logging


def category_probability(dist: np.ndarray, category: int) -> float:
    """Sum of ``dist`` (n_actions,) over the actions of ``category``, by a loop."""
    return sum(p for a, p in enumerate(dist) if CATEGORIES[a] == category)


def test_singleton_categories_give_ipw() -> None:
    arrays, logging = logged_problem(0)
    singletons = MarginalizedInverseProbabilityWeighting(action_category=tuple(range(N_ACTIONS)))
    np.testing.assert_allclose(
        singletons.estimate_round_rewards(**arrays, behaviour_action_dist=logging),
        InverseProbabilityWeighting().estimate_round_rewards(**arrays),
        rtol=0, atol=EXACT,
    )  # fmt: skip
    sn = SelfNormalizedMarginalizedInverseProbabilityWeighting(action_category=tuple(range(N_ACTIONS)))
    assert sn.estimate_policy_value(**arrays, behaviour_action_dist=logging) == pytest.approx(
        SelfNormalizedInverseProbabilityWeighting().estimate_policy_value(**arrays), abs=EXACT
    )


def test_marginal_weight_matches_a_direct_sum_over_each_category() -> None:
    arrays, logging = logged_problem(1, n=50)
    mips = MarginalizedInverseProbabilityWeighting(action_category=CATEGORIES)
    weight = mips.marginal_weight(OpeInputs.from_arrays(**arrays), logging)
    for i in range(50):
        k, e = arrays["position"][i], CATEGORIES[arrays["action"][i]]
        expected = category_probability(arrays["action_dist"][i, :, k], e) / category_probability(logging[i, :, k], e)
        assert weight[i] == pytest.approx(expected, rel=1e-12)
    sn = SelfNormalizedMarginalizedInverseProbabilityWeighting(action_category=CATEGORIES)
    estimate = sn.estimate_policy_value(**arrays, behaviour_action_dist=logging)
    assert estimate == pytest.approx((weight * arrays["reward"]).sum() / weight.sum(), rel=1e-12)


def test_a_context_free_behaviour_distribution_equals_its_per_round_copy() -> None:
    arrays, _ = logged_problem(2, n=60)
    rng = np.random.default_rng(2)
    behaviour = rng.dirichlet(np.ones(N_ACTIONS), size=N_POSITIONS).T  # (A, K)
    action = np.array([rng.choice(N_ACTIONS, p=behaviour[:, k]) for k in arrays["position"]])
    arrays.update(action=action, pscore=behaviour[action, arrays["position"]])
    mips = MarginalizedInverseProbabilityWeighting(action_category=CATEGORIES)
    per_round = np.broadcast_to(behaviour, (60, N_ACTIONS, N_POSITIONS))
    np.testing.assert_allclose(
        mips.estimate_round_rewards(**arrays, behaviour_action_dist=behaviour),
        mips.estimate_round_rewards(**arrays, behaviour_action_dist=per_round),
        rtol=1e-14,
    )


# One context, positions equally likely, fixed policies: every (position, action) row once, so
# the exact expectation of a round is sum over rows of P(k) mu(a | k) * round reward.
LOGGING = np.array([[0.3, 0.1, 0.2, 0.1, 0.1, 0.2], [0.1, 0.2, 0.1, 0.3, 0.2, 0.1]]).T  # (A, K)
TARGET = np.array([[0.05, 0.05, 0.1, 0.3, 0.2, 0.3], [0.4, 0.1, 0.05, 0.05, 0.1, 0.3]]).T
CATEGORY_REWARD = np.array([[0.2, 0.1], [0.5, 0.3], [0.8, 0.6]])  # g(e, k)


def enumerated_rows(expected_reward: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Rows (a, k) with reward q(a, k) (the estimators are linear in r) and probability P(k) mu(a|k)."""
    action, position = np.meshgrid(np.arange(N_ACTIONS), np.arange(N_POSITIONS), indexing="ij")
    action, position = action.ravel(), position.ravel()
    n = action.size
    arrays = {
        "reward": expected_reward[action, position],
        "action": action,
        "position": position,
        "pscore": LOGGING[action, position],
        "action_dist": np.broadcast_to(TARGET, (n, N_ACTIONS, N_POSITIONS)),
    }
    return arrays, LOGGING[action, position] / N_POSITIONS


def truth(expected_reward: np.ndarray) -> float:
    return float((TARGET * expected_reward).sum() / N_POSITIONS)


def test_mips_is_unbiased_when_the_reward_depends_on_the_action_only_through_its_category() -> None:
    reward = CATEGORY_REWARD[list(CATEGORIES)]  # q(a, k) = g(e(a), k)
    arrays, probability = enumerated_rows(reward)
    mips = MarginalizedInverseProbabilityWeighting(action_category=CATEGORIES)
    expectation = probability @ mips.estimate_round_rewards(**arrays, behaviour_action_dist=LOGGING)
    assert expectation == pytest.approx(truth(reward), abs=EXACT)


def test_mips_is_biased_by_the_within_category_shift_when_the_action_has_a_direct_effect() -> None:
    """Bias = sum_k P(k) sum_a [mu(a|k) w(e(a), k) - pi(a|k)] q(a, k): the target's and the
    logging policy's different preferences *within* a category, weighted by q."""
    reward = CATEGORY_REWARD[list(CATEGORIES)] + np.array([0.3, -0.1, 0.2, 0.0, -0.15, 0.0])[:, None]
    arrays, probability = enumerated_rows(reward)
    mips = MarginalizedInverseProbabilityWeighting(action_category=CATEGORIES)
    bias = probability @ mips.estimate_round_rewards(**arrays, behaviour_action_dist=LOGGING) - truth(reward)
    expected = 0.0
    for k in range(N_POSITIONS):
        for a in range(N_ACTIONS):
            e = CATEGORIES[a]
            w = category_probability(TARGET[:, k], e) / category_probability(LOGGING[:, k], e)
            expected += (LOGGING[a, k] * w - TARGET[a, k]) * reward[a, k] / N_POSITIONS
    assert bias == pytest.approx(expected, abs=EXACT)
    assert abs(bias) > 0.01  # -0.017 here
    assert not mips.unbiased_by_design  # its unbiasedness rests on no direct effect
    # IPW stays unbiased on the same rows
    ipw = probability @ InverseProbabilityWeighting().estimate_round_rewards(**arrays)
    assert ipw == pytest.approx(truth(reward), abs=EXACT)


def test_mips_variance_is_ipw_variance_less_the_within_category_weight_variance() -> None:
    """Bernoulli rewards with P(r = 1 | a, k) = g(e(a), k). Saito and Joachims (ICML 2022, Sec. 3):
    Var[IPW] - Var[MIPS] = E[ E[r^2 | e, k] Var_{mu(a | e, k)}[w(a, k)] ] >= 0 (same means)."""
    click = CATEGORY_REWARD[list(CATEGORIES)]
    rows, base = enumerated_rows(click)
    arrays = {key: np.concatenate([value, value]) for key, value in rows.items()}
    arrays["reward"] = np.concatenate([np.ones_like(base), np.zeros_like(base)])
    probability = np.concatenate([base * rows["reward"], base * (1 - rows["reward"])])
    mips = MarginalizedInverseProbabilityWeighting(action_category=CATEGORIES)
    moments = {}
    for name, values in (
        ("ipw", InverseProbabilityWeighting().estimate_round_rewards(**arrays)),
        ("mips", mips.estimate_round_rewards(**arrays, behaviour_action_dist=LOGGING)),
    ):
        mean = probability @ values
        moments[name] = (mean, probability @ values**2 - mean**2)
    assert moments["ipw"][0] == pytest.approx(moments["mips"][0], abs=EXACT)
    gap = 0.0
    for k in range(N_POSITIONS):
        for e in set(CATEGORIES):
            members = [a for a in range(N_ACTIONS) if CATEGORIES[a] == e]
            mu_e = LOGGING[members, k].sum()
            w = TARGET[members, k] / LOGGING[members, k]
            within = LOGGING[members, k] / mu_e
            variance = within @ w**2 - (within @ w) ** 2
            gap += mu_e / N_POSITIONS * CATEGORY_REWARD[e, k] * variance  # E[r^2 | e, k] = g(e, k)
    assert moments["ipw"][1] - moments["mips"][1] == pytest.approx(gap, abs=EXACT)
    assert gap > 0


def test_errors_name_the_array_and_the_first_bad_row() -> None:
    arrays, logging = logged_problem(3, n=20)
    mips = MarginalizedInverseProbabilityWeighting(action_category=CATEGORIES)
    with pytest.raises(OPEInputError, match="behaviour_action_dist: is required by estimator 'mips'"):
        mips.estimate_policy_value(**arrays)
    with pytest.raises(OPEInputError, match="behaviour_action_dist: must have shape"):
        mips.estimate_policy_value(**arrays, behaviour_action_dist=logging[:, :, :1])
    shifted = logging.copy()
    shifted[7, :, 1] *= 0.5
    with pytest.raises(OPEInputError, match="behaviour_action_dist, row 7: probabilities over actions do not sum to 1"):
        mips.estimate_policy_value(**arrays, behaviour_action_dist=shifted)
    negative = logging.copy()
    negative[4, 0, 0], negative[4, 1, 0] = -0.1, negative[4, 1, 0] + negative[4, 0, 0] + 0.1
    with pytest.raises(OPEInputError, match="behaviour_action_dist, row 4: is negative"):
        mips.estimate_policy_value(**arrays, behaviour_action_dist=negative)
    other = logging.copy()
    other[:, :, :] = logging[::-1]  # another round's distribution: disagrees with pscore
    with pytest.raises(OPEInputError, match="behaviour_action_dist, row 0: gives the logged action probability"):
        mips.estimate_policy_value(**arrays, behaviour_action_dist=other)
    with pytest.raises(OPEInputError, match="action_category: has 5 entries but action_dist has 6 actions"):
        MarginalizedInverseProbabilityWeighting(action_category=(0, 0, 1, 1, 2)).estimate_policy_value(
            **arrays, behaviour_action_dist=logging
        )
    with pytest.raises(ValueError, match="action_category must be non-negative, action 1"):
        MarginalizedInverseProbabilityWeighting(action_category=(0, -1))
    with pytest.raises(ValueError, match="non-empty tuple of integers"):
        MarginalizedInverseProbabilityWeighting(action_category=())


def test_request_level_intervals_take_the_behaviour_distribution_as_an_input() -> None:
    arrays, logging = logged_problem(4)
    mips = MarginalizedInverseProbabilityWeighting(action_category=CATEGORIES)
    interval = bootstrap_interval(mips, n_bootstrap=200, seed=0, **arrays, behaviour_action_dist=logging)
    assert interval.estimate == pytest.approx(mips.estimate_policy_value(**arrays, behaviour_action_dist=logging))
    assert interval.low <= interval.estimate <= interval.high
