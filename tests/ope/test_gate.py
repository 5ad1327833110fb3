"""Champion/challenger gate, SLOPE selection and the OPE parameter block."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pydantic import ValidationError

from hermes_core.ope import (
    DoublyRobust,
    RoundTerms,
    SelfNormalizedDoublyRobust,
    SlopeTuned,
    SwitchDoublyRobust,
    OpeInputs,
    slope_select,
    uplift_gate,
)
from hermes_core.ope.params import OpeParams


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


def test_slope_picks_the_narrowest_candidate_consistent_with_the_wider_ones() -> None:
    """Three candidates: wide around 1.0, medium around 1.02 (consistent), narrow around 3.0
    (biased, its interval misses the others): SLOPE keeps the medium one."""
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(1000)
    noise = (noise - noise.mean()) / noise.std()
    wide = RoundTerms(correction=1.0 + 10 * noise)
    medium = RoundTerms(correction=1.02 + 2 * noise)
    narrow = RoundTerms(correction=3.0 + 0.1 * noise)
    assert slope_select([narrow, wide, medium]) == 2
    assert slope_select([wide, medium]) == 1
    assert slope_select([wide]) == 0


def test_slope_tuned_estimator_returns_one_of_its_candidates() -> None:
    data = gate_problem()
    inputs = OpeInputs.from_arrays(
        reward=data["reward"], action=data["action"], pscore=data["pscore"],
        action_dist=data["challenger_action_dist"],
        estimated_rewards_by_reg_model=data["estimated_rewards_by_reg_model"],
    )  # fmt: skip
    tuned = SlopeTuned(candidates=tuple(SwitchDoublyRobust(tau=t) for t in (1.0, 10.0, math.inf)))
    chosen = tuned.select(inputs)
    assert chosen in tuned.candidates
    assert tuned.round_terms(inputs).estimate() == chosen.round_terms(inputs).estimate()


def test_ope_params_defaults_bounds_and_tiny_profile() -> None:
    params = OpeParams()
    assert params.alpha == pytest.approx(0.05)
    assert params.clip_lambda == math.inf and params.slope_grid[-1] == math.inf
    tiny = OpeParams(n_bootstrap=10, n_folds=2, n_world_log_resamples=1, obd={"n_bootstrap_runs": 1})
    assert tiny.obd.n_bootstrap_runs == 1
    for bad in ({"n_folds": 1}, {"ci_level": 1.0}, {"n_bootstrap": 5}, {"reward_model": "forest"},
                {"switch_tau": 0.0}, {"tuning_grid": (10.0, 5.0)}, {"target_temperatures": (0.0,)},
                {"unknown_key": 1}, {"obd": {"campaign": "kids"}}):  # fmt: skip
        with pytest.raises(ValidationError):
            OpeParams(**bad)
