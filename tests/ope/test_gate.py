"""The champion/challenger uplift gate (``hermes_core.ope.gate``) on hand-built logs."""

from __future__ import annotations

import numpy as np
import pytest

from hermes_core.evaluation.bootstrap import paired_bootstrap
from hermes_core.ope import DoublyRobust, OpeInputs, SelfNormalizedDoublyRobust, uplift_gate


def gate_problem(seed: int = 0, n: int = 4000) -> dict[str, np.ndarray]:
    """Uniform logging over 5 actions; action 0 clicks with 0.3, the others with 0.1.
    Champion: uniform (value 0.14); challenger: always action 0 (value 0.3)."""
    rng = np.random.default_rng(seed)
    means = np.array([0.3, 0.1, 0.1, 0.1, 0.1])
    action = rng.integers(0, 5, n)
    uniform = np.full((n, 5, 1), 0.2)
    best = np.zeros((n, 5, 1))
    best[:, 0, 0] = 1.0
    return {
        "reward": (rng.random(n) < means[action]).astype(float),
        "action": action,
        "pscore": np.full(n, 0.2),
        "champion_action_dist": uniform,
        "challenger_action_dist": best,
        # A deliberately poor reward model (constant 0.15): DR stays unbiased through the weights.
        "estimated_rewards_by_reg_model": np.full((n, 5, 1), 0.15),
    }


@pytest.mark.parametrize("method", ["bootstrap", "normal"])
def test_gate_promotes_a_clear_uplift(method: str) -> None:
    data = gate_problem()
    decision = uplift_gate(**data, method=method, n_bootstrap=500, seed=1, level=0.95)
    assert decision.decision == "promote"
    assert decision.ci_low > 0
    assert decision.uplift == pytest.approx(0.16, abs=0.05)  # 0.3 - 0.14
    assert decision.uplift == pytest.approx(decision.challenger_value - decision.champion_value)
    assert decision.n_rounds == 4000 and decision.level == 0.95 and decision.method == method


def test_gate_keeps_the_champion_without_uplift() -> None:
    data = gate_problem(seed=2)
    data["challenger_action_dist"] = data["champion_action_dist"].copy()
    same = uplift_gate(**data, n_bootstrap=300, seed=1)
    assert same.uplift == 0.0 and same.decision == "keep champion"
    # Swapping roles: the former challenger is now the champion, so the uplift is negative.
    data = gate_problem(seed=3)
    data["champion_action_dist"], data["challenger_action_dist"] = (
        data["challenger_action_dist"], data["champion_action_dist"],
    )  # fmt: skip
    worse = uplift_gate(**data, method="normal")
    assert worse.decision == "keep champion" and worse.ci_high < 0


def test_gate_interval_is_paired() -> None:
    """The paired interval of the difference is narrower than what two independent intervals
    would suggest when both policies share most of their value (same rounds, same model)."""
    data = gate_problem(seed=4)
    near = data["champion_action_dist"].copy()
    near[:, 0, 0] += 0.04
    near[:, 1, 0] -= 0.04
    data["challenger_action_dist"] = near
    decision = uplift_gate(**data, method="normal")
    inputs = OpeInputs.from_arrays(
        reward=data["reward"], action=data["action"], pscore=data["pscore"],
        action_dist=near, estimated_rewards_by_reg_model=data["estimated_rewards_by_reg_model"],
    )  # fmt: skip
    single_sd = DoublyRobust().round_terms(inputs).round_rewards().std(ddof=1) / np.sqrt(4000)
    assert (decision.ci_high - decision.ci_low) / 2 < 1.96 * single_sd / 3


def test_gate_rejects_self_normalised_estimators_and_bad_level() -> None:
    data = gate_problem()
    with pytest.raises(ValueError, match="non-self-normalised"):
        uplift_gate(**data, estimator=SelfNormalizedDoublyRobust())
    with pytest.raises(ValueError, match="level"):
        uplift_gate(**data, level=1.0)


def test_gate_bootstrap_is_the_paired_bootstrap_of_the_round_differences() -> None:
    """The docstring's claim, bit for bit: the gate's bootstrap interval equals
    ``evaluation.bootstrap.paired_bootstrap`` of the two policies' DR round rewards (same seed,
    same resamples, same quantiles), and its uplift is their mean difference."""
    data = gate_problem(seed=5, n=600)
    decision = uplift_gate(**data, method="bootstrap", n_bootstrap=400, seed=7, level=0.9)
    logged = {key: data[key] for key in ("reward", "action", "pscore", "estimated_rewards_by_reg_model")}
    challenger = DoublyRobust().estimate_round_rewards(**logged, action_dist=data["challenger_action_dist"])
    champion = DoublyRobust().estimate_round_rewards(**logged, action_dist=data["champion_action_dist"])
    paired = paired_bootstrap(challenger, champion, level=0.9, n_bootstrap=400, seed=7)
    assert (decision.ci_low, decision.ci_high) == (paired.ci_low, paired.ci_high)
    assert decision.uplift == paired.difference
